// Plan creation (weights to the device), per-shape preparation (descriptors, measured algorithm) and
// running the lowered steps of cudnn_lowering.h on the plan's stream.
#include "cudnn_plan.h"

#include <climits>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cudnn_runtime.h"
#include "stridekit/conv_shape.h"

namespace stridekit::cudnn {
namespace {

const float kOne = 1.0f, kZero = 0.0f;  // cuDNN's alpha and beta: float for float and half tensors

cudnnDataType_t compute_type(const Lowering& L) { return L.half ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT; }
size_t compute_bytes(const Lowering& L) { return L.half ? 2 : 4; }

const char* precision_name(int32_t precision) {
  switch (precision) {
    case SK_PRECISION_TF32: return "tf32";
    case SK_PRECISION_FP16: return "fp16";
    default: return "fp32";
  }
}

// The math type the convolution descriptor starts with (cudnn_plan.h explains the choice), as PyTorch
// sets it: tensor-op math for half tensors, FMA only for float without TF32, default math otherwise.
cudnnMathType_t requested_math(int32_t precision) {
  switch (precision) {
    case SK_PRECISION_FP16: return CUDNN_TENSOR_OP_MATH;
    case SK_PRECISION_TF32: return CUDNN_DEFAULT_MATH;
    default: return CUDNN_FMA_MATH;
  }
}

// The math type an algorithm measured with math type `measured` runs with. FP32 always runs with FMA
// math, whatever cudnnFind reports for float tensors (it may report DEFAULT math, which would allow TF32 on
// compute 8.0+; PyTorch overrides it the same way when allow_tf32 is off). The others run as measured,
// never with TENSOR_OP_MATH_ALLOW_CONVERSION, which may round float operands to half.
bool run_math(int32_t precision, cudnnMathType_t measured, cudnnMathType_t* run) {
  if (precision == SK_PRECISION_FP32) {
    *run = CUDNN_FMA_MATH;
    return true;
  }
  *run = measured;
  return measured != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
}

// Takes the fastest measured result that succeeded, keeps the precision and whose workspace fits.
template <typename Perf>
void choose_algorithm(sk_plan& plan, ShapeState& state, const Perf* results, int count, const char* what) {
  const int32_t precision = plan.geometry.precision;
  bool workspace_too_big = false;
  std::string seen;
  for (int i = 0; i < count; ++i) {  // cudnnFind* sorts by time, fastest first
    const Perf& r = results[i];
    seen += (seen.empty() ? "" : ", ") + std::to_string(static_cast<int>(r.algo)) + ":" + cudnnGetErrorString(r.status);
    if (r.status == CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED ||
        r.status == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED) {
      workspace_too_big = true;  // cudnnFind could not allocate this algorithm's workspace
      continue;
    }
    cudnnMathType_t math;
    if (r.status != CUDNN_STATUS_SUCCESS || !run_math(precision, r.mathType, &math)) continue;
    try {
      // Shapes measured earlier keep running with their own workspace sizes: a failed grow must leave
      // the buffer they rely on in place.
      plan.workspace.grow_keeping(r.memory, "the convolution's workspace");
    } catch (const DeviceError& e) {
      if (e.status() != SK_ERROR_OUT_OF_MEMORY) throw;
      workspace_too_big = true;
      continue;
    }
    state.algorithm = static_cast<int>(r.algo);
    state.workspace_bytes = r.memory;
    check_cudnn(cudnnSetConvolutionMathType(state.convolution.get(), math), "cudnnSetConvolutionMathType");
    return;
  }
  if (workspace_too_big) {
    throw DeviceError(SK_ERROR_OUT_OF_MEMORY, std::string("out of GPU memory: no ") + what +
                                                  " algorithm's workspace fits in the free memory");
  }
  throw DeviceError(SK_ERROR_UNSUPPORTED, std::string("cuDNN has no ") + what + " algorithm for this convolution at " +
                                              precision_name(precision) + " precision (measured: " + seen + ")");
}

// cuDNN's own output-size rule must agree with the lowering; a disagreement is a bug, said plainly.
void check_dims(const ShapeState& state) {
  const Lowering& L = state.lowering;
  const TensorDescriptor& x = L.transposed ? state.conv_output : state.conv_input;
  const TensorView& y = L.transposed ? L.conv_input : L.conv_output;
  int dims[kMaxTensorRank] = {};
  check_cudnn(cudnnGetConvolutionNdForwardOutputDim(state.convolution.get(), x.get(), state.filter.get(), y.rank, dims),
              "cudnnGetConvolutionNdForwardOutputDim");
  for (int i = 0; i < y.rank; ++i) {
    if (dims[i] != y.dims[i]) {
      throw std::logic_error("cuDNN's convolution of the lowered tensors has dimension " + std::to_string(i) + " = " +
                             std::to_string(dims[i]) + ", the lowering expects " + std::to_string(y.dims[i]));
    }
  }
}

ShapeState prepare_shape(sk_plan& plan, const sk_conv_shape& shape) {
  ShapeState state;
  state.shape = shape;
  state.lowering = lower_convolution(plan.geometry, shape);
  const Lowering& L = state.lowering;
  const cudnnDataType_t type = compute_type(L);
  state.conv_input = create_tensor(L.conv_input, type);
  state.conv_output = create_tensor(L.conv_output, type);
  for (const OutputPiece& piece : L.output_pieces) {
    TensorView bias = piece.view;  // (1, K', 1, ...): broadcast over the batch and every position
    for (int i = 0; i < bias.rank; ++i) bias.dims[i] = i == 1 ? piece.view.dims[1] : 1;
    for (int i = 0; i < bias.rank; ++i) bias.strides[i] = i == 0 ? bias.dims[1] : 1;
    bias.offset = piece.first_channel;
    state.output_pieces.push_back({create_tensor(piece.view, CUDNN_DATA_FLOAT), create_tensor(bias, CUDNN_DATA_FLOAT)});
  }
  for (const BoxCopy& c : L.input_copies) {
    state.input_copies.push_back({create_tensor(c.source, CUDNN_DATA_FLOAT), create_tensor(c.destination, type)});
  }
  for (const BoxCopy& c : L.output_copies) {
    state.output_copies.push_back({create_tensor(c.source, type), create_tensor(c.destination, CUDNN_DATA_FLOAT)});
  }
  state.filter = create_filter(L.filter_dims, L.filter_rank, type);

  int pad[SK_MAX_RANK], stride[SK_MAX_RANK], dilation[SK_MAX_RANK];
  // The tensor dimensions of the convolution's input and output are spatial dims 2.., after batch and channel.
  const TensorView& larger = L.transposed ? L.conv_output : L.conv_input;
  for (int j = 0; j < L.spatial; ++j) {
    if (L.pad[j] > INT_MAX || L.stride[j] > INT_MAX || L.dilation[j] > INT_MAX) {
      throw std::length_error("a pad, stride or dilation does not fit cuDNN's 32-bit descriptors");
    }
    // cuDNN derives the padded extent and the effective kernel in int as well: each field can fit while
    // n + 2 * pad or (k - 1) * dilation + 1 does not (a pad of 2^30 on 9 pixels).
    const int64_t padded = larger.dims[2 + j] + 2 * L.pad[j];
    const int64_t effective = (L.filter_dims[2 + j] - 1) * L.dilation[j] + 1;
    if (padded > INT_MAX || effective > INT_MAX) {
      throw std::length_error("a padded extent (" + std::to_string(padded) + ") or effective kernel (" +
                              std::to_string(effective) + ") does not fit cuDNN's 32-bit descriptors");
    }
    pad[j] = static_cast<int>(L.pad[j]);
    stride[j] = static_cast<int>(L.stride[j]);
    dilation[j] = static_cast<int>(L.dilation[j]);
  }
  cudnnConvolutionDescriptor_t conv = nullptr;
  check_cudnn(cudnnCreateConvolutionDescriptor(&conv), "cudnnCreateConvolutionDescriptor");
  state.convolution = ConvolutionDescriptor(conv);
  // Float accumulation for float and half tensors alike (PSEUDO_HALF_CONFIG for fp16).
  check_cudnn(cudnnSetConvolutionNdDescriptor(conv, L.spatial, pad, stride, dilation, CUDNN_CROSS_CORRELATION,
                                              CUDNN_DATA_FLOAT),
              "cudnnSetConvolutionNdDescriptor");
  check_cudnn(cudnnSetConvolutionGroupCount(conv, static_cast<int>(L.groups)), "cudnnSetConvolutionGroupCount");
  check_cudnn(cudnnSetConvolutionMathType(conv, requested_math(plan.geometry.precision)), "cudnnSetConvolutionMathType");
  check_dims(state);

  // Measured once per shape: cudnnFind* runs every applicable algorithm on scratch memory of its own.
  cudnnHandle_t handle = plan.handle.get();
  int count = 0;
  if (!L.transposed) {
    int max_count = 0;
    check_cudnn(cudnnGetConvolutionForwardAlgorithmMaxCount(handle, &max_count), "cudnnGetConvolutionForwardAlgorithmMaxCount");
    std::vector<cudnnConvolutionFwdAlgoPerf_t> results(static_cast<size_t>(max_count > 0 ? max_count : 1));
    check_cudnn(cudnnFindConvolutionForwardAlgorithm(handle, state.conv_input.get(), state.filter.get(), conv,
                                                     state.conv_output.get(), static_cast<int>(results.size()), &count,
                                                     results.data()),
                "cudnnFindConvolutionForwardAlgorithm");
    choose_algorithm(plan, state, results.data(), count, "forward convolution");
  } else {
    int max_count = 0;
    check_cudnn(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(handle, &max_count),
                "cudnnGetConvolutionBackwardDataAlgorithmMaxCount");
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> results(static_cast<size_t>(max_count > 0 ? max_count : 1));
    check_cudnn(cudnnFindConvolutionBackwardDataAlgorithm(handle, state.filter.get(), state.conv_input.get(), conv,
                                                          state.conv_output.get(), static_cast<int>(results.size()),
                                                          &count, results.data()),
                "cudnnFindConvolutionBackwardDataAlgorithm");
    choose_algorithm(plan, state, results.data(), count, "transposed convolution (backward-data)");
  }
  return state;
}

// The state for shape, moved to the front; prepared (and measured) when new, evicting the oldest.
ShapeState& state_for(sk_plan& plan, const sk_conv_shape& shape) {
  for (auto it = plan.shapes.begin(); it != plan.shapes.end(); ++it) {
    if (same_shape(it->shape, shape, plan.geometry.rank)) {
      plan.shapes.splice(plan.shapes.begin(), plan.shapes, it);
      return plan.shapes.front();
    }
  }
  ShapeState state = prepare_shape(plan, shape);
  if (plan.shapes.size() >= kCachedShapes) plan.shapes.pop_back();
  plan.shapes.push_front(std::move(state));
  return plan.shapes.front();
}

// Queues the lowered steps on the plan's stream; x and y are device pointers in the caller's layout.
void enqueue(sk_plan& plan, ShapeState& state, const void* x, void* y) {
  const Lowering& L = state.lowering;
  const size_t unit = compute_bytes(L);
  plan.staged_x.reserve(static_cast<size_t>(L.staged_x_elements) * unit, "the zero-padded input");
  plan.conv_y.reserve(static_cast<size_t>(L.conv_y_elements) * unit, "the convolution result");
  auto address = [&](Buffer buffer, int64_t offset) -> char* {
    switch (buffer) {
      case Buffer::kUserX: return const_cast<char*>(static_cast<const char*>(x)) + offset * 4;
      case Buffer::kUserY: return static_cast<char*>(y) + offset * 4;
      case Buffer::kStagedX: return static_cast<char*>(plan.staged_x.get()) + offset * static_cast<int64_t>(unit);
      default: return static_cast<char*>(plan.conv_y.get()) + offset * static_cast<int64_t>(unit);
    }
  };
  // Never larger than the buffer (choose_algorithm grew it for this shape and it never shrinks); checked
  // because cuDNN would write past it.
  if (state.workspace_bytes > plan.workspace.size()) {
    throw std::logic_error("the workspace (" + format_bytes(plan.workspace.size()) + ") is smaller than this shape's algorithm needs (" +
                           format_bytes(state.workspace_bytes) + ")");
  }
  cudaStream_t stream = plan.stream.get();
  cudnnHandle_t handle = plan.handle.get();

  if (L.zero_staged_x) {
    check_cuda(cudaMemsetAsync(plan.staged_x.get(), 0, static_cast<size_t>(L.staged_x_elements) * unit, stream),
               "cudaMemsetAsync (input border)");
  }
  for (size_t i = 0; i < L.input_copies.size(); ++i) {
    const BoxCopy& c = L.input_copies[i];
    check_cudnn(cudnnTransformTensor(handle, &kOne, state.input_copies[i].source.get(), address(c.from, c.source.offset),
                                     &kZero, state.input_copies[i].destination.get(), address(c.to, c.destination.offset)),
                "cudnnTransformTensor (input)");
  }
  void* conv_in = address(L.conv_input_buffer, L.conv_input.offset);
  void* conv_out = address(L.conv_output_buffer, L.conv_output.offset);
  if (!L.transposed) {
    check_cudnn(cudnnConvolutionForward(handle, &kOne, state.conv_input.get(), conv_in, state.filter.get(), plan.weight.get(),
                                        state.convolution.get(), static_cast<cudnnConvolutionFwdAlgo_t>(state.algorithm),
                                        plan.workspace.get(), state.workspace_bytes, &kZero, state.conv_output.get(),
                                        conv_out),
                "cudnnConvolutionForward");
  } else {
    check_cudnn(cudnnConvolutionBackwardData(handle, &kOne, state.filter.get(), plan.weight.get(), state.conv_input.get(),
                                             conv_in, state.convolution.get(),
                                             static_cast<cudnnConvolutionBwdDataAlgo_t>(state.algorithm),
                                             plan.workspace.get(), state.workspace_bytes, &kZero, state.conv_output.get(),
                                             conv_out),
                "cudnnConvolutionBackwardData");
  }
  if (L.zero_user_y) {
    check_cuda(cudaMemsetAsync(y, 0, static_cast<size_t>(L.user_y_elements) * 4, stream), "cudaMemsetAsync (output)");
  }
  for (size_t i = 0; i < L.output_copies.size(); ++i) {
    const BoxCopy& c = L.output_copies[i];
    check_cudnn(cudnnTransformTensor(handle, &kOne, state.output_copies[i].source.get(), address(c.from, c.source.offset),
                                     &kZero, state.output_copies[i].destination.get(), address(c.to, c.destination.offset)),
                "cudnnTransformTensor (output)");
  }
  for (size_t i = 0; i < L.output_pieces.size(); ++i) {
    const OutputPiece& piece = L.output_pieces[i];
    const PieceDescriptors& d = state.output_pieces[i];
    void* y_piece = address(Buffer::kUserY, piece.view.offset);
    if (plan.geometry.has_bias) {
      const float* bias = static_cast<const float*>(plan.bias.get()) + piece.first_channel;
      check_cudnn(cudnnAddTensor(handle, &kOne, d.bias.get(), bias, &kOne, d.y.get(), y_piece), "cudnnAddTensor (bias)");
    }
    if (plan.activation.get()) {
      check_cudnn(cudnnActivationForward(handle, plan.activation.get(), &kOne, d.y.get(), y_piece, &kZero, d.y.get(), y_piece),
                  "cudnnActivationForward");
    }
  }
}

// Runs body; when it throws, waits for whatever it queued before the exception leaves, so that no
// queued copy outlives the buffers the caller may free next.
template <typename Body>
void synchronised(sk_plan& plan, Body&& body) {
  try {
    body();
  } catch (...) {
    (void)cudaStreamSynchronize(plan.stream.get());
    (void)cudaGetLastError();
    throw;
  }
}

// From pageable memory cudaMemcpy may return before the data reaches the device (the copy is staged and
// finishes on the legacy default stream); the plan's stream is non-blocking and does not wait for that
// stream, so its first convolution could read the weights or bias before they land. One wait at plan
// creation, as buffer_write does for device tensors.
void wait_for_uploads() { check_cuda(cudaStreamSynchronize(cudaStreamLegacy), "cudaStreamSynchronize (weights)"); }

ActivationDescriptor create_activation(int32_t activation) {
  if (activation == SK_ACTIVATION_NONE) return ActivationDescriptor();
  cudnnActivationMode_t mode;
  double coef = 0.0;
  switch (activation) {
    case SK_ACTIVATION_RELU: mode = CUDNN_ACTIVATION_RELU; break;
    case SK_ACTIVATION_RELU6: mode = CUDNN_ACTIVATION_CLIPPED_RELU; coef = 6.0; break;
    case SK_ACTIVATION_SIGMOID: mode = CUDNN_ACTIVATION_SIGMOID; break;
    case SK_ACTIVATION_TANH: mode = CUDNN_ACTIVATION_TANH; break;
    case SK_ACTIVATION_SILU: mode = CUDNN_ACTIVATION_SWISH; break;  // x * sigmoid(beta x), beta = 1 below
    default: throw std::invalid_argument("unknown activation " + std::to_string(activation));
  }
  cudnnActivationDescriptor_t desc = nullptr;
  check_cudnn(cudnnCreateActivationDescriptor(&desc), "cudnnCreateActivationDescriptor");
  ActivationDescriptor owned(desc);
  // NaN in, NaN out, as PyTorch's activations do.
  check_cudnn(cudnnSetActivationDescriptor(desc, mode, CUDNN_PROPAGATE_NAN, coef), "cudnnSetActivationDescriptor");
  if (activation == SK_ACTIVATION_SILU) {
    check_cudnn(cudnnSetActivationDescriptorSwishBeta(desc, 1.0), "cudnnSetActivationDescriptorSwishBeta");
  }
  return owned;
}

}  // namespace

sk_plan* create_plan(const sk_conv_geometry& geometry, const float* weight, const float* bias) {
  use_device();
  auto plan = std::make_unique<sk_plan>();
  plan->geometry = geometry;
  // bf16 is a permission this backend does not use (its probe does not report it): such a plan is an
  // fp32 plan, with FMA math whatever cudnnFind reports (run_math), never TF32.
  if (plan->geometry.precision == SK_PRECISION_BF16) plan->geometry.precision = SK_PRECISION_FP32;
  int64_t filter_dims[kMaxTensorRank];
  const int filter_rank = lower_filter(geometry, filter_dims);
  const size_t count = static_cast<size_t>(product(filter_dims, filter_rank));
  plan->stream = create_stream();
  plan->handle = create_handle(plan->stream.get());
  plan->activation = create_activation(geometry.activation);

  if (geometry.precision == SK_PRECISION_FP16) {
    // Rounded to half on the device by cuDNN itself (round to nearest), the float copy dropped after.
    DeviceMemory float_weight;
    float_weight.reserve(count * 4, "the weights");
    check_cuda(cudaMemcpy(float_weight.get(), weight, count * 4, cudaMemcpyHostToDevice), "cudaMemcpy (weights)");
    wait_for_uploads();  // the conversion below runs on the plan's stream
    plan->weight.reserve(count * 2, "the half-precision weights");
    TensorView dense;
    dense.rank = filter_rank;
    for (int i = 0; i < filter_rank; ++i) dense.dims[i] = filter_dims[i];
    dense.strides[filter_rank - 1] = 1;
    for (int i = filter_rank - 2; i >= 0; --i) dense.strides[i] = dense.strides[i + 1] * dense.dims[i + 1];
    const TensorDescriptor from = create_tensor(dense, CUDNN_DATA_FLOAT);
    const TensorDescriptor to = create_tensor(dense, CUDNN_DATA_HALF);
    check_cudnn(cudnnTransformTensor(plan->handle.get(), &kOne, from.get(), float_weight.get(), &kZero, to.get(),
                                     plan->weight.get()),
                "cudnnTransformTensor (weights to half)");
    check_cuda(cudaStreamSynchronize(plan->stream.get()), "cudaStreamSynchronize (weights)");
  } else {
    plan->weight.reserve(count * 4, "the weights");
    check_cuda(cudaMemcpy(plan->weight.get(), weight, count * 4, cudaMemcpyHostToDevice), "cudaMemcpy (weights)");
  }

  if (geometry.has_bias) {
    if (!bias) throw std::invalid_argument("has_bias is set but bias is null");
    const size_t k = static_cast<size_t>(geometry.out_channels);
    plan->bias.reserve(k * 4, "the bias");
    check_cuda(cudaMemcpy(plan->bias.get(), bias, k * 4, cudaMemcpyHostToDevice), "cudaMemcpy (bias)");
  }
  wait_for_uploads();
  return plan.release();
}

void run_plan(sk_plan& plan, const sk_conv_shape& shape, const float* x, float* y) {
  use_device();
  synchronised(plan, [&] {
    ShapeState& state = state_for(plan, shape);
    const size_t x_bytes = static_cast<size_t>(state.lowering.user_x_elements) * 4;
    const size_t y_bytes = static_cast<size_t>(state.lowering.user_y_elements) * 4;
    plan.device_x.reserve(x_bytes, "the input");
    plan.device_y.reserve(y_bytes, "the output");
    plan.pinned_x.reserve(x_bytes, "the input");
    plan.pinned_y.reserve(y_bytes, "the output");
    cudaStream_t stream = plan.stream.get();
    std::memcpy(plan.pinned_x.get(), x, x_bytes);
    check_cuda(cudaMemcpyAsync(plan.device_x.get(), plan.pinned_x.get(), x_bytes, cudaMemcpyHostToDevice, stream),
               "cudaMemcpyAsync (input)");
    enqueue(plan, state, plan.device_x.get(), plan.device_y.get());
    check_cuda(cudaMemcpyAsync(plan.pinned_y.get(), plan.device_y.get(), y_bytes, cudaMemcpyDeviceToHost, stream),
               "cudaMemcpyAsync (output)");
    check_cuda(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    std::memcpy(y, plan.pinned_y.get(), y_bytes);
  });
}

void run_plan_on_device(sk_plan& plan, const sk_conv_shape& shape, const sk_buffer& x, sk_buffer& y) {
  use_device();
  synchronised(plan, [&] {
    ShapeState& state = state_for(plan, shape);
    const size_t x_bytes = static_cast<size_t>(state.lowering.user_x_elements) * 4;
    const size_t y_bytes = static_cast<size_t>(state.lowering.user_y_elements) * 4;
    if (x.bytes < x_bytes || y.bytes < y_bytes) {
      throw std::invalid_argument("device buffers of " + std::to_string(x.bytes) + " and " + std::to_string(y.bytes) +
                                  " bytes for a convolution that reads " + std::to_string(x_bytes) + " and writes " +
                                  std::to_string(y_bytes));
    }
    enqueue(plan, state, x.memory.get(), y.memory.get());
    check_cuda(cudaStreamSynchronize(plan.stream.get()), "cudaStreamSynchronize");
  });
}

void destroy_plan(sk_plan* plan) {
  if (!plan) return;
  if (cudaSetDevice(device().ordinal) == cudaSuccess && plan->stream.get()) {
    (void)cudaStreamSynchronize(plan->stream.get());
  }
  (void)cudaGetLastError();
  delete plan;
}

}  // namespace stridekit::cudnn
