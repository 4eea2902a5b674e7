/**
 * `stridekit selftest`: the conformance cases (conformance.ts) on this machine's backends, through the
 * installed package's public API, against golden outputs that ship with it. The goldens were made once,
 * at development time, by ONNX Runtime (or, for the few cases ONNX Runtime refuses, by the repository's
 * float64 reference) with scripts/make-goldens.js; test/goldens.test.js keeps them equal to both. The
 * inputs are not shipped: conformance.ts regenerates them from each case's seed, and each golden
 * carries a digest of the inputs it was made from, so a changed case or generator is told apart from a
 * wrong result.
 *
 * Files (package folder `selftest/`):
 *   goldens.json  { about, generator, cases: [{ name, source, shape, offset, length, inputs }] }
 *   goldens.bin   the outputs, float32 little-endian, one after another (offset and length in values)
 */
import * as fs from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import type { BackendName } from './backend-names';
import { BuiltCase, CASES, ConformanceCase, UNSUPPORTED, build, tolerances } from './conformance';
import { conv, convSync, convTranspose, convTransposeSync } from './conv';
import { createConv } from './plan';
import type { Precision, Tensor } from './types';

export const GOLDENS_DIR = path.join(__dirname, '..', 'selftest');

export interface GoldenEntry {
  name: string;
  /** What computed it: 'onnxruntime' (onnxruntime-node, CPU, one thread) or 'reference' (float64). */
  source: 'onnxruntime' | 'reference';
  shape: number[];
  /** In float32 values, into goldens.bin. */
  offset: number;
  length: number;
  /** inputDigest() of the case's inputs when the golden was made. */
  inputs: string;
}

export interface GoldenIndex {
  about: string;
  generator: string;
  cases: GoldenEntry[];
}

export interface Goldens {
  index: GoldenIndex;
  /** The golden output of a case, by name. */
  get(name: string): { entry: GoldenEntry; data: Float32Array } | undefined;
}

/** Reads goldens.json and goldens.bin from `dir`; throws when they do not fit each other. */
export function loadGoldens(dir: string = GOLDENS_DIR): Goldens {
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'goldens.json'), 'utf8')) as GoldenIndex;
  const bytes = fs.readFileSync(path.join(dir, 'goldens.bin'));
  const values = bytes.length / 4;
  const byName = new Map(index.cases.map((entry) => [entry.name, entry]));
  for (const entry of index.cases) {
    if (entry.offset + entry.length > values || entry.length !== entry.shape.reduce((a, b) => a * b, 1)) {
      throw new Error(`${path.join(dir, 'goldens.bin')} does not fit goldens.json at '${entry.name}': reinstall stridekit`);
    }
  }
  return {
    index,
    get(name) {
      const entry = byName.get(name);
      if (entry === undefined) return undefined;
      const data = new Float32Array(entry.length);
      for (let i = 0; i < entry.length; ++i) data[i] = bytes.readFloatLE((entry.offset + i) * 4);
      return { entry, data };
    },
  };
}

/** FNV-1a (32-bit) over the bytes of x, w and the bias, as hex: which inputs a golden belongs to. */
export function inputDigest(b: BuiltCase): string {
  let h = 0x811c9dc5;
  const arrays = [b.x.data, b.w.data, ...(b.bias ? [b.bias] : [])];
  for (const a of arrays) {
    const view = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    for (let i = 0; i < view.length; ++i) {
      h ^= view[i];
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  }
  return h.toString(16).padStart(8, '0');
}

/** max|got - ref| / max(1, max|ref|); a NaN anywhere, or a length mismatch, is Infinity. */
export function normalisedError(got: Float32Array, ref: Float32Array): number {
  if (got.length !== ref.length) return Infinity;
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < ref.length; ++i) {
    const d = Math.abs(got[i] - ref[i]);
    if (!(d <= diff)) diff = Number.isNaN(d) ? Infinity : d;
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return diff / scale;
}

export type CaseStatus = 'passed' | 'failed' | 'skipped';

export interface CaseResult {
  name: string;
  status: CaseStatus;
  /** The worst normalised error of the case's runs (one-shot sync, plan async); absent when none ran. */
  error?: number;
  /** What went wrong, or why it was skipped. */
  message?: string;
  seconds: number;
}

export interface BackendResult {
  backend: BackendName;
  available: boolean;
  device?: string;
  /** Why the backend is unavailable. */
  reason?: string;
  precision: Precision;
  /** The normalised error bound of this backend at this precision (conformance.ts). */
  bound: number;
  passed: number;
  failed: number;
  skipped: number;
  total: number;
  /** The worst normalised error of all its cases, and which case. */
  worstError: number;
  worstCase?: string;
  seconds: number;
  cases: CaseResult[];
}

export interface SelftestOptions {
  backends: ReadonlyArray<{ name: BackendName; available: boolean; device?: string; reason?: string }>;
  precision?: Precision;
  goldensDir?: string;
  /** Called after each backend, e.g. to print its line while the next runs. */
  onBackend?: (result: BackendResult) => void;
}

function shapeOf(t: Tensor): string {
  return `[${Array.from(t.shape).join(',')}]`;
}

/** One case on one backend: the one-shot synchronous call and a plan's asynchronous run, each against the golden. */
async function runCase(c: ConformanceCase, backend: BackendName, precision: Precision, bound: number, goldens: Goldens): Promise<CaseResult> {
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  const golden = goldens.get(c.name);
  if (golden === undefined) {
    return { name: c.name, status: 'failed', message: 'no golden output for this case in goldens.json: reinstall stridekit', seconds: seconds() };
  }
  const b = build(c);
  const digest = inputDigest(b);
  if (digest !== golden.entry.inputs) {
    return {
      name: c.name, status: 'failed', seconds: seconds(),
      message: `the case's inputs (digest ${digest}) are not those its golden was made from (${golden.entry.inputs}): goldens.json is stale`,
    };
  }
  const expected: Tensor = { data: golden.data, shape: golden.entry.shape };
  const options = { ...b.opts, backend, precision };
  let worst = 0;
  const check = (what: string, y: Tensor): string | undefined => {
    if (shapeOf(y) !== shapeOf(expected)) return `${what}: shape ${shapeOf(y)}, expected ${shapeOf(expected)}`;
    const error = normalisedError(y.data, expected.data);
    worst = Math.max(worst, error);
    return error <= bound ? undefined : `${what}: normalised error ${error.toExponential(2)} > ${bound}`;
  };
  const problems: string[] = [];
  try {
    const sync = c.transposed ? convTransposeSync(b.x, b.w, options) : convSync(b.x, b.w, options);
    const problem = check(c.transposed ? 'convTransposeSync' : 'convSync', sync);
    if (problem) problems.push(problem);
    const plan = createConv({ ...options, weight: b.w, transposed: c.transposed });
    try {
      const planned = check('plan.run', await plan.run(b.x));
      if (planned) problems.push(planned);
    } finally {
      plan.dispose();
    }
    // The asynchronous one-shot path as well: it hands the work to another thread.
    const asyncY = await (c.transposed ? convTranspose(b.x, b.w, options) : conv(b.x, b.w, options));
    const asyncProblem = check(c.transposed ? 'convTranspose' : 'conv', asyncY);
    if (asyncProblem) problems.push(asyncProblem);
  } catch (error) {
    problems.push(`${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  }
  return {
    name: c.name,
    status: problems.length ? 'failed' : 'passed',
    error: worst,
    ...(problems.length ? { message: problems.join('; ') } : {}),
    seconds: seconds(),
  };
}

/** Every case on every backend listed; an unavailable backend gets a result with no cases run. */
export async function selftest(options: SelftestOptions): Promise<BackendResult[]> {
  const precision = options.precision ?? 'fp32';
  const goldens = loadGoldens(options.goldensDir);
  const bounds = tolerances(process.env);
  const results: BackendResult[] = [];
  for (const info of options.backends) {
    const started = performance.now();
    const bound = bounds[info.name][precision];
    const cases: CaseResult[] = [];
    if (info.available) {
      for (const c of CASES) {
        const unsupported = UNSUPPORTED[info.name][c.name];
        if (unsupported !== undefined) {
          cases.push({ name: c.name, status: 'skipped', message: `unsupported on ${info.name}: ${unsupported}`, seconds: 0 });
        } else {
          cases.push(await runCase(c, info.name, precision, bound, goldens));
        }
      }
    }
    let worstError = 0;
    let worstCase: string | undefined;
    for (const r of cases) {
      if (r.error !== undefined && (r.error > worstError || (worstCase === undefined && r.status === 'failed'))) {
        worstError = r.error;
        worstCase = r.name;
      }
    }
    const count = (status: CaseStatus) => cases.filter((r) => r.status === status).length;
    const result: BackendResult = {
      backend: info.name,
      available: info.available,
      ...(info.device !== undefined ? { device: info.device } : {}),
      ...(info.reason !== undefined ? { reason: info.reason } : {}),
      precision,
      bound,
      passed: count('passed'),
      failed: count('failed'),
      skipped: count('skipped'),
      total: cases.length,
      worstError,
      ...(worstCase !== undefined ? { worstCase } : {}),
      seconds: (performance.now() - started) / 1000,
      cases,
    };
    options.onBackend?.(result);
    results.push(result);
  }
  return results;
}

function xmlEscape(text: string): string {
  return text.replace(/[<>&"']/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[ch] as string)
    // Characters XML 1.0 cannot hold at all.
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}

/**
 * JUnit XML (the schema Jenkins, GitLab and GitHub reporters read): one <testsuite> per backend, one
 * <testcase> per case; an unavailable backend is a suite of one skipped case that says why.
 */
export function junitXml(results: readonly BackendResult[]): string {
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const all = (key: 'total' | 'failed' | 'skipped') => results.reduce((n, r) => n + (r.available ? r[key] : key === 'failed' ? 0 : 1), 0);
  const time = results.reduce((t, r) => t + r.seconds, 0);
  lines.push(`<testsuites name="stridekit selftest" tests="${all('total')}" failures="${all('failed')}" errors="0" skipped="${all('skipped')}" time="${time.toFixed(3)}">`);
  for (const r of results) {
    const suite = `stridekit selftest ${r.backend}`;
    if (!r.available) {
      lines.push(`  <testsuite name="${xmlEscape(suite)}" tests="1" failures="0" errors="0" skipped="1" time="0">`);
      lines.push(`    <testcase classname="${xmlEscape(suite)}" name="${xmlEscape(`${r.backend} available`)}" time="0">`);
      lines.push(`      <skipped message="${xmlEscape(`unavailable: ${r.reason ?? 'no reason given'}`)}"/>`);
      lines.push('    </testcase>');
      lines.push('  </testsuite>');
      continue;
    }
    lines.push(`  <testsuite name="${xmlEscape(suite)}" tests="${r.total}" failures="${r.failed}" errors="0" skipped="${r.skipped}" time="${r.seconds.toFixed(3)}">`);
    for (const c of r.cases) {
      const open = `    <testcase classname="${xmlEscape(suite)}" name="${xmlEscape(c.name)}" time="${c.seconds.toFixed(3)}"`;
      if (c.status === 'passed') {
        lines.push(`${open}/>`);
      } else {
        const tag = c.status === 'failed' ? 'failure' : 'skipped';
        lines.push(`${open}>`);
        lines.push(`      <${tag} message="${xmlEscape(c.message ?? '')}"/>`);
        lines.push('    </testcase>');
      }
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}
