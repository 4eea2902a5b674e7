#include "protobuf_writer.h"

#include <cstring>

namespace stridekit::coreml {
namespace {
constexpr uint32_t kWireVarint = 0;
constexpr uint32_t kWireLengthDelimited = 2;
}  // namespace

void ProtoWriter::raw_varint(uint64_t value) {
  while (value >= 0x80) {
    bytes_.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  bytes_.push_back(static_cast<char>(value));
}

void ProtoWriter::tag(uint32_t field, uint32_t wire_type) { raw_varint((static_cast<uint64_t>(field) << 3) | wire_type); }

void ProtoWriter::varint_field(uint32_t field, int64_t value) {
  tag(field, kWireVarint);
  raw_varint(static_cast<uint64_t>(value));
}

void ProtoWriter::bytes_field(uint32_t field, const void* data, size_t size) {
  tag(field, kWireLengthDelimited);
  raw_varint(size);
  bytes_.append(static_cast<const char*>(data), size);
}

void ProtoWriter::packed_floats(uint32_t field, const float* values, size_t count) {
  // Protobuf's fixed32 is little-endian whatever the host's byte order, so the bytes are laid out here.
  std::string packed(count * 4, '\0');
  for (size_t i = 0; i < count; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &values[i], 4);
    for (int b = 0; b < 4; ++b) packed[i * 4 + b] = static_cast<char>((bits >> (8 * b)) & 0xff);
  }
  bytes_field(field, packed.data(), packed.size());
}

void ProtoWriter::packed_varints(uint32_t field, const std::vector<int64_t>& values) {
  ProtoWriter packed;
  for (int64_t v : values) packed.raw_varint(static_cast<uint64_t>(v));
  bytes_field(field, packed.bytes_.data(), packed.bytes_.size());
}

void ProtoWriter::map_entry(uint32_t field, const std::string& key, const ProtoWriter& value) {
  ProtoWriter entry;
  entry.string_field(1, key);
  entry.message(2, value);
  message(field, entry);
}

}  // namespace stridekit::coreml
