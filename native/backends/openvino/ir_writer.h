// A small writer of OpenVINO IR (version 11): the model as XML text and its constants as one weights
// blob, the two things ov_core_read_model_from_memory_buffer takes. OpenVINO's C API, which this plugin
// uses so that it depends on no C++ standard library but its own, reads models but cannot build them;
// the IR is OpenVINO's own serialisation of the same opset operations, so a graph written here is the
// graph the C++ API would have built. No OpenVINO header is needed: the writer is plain text and bytes.
//
// Every operation the plugin uses has one f32 output, so a Value is simply the layer that produces it.
// Output shapes are not written: OpenVINO infers them when it reads the model (the caller checks the
// result's shape against the core's).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace stridekit::openvino {

using Dims = std::vector<int64_t>;

struct Value {
  int layer = -1;
};

class IrWriter {
 public:
  using Attributes = std::vector<std::pair<std::string, std::string>>;

  Value parameter(const Dims& shape);
  Value constant_f32(const Dims& shape, const float* values);  // shape's product of values
  Value scalar_f32(float value);
  Value constant_i64(const std::vector<int64_t>& values);      // a 1-D i64 tensor
  // An operation of OpenVINO's opsets: type ("Convolution"), version ("opset1"), its attributes as IR
  // spells them, and its inputs in order.
  Value op(const char* type, const char* version, const Attributes& attributes, const std::vector<Value>& inputs);
  void result(Value value);

  std::string xml() const;
  const std::vector<uint8_t>& weights() const { return weights_; }

 private:
  struct Layer {
    std::string type, version;
    Attributes attributes;
    std::vector<Value> inputs;
    Dims shape;            // Parameter and Const: their output shape, written as port dimensions
    std::string element;   // the output's element type: "f32", or "i64" for index constants
  };
  Value add(Layer layer);
  Value constant(const char* element, const Dims& shape, const void* bytes, size_t size);

  std::vector<Layer> layers_;
  std::vector<uint8_t> weights_;
};

// "1,3,8,8": the comma-separated form IR uses for shapes, strides and pads.
std::string dims_text(const Dims& dims);

}  // namespace stridekit::openvino
