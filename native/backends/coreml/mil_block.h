// One MIL block (the body of an ML Program's function) as protobuf, op by op: constants with their values
// embedded in the specification (immediate values, no weight file) and operations whose inputs name
// earlier results. Every result is named and typed here, as Core ML requires; the names follow MIL's
// identifier rule [A-Za-z_][A-Za-z0-9_@]*.
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

// tensorType { dataType, rank, dimensions { constant { size } } }; an empty shape is a scalar.
ProtoWriter value_type(MilType type, const std::vector<int64_t>& shape);

class MilBlock {
 public:
  using Inputs = std::vector<std::pair<std::string, std::string>>;  // (parameter, name of a result)

  // Constants; each returns the name it was given.
  std::string const_int32s(const std::string& name, const std::vector<int64_t>& values);
  std::string const_int32(const std::string& name, int64_t value);
  std::string const_string(const std::string& name, const std::string& text);
  // count float32 values of the given shape, stored as float32 or rounded to float16.
  std::string const_floats(const std::string& name, MilType type, const std::vector<int64_t>& shape,
                           const float* values);

  // An operation with one result of the given type and shape.
  std::string operation(const std::string& type, const std::string& name, const Inputs& inputs,
                        MilType result_type, const std::vector<int64_t>& result_shape);

  // Block { outputs = [output]; operations = ... }.
  ProtoWriter finish(const std::string& output) const;

 private:
  std::string add_const(const std::string& name, const ProtoWriter& type, const ProtoWriter& tensor_value);

  std::vector<ProtoWriter> operations_;
};

}  // namespace stridekit::coreml
