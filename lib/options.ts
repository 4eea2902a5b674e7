/**
 * Reads each option's value into explicit per-dimension numbers or a checked enumeration member,
 * and each entry point's options bag (the names it accepts). Options that depend on shapes (padding
 * modes, channel counts, output sizes) are resolved in normalize.ts, which calls the per-option
 * readers here; the entry points (conv.ts, plan.ts, shape.ts, device-tensor.ts) read their bags here.
 */
import { BACKEND_NAMES, BackendName } from './backend-names';
import { Aliases, closest, describe, indexed, invalid, notOneOf, oneOf, unknownOption } from './errors';
import * as is from './is';
import { readTensor } from './tensor';
import type { Activation, BackendRequest, Layout, PaddingMode, PlanBackendRequest, Precision } from './types';

/** Strides, dilations, pads, groups, kernel sizes and channel counts: the native core's limit. */
export const GEOMETRY_MAX = 2 ** 31 - 1;

const LAYER_OPTION_NAMES = [
  'stride', 'padding', 'dilation', 'groups', 'bias', 'activation', 'layout', 'weightLayout',
  'outputPadding', 'backend', 'precision',
] as const;
export const CONV_OPTION_NAMES: readonly string[] = [...LAYER_OPTION_NAMES, 'out', 'transposed'];
export const PLAN_OPTION_NAMES: readonly string[] = ['weight', 'transposed', 'inputShape', ...LAYER_OPTION_NAMES];
export const RUN_OPTION_NAMES: readonly string[] = ['out'];

/** PyTorch, ONNX and Keras spellings that the did-you-mean hint maps to ours (keys squashed). */
const OPTION_ALIASES: Aliases = {
  pad: 'padding', pads: 'padding', autopad: 'padding', dilationrate: 'dilation', dataformat: 'layout',
  kernel: 'weight', weights: 'weight', filters: 'weight',
};

const ACTIVATIONS: readonly Activation[] = ['relu', 'relu6', 'sigmoid', 'tanh', 'silu'];
const LAYOUTS: readonly Layout[] = ['channels_first', 'channels_last'];
export const BACKEND_REQUESTS: readonly BackendRequest[] = ['auto', ...BACKEND_NAMES];
const PADDING_MODES: readonly PaddingMode[] = ['valid', 'same', 'same_lower', 'causal'];
export const PRECISIONS: readonly Precision[] = ['fp32', 'tf32', 'fp16', 'bf16'];

const LAYOUT_ALIASES: Aliases = {
  ncw: 'channels_first', nchw: 'channels_first', ncdhw: 'channels_first', channelsfirst: 'channels_first',
  nwc: 'channels_last', nhwc: 'channels_last', ndhwc: 'channels_last', channelslast: 'channels_last',
};
const PADDING_ALIASES: Aliases = { sameupper: 'same' };
const BACKEND_ALIASES: Readonly<Record<string, BackendName>> = { cuda: 'cudnn', ov: 'openvino' };
const PRECISION_ALIASES: Aliases = {
  float32: 'fp32', single: 'fp32', highest: 'fp32', tensorfloat32: 'tf32', high: 'tf32',
  float16: 'fp16', half: 'fp16', bfloat16: 'bf16', brainfloat16: 'bf16', medium: 'bf16',
};

export type Options = Readonly<Record<string, unknown>>;

/** What a left-out options bag reads as: shared, so a call without options allocates nothing. */
const NO_OPTIONS: Options = Object.freeze({});

const NO_HINTS: Readonly<Record<string, string>> = Object.freeze({});
const hasOwn = Object.prototype.hasOwnProperty;

/**
 * An options bag: undefined and null are {}; every key must be known (a typo is a TypeError, not a
 * silently ignored option). `hints` explains keys that belong to another call.
 */
export function readOptionsBag(
  value: unknown, known: readonly string[], hints: Readonly<Record<string, string>> = NO_HINTS,
): Options {
  if (!is.defined(value)) return NO_OPTIONS;
  if (!is.object(value) || ArrayBuffer.isView(value)) throw invalid('type', 'options', 'an object', value);
  // Own enumerable string keys in Object.keys order, without allocating Object.keys' array.
  for (const name in value) {
    if (!hasOwn.call(value, name) || known.includes(name)) continue;
    if (hasOwn.call(hints, name)) throw new TypeError(`options.${name} is not a known option (${hints[name]})`);
    throw unknownOption(name, known, OPTION_ALIASES);
  }
  return value;
}

/** A function that fixes the direction (conv, convTranspose), and the one that runs the other. */
export interface Direction {
  readonly transposed: boolean;
  readonly fn: string;
  readonly other: string;
}

/** `required` set: the function fixes the direction and the option may only agree with it. */
export function readTransposed(value: unknown, required?: Direction): boolean {
  if (!is.defined(value)) return required?.transposed ?? false;
  if (!is.boolean(value)) throw invalid('type', 'transposed', 'a boolean', value);
  if (required !== undefined && value !== required.transposed) {
    throw invalid('range', 'transposed', `${required.transposed} or left out for ${required.fn}()`, value,
      { hint: `use ${required.other}()` });
  }
  return value;
}

interface IntegerRule {
  expectation: string;
  test: (value: unknown) => value is number;
}
const POSITIVE: IntegerRule = { expectation: 'a positive integer', test: is.positiveInteger };
const NON_NEGATIVE: IntegerRule = { expectation: 'a non-negative integer', test: is.nonNegativeInteger };

/** `index` >= 0: the value is entry `index` of `path`, named `path[index]` in messages. */
function readInteger(value: unknown, path: string, rule: IntegerRule, index = -1): number {
  if (is.number(value) && rule.test(value) && value <= GEOMETRY_MAX) return value;
  const name = index < 0 ? path : indexed(path, index);
  if (!is.number(value)) throw invalid('type', name, rule.expectation, value);
  if (!rule.test(value)) throw invalid('range', name, rule.expectation, value);
  throw invalid('range', name, `at most ${GEOMETRY_MAX}`, value);
}

function entries(rank: number): string {
  return rank === 1 ? '1 entry' : `${rank} entries`;
}

/**
 * A scalar for every spatial dimension, or an array with one per spatial dimension. A left-out value
 * is the fallback's shared array (uniform): what this returns is only ever read.
 */
function readPerDimension(
  value: unknown, path: string, rank: number, fallback: 0 | 1, rule: IntegerRule,
): readonly number[] {
  if (!is.defined(value)) return uniform(fallback, rank);
  if (is.number(value)) return repeat(readInteger(value, path, rule), rank);
  if (!is.array(value) || value.length !== rank) {
    const expectation = `${rule.expectation} or an array of ${entries(rank)} (one per spatial dimension)`;
    throw invalid(is.array(value) ? 'range' : 'type', path, expectation, value);
  }
  const result = value.slice(); // checked after the copy: what is checked is what is used
  for (let i = 0; i < rank; i++) readInteger(result[i], path, rule, i);
  return result as number[];
}

/** `count` copies of `value`, in an array allocated at its final size. */
function repeat<T>(value: T, count: number): T[] {
  const result = new Array<T>(count);
  for (let i = 0; i < count; i++) result[i] = value;
  return result;
}

/**
 * The per-dimension defaults (a stride or dilation of 1, no output padding, no pads), one frozen
 * array per value and rank, shared by every call that leaves the option out: a one-shot call reads
 * its options anew each time, and these would otherwise be fresh garbage on every call.
 */
const UNIFORM: readonly (readonly (readonly number[])[])[] = [0, 1].map((value) =>
  [0, 1, 2, 3].map((rank) => Object.freeze(repeat(value, rank))));
const NO_PADS: readonly PaddingSpec[] = [0, 1, 2, 3].map((rank) =>
  Object.freeze({ mode: 'explicit' as const, pads: Object.freeze(repeat(Object.freeze([0, 0] as const), rank)) }));

function uniform(value: 0 | 1, rank: number): readonly number[] {
  return UNIFORM[value][rank];
}

export function readStride(value: unknown, rank: number): readonly number[] {
  return readPerDimension(value, 'stride', rank, 1, POSITIVE);
}

export function readDilation(value: unknown, rank: number): readonly number[] {
  return readPerDimension(value, 'dilation', rank, 1, POSITIVE);
}

export function readGroups(value: unknown): number {
  return is.defined(value) ? readInteger(value, 'groups', POSITIVE) : 1;
}

/** Forward: must be left out. Transposed: each value below the stride or the dilation (PyTorch's rule). */
export function readOutputPadding(
  value: unknown, rank: number, transposed: boolean, stride: readonly number[], dilation: readonly number[],
): readonly number[] {
  if (!transposed) {
    if (is.defined(value)) {
      throw invalid('range', 'outputPadding', 'left out for a forward convolution', value,
        { hint: 'it applies to transposed convolutions only' });
    }
    return uniform(0, rank);
  }
  const outputPadding = readPerDimension(value, 'outputPadding', rank, 0, NON_NEGATIVE);
  for (let i = 0; i < rank; i++) {
    const p = outputPadding[i];
    if (p >= stride[i] && p >= dilation[i]) {
      const path = is.array(value) ? `outputPadding[${i}]` : 'outputPadding';
      throw invalid('range', path, `smaller than stride[${i}] (${stride[i]}) or dilation[${i}] (${dilation[i]})`, p);
    }
  }
  return outputPadding;
}

/** What `padding` says before the input shape is known: explicit pairs, or a mode resolved per shape. */
export type PaddingSpec =
  | { readonly mode: 'explicit'; readonly pads: ReadonlyArray<readonly [number, number]> }
  | { readonly mode: PaddingMode };

export function readPadding(value: unknown, rank: number, transposed: boolean): PaddingSpec {
  if (!is.defined(value)) return NO_PADS[rank];
  const causal = rank === 1 && !transposed;
  if (is.string(value)) {
    if (is.oneOf(value, PADDING_MODES) && (value !== 'causal' || causal)) return { mode: value };
    const modes = paddingModes(causal);
    const suggestion = closest(value, modes, PADDING_ALIASES);
    throw invalid('range', 'padding', paddingExpectation(rank, transposed), value,
      suggestion === undefined || suggestion === value ? undefined : { hint: `did you mean '${suggestion}'?` });
  }
  if (is.number(value)) {
    const p = readInteger(value, 'padding', NON_NEGATIVE);
    return { mode: 'explicit', pads: repeat([p, p] as const, rank) };
  }
  if (!is.array(value)) throw invalid('type', 'padding', paddingExpectation(rank, transposed), value);
  if (value.length !== rank) {
    throw invalid('range', 'padding', paddingExpectation(rank, transposed), value, { hint: paddingLengthHint(value, rank) });
  }
  const pads = new Array<readonly [number, number]>(rank);
  for (let i = 0; i < rank; i++) pads[i] = readPadPair(value[i], i);
  return { mode: 'explicit', pads };
}

function paddingModes(causal: boolean): readonly PaddingMode[] {
  return causal ? PADDING_MODES : PADDING_MODES.filter((mode) => mode !== 'causal');
}

/** Built only for a message: the padding forms this convolution accepts. */
function paddingExpectation(rank: number, transposed: boolean): string {
  const causal = rank === 1 && !transposed;
  const context = causal ? '' : transposed ? ' for a transposed convolution' : ` for a ${rank}-D convolution`;
  return `a non-negative integer, an array of ${entries(rank)} (one per spatial dimension), or ${oneOf(paddingModes(causal))}${context}`;
}

/** Entry `dim` of a padding array: one integer for both sides, or a [begin, end] pair. */
function readPadPair(item: unknown, dim: number): readonly [number, number] {
  if (is.number(item)) {
    if (!is.nonNegativeInteger(item)) throw invalid('range', indexed('padding', dim), PAD_PAIR_EXPECTATION, item);
    const p = readInteger(item, 'padding', NON_NEGATIVE, dim);
    return [p, p];
  }
  if (!is.array(item)) throw invalid('type', indexed('padding', dim), PAD_PAIR_EXPECTATION, item);
  if (item.length !== 2) throw invalid('range', indexed('padding', dim), PAD_PAIR_EXPECTATION, item);
  return [readPadSide(item[0], dim, 0), readPadSide(item[1], dim, 1)];
}

function readPadSide(value: unknown, dim: number, side: number): number {
  if (is.nonNegativeInteger(value) && value <= GEOMETRY_MAX) return value;
  return readInteger(value, indexed('padding', dim), NON_NEGATIVE, side);
}

const PAD_PAIR_EXPECTATION = 'a non-negative integer or a [begin, end] pair';

/** The two likely mix-ups: a bare [begin, end] for 1-D, and ONNX's flat pads. */
function paddingLengthHint(value: readonly unknown[], rank: number): string | undefined {
  if (!value.every(is.number)) return undefined;
  if (rank === 1 && value.length === 2) return `for begin and end write [${describe(value)}]`;
  if (value.length === 2 * rank) {
    const pairs = Array.from({ length: rank }, (_, i) => `[${describe(value[i])}, ${describe(value[i + rank])}]`);
    return `ONNX pads [begins..., ends...] are written [${pairs.join(', ')}]`;
  }
  return undefined;
}

export function readActivation(value: unknown): Activation | undefined {
  if (!is.defined(value)) return undefined;
  if (!is.oneOf(value, ACTIVATIONS)) throw notOneOf('activation', ACTIVATIONS, value);
  return value;
}

export function readLayout(value: unknown, path: 'layout' | 'weightLayout'): Layout {
  if (!is.defined(value)) return 'channels_first';
  if (!is.oneOf(value, LAYOUTS)) throw notOneOf(path, LAYOUTS, value, LAYOUT_ALIASES);
  return value;
}

/** 'fastest' is read here everywhere and refused by resolveBackend anywhere but createConv. */
export function readBackendRequest(value: unknown): PlanBackendRequest {
  if (!is.defined(value)) return 'auto';
  if (value === 'fastest') return value;
  if (!is.oneOf(value, BACKEND_REQUESTS)) throw notOneOf('backend', BACKEND_REQUESTS, value, BACKEND_ALIASES);
  return value;
}

/** A permission, as PyTorch's allow_tf32: backends without a faster mode run fp32 whatever it says. */
export function readPrecision(value: unknown): Precision {
  if (!is.defined(value)) return 'fp32';
  if (!is.oneOf(value, PRECISIONS)) throw notOneOf('precision', PRECISIONS, value, PRECISION_ALIASES);
  return value;
}

/** null, or the K bias values: a Float32Array or a Tensor of any shape holding K values. */
export function readBias(value: unknown, outChannels: number): Float32Array | null {
  if (!is.defined(value)) return null;
  const expectation = `${outChannels} (one value per output channel)`;
  if (is.float32Array(value)) {
    if (value.length !== outChannels) throw invalid('range', 'bias.length', expectation, value.length);
    return value;
  }
  if (!is.object(value) || ArrayBuffer.isView(value)) {
    throw invalid('type', 'bias', 'a Float32Array or a Tensor with one value per output channel', value);
  }
  const { data } = readTensor(value, 'bias');
  if (data.length !== outChannels) throw invalid('range', 'bias.data.length', expectation, data.length);
  return data;
}
