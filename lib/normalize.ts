/**
 * The one place where a convolution's arguments become explicit per-dimension numbers and the two
 * Float64Arrays of native-abi.ts. Split the way a plan uses it:
 *   normalizeFixed  weight shape + options, once per plan (geometry array);
 *   resolveShape    input shape, once per new input shape (pads, output size, shape array);
 *   ShapeCache      resolveShape memoised by input shape.
 * Everything here is pure: it runs, and throws its TypeErrors and RangeErrors, before any native code.
 */
import { describe, invalid } from './errors';
import { ACTIVATION, GEOMETRY, SHAPE } from './native-abi';
import {
  GEOMETRY_MAX, Options, PaddingSpec, readActivation, readBackendRequest, readBias, readDilation,
  readGroups, readLayout, readOutputPadding, readPadding, readStride,
} from './options';
import { DimensionGeometry, effectiveKernel, forwardDimension, transposedDimension } from './padding';
import { elementCount } from './tensor';
import type { Activation, BackendRequest, Layout } from './types';

/** Fixed for a plan's lifetime: what the weight and the options say. */
export interface FixedPart {
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
  readonly backend: BackendRequest;
  /** The weight's shape and how the caller named it (w.shape, weight.dims, wShape), for messages. */
  readonly wShape: readonly number[];
  readonly wShapePath: string;
  readonly geometry: Float64Array;
}

/** Resolved for one input shape. */
export interface ShapePart {
  readonly batch: number;
  readonly inSize: readonly number[];
  readonly outSize: readonly number[];
  readonly pads: ReadonlyArray<readonly [number, number]>;
  readonly outputShape: readonly number[];
  readonly outputLength: number;
  readonly shape: Float64Array;
}

const SPATIAL_NAMES = ['', 'L', 'H, W', 'D, H, W'];

/** Weight axes: conv (K, C/g, ...k) or (...k, C/g, K); transposed (C, K/g, ...k) or (...k, K/g, C). */
function weightAxes(rank: number, weightLayout: Layout): { outer: number; inner: number; firstKernel: number } {
  return weightLayout === 'channels_first'
    ? { outer: 0, inner: 1, firstKernel: 2 }
    : { outer: rank + 1, inner: rank, firstKernel: 0 };
}

export function normalizeFixed(wShape: readonly number[], wShapePath: string, options: Options, transposed: boolean): FixedPart {
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
  kernel.forEach((k, i) => checkKernel(k, dilation[i], i, `${wShapePath}[${axes.firstKernel + i}]`));

  // The outer weight axis holds the channels that groups must divide; the inner one is per group.
  const outer = wShape[axes.outer];
  const inner = wShape[axes.inner];
  if (outer > GEOMETRY_MAX) throw invalid('range', `${wShapePath}[${axes.outer}]`, `at most ${GEOMETRY_MAX}`, outer);
  if (outer % groups !== 0) {
    const role = transposed ? 'input' : 'output';
    throw invalid('range', 'groups', `a divisor of ${wShapePath}[${axes.outer}] (${outer} ${role} channels)`, groups);
  }
  if (inner * groups > GEOMETRY_MAX) {
    throw invalid('range', 'groups', `at most ${Math.floor(GEOMETRY_MAX / inner)} (${wShapePath}[${axes.inner}] × groups channels)`, groups);
  }
  const inChannels = transposed ? outer : inner * groups;
  const outChannels = transposed ? inner * groups : outer;

  const fixed = {
    transposed, rank, inChannels, outChannels, groups, kernel, stride, dilation,
    padding: readPadding(options.padding, rank, transposed),
    outputPadding: readOutputPadding(options.outputPadding, rank, transposed, stride, dilation),
    layout, weightLayout,
    activation: readActivation(options.activation),
    bias: readBias(options.bias, outChannels),
    backend: readBackendRequest(options.backend),
    wShape: [...wShape],
    wShapePath,
  };
  return { ...fixed, geometry: geometryArray(fixed) };
}

function checkKernel(k: number, d: number, dim: number, path: string): void {
  if (k > GEOMETRY_MAX) throw invalid('range', path, `at most ${GEOMETRY_MAX}`, k);
  if (effectiveKernel(k, d) > GEOMETRY_MAX) {
    throw invalid('range', `dilation[${dim}]`,
      `small enough that the effective kernel (${k} - 1) * dilation + 1 is at most ${GEOMETRY_MAX}`, d);
  }
}

function geometryArray(f: Omit<FixedPart, 'geometry'>): Float64Array {
  const g = new Float64Array(GEOMETRY.length);
  g[GEOMETRY.rank] = f.rank;
  g[GEOMETRY.transposed] = f.transposed ? 1 : 0;
  g[GEOMETRY.layout] = f.layout === 'channels_last' ? 1 : 0;
  g[GEOMETRY.activation] = f.activation === undefined ? ACTIVATION.none : ACTIVATION[f.activation];
  g[GEOMETRY.groups] = f.groups;
  g[GEOMETRY.inChannels] = f.inChannels;
  g[GEOMETRY.outChannels] = f.outChannels;
  for (let i = 0; i < 3; i++) {
    g[GEOMETRY.kernel + i] = f.kernel[i] ?? 1;
    g[GEOMETRY.stride + i] = f.stride[i] ?? 1;
    g[GEOMETRY.dilation + i] = f.dilation[i] ?? 1;
  }
  g[GEOMETRY.weightLayout] = f.weightLayout === 'channels_last' ? 1 : 0;
  return g;
}

/** xShape must already be a checked shape (readShape / readTensor). */
export function resolveShape(fixed: FixedPart, xShape: readonly number[], xShapePath: string): ShapePart {
  const { rank, layout } = fixed;
  const channelAxis = layout === 'channels_first' ? 1 : rank + 1;
  const firstSpatial = layout === 'channels_first' ? 2 : 1;
  if (xShape.length !== rank + 2) {
    const names = layout === 'channels_first' ? `[N, C, ${SPATIAL_NAMES[rank]}]` : `[N, ${SPATIAL_NAMES[rank]}, C]`;
    throw invalid('range', xShapePath, `${names} for a ${rank}-D kernel (${fixed.wShapePath} ${describe(fixed.wShape)})`, xShape);
  }
  checkChannels(fixed, xShape[channelAxis], `${xShapePath}[${channelAxis}]`);

  const batch = xShape[0];
  const inSize = xShape.slice(firstSpatial, firstSpatial + rank);
  const resolve = fixed.transposed ? transposedDimension : forwardDimension;
  const dims = inSize.map((n, dim) => {
    const g: DimensionGeometry = {
      dim, n, k: fixed.kernel[dim], s: fixed.stride[dim], d: fixed.dilation[dim], outputPadding: fixed.outputPadding[dim],
    };
    return resolve(g, fixed.padding);
  });
  const outSize = dims.map((r) => r.out);
  const outputShape = layout === 'channels_first'
    ? [batch, fixed.outChannels, ...outSize]
    : [batch, ...outSize, fixed.outChannels];
  const outputLength = elementCount(outputShape, 'output shape');
  const pads = dims.map((r) => [r.begin, r.end] as const);

  const shape = new Float64Array(SHAPE.length);
  shape[SHAPE.batch] = batch;
  for (let i = 0; i < 3; i++) {
    shape[SHAPE.inSize + i] = inSize[i] ?? 1;
    shape[SHAPE.outSize + i] = outSize[i] ?? 1;
    shape[SHAPE.padBegin + i] = pads[i]?.[0] ?? 0;
    shape[SHAPE.padEnd + i] = pads[i]?.[1] ?? 0;
  }
  return { batch, inSize, outSize, pads, outputShape, outputLength, shape };
}

function checkChannels(fixed: FixedPart, channels: number, path: string): void {
  if (channels === fixed.inChannels) return;
  const axes = weightAxes(fixed.rank, fixed.weightLayout);
  const w = fixed.wShapePath;
  const source = fixed.transposed
    ? `${w}[${axes.outer}]`
    : fixed.groups === 1
      ? `${w}[${axes.inner}]`
      : `${w}[${axes.inner}] × groups (${fixed.inChannels / fixed.groups} × ${fixed.groups})`;
  throw invalid('range', path, `${fixed.inChannels} to match ${source}`, channels);
}

/** resolveShape memoised per input shape; bounded so that a stream of odd shapes cannot grow it forever. */
export class ShapeCache {
  private readonly entries = new Map<string, ShapePart>();

  constructor(private readonly fixed: FixedPart, private readonly limit = 64) {}

  get(xShape: readonly number[], xShapePath: string): ShapePart {
    const key = xShape.join(',');
    let part = this.entries.get(key);
    if (part === undefined) {
      part = resolveShape(this.fixed, xShape, xShapePath);
      if (this.entries.size >= this.limit) this.entries.delete(this.entries.keys().next().value as string);
      this.entries.set(key, part);
    }
    return part;
  }
}
