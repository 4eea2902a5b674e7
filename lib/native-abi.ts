/**
 * The shape of the native core addon as the facade sees it, and the layout of the two flat
 * Float64Arrays the facade hands it. The native side reads the same offsets from
 * native/core/js_abi.h and exports them as the addon's `abi` property; loader.ts compares that table
 * with ABI below when it loads a binary and refuses one that differs in any field, so a stale or
 * out-of-sync core is a load error rather than wrong arithmetic. Everything here is already
 * normalised: the core never derives a pad, stride or output size again, it only checks that the
 * buffers are as large as the shapes say.
 *
 * What lib/normalize.ts guarantees before any call (so the core's range checks never fire from the
 * facade): every value is an integer; kernel, stride, dilation, groups, channel counts, explicit
 * pads and the effective kernel (k - 1) * d + 1 are at most 2**31 - 1, resolved pads below 2**33;
 * every tensor, input and output, has at most 2**32 - 1 elements; pads are >= 0 (transposed 'same'
 * with a negative total pads nothing, and the output size alone says how far the result reaches);
 * precision is 0, 1, 2 or 3; entries of unused dimensions are 1 (sizes, kernel, stride, dilation) or
 * 0 (pads); groups divides C and K; x, weight, bias and y are Float32Arrays of exactly the sizes
 * the arrays imply; y shares no memory with x (nor, in one-shot calls, with weight or bias).
 */

/** The version of the facade <-> core surface; the core's is native/core/js_abi.h kFacadeAbiVersion. */
export const ABI_VERSION = 6;

/** Offsets into the geometry array: fixed for a plan's lifetime. Per-dimension triples are padded with 1. */
export const GEOMETRY = {
  rank: 0,
  transposed: 1, // 0 | 1
  layout: 2, // 0 channels_first, 1 channels_last (input and output)
  activation: 3, // ACTIVATION codes below
  groups: 4,
  inChannels: 5, // C
  outChannels: 6, // K
  kernel: 7, // 7..9
  stride: 10, // 10..12
  dilation: 13, // 13..15
  weightLayout: 16, // 0 channels_first (K, C/g, ...k) or transposed (C, K/g, ...k); 1 channels_last (...k, C/g, K) or transposed (...k, K/g, C)
  precision: 17, // PRECISION codes below (backend.h sk_precision)
  length: 18,
} as const;

/** Offsets into the shape array: resolved once per input shape. */
export const SHAPE = {
  batch: 0,
  inSize: 1, // 1..3
  outSize: 4, // 4..6 (transposed: outputPadding already included)
  padBegin: 7, // 7..9
  padEnd: 10, // 10..12
  length: 13,
} as const;

/**
 * A one-shot call's "request": the geometry array followed by the shape array, in one Float64Array
 * (one argument fewer for the core to read).
 */
export const REQUEST = {
  geometry: 0,
  shape: GEOMETRY.length,
  length: GEOMETRY.length + SHAPE.length,
} as const;

/** backend.h sk_activation. */
export const ACTIVATION = { none: 0, relu: 1, relu6: 2, sigmoid: 3, tanh: 4, silu: 5 } as const;
/** backend.h sk_precision. */
export const PRECISION = { fp32: 0, tf32: 1, fp16: 2, bf16: 3 } as const;

/** Everything above, as the core exports it (`NativeBinding.abi`) and loader.ts compares it. */
export const ABI = {
  version: ABI_VERSION,
  geometry: GEOMETRY,
  shape: SHAPE,
  request: REQUEST,
  activation: ACTIVATION,
  precision: PRECISION,
} as const;

/** A table of the layout: the version, then named groups of named integers. */
export interface NativeAbi {
  readonly version: number;
  readonly [group: string]: number | Readonly<Record<string, number>>;
}

export interface NativeBackendInfo {
  name: string; // a BackendName (backend-names.ts) for the backends this facade knows, in ranking order
  available: boolean;
  reason: string; // why not available ('' when available)
  device: string; // what runs the work ('' when unknown)
  kind: string; // 'cpu', 'gpu', 'npu' (backend.h sk_device_kind), '' when the probe does not say
  precisions: number; // bit (1 << PRECISION[p]) for each precision p the backend honours; fp32's always set
  path: string; // the plugin file that was loaded or looked for ('' for the built-in cpu backend)
}

/** A plan owned by one backend: weights packed once, run many times, disposed explicitly. */
export interface NativePlan {
  readonly backend: string;
  /** Runs on the calling thread. */
  runSync(shape: Float64Array, x: Float32Array, y: Float32Array): void;
  /**
   * Runs on a worker thread, on the core's copy of x (made before this returns): resolves with a new
   * Float32Array holding the result, or, when `out` is given, copies the result into it and resolves
   * with undefined (rejecting if out was detached or resized meanwhile). Runs of one plan are serialised.
   */
  run(shape: Float64Array, x: Float32Array, out: Float32Array | null): Promise<Float32Array | undefined>;
  /** Frees the native plan once in-flight runs finish. Later runs throw. Idempotent. */
  dispose(): void;
  /** runSync on device-resident tensors of the plan's backend, sized as `shape` says. */
  runDeviceSync(shape: Float64Array, x: NativeDeviceTensor, y: NativeDeviceTensor): void;
  /** run on device-resident tensors; x and y stay allocated until the run finishes, disposed or not. */
  runDevice(shape: Float64Array, x: NativeDeviceTensor, y: NativeDeviceTensor): Promise<void>;
}

/**
 * One tensor's memory on one backend: a device buffer (cudnn), or host memory on backends whose memory
 * is the host's (cpu, openvino). Created uninitialised; write and read copy the whole tensor.
 */
export interface NativeDeviceTensor {
  readonly backend: string;
  /** 0 once disposed. */
  readonly byteLength: number;
  readonly disposed: boolean;
  write(source: Float32Array): void;
  read(destination: Float32Array): void;
  /** read on a worker thread, into a new Float32Array. */
  readAsync(): Promise<Float32Array>;
  /** Frees the memory once runs in flight that use it finish. Idempotent. */
  dispose(): void;
}

export interface NativeBinding {
  /** The core's side of ABI, checked by loader.ts before anything else is used. */
  readonly abi: NativeAbi;
  /** Number of threads of the CPU backend's pool. */
  readonly numThreads: number;
  /** The named backends (this facade's list, in ranking order), each probed once per process. */
  backends(names: readonly string[]): NativeBackendInfo[];
  /** Packs the weights on the calling thread. bias is null or has K values. */
  createPlan(backend: string, geometry: Float64Array, weight: Float32Array, bias: Float32Array | null): NativePlan;
  /** One-shot: plan + run + free on the calling thread. `request` as REQUEST says. */
  convSync(backend: string, request: Float64Array, weight: Float32Array, bias: Float32Array | null, x: Float32Array, y: Float32Array): void;
  /**
   * `elements` uninitialised floats on `backend`. Throws an Error with code ERR_STRIDEKIT_OUT_OF_MEMORY
   * when the backend has no room.
   */
  createDeviceTensor(backend: string, elements: number): NativeDeviceTensor;
  /**
   * One-shot on a worker thread, weight packing included, on the core's copies of x, weight and bias
   * (made before this returns); resolves as NativePlan.run does.
   */
  conv(
    backend: string, request: Float64Array, weight: Float32Array, bias: Float32Array | null, x: Float32Array,
    out: Float32Array | null,
  ): Promise<Float32Array | undefined>;
}
