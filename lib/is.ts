/** Tiny predicates: every argument check in the facade is built from these. */

export function defined<T>(value: T | undefined | null): value is T {
  return value !== undefined && value !== null;
}

export function number(value: unknown): value is number {
  return typeof value === 'number';
}

export function string(value: unknown): value is string {
  return typeof value === 'string';
}

export function boolean(value: unknown): value is boolean {
  return typeof value === 'boolean';
}

/** A finite number without a fractional part (NaN and Infinity are not integers). */
function integer(value: unknown): value is number {
  return Number.isInteger(value);
}

export function positiveInteger(value: unknown): value is number {
  return integer(value) && value > 0;
}

export function nonNegativeInteger(value: unknown): value is number {
  return integer(value) && value >= 0;
}

export function array(value: unknown): value is readonly unknown[] {
  return Array.isArray(value);
}

/** Any non-null object that is not an array: options bags and tensors (ONNX Runtime's are class instances). */
export function object(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * %TypedArray%.prototype[Symbol.toStringTag]'s getter: the array's type name ('Float32Array') for any
 * typed array of any realm, undefined for everything else (including a DataView or a plain object).
 */
const typedArrayName = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag,
)?.get as (this: unknown) => string | undefined;

/**
 * Checked by the internal type name rather than instanceof so that arrays from another realm (vm,
 * worker) pass; the getter, called directly, builds no string, unlike Object.prototype.toString.
 */
export function float32Array(value: unknown): value is Float32Array {
  return typedArrayName.call(value) === 'Float32Array';
}

export function oneOf<T extends string>(value: unknown, allowed: readonly T[]): value is T {
  return string(value) && (allowed as readonly string[]).includes(value);
}
