// The few protobuf wire-format encodings a Core ML model specification needs, written by hand so that the
// portable model builder has no protobuf library to link: varints, length-delimited fields (strings,
// bytes, nested messages, packed repeated scalars) and nothing else. Field numbers are the caller's.
//
// A message is built inside-out: fill a ProtoWriter for the nested message, then append it to its parent
// with message(); protobuf needs each nested message's length before its bytes, and building the child
// first gives that length for free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace stridekit::coreml {

class ProtoWriter {
 public:
  // Integer fields (int32, int64, uint64, enum, bool) as a varint. Negative int32/int64 values take ten
  // bytes, as protobuf encodes them (sign-extended to 64 bits).
  void varint_field(uint32_t field, int64_t value);
  void string_field(uint32_t field, const std::string& text) { bytes_field(field, text.data(), text.size()); }
  void bytes_field(uint32_t field, const void* data, size_t size);
  void message(uint32_t field, const ProtoWriter& child) { bytes_field(field, child.bytes_.data(), child.bytes_.size()); }
  // Packed repeated fields: one length-delimited field holding the values back to back.
  void packed_floats(uint32_t field, const float* values, size_t count);
  void packed_varints(uint32_t field, const std::vector<int64_t>& values);
  // map<string, Message> entries are messages { string key = 1; Message value = 2; }.
  void map_entry(uint32_t field, const std::string& key, const ProtoWriter& value);

  const std::string& bytes() const { return bytes_; }

 private:
  void tag(uint32_t field, uint32_t wire_type);
  void raw_varint(uint64_t value);

  std::string bytes_;
};

}  // namespace stridekit::coreml
