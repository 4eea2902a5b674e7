/**
 * Device-resident tensors: upload a tensor once, run a chain of plans on the backend's own memory,
 * download once. On a backend with its own memory (cudnn) a DeviceTensor is a device buffer; on one
 * whose memory is the host's (cpu, openvino) it is host memory owned by the native core, and runs
 * read and write it in place, so the same code costs nothing extra there.
 *
 * Rules, checked here before any native call:
 * - a DeviceTensor only meets plans of its own backend (TypeError naming both);
 * - a disposed DeviceTensor cannot be used (Error); dispose() during a run is allowed and frees the
 *   memory when the run finishes (the native core holds it until then);
 * - a DeviceTensor being written by a run in flight cannot be read, and one being read or written
 *   cannot be written, until that run settles (Error): runs do not queue behind each other, so this
 *   keeps every result well defined.
 */
import { resolveBackend } from './backends';
import { describe, invalid } from './errors';
import * as is from './is';
import { binding } from './loader';
import type { NativeDeviceTensor } from './native-abi';
import { readBackendRequest, readOptionsBag } from './options';
import { CheckedTensor, readTensor } from './tensor';
import type { BackendName, BackendRequest, ConvOptions, Tensor, TensorInput } from './types';

const UPLOAD_OPTION_NAMES: readonly string[] = ['backend'];

/** What only this module may touch: the native memory and the runs in flight that use it. */
interface DeviceState {
  native: NativeDeviceTensor | undefined;
  /** Runs and downloads in flight that read the tensor. */
  readers: number;
  /** Runs in flight that write it (at most one). */
  writers: number;
}

const states = new WeakMap<DeviceTensor, DeviceState>();
let constructing = false;

/**
 * A tensor in a backend's memory. Made by upload() and by runs on device tensors; `new DeviceTensor()`
 * throws. Its values are read back with download() or downloadAsync(); dispose() frees the memory
 * (a tensor nobody references is freed by the garbage collector, which is told its size).
 */
export class DeviceTensor {
  readonly shape: readonly number[];
  readonly backend: BackendName;
  /** The memory it holds: 4 bytes per element. */
  readonly byteLength: number;

  constructor() {
    if (!constructing) throw new TypeError('DeviceTensor has no public constructor: use upload(tensor, { backend })');
    this.shape = [];
    this.backend = 'cpu';
    this.byteLength = 0;
  }

  get disposed(): boolean {
    return liveState(this).native === undefined;
  }

  /** A new host Tensor with the values, copied on the calling thread. */
  download(): Tensor {
    const native = readable(this, 'this DeviceTensor');
    const data = new Float32Array(this.byteLength / 4);
    native.read(data);
    return { data, shape: this.shape.slice() };
  }

  /** download() on a worker thread. Rejects, never throws. */
  async downloadAsync(): Promise<Tensor> {
    const native = readable(this, 'this DeviceTensor');
    const end = beginUse(this, 'read');
    try {
      return { data: await native.readAsync(), shape: this.shape.slice() };
    } finally {
      end();
    }
  }

  /** Frees the memory, once runs in flight that use it finish. Idempotent. */
  dispose(): void {
    const state = liveState(this);
    state.native?.dispose();
    state.native = undefined;
  }

  toString(): string {
    return `DeviceTensor(${this.backend}, [${this.shape.join(', ')}]${this.disposed ? ', disposed' : ''})`;
  }
}

export function isDeviceTensor(value: unknown): value is DeviceTensor {
  return value instanceof DeviceTensor;
}

function liveState(tensor: DeviceTensor): DeviceState {
  const state = states.get(tensor);
  if (state === undefined) throw new TypeError('not a DeviceTensor made by stridekit');
  return state;
}

function wrap(native: NativeDeviceTensor, shape: readonly number[], backend: BackendName): DeviceTensor {
  constructing = true;
  let tensor: DeviceTensor;
  try {
    tensor = new DeviceTensor();
  } finally {
    constructing = false;
  }
  const fields = tensor as { shape: readonly number[]; backend: BackendName; byteLength: number };
  fields.shape = Object.freeze(shape.slice());
  fields.backend = backend;
  fields.byteLength = native.byteLength;
  Object.freeze(tensor);
  states.set(tensor, { native, readers: 0, writers: 0 });
  return tensor;
}

/** A new, uninitialised tensor; out of memory is an Error with code ERR_STRIDEKIT_OUT_OF_MEMORY. */
function allocate(backend: BackendName, shape: readonly number[], length: number): DeviceTensor {
  return wrap(binding().createDeviceTensor(backend, length), shape, backend);
}

/** For runs on a DeviceTensor: `out` is a DeviceTensor of the plan's backend and the output shape. */
export interface DeviceRunOptions {
  out?: DeviceTensor;
}

/** One-shot calls on a DeviceTensor x: `backend` 'auto' (or left out) is x's backend. */
export interface DeviceConvOptions extends Omit<ConvOptions, 'out'> {
  out?: DeviceTensor;
}

export interface UploadOptions {
  /** 'auto' (default) is the selected backend: STRIDEKIT_BACKEND, else the best available. */
  backend?: BackendRequest;
}

/**
 * Copies a tensor into the memory of a backend, once. Later changes to `x.data` do not reach the
 * copy. A DeviceTensor is copied too (through host memory), onto the backend the options name.
 */
export function upload(x: TensorInput | DeviceTensor, options?: UploadOptions): DeviceTensor {
  const opts = readOptionsBag(options, UPLOAD_OPTION_NAMES);
  const request = readBackendRequest(opts.backend);
  const host = isDeviceTensor(x) ? x.download() : readTensor(x, 'x');
  const backend = resolveBackend(request);
  const tensor = allocate(backend, host.shape, host.data.length);
  try {
    liveState(tensor).native?.write(host.data);
  } catch (error) {
    tensor.dispose();
    throw error;
  }
  return tensor;
}

/** The tensor's native memory, when it may be read now; `name` starts the messages. */
function readable(tensor: DeviceTensor, name: string): NativeDeviceTensor {
  const state = liveState(tensor);
  if (state.native === undefined) throw new Error(`${name} has been disposed; upload the tensor again`);
  if (state.writers > 0) throw new Error(`${name} is being written by a run in flight; await that run first`);
  return state.native;
}

function sameBackend(tensor: DeviceTensor, path: string, backend: BackendName, whose: string): void {
  if (tensor.backend !== backend) {
    throw invalid('type', path, `a DeviceTensor on '${backend}' (${whose})`, tensor,
      { got: `a DeviceTensor on '${tensor.backend}'`, hint: `upload(${path}, { backend: '${backend}' }) copies it there` });
  }
}

/** x's native memory for a run on `backend` (`whose`: what chose it, for the message). */
export function deviceInput(x: DeviceTensor, backend: BackendName, whose: string): NativeDeviceTensor {
  sameBackend(x, 'x', backend, whose);
  return readable(x, 'x');
}

/**
 * Checks `out` as the output of a run of x on `backend`, before anything is allocated or packed:
 * a live DeviceTensor of that backend and of exactly the output shape, not x, and not in use.
 */
export function checkDeviceOut(
  out: unknown, x: DeviceTensor, backend: BackendName, whose: string, outputShape: readonly number[],
): DeviceTensor | undefined {
  if (!is.defined(out)) return undefined;
  if (!isDeviceTensor(out)) throw invalid('type', 'out', 'a DeviceTensor when x is one', out);
  const state = liveState(out);
  if (state.native === undefined) throw new Error('out has been disposed; upload the tensor again');
  sameBackend(out, 'out', backend, whose);
  const same = out.shape.length === outputShape.length && out.shape.every((dim, axis) => dim === outputShape[axis]);
  if (!same) throw invalid('range', 'out.shape', `${describe(outputShape)} (the output shape)`, out.shape);
  if (out === x) throw invalid('range', 'out', 'a DeviceTensor other than x', out, { got: 'x itself' });
  if (state.readers > 0 || state.writers > 0) {
    throw new Error('out is being read or written by a run in flight; await that run first');
  }
  return out;
}

/** The output of a run: `out` as checkDeviceOut returned it, or a new tensor (`fresh`). */
export function deviceOutput(
  out: DeviceTensor | undefined, backend: BackendName, outputShape: readonly number[], length: number,
): { tensor: DeviceTensor; native: NativeDeviceTensor; fresh: boolean } {
  const tensor = out ?? allocate(backend, outputShape, length);
  return { tensor, native: liveState(tensor).native as NativeDeviceTensor, fresh: out === undefined };
}

/** Marks a tensor read or written by work in flight; call the returned function when it settles. */
export function beginUse(tensor: DeviceTensor, use: 'read' | 'write'): () => void {
  const state = liveState(tensor);
  if (use === 'read') state.readers++;
  else state.writers++;
  return () => {
    if (use === 'read') state.readers--;
    else state.writers--;
  };
}

/** A host tensor argument that is a DeviceTensor: the TypeError that says how to mix them. */
export function deviceWhereHostExpected(path: string, value: DeviceTensor, x: string): TypeError {
  return invalid('type', path, `a Tensor when ${x} is a host Tensor`, value,
    { got: `a DeviceTensor on '${value.backend}'`, hint: `download() it, or upload() ${x}` }) as TypeError;
}

/** Weights stay host tensors: a plan packs its own copy, in its backend's format. */
export function readWeightTensor(value: unknown, path: string): CheckedTensor {
  if (isDeviceTensor(value)) {
    throw invalid('type', path, 'a host Tensor (a plan packs its own copy of the weights)', value,
      { got: `a DeviceTensor on '${value.backend}'`, hint: 'download() it' });
  }
  return readTensor(value, path);
}
