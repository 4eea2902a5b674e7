// Writes the IR: one <layer> per operation in creation order (inputs always come first), one <edge>
// per input, constants packed into the weights blob at aligned offsets.
#include "ir_writer.h"

#include <cstring>
#include <stdexcept>

namespace stridekit::openvino {
namespace {

// Constants start at multiples of this, so that a constant OpenVINO reads in place (the model shares
// the blob) is as aligned as one it allocated itself.
constexpr size_t kConstantAlignment = 64;

const char* precision_of(const std::string& element) { return element == "i64" ? "I64" : "FP32"; }

void append_port(std::string& out, size_t id, const char* precision, const Dims* shape) {
  out += "<port id=\"" + std::to_string(id) + "\"";
  if (precision) out += std::string(" precision=\"") + precision + "\"";
  if (!shape) {
    out += "/>";
    return;
  }
  out += ">";
  for (int64_t d : *shape) out += "<dim>" + std::to_string(d) + "</dim>";
  out += "</port>";
}

}  // namespace

std::string dims_text(const Dims& dims) {
  std::string out;
  for (size_t i = 0; i < dims.size(); ++i) out += (i ? "," : "") + std::to_string(dims[i]);
  return out;
}

Value IrWriter::add(Layer layer) {
  for (const Value& input : layer.inputs) {
    if (input.layer < 0 || input.layer >= static_cast<int>(layers_.size())) {
      throw std::logic_error("IR writer: an input that is not an earlier layer");
    }
  }
  layers_.push_back(std::move(layer));
  return Value{static_cast<int>(layers_.size()) - 1};
}

Value IrWriter::parameter(const Dims& shape) {
  Layer layer;
  layer.type = "Parameter";
  layer.version = "opset1";
  layer.shape = shape;
  layer.element = "f32";
  layer.attributes = {{"shape", dims_text(shape)}, {"element_type", "f32"}};
  return add(std::move(layer));
}

Value IrWriter::constant(const char* element, const Dims& shape, const void* bytes, size_t size) {
  const size_t offset = (weights_.size() + kConstantAlignment - 1) / kConstantAlignment * kConstantAlignment;
  weights_.resize(offset + size);
  if (size) std::memcpy(weights_.data() + offset, bytes, size);
  Layer layer;
  layer.type = "Const";
  layer.version = "opset1";
  layer.shape = shape;
  layer.element = element;
  layer.attributes = {{"element_type", element},
                      {"shape", dims_text(shape)},
                      {"offset", std::to_string(offset)},
                      {"size", std::to_string(size)}};
  return add(std::move(layer));
}

Value IrWriter::constant_f32(const Dims& shape, const float* values) {
  size_t count = 1;
  for (int64_t d : shape) count *= static_cast<size_t>(d);
  return constant("f32", shape, values, count * sizeof(float));
}

Value IrWriter::scalar_f32(float value) { return constant("f32", Dims{}, &value, sizeof value); }

Value IrWriter::constant_i64(const std::vector<int64_t>& values) {
  return constant("i64", Dims{static_cast<int64_t>(values.size())}, values.data(), values.size() * sizeof(int64_t));
}

Value IrWriter::op(const char* type, const char* version, const Attributes& attributes,
                   const std::vector<Value>& inputs) {
  Layer layer;
  layer.type = type;
  layer.version = version;
  layer.attributes = attributes;
  layer.inputs = inputs;
  layer.element = "f32";  // every operation of the plugin's graphs computes on the f32 data
  return add(std::move(layer));
}

void IrWriter::result(Value value) { op("Result", "opset1", {}, {value}); }

std::string IrWriter::xml() const {
  std::string out = "<?xml version=\"1.0\"?>\n<net name=\"stridekit_conv\" version=\"11\">\n<layers>\n";
  std::string edges;
  for (size_t id = 0; id < layers_.size(); ++id) {
    const Layer& layer = layers_[id];
    out += "<layer id=\"" + std::to_string(id) + "\" name=\"" + layer.type + "_" + std::to_string(id) +
           "\" type=\"" + layer.type + "\" version=\"" + layer.version + "\">";
    if (!layer.attributes.empty()) {
      out += "<data";
      for (const auto& [name, value] : layer.attributes) out += " " + name + "=\"" + value + "\"";
      out += "/>";
    }
    if (!layer.inputs.empty()) {
      out += "<input>";
      for (size_t port = 0; port < layer.inputs.size(); ++port) {
        append_port(out, port, nullptr, nullptr);
        // Every layer's one output is its port numbered after its inputs.
        const Layer& from = layers_[static_cast<size_t>(layer.inputs[port].layer)];
        edges += "<edge from-layer=\"" + std::to_string(layer.inputs[port].layer) + "\" from-port=\"" +
                 std::to_string(from.inputs.size()) + "\" to-layer=\"" + std::to_string(id) + "\" to-port=\"" +
                 std::to_string(port) + "\"/>\n";
      }
      out += "</input>";
    }
    if (layer.type != "Result") {
      out += "<output>";
      // Operations' outputs carry no dimensions (OpenVINO infers them), but IR requires a precision.
      const bool source = layer.type == "Parameter" || layer.type == "Const";
      append_port(out, layer.inputs.size(), precision_of(layer.element), source ? &layer.shape : nullptr);
      out += "</output>";
    }
    out += "</layer>\n";
  }
  return out + "</layers>\n<edges>\n" + edges + "</edges>\n</net>\n";
}

}  // namespace stridekit::openvino
