/**
 * The one place where a convolution's arguments become explicit per-dimension numbers and the two
 * Float64Arrays of native-abi.ts. Split the way a plan uses it:
 *   readArguments   every entry point's first step: options bag, x, weight, transposed, the rest;
 *   normalizeFixed  weight shape + options, once per plan (geometry array);
 *   resolveShape    input shape, once per new input shape (pads, output size, shape array);
 *   ShapeCache      resolveShape memoised by input shape.
 * A one-shot call uses the same steps without the arrays (readFixed, resolveSizes) and writes them
 * into its reused request array last (writeGeometry, writeShape), so it allocates neither.
 * Everything here is pure: it runs, and throws its TypeErrors and RangeErrors, before any native code.
 */
import { describe, indexed, invalid } from './errors';
import { ACTIVATION, GEOMETRY, PRECISION, SHAPE } from './native-abi';
import {
  Direction, GEOMETRY_MAX, Options, PaddingSpec, readActivation, readBackendRequest, readBias, readDilation,
  readGroups, readLayout, readOptionsBag, readOutputPadding, readPadding, readPrecision, readStride, readTransposed,
} from './options';
import { DimensionGeometry, effectiveKernel, forwardDimension, transposedDimension } from './padding';
import { elementCount } from './tensor';
import type { Activation, Layout, PlanBackendRequest, Precision } from './types';

/** Fixed for a plan's lifetime: what the weight and the options say. */
export interface FixedOptions {
  readonly transposed: boolean;
  readonly rank: number;
  /** C: input channels. */
  readonly inChannels: number;
  /** K: output channels. */
  readonly outChannels: number;
  readonly groups: number;
  readonly kernel: readonly number[];
  readonly stride: readonly number[];
  readonly dilation: readonly number[];
  readonly padding: PaddingSpec;
  readonly outputPadding: readonly number[];
  readonly layout: Layout;
  readonly weightLayout: Layout;
  readonly activation: Activation | undefined;
  readonly bias: Float32Array | null;
  readonly backend: PlanBackendRequest;
  readonly precision: Precision;
  /** The weight's shape and how the caller named it (w.shape, weight.dims, wShape), for messages. */
  readonly wShape: readonly number[];
  readonly wShapePath: string;
}

/** FixedOptions and their geometry array. */
export interface FixedPart extends FixedOptions {
  readonly geometry: Float64Array;
}

/** Resolved for one input shape. */
export interface ShapeSizes {
  readonly batch: number;
  readonly inSize: readonly number[];
  readonly outSize: readonly number[];
  readonly pads: ReadonlyArray<readonly [number, number]>;
  readonly outputShape: readonly number[];
  readonly outputLength: number;
}

/** ShapeSizes and their shape array. */
export interface ShapePart extends ShapeSizes {
  readonly shape: Float64Array;
}

const SPATIAL_NAMES = ['', 'L', 'H, W', 'D, H, W'];

/** An argument with a shape (a checked tensor, or a bare shape) and how the caller named that shape. */
export interface Shaped {
  readonly shape: readonly number[];
  readonly shapePath: string;
}

/**
 * How one entry point (conv, createConv, outputShape, ...) takes its arguments: one constant per
 * entry point, naming the reader of each argument.
 */
export interface EntryPoint<X, W extends Shaped, F extends FixedOptions> {
  /** The options its bag may hold, and why some other names are refused. */
  readonly optionNames: readonly string[];
  readonly optionHints?: Readonly<Record<string, string>>;
  /** Reads x; notReadHere where x is checked later (a DeviceTensor) or the entry point has none. */
  readonly inputName: string;
  readonly readInput: (value: unknown, path: string) => X;
  /** Reads the weight: the `w` argument, or options.weight with `weightInOptions`. */
  readonly weightName: string;
  readonly weightInOptions: boolean;
  readonly readWeight: (value: unknown, path: string) => W;
  /** readFixed, or normalizeFixed where a plan needs the geometry array. */
  readonly readLayer: (wShape: readonly number[], wShapePath: string, options: Options, transposed: boolean) => F;
}

/** EntryPoint.readInput of an entry point that reads no x here. */
export function notReadHere(): undefined {
  return undefined;
}

export interface EntryArguments<X, W, F> {
  readonly options: Options;
  readonly input: X;
  readonly weight: W;
  readonly fixed: F;
}

/**
 * The first step of every entry point, in the one order that decides which error a caller sees when
 * several arguments are bad: the options bag, x, the weight, options.transposed (which may only
 * agree with `direction` where the function fixes one), then every other option.
 */
export function readArguments<X, W extends Shaped, F extends FixedOptions>(
  entry: EntryPoint<X, W, F>, direction: Direction | undefined, options: unknown, x: unknown, w: unknown,
): EntryArguments<X, W, F> {
  const opts = readOptionsBag(options, entry.optionNames, entry.optionHints);
  const input = entry.readInput(x, entry.inputName);
  const weight = entry.readWeight(entry.weightInOptions ? opts.weight : w, entry.weightName);
  const transposed = readTransposed(opts.transposed, direction);
  return { options: opts, input, weight, fixed: entry.readLayer(weight.shape, weight.shapePath, opts, transposed) };
}

export function normalizeFixed(wShape: readonly number[], wShapePath: string, options: Options, transposed: boolean): FixedPart {
  const fixed = readFixed(wShape, wShapePath, options, transposed);
  return { ...fixed, geometry: writeGeometry(fixed, new Float64Array(GEOMETRY.length)) };
}

/**
 * normalizeFixed without the geometry array. wShape is kept as it is: it must be the checked copy
 * readShape made (readArguments passes the weight's), which no caller can reach.
 */
export function readFixed(wShape: readonly number[], wShapePath: string, options: Options, transposed: boolean): FixedOptions {
  const rank = wShape.length - 2;
  if (rank < 1 || rank > 3) {
    throw invalid('range', wShapePath, '3, 4 or 5 entries long (2 channel axes and a 1-D, 2-D or 3-D kernel)', wShape);
  }
  const layout = readLayout(options.layout, 'layout');
  const weightLayout = readLayout(options.weightLayout, 'weightLayout');
  const axes = weightAxes(rank, weightLayout);
  const stride = readStride(options.stride, rank);
  const dilation = readDilation(options.dilation, rank);
  const groups = readGroups(options.groups);
  const kernel = wShape.slice(axes.firstKernel, axes.firstKernel + rank);
  for (let i = 0; i < rank; i++) checkKernel(kernel[i], dilation[i], i, wShapePath, axes.firstKernel + i);

  // The outer weight axis holds the channels that groups must divide; the inner one is per group.
  const outer = wShape[axes.outer];
  const inner = wShape[axes.inner];
  if (outer > GEOMETRY_MAX) throw invalid('range', indexed(wShapePath, axes.outer), `at most ${GEOMETRY_MAX}`, outer);
  if (outer % groups !== 0) {
    const role = transposed ? 'input' : 'output';
    throw invalid('range', 'groups', `a divisor of ${wShapePath}[${axes.outer}] (${outer} ${role} channels)`, groups);
  }
  if (inner * groups > GEOMETRY_MAX) {
    throw invalid('range', 'groups', `at most ${Math.floor(GEOMETRY_MAX / inner)} (${wShapePath}[${axes.inner}] × groups channels)`, groups);
  }
  const inChannels = transposed ? outer : inner * groups;
  const outChannels = transposed ? inner * groups : outer;

  const padding = readPadding(options.padding, rank, transposed);
  const outputPadding = readOutputPadding(options.outputPadding, rank, transposed, stride, dilation);
  const activation = readActivation(options.activation);
  const bias = readBias(options.bias, outChannels);
  const backend = readBackendRequest(options.backend);
  const precision = readPrecision(options.precision);
  return {
    transposed, rank, inChannels, outChannels, groups, kernel, stride, dilation, padding, outputPadding,
    layout, weightLayout, activation, bias, backend, precision, wShape, wShapePath,
  };
}

interface WeightAxes {
  readonly outer: number;
  readonly inner: number;
  readonly firstKernel: number;
}
const WEIGHT_AXES_FIRST: WeightAxes = { outer: 0, inner: 1, firstKernel: 2 };
const WEIGHT_AXES_LAST: readonly WeightAxes[] = [1, 2, 3].map((rank) => ({ outer: rank + 1, inner: rank, firstKernel: 0 }));

/** Weight axes: conv (K, C/g, ...k) or (...k, C/g, K); transposed (C, K/g, ...k) or (...k, K/g, C). */
function weightAxes(rank: number, weightLayout: Layout): WeightAxes {
  return weightLayout === 'channels_first' ? WEIGHT_AXES_FIRST : WEIGHT_AXES_LAST[rank - 1];
}

function checkKernel(k: number, d: number, dim: number, wShapePath: string, axis: number): void {
  if (k > GEOMETRY_MAX) throw invalid('range', indexed(wShapePath, axis), `at most ${GEOMETRY_MAX}`, k);
  if (effectiveKernel(k, d) > GEOMETRY_MAX) {
    throw invalid('range', `dilation[${dim}]`,
      `small enough that the effective kernel (${k} - 1) * dilation + 1 is at most ${GEOMETRY_MAX}`, d);
  }
}

/** Fills the geometry array (GEOMETRY.length entries, every one written) and returns it. */
export function writeGeometry(f: FixedOptions, g: Float64Array): Float64Array {
  g[GEOMETRY.rank] = f.rank;
  g[GEOMETRY.transposed] = f.transposed ? 1 : 0;
  g[GEOMETRY.layout] = f.layout === 'channels_last' ? 1 : 0;
  g[GEOMETRY.activation] = f.activation === undefined ? ACTIVATION.none : ACTIVATION[f.activation];
  g[GEOMETRY.groups] = f.groups;
  g[GEOMETRY.inChannels] = f.inChannels;
  g[GEOMETRY.outChannels] = f.outChannels;
  for (let i = 0; i < 3; i++) {
    const used = i < f.rank;
    g[GEOMETRY.kernel + i] = used ? f.kernel[i] : 1;
    g[GEOMETRY.stride + i] = used ? f.stride[i] : 1;
    g[GEOMETRY.dilation + i] = used ? f.dilation[i] : 1;
  }
  g[GEOMETRY.weightLayout] = f.weightLayout === 'channels_last' ? 1 : 0;
  g[GEOMETRY.precision] = PRECISION[f.precision];
  return g;
}

/** xShape must already be a checked shape (readShape / readTensor). */
export function resolveShape(fixed: FixedOptions, xShape: readonly number[], xShapePath: string): ShapePart {
  const sizes = resolveSizes(fixed, xShape, xShapePath);
  return { ...sizes, shape: writeShape(sizes, new Float64Array(SHAPE.length)) };
}

/** resolveShape without the shape array. */
export function resolveSizes(fixed: FixedOptions, xShape: readonly number[], xShapePath: string): ShapeSizes {
  const { rank } = fixed;
  const channelsFirst = fixed.layout === 'channels_first';
  const channelAxis = channelsFirst ? 1 : rank + 1;
  const firstSpatial = channelsFirst ? 2 : 1;
  if (xShape.length !== rank + 2) {
    const names = channelsFirst ? `[N, C, ${SPATIAL_NAMES[rank]}]` : `[N, ${SPATIAL_NAMES[rank]}, C]`;
    throw invalid('range', xShapePath, `${names} for a ${rank}-D kernel (${fixed.wShapePath} ${describe(fixed.wShape)})`, xShape);
  }
  if (xShape[channelAxis] !== fixed.inChannels) throw channelMismatch(fixed, xShape[channelAxis], indexed(xShapePath, channelAxis));

  const batch = xShape[0];
  const resolve = fixed.transposed ? transposedDimension : forwardDimension;
  const inSize = new Array<number>(rank);
  const outSize = new Array<number>(rank);
  const pads = new Array<readonly [number, number]>(rank);
  for (let dim = 0; dim < rank; dim++) {
    const n = xShape[firstSpatial + dim];
    const g: DimensionGeometry = {
      dim, n, k: fixed.kernel[dim], s: fixed.stride[dim], d: fixed.dilation[dim], outputPadding: fixed.outputPadding[dim],
    };
    const r = resolve(g, fixed.padding);
    inSize[dim] = n;
    outSize[dim] = r.out;
    pads[dim] = [r.begin, r.end];
  }
  const outputShape = new Array<number>(rank + 2);
  outputShape[0] = batch;
  outputShape[channelsFirst ? 1 : rank + 1] = fixed.outChannels;
  for (let dim = 0; dim < rank; dim++) outputShape[firstSpatial + dim] = outSize[dim];
  const outputLength = elementCount(outputShape, 'output shape');
  return { batch, inSize, outSize, pads, outputShape, outputLength };
}

/** Fills the shape array (SHAPE.length entries, every one written) and returns it. */
export function writeShape(sizes: ShapeSizes, a: Float64Array): Float64Array {
  const rank = sizes.inSize.length;
  a[SHAPE.batch] = sizes.batch;
  for (let i = 0; i < 3; i++) {
    const used = i < rank;
    a[SHAPE.inSize + i] = used ? sizes.inSize[i] : 1;
    a[SHAPE.outSize + i] = used ? sizes.outSize[i] : 1;
    a[SHAPE.padBegin + i] = used ? sizes.pads[i][0] : 0;
    a[SHAPE.padEnd + i] = used ? sizes.pads[i][1] : 0;
  }
  return a;
}

function channelMismatch(fixed: FixedOptions, channels: number, path: string): RangeError | TypeError {
  const axes = weightAxes(fixed.rank, fixed.weightLayout);
  const w = fixed.wShapePath;
  const source = fixed.transposed
    ? `${w}[${axes.outer}]`
    : fixed.groups === 1
      ? `${w}[${axes.inner}]`
      : `${w}[${axes.inner}] × groups (${fixed.inChannels / fixed.groups} × ${fixed.groups})`;
  return invalid('range', path, `${fixed.inChannels} to match ${source}`, channels);
}

/**
 * resolveShape memoised per input shape; bounded so that a stream of odd shapes cannot grow it
 * forever. The shape of the previous call is compared first, entry by entry: a plan usually sees
 * one input shape over and over, and that check allocates nothing (the map's key is a string).
 */
export class ShapeCache {
  private readonly entries = new Map<string, ShapePart>();
  private lastShape: readonly number[] = [];
  private lastPart: ShapePart | undefined;

  constructor(private readonly fixed: FixedOptions, private readonly limit = 64) {}

  get(xShape: readonly number[], xShapePath: string): ShapePart {
    const last = this.lastPart;
    if (last !== undefined && sameShape(this.lastShape, xShape)) return last;
    const key = xShape.join(',');
    let part = this.entries.get(key);
    if (part === undefined) {
      part = resolveShape(this.fixed, xShape, xShapePath);
      if (this.entries.size >= this.limit) this.entries.delete(this.entries.keys().next().value as string);
      this.entries.set(key, part);
    }
    this.lastShape = xShape.slice();
    this.lastPart = part;
    return part;
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
