// One MIL block (the body of an ML Program's function) as protobuf, op by op: constants and operations
// whose inputs name earlier results. Every result is named and typed here, as Core ML requires; the names
// follow MIL's identifier rule [A-Za-z_][A-Za-z0-9_@]*.
//
// Constants are stored where coremltools stores them (converters/mil/backend/mil/load.py,
// should_use_weight_file): a float16 or float32 tensor of 10 or more elements goes into the package's
// weight file, @model_path/weights/weight.bin, as a blob the specification points at (BlobFileValue);
// smaller ones, integers and strings are immediate values inside the specification.
//
// Field numbers and enum values are those of Apple's mlmodel/format/MIL.proto (coremltools).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "mil_types.h"
#include "protobuf_writer.h"

namespace stridekit::coreml {

// MIL.proto DataType values this builder uses.
enum class MilType : int32_t { kString = 2, kFloat16 = 10, kFloat32 = 11, kInt32 = 23 };

MilType mil_type(ComputePrecision precision);

// The package's weight file as Core ML's MIL blob storage writes it (format version 2): a 64-byte header
// { uint32 count; uint32 version = 2; zeros }, then per blob, each at a 64-byte aligned offset, 64 bytes
// of metadata { uint32 sentinel 0xDEADBEEF; uint32 data type (1 float16, 2 float32); uint64 size in bytes;
// uint64 offset of the data; zeros } and the data right after it. A constant points at its metadata's
// offset. All integers little-endian.
class WeightFile {
 public:
  WeightFile();
  // Appends one blob of raw little-endian values; returns the offset of its metadata.
  uint64_t add(MilType type, const std::string& data);
  uint32_t count() const { return count_; }
  // The file's bytes; empty while it holds no blob (the package then has no weight file, as coremltools
  // writes it).
  std::string bytes() const { return count_ ? bytes_ : std::string(); }

 private:
  std::string bytes_;
  uint32_t count_ = 0;
};

// coremltools' threshold: tensors of at least this many elements are stored in the weight file.
constexpr size_t kWeightFileMinElements = 10;
constexpr const char* kWeightFilePath = "@model_path/weights/weight.bin";

// tensorType { dataType, rank, dimensions { constant { size } } }; an empty shape is a scalar.
ProtoWriter value_type(MilType type, const std::vector<int64_t>& shape);

class MilBlock {
 public:
  using Inputs = std::vector<std::pair<std::string, std::string>>;  // (parameter, name of a result)

  // Constants; each returns the name it was given.
  std::string const_int32s(const std::string& name, const std::vector<int64_t>& values);
  std::string const_int32(const std::string& name, int64_t value);
  std::string const_string(const std::string& name, const std::string& text);
  // float32 values of the given shape, stored as float32 or rounded to float16; in the weight file when
  // there are kWeightFileMinElements or more.
  std::string const_floats(const std::string& name, MilType type, const std::vector<int64_t>& shape,
                           const float* values);

  // An operation with one result of the given type and shape.
  std::string operation(const std::string& type, const std::string& name, const Inputs& inputs,
                        MilType result_type, const std::vector<int64_t>& result_shape);

  // Block { outputs = [output]; operations = ... }.
  ProtoWriter finish(const std::string& output) const;

  // The weight file of the constants so far; empty when none was large enough for it.
  std::string weight_file() const { return weights_.bytes(); }

 private:
  std::string add_const(const std::string& name, const ProtoWriter& type, const ProtoWriter& value);

  std::vector<ProtoWriter> operations_;
  WeightFile weights_;
};

}  // namespace stridekit::coreml
