/**
 * The public types of arguments, options and results. Runtime checks live in options.ts, tensor.ts
 * and normalize.ts. The types that name a DeviceTensor live beside it (device-tensor.ts) and the
 * ConvPlan interface beside its implementation (plan.ts), so that this module depends on nothing but
 * backend-names.ts and no module that uses these types imports back into a circle.
 */
import type { BackendName } from './backend-names';

export type { BackendName };

/** A dense float32 tensor, row-major. */
export interface Tensor {
  data: Float32Array;
  shape: readonly number[];
}

/** ONNX Runtime's spelling of a tensor: `dims` instead of `shape`. */
export interface DimsTensor {
  data: Float32Array;
  dims: readonly number[];
}

/** What every tensor argument accepts. When both `shape` and `dims` are given they must agree. */
export type TensorInput = Tensor | DimsTensor;

export type Activation = 'relu' | 'relu6' | 'sigmoid' | 'tanh' | 'silu';
export type Layout = 'channels_first' | 'channels_last';
export type BackendRequest = BackendName | 'auto';
/** createConv's `backend`: also 'fastest', which times the plan on every available backend. */
export type PlanBackendRequest = BackendRequest | 'fastest';
/**
 * What arithmetic a backend may use: 'fp32' is exact single precision; 'tf32' allows tensor-core TF32
 * products (10-bit mantissa, fp32 sums); 'fp16' allows half-precision storage and arithmetic; 'bf16'
 * allows x and the weights rounded to bfloat16 (8 significant bits) with fp32 sums. Inputs and outputs
 * are float32 whatever it says. BackendInfo.precisions lists what each backend honours here.
 */
export type Precision = 'fp32' | 'tf32' | 'fp16' | 'bf16';

/**
 * - `'valid'`: no padding.
 * - `'same'` (TensorFlow SAME, ONNX SAME_UPPER): forward output `ceil(n / stride)`, transposed output
 *   `n * stride`; an odd total pad puts the extra pixel at the end.
 * - `'same_lower'` (ONNX SAME_LOWER): as `'same'` with the extra pixel at the beginning.
 * - `'causal'` (Keras Conv1D): `(k - 1) * dilation` at the beginning; 1-D forward convolutions only.
 */
export type PaddingMode = 'valid' | 'same' | 'same_lower' | 'causal';
export type PaddingPair = readonly [begin: number, end: number];
/** One integer for every side, one per spatial dimension (an integer or a [begin, end] pair), or a mode. */
export type Padding = number | PaddingMode | ReadonlyArray<number | PaddingPair>;
/** One positive integer for every spatial dimension, or one per spatial dimension. */
export type PerDimension = number | readonly number[];

/**
 * The layer's options (the README's Options table). `undefined` and `null` both mean the default.
 * Spatial rank (1, 2 or 3) comes from the weight: `w.shape.length - 2`.
 */
export interface LayerOptions {
  /** Default 1. */
  stride?: PerDimension;
  /** Default 0. */
  padding?: Padding;
  /** Default 1. */
  dilation?: PerDimension;
  /** Divides both channel counts; groups = C is depthwise. Default 1. */
  groups?: number;
  /** K values (one per output channel), added before the activation. */
  bias?: Float32Array | TensorInput | null;
  /** Fused after the bias. */
  activation?: Activation | null;
  /** Of the input and the output. Default 'channels_first' (N, C, ...spatial). */
  layout?: Layout;
  /**
   * 'channels_first' (default, PyTorch and ONNX): conv (K, C/groups, ...k), transposed (C, K/groups, ...k).
   * 'channels_last' (TensorFlow, Keras): conv (...k, C/groups, K), transposed (...k, K/groups, C).
   */
  weightLayout?: Layout;
  /**
   * Transposed only: extra output at the end of each dimension, each value smaller than the stride or
   * the dilation of its dimension (as PyTorch). With padding 'same'/'same_lower' the output stays
   * `n * stride` and outputPadding adds to the total pad (ONNX ConvTranspose).
   */
  outputPadding?: PerDimension;
  /**
   * 'auto' (default) is the selected backend: STRIDEKIT_BACKEND, else the first available backend
   * expected to beat cpu (a GPU or NPU), else cpu. createConv also takes 'fastest'.
   */
  backend?: BackendRequest;
  /**
   * Default 'fp32'. A permission, as PyTorch's allow_tf32: a backend runs fp32 unless it honours the
   * precision on this machine (backends()[].precisions): cudnn tf32 (compute 8.0+) and fp16, coreml fp16,
   * cpu and openvino bf16 where the processor has bfloat16 arithmetic (AVX512-BF16 or AMX).
   */
  precision?: Precision;
}

export interface ConvOptions extends LayerOptions {
  /** A preallocated output of exactly the output shape, not overlapping the input's memory. */
  out?: TensorInput;
  /**
   * Optional; when given it must agree with the function (false for conv, true for convTranspose),
   * so that one options object can serve outputShape, resolvePadding, createConv and the one-shot calls.
   */
  transposed?: boolean;
}

/** For outputShape and resolvePadding: `transposed: true` describes convTranspose. `out` is ignored. */
export type ShapeOptions = ConvOptions;

export interface PlanOptions extends Omit<LayerOptions, 'backend'> {
  /** The kernel, packed once when the plan is created. */
  weight: TensorInput;
  /** Default false. */
  transposed?: boolean;
  /**
   * As LayerOptions.backend, or 'fastest': createConv builds the plan on every available backend,
   * times runs on `inputShape`, keeps the fastest whose result agrees with cpu's and disposes the
   * others (plan.backendTimings says what each took). The cost is paid once, in createConv.
   */
  backend?: PlanBackendRequest;
  /**
   * The input shape the plan will mostly run on (N, C, ...spatial, in `layout`). Required with backend
   * 'fastest', which times runs of this shape; otherwise only checked against the weight. Runs of
   * other shapes work on any plan.
   */
  inputShape?: readonly number[];
}

/** One backend's entry in ConvPlan.backendTimings (backend: 'fastest'). */
export interface BackendTiming {
  backend: BackendName;
  /** The median of the timed runs on inputShape, in milliseconds; absent when it was rejected before. */
  ms?: number;
  /** How many runs were timed (after one untimed first run). */
  runs: number;
  /** Plan creation plus the first run, in milliseconds: OpenVINO and Core ML compile their model then. */
  setupMs?: number;
  /** Why it could not be chosen: its plan or a run failed, or its result disagreed with cpu's. */
  rejected?: string;
  /** The backend the plan kept. */
  chosen: boolean;
}

export interface RunOptions {
  out?: TensorInput;
}

export interface BackendInfo {
  name: BackendName;
  available: boolean;
  /** The backend `backend: 'auto'` runs on. */
  selected: boolean;
  /** What runs the work, when available. */
  device?: string;
  /** What kind of processor `device` is, when the backend's probe says. */
  deviceKind?: 'cpu' | 'gpu' | 'npu';
  /**
   * The precisions it computes in when a call permits them, on this machine: 'fp32' first, then any of
   * 'tf32', 'fp16', 'bf16' it honours; another permitted precision runs as fp32. Empty when not available.
   */
  precisions: Precision[];
  /**
   * For an available backend, why 'auto' chose it or not: "chosen by 'auto': it runs its work on a GPU",
   * "not chosen by 'auto': its device is a CPU, ...". About 'auto' even when STRIDEKIT_BACKEND decides.
   */
  note?: string;
  /** Why it is not available. */
  reason?: string;
}
