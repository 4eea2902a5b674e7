/**
 * The one place where argument errors are phrased, so every message reads alike and tests can assert
 * exact strings.
 *
 *   `${path} must be ${expectation}, got ${describe(value)}` [+ ` (${hint})`]
 *     stride[1] must be a positive integer, got 0
 *     x.data must be a Float32Array, got Float64Array
 *     activation must be one of 'relu', 'relu6', 'sigmoid', 'tanh', 'silu', got 'Relu' (did you mean 'relu'?)
 *
 *   `options.${name} is not a known option (did you mean '${closest}'?)`
 *   `options.${name} is not a known option (known options: ${names})`
 *
 * `path` is what the caller wrote: the argument name (x, w, weight, xShape, options key) followed by
 * property and index accessors; per-dimension options are indexed by spatial dimension (stride[1] is
 * the second spatial dimension), tensor shapes by axis (x.shape[2]).
 *
 * TypeError: the value's JavaScript type can never be right (a string where a number goes, a
 * Float64Array, an unknown option name). RangeError: the type fits but the value does not (0, 1.5,
 * NaN, -1, a wrong length, a string outside an enumeration, sizes that do not agree).
 * Failures that are not about an argument (backend unavailable, native core missing, disposed plan)
 * are plain Errors phrased by their own modules.
 */

export type ErrorKind = 'type' | 'range';

export interface ErrorDetails {
  /** Replaces describe(value) when the value alone would not explain the problem. */
  got?: string;
  /** Appended in parentheses, e.g. a suggestion. */
  hint?: string;
}

const MAX_LISTED = 8;

/** A short, stable rendering of any value for an error message; class instances by class name (Float64Array). */
export function describe(value: unknown, depth = 0): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'undefined': return 'undefined';
    case 'number': return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint': return `${value}n`;
    case 'boolean': return String(value);
    case 'string': return `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`;
    case 'symbol': return value.toString();
    case 'function': return 'a function';
    default: break;
  }
  if (Array.isArray(value)) return describeArray(value, depth);
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return constructorName(value);
  const keys = Object.keys(value as object);
  if (keys.length === 0) return 'an empty object';
  const listed = keys.slice(0, MAX_LISTED).join(', ');
  return `an object with keys ${listed}${keys.length > MAX_LISTED ? ', …' : ''}`;
}

function describeArray(value: readonly unknown[], depth: number): string {
  if (depth > 2) return `an array of ${value.length}`;
  const items = value.slice(0, MAX_LISTED).map((item) => describe(item, depth + 1));
  if (value.length > MAX_LISTED) items.push(`… (${value.length} entries)`);
  return `[${items.join(', ')}]`;
}

function constructorName(value: unknown): string {
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? name : 'an object';
}

function message(path: string, expectation: string, value: unknown, details: ErrorDetails = {}): string {
  const got = details.got ?? describe(value);
  return `${path} must be ${expectation}, got ${got}${details.hint ? ` (${details.hint})` : ''}`;
}

/** `path[index]`: the path of one entry, spelled out only when a message needs it. */
export function indexed(path: string, index: number): string {
  return `${path}[${index}]`;
}

/** The error factory: every argument check in lib/ throws what this returns. */
export function invalid(
  kind: ErrorKind, path: string, expectation: string, value: unknown, details?: ErrorDetails,
): TypeError | RangeError {
  const text = message(path, expectation, value, details);
  return kind === 'type' ? new TypeError(text) : new RangeError(text);
}

/** `one of 'a', 'b', 'c'` */
export function oneOf(allowed: readonly string[]): string {
  return `one of ${allowed.map((name) => `'${name}'`).join(', ')}`;
}

/** For a string outside an enumeration: TypeError when it is not a string at all. */
export function notOneOf(path: string, allowed: readonly string[], value: unknown, aliases?: Aliases): TypeError | RangeError {
  const suggestion = typeof value === 'string' ? closest(value, allowed, aliases) : undefined;
  return invalid(typeof value === 'string' ? 'range' : 'type', path, oneOf(allowed), value,
    suggestion === undefined ? undefined : { hint: `did you mean '${suggestion}'?` });
}

export function unknownOption(name: string, known: readonly string[], aliases?: Aliases): TypeError {
  const suggestion = closest(name, known, aliases);
  const hint = suggestion === undefined ? `known options: ${known.join(', ')}` : `did you mean '${suggestion}'?`;
  return new TypeError(`options.${name} is not a known option (${hint})`);
}

/** Other libraries' spellings, keyed by squash(spelling), mapped to ours. */
export type Aliases = Readonly<Record<string, string>>;

/** Case, '_', '-' and spaces do not matter when suggesting: output_padding → outputPadding. */
function squash(name: string): string {
  return name.toLowerCase().replace(/[_\-\s]/g, '');
}

/** The allowed name a typo most likely meant, or undefined when none is close. */
export function closest(name: string, allowed: readonly string[], aliases: Aliases = {}): string | undefined {
  const key = squash(name);
  const alias = aliases[key];
  if (alias !== undefined && allowed.includes(alias)) return alias;
  let best: string | undefined;
  // Short names get no fuzzy match: 'gelu' is not a typo of 'relu', nor 'gpu' of 'cpu'.
  let bestDistance = key.length <= 4 ? 0 : key.length <= 8 ? 1 : 2;
  for (const candidate of allowed) {
    const distance = editDistance(key, squash(candidate));
    if (distance === 0) return candidate;
    if (distance <= bestDistance && (best === undefined || distance < bestDistance)) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * Native promises reject from a completion callback, with no JavaScript frames. Called where such a
 * rejection is awaited, this gives the error the awaiting chain's stack: V8's async stack traces name
 * every async function that awaits the call, the caller's included. It costs nothing until something
 * fails, where capturing the call site up front would cost a stack capture on every call.
 */
export function withAwaitingStack(error: unknown): unknown {
  if (error instanceof Error) Error.captureStackTrace(error, withAwaitingStack);
  return error;
}
