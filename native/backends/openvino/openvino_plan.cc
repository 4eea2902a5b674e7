// Plan creation (copy the weights) and running (compile per input shape once, then infer in place).
#include "openvino_plan.h"

#include <cstring>
#include <stdexcept>
#include <string>

#include <openvino/runtime/tensor.hpp>

#include "model_builder.h"
#include "openvino_runtime.h"
#include "stridekit/conv_shape.h"

namespace stridekit::openvino {
namespace {

CompiledShape compile(const sk_plan& plan, const sk_conv_shape& shape) {
  const sk_conv_geometry& g = plan.geometry;
  const auto model = build_model(g, shape, plan.weight.data(), plan.bias.empty() ? nullptr : plan.bias.data());
  const Runtime& rt = runtime();
  CompiledShape entry;
  entry.shape = shape;
  entry.input_shape = input_shape(g, shape);
  entry.output_shape = output_shape(g, shape);
  entry.compiled = rt.core->compile_model(model, rt.device, rt.compile_config);
  entry.request = entry.compiled.create_infer_request();
  // Checked once here rather than on every run: the compiled model's output shape never changes.
  const ov::Shape produced = entry.request.get_output_tensor().get_shape();
  if (produced != entry.output_shape) {
    throw std::runtime_error("OpenVINO compiled a model giving " + shape_text(produced) + ", expected " +
                             shape_text(entry.output_shape));
  }
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
  // setting a tensor costs a few microseconds (an ov::Tensor and the CPU plugin re-binding its memory),
  // as much as a third of a tiny layer's inference, so a run on the buffers of the previous run (a plan
  // run into a reused `out`) keeps them bound. The same address with the same shape is the same memory:
  // nothing is read through a binding that a run has not just renewed or confirmed.
  if (entry.bound_x != x) {
    entry.bound_x = nullptr;
    entry.request.set_input_tensor(ov::Tensor(ov::element::f32, entry.input_shape, const_cast<float*>(x)));
    entry.bound_x = x;
  }
  if (entry.bound_y != y) {
    entry.bound_y = nullptr;
    entry.y_checked = false;
    entry.request.set_output_tensor(ov::Tensor(ov::element::f32, entry.output_shape, y));
    entry.bound_y = y;
  }
  entry.request.infer();

  // A device that could not write into y directly leaves the result in its own tensor. Asking costs
  // about as much as binding (an ov::Tensor), so it is asked once per binding.
  if (!entry.y_checked) {
    entry.y_in_place = entry.request.get_output_tensor().data() == static_cast<void*>(y);
    entry.y_checked = true;
  }
  if (!entry.y_in_place) {
    ov::Tensor out = entry.request.get_output_tensor();
    std::memcpy(y, out.data(), static_cast<size_t>(out_count) * sizeof(float));
  }
}

}  // namespace stridekit::openvino
