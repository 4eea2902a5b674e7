#include "mil_block.h"

#include <cstring>
#include <stdexcept>

namespace stridekit::coreml {
namespace {

// MIL.proto field numbers, by message.
namespace ValueTypeField { constexpr uint32_t kTensorType = 1; }
namespace TensorTypeField { constexpr uint32_t kDataType = 1, kRank = 2, kDimensions = 3; }
namespace DimensionField { constexpr uint32_t kConstant = 1; }
namespace ConstantDimensionField { constexpr uint32_t kSize = 1; }
namespace ValueField { constexpr uint32_t kType = 2, kImmediateValue = 3, kBlobFileValue = 5; }
namespace BlobFileValueField { constexpr uint32_t kFileName = 1, kOffset = 2; }
namespace ImmediateValueField { constexpr uint32_t kTensor = 1; }
namespace TensorValueField { constexpr uint32_t kFloats = 1, kInts = 2, kStrings = 4, kBytes = 7; }
namespace RepeatedField { constexpr uint32_t kValues = 1; }  // RepeatedFloats, RepeatedInts, ... all use 1
namespace OperationField { constexpr uint32_t kType = 1, kInputs = 2, kOutputs = 3, kAttributes = 5; }
namespace ArgumentField { constexpr uint32_t kArguments = 1; }
namespace BindingField { constexpr uint32_t kName = 1; }
namespace NamedValueTypeField { constexpr uint32_t kName = 1, kType = 2; }
namespace BlockField { constexpr uint32_t kOutputs = 2, kOperations = 3; }

ProtoWriter named_value_type(const std::string& name, const ProtoWriter& type) {
  ProtoWriter named;
  named.string_field(NamedValueTypeField::kName, name);
  named.message(NamedValueTypeField::kType, type);
  return named;
}

ProtoWriter immediate_value(const ProtoWriter& type, const ProtoWriter& tensor_value) {
  ProtoWriter immediate;
  immediate.message(ImmediateValueField::kTensor, tensor_value);
  ProtoWriter value;
  value.message(ValueField::kType, type);
  value.message(ValueField::kImmediateValue, immediate);
  return value;
}

ProtoWriter blob_file_value(const ProtoWriter& type, uint64_t offset) {
  ProtoWriter blob;
  blob.string_field(BlobFileValueField::kFileName, kWeightFilePath);
  blob.varint_field(BlobFileValueField::kOffset, static_cast<int64_t>(offset));
  ProtoWriter value;
  value.message(ValueField::kType, type);
  value.message(ValueField::kBlobFileValue, blob);
  return value;
}

// MIL blob storage (mlmodel/src/MILBlob/Blob/StorageFormat.hpp in coremltools).
constexpr uint64_t kBlobAlignment = 64;
constexpr uint32_t kBlobSentinel = 0xDEADBEEFu;
constexpr uint32_t kBlobStorageVersion = 2;
constexpr uint32_t kBlobFloat16 = 1, kBlobFloat32 = 2;

void put_le(std::string* bytes, size_t at, uint64_t value, int size) {
  for (int b = 0; b < size; ++b) (*bytes)[at + b] = static_cast<char>((value >> (8 * b)) & 0xff);
}

ProtoWriter string_tensor(const std::string& text) {
  ProtoWriter strings;
  strings.string_field(RepeatedField::kValues, text);
  ProtoWriter tensor;
  tensor.message(TensorValueField::kStrings, strings);
  return tensor;
}

ProtoWriter int32_tensor(const std::vector<int64_t>& values) {
  ProtoWriter ints;
  ints.packed_varints(RepeatedField::kValues, values);
  ProtoWriter tensor;
  tensor.message(TensorValueField::kInts, ints);
  return tensor;
}

// Every operation carries its own name as the attribute "name", as coremltools writes them.
ProtoWriter name_attribute(const std::string& name) {
  return immediate_value(value_type(MilType::kString, {}), string_tensor(name));
}

}  // namespace

WeightFile::WeightFile() : bytes_(kBlobAlignment, '\0') { put_le(&bytes_, 4, kBlobStorageVersion, 4); }

uint64_t WeightFile::add(MilType type, const std::string& data) {
  uint32_t blob_type;
  switch (type) {
    case MilType::kFloat16: blob_type = kBlobFloat16; break;
    case MilType::kFloat32: blob_type = kBlobFloat32; break;
    default: throw std::invalid_argument("coreml model: only float16 and float32 constants go into the weight file");
  }
  bytes_.resize((bytes_.size() + kBlobAlignment - 1) / kBlobAlignment * kBlobAlignment, '\0');
  const uint64_t metadata = bytes_.size();
  bytes_.resize(metadata + kBlobAlignment, '\0');
  put_le(&bytes_, metadata, kBlobSentinel, 4);
  put_le(&bytes_, metadata + 4, blob_type, 4);
  put_le(&bytes_, metadata + 8, data.size(), 8);
  put_le(&bytes_, metadata + 16, metadata + kBlobAlignment, 8);
  bytes_ += data;
  put_le(&bytes_, 0, ++count_, 4);
  return metadata;
}

MilType mil_type(ComputePrecision precision) {
  return precision == ComputePrecision::kFloat16 ? MilType::kFloat16 : MilType::kFloat32;
}

ProtoWriter value_type(MilType type, const std::vector<int64_t>& shape) {
  ProtoWriter tensor;
  tensor.varint_field(TensorTypeField::kDataType, static_cast<int32_t>(type));
  tensor.varint_field(TensorTypeField::kRank, static_cast<int64_t>(shape.size()));
  for (int64_t size : shape) {
    ProtoWriter constant;
    constant.varint_field(ConstantDimensionField::kSize, size);
    ProtoWriter dimension;
    dimension.message(DimensionField::kConstant, constant);
    tensor.message(TensorTypeField::kDimensions, dimension);
  }
  ProtoWriter value;
  value.message(ValueTypeField::kTensorType, tensor);
  return value;
}

std::string MilBlock::add_const(const std::string& name, const ProtoWriter& type, const ProtoWriter& value) {
  ProtoWriter op;
  op.string_field(OperationField::kType, "const");
  op.message(OperationField::kOutputs, named_value_type(name, type));
  op.map_entry(OperationField::kAttributes, "name", name_attribute(name));
  op.map_entry(OperationField::kAttributes, "val", value);
  operations_.push_back(op);
  return name;
}

std::string MilBlock::const_int32s(const std::string& name, const std::vector<int64_t>& values) {
  const ProtoWriter type = value_type(MilType::kInt32, {static_cast<int64_t>(values.size())});
  return add_const(name, type, immediate_value(type, int32_tensor(values)));
}

std::string MilBlock::const_int32(const std::string& name, int64_t value) {
  const ProtoWriter type = value_type(MilType::kInt32, {});
  return add_const(name, type, immediate_value(type, int32_tensor({value})));
}

std::string MilBlock::const_string(const std::string& name, const std::string& text) {
  const ProtoWriter type = value_type(MilType::kString, {});
  return add_const(name, type, immediate_value(type, string_tensor(text)));
}

std::string MilBlock::const_floats(const std::string& name, MilType type, const std::vector<int64_t>& shape,
                                   const float* values) {
  size_t count = 1;
  for (int64_t size : shape) count *= static_cast<size_t>(size);
  // The values as little-endian bytes, which both the weight file and an immediate float16 tensor hold
  // (float16 has no repeated field of its own in MIL.proto).
  const size_t width = type == MilType::kFloat16 ? 2 : 4;
  std::string bytes(count * width, '\0');
  for (size_t i = 0; i < count; ++i) {
    uint32_t bits;
    if (type == MilType::kFloat16) {
      bits = to_half_bits(values[i]);
    } else {
      std::memcpy(&bits, &values[i], 4);
    }
    put_le(&bytes, i * width, bits, static_cast<int>(width));
  }
  const ProtoWriter tensor_type = value_type(type, shape);
  if (count >= kWeightFileMinElements) {
    return add_const(name, tensor_type, blob_file_value(tensor_type, weights_.add(type, bytes)));
  }
  ProtoWriter tensor;
  if (type == MilType::kFloat16) {
    ProtoWriter repeated;
    repeated.bytes_field(RepeatedField::kValues, bytes.data(), bytes.size());
    tensor.message(TensorValueField::kBytes, repeated);
  } else {
    ProtoWriter floats;
    floats.packed_floats(RepeatedField::kValues, values, count);
    tensor.message(TensorValueField::kFloats, floats);
  }
  return add_const(name, tensor_type, immediate_value(tensor_type, tensor));
}

std::string MilBlock::operation(const std::string& type, const std::string& name, const Inputs& inputs,
                                MilType result_type, const std::vector<int64_t>& result_shape) {
  ProtoWriter op;
  op.string_field(OperationField::kType, type);
  for (const auto& [parameter, source] : inputs) {
    ProtoWriter binding;
    binding.string_field(BindingField::kName, source);
    ProtoWriter argument;
    argument.message(ArgumentField::kArguments, binding);
    op.map_entry(OperationField::kInputs, parameter, argument);
  }
  op.message(OperationField::kOutputs, named_value_type(name, value_type(result_type, result_shape)));
  op.map_entry(OperationField::kAttributes, "name", name_attribute(name));
  operations_.push_back(op);
  return name;
}

ProtoWriter MilBlock::finish(const std::string& output) const {
  ProtoWriter block;
  block.string_field(BlockField::kOutputs, output);
  for (const ProtoWriter& op : operations_) block.message(BlockField::kOperations, op);
  return block;
}

}  // namespace stridekit::coreml
