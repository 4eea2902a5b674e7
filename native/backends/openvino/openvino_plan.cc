// Plan creation (copy the weights) and running (compile per input shape once, then infer in place).
#include "openvino_plan.h"

#include <cstring>
#include <stdexcept>
#include <string>

#include "model_builder.h"
#include "openvino_runtime.h"
#include "stridekit/conv_shape.h"

namespace stridekit::openvino {
namespace {

// A tensor over memory OpenVINO does not own (the caller's buffer, or the IR's weights).
TensorPtr host_tensor(ov_element_type_e type, const Dims& dims, void* data) {
  ov_shape_t shape{};
  check(ov_shape_create(static_cast<int64_t>(dims.size()), dims.data(), &shape), "creating a shape");
  ov_tensor_t* tensor = nullptr;
  const ov_status_e status = ov_tensor_create_from_host_ptr(type, shape, data, &tensor);
  ov_shape_free(&shape);
  check(status, "wrapping a buffer in a tensor");
  return TensorPtr(tensor);
}

Dims model_output_shape(const ov_model_t* model) {
  ov_output_const_port_t* raw = nullptr;
  check(ov_model_const_output(model, &raw), "reading the model's output");
  OutputPortPtr port(raw);
  ov_shape_t shape{};
  check(ov_const_port_get_shape(port.get(), &shape), "reading the model's output shape");
  Dims dims(shape.dims, shape.dims + shape.rank);
  ov_shape_free(&shape);
  return dims;
}

CompiledShape compile(const sk_plan& plan, const sk_conv_shape& shape) {
  const sk_conv_geometry& g = plan.geometry;
  IrModel ir = build_model(g, shape, plan.weight.data(), plan.bias.empty() ? nullptr : plan.bias.data());
  const Runtime& rt = runtime();
  CompiledShape entry;
  entry.shape = shape;
  entry.input_shape = input_shape(g, shape);
  entry.output_shape = output_shape(g, shape);
  entry.weights = std::move(ir.weights);

  // A model with no constants still needs a weights tensor; one byte stands in for the empty blob.
  if (entry.weights.empty()) entry.weights.push_back(0);
  const TensorPtr weights =
      host_tensor(U8, Dims{static_cast<int64_t>(entry.weights.size())}, entry.weights.data());
  ov_model_t* read = nullptr;
  check(ov_core_read_model_from_memory_buffer(rt.core, ir.xml.data(), ir.xml.size(), weights.get(), &read),
        "reading the model");
  const ModelPtr model(read);
  // OpenVINO inferred the graph's shapes as it read it; sizes and pads that disagree are a core bug.
  const Dims produced = model_output_shape(model.get());
  if (produced != entry.output_shape) {
    throw std::invalid_argument("the OpenVINO graph gives " + shape_text(produced) + " but the core expects " +
                                shape_text(entry.output_shape));
  }
  ov_compiled_model_t* compiled = nullptr;
  // The plan's precision, where the device honours it, overrides the device's f32 for this model only.
  const char* precision = compile_precision(rt, g.precision);
  const ov_status_e status =
      precision ? ov_core_compile_model(rt.core, model.get(), rt.device.c_str(), 2, &compiled,
                                        ov_property_key_hint_inference_precision, precision)
                : ov_core_compile_model(rt.core, model.get(), rt.device.c_str(), 0, &compiled);
  check(status, "compiling the model");
  entry.compiled.reset(compiled);
  ov_infer_request_t* request = nullptr;
  check(ov_compiled_model_create_infer_request(entry.compiled.get(), &request), "creating an infer request");
  entry.request.reset(request);
  return entry;
}

// The entry for shape, moved to the front; compiled when new, evicting the least recently used.
CompiledShape& entry_for(sk_plan& plan, const sk_conv_shape& shape) {
  for (auto it = plan.shapes.begin(); it != plan.shapes.end(); ++it) {
    if (same_shape(it->shape, shape, plan.geometry.rank)) {
      plan.shapes.splice(plan.shapes.begin(), plan.shapes, it);
      return plan.shapes.front();
    }
  }
  CompiledShape entry = compile(plan, shape);
  if (plan.shapes.size() >= kCachedShapes) plan.shapes.pop_back();
  plan.shapes.push_front(std::move(entry));
  return plan.shapes.front();
}

}  // namespace

sk_plan* create_plan(const sk_conv_geometry& geometry, const float* weight, const float* bias) {
  const sk_conv_geometry& g = geometry;
  const int64_t per_group = g.transposed ? g.out_channels / g.groups : g.in_channels / g.groups;
  const int64_t outer = g.transposed ? g.in_channels : g.out_channels;
  const int64_t count = outer * per_group * product(g.kernel, g.rank);
  auto* plan = new sk_plan();
  plan->geometry = geometry;
  plan->weight.assign(weight, weight + count);
  if (g.has_bias && bias) plan->bias.assign(bias, bias + g.out_channels);
  return plan;
}

void run_plan(sk_plan& plan, const sk_conv_shape& shape, const float* x, float* y) {
  const sk_conv_geometry& g = plan.geometry;
  const int64_t in_count = shape.batch * g.in_channels * product(shape.in_size, g.rank);
  const int64_t out_count = shape.batch * g.out_channels * product(shape.out_size, g.rank);
  if (out_count == 0) return;
  if (in_count == 0) throw std::invalid_argument("empty input for a non-empty output");

  CompiledShape& entry = entry_for(plan, shape);
  // The caller's buffers, wrapped without a copy: OpenVINO reads x and writes y in place. Wrapping and
  // setting a tensor costs a few microseconds (a tensor and the CPU plugin re-binding its memory), as
  // much as a third of a tiny layer's inference, so a run on the buffers of the previous run (a plan
  // run into a reused `out`) keeps them bound. The same address with the same shape is the same memory:
  // nothing is read through a binding that a run has not just renewed or confirmed. The request keeps
  // its own reference to each tensor set on it.
  if (entry.bound_x != x) {
    entry.bound_x = nullptr;
    const TensorPtr input = host_tensor(F32, entry.input_shape, const_cast<float*>(x));
    check(ov_infer_request_set_input_tensor_by_index(entry.request.get(), 0, input.get()), "setting the input");
    entry.bound_x = x;
  }
  if (entry.bound_y != y) {
    entry.bound_y = nullptr;
    entry.y_checked = false;
    const TensorPtr output = host_tensor(F32, entry.output_shape, y);
    check(ov_infer_request_set_output_tensor_by_index(entry.request.get(), 0, output.get()), "setting the output");
    entry.bound_y = y;
  }
  check(ov_infer_request_infer(entry.request.get()), "inference");

  // A device that could not write into y directly leaves the result in its own tensor. Asking costs
  // about as much as binding (a tensor), so it is asked once per binding.
  if (entry.y_checked && entry.y_in_place) return;
  ov_tensor_t* raw = nullptr;
  check(ov_infer_request_get_output_tensor_by_index(entry.request.get(), 0, &raw), "reading the output");
  const TensorPtr out(raw);
  void* data = nullptr;
  check(ov_tensor_data(out.get(), &data), "reading the output");
  entry.y_in_place = data == static_cast<void*>(y);
  entry.y_checked = true;
  if (!entry.y_in_place) std::memcpy(y, data, static_cast<size_t>(out_count) * sizeof(float));
}

}  // namespace stridekit::openvino
