#!/usr/bin/env node
/**
 * The `stridekit` command, made for CI as much as for people: every command has a `--json` form, and
 * the exit status is the verdict.
 *   info      what this machine offers, in the manner of `node-llama-cpp inspect gpu`
 *   selftest  the conformance cases on this machine's backends against the shipped goldens (selftest.ts)
 *   bench     a short benchmark of this machine's backends (bench.ts)
 * Exit status: 0 when all is well; 1 when the native core does not load, an environment variable it
 * reads has a bad value (settings.ts), a forced (STRIDEKIT_BACKEND) or requested (--backend) backend is
 * unavailable, or a selftest case fails; 2 for a usage error (unknown command or option, bad value).
 * Arguments are parsed by Node's util.parseArgs (Node.js 18.3 and later).
 */
import * as fs from 'fs';
import * as os from 'os';
import { parseArgs } from 'util';
import { BACKEND_NAMES, BackendName } from './backend-names';
import { BACKEND_ENV, backends, defaultBackend } from './backends';
import { binding, bindingPath, packageVersion } from './loader';
import { PRECISIONS } from './options';
import { CPU_KERNELS, KERNELS_ENV, MAX_THREADS, THREADS_ENV } from './settings';
import type { BackendInfo, Precision } from './types';

/**
 * Every environment variable the package reads (lib/ and native/), with what it does: `--help` prints
 * them, and test/cli.test.js checks the list against the sources.
 */
const ENVIRONMENT: ReadonlyArray<[string, string]> = [
  [`${BACKEND_ENV}=name`, `force a backend (${BACKEND_NAMES.join(', ')}); an unavailable one is an error`],
  [`${THREADS_ENV}=n`, `threads of the CPU backend (and OpenVINO's), 1 to ${MAX_THREADS} (default: one per CPU)`],
  [`${KERNELS_ENV}=k`, `${CPU_KERNELS.join(' or ')}: cap the CPU backend's kernels (default: the best the CPU runs)`],
  ['STRIDEKIT_PLUGIN_PATH=dirs', 'folders searched for vendor plugins before the core\'s own'],
  ['STRIDEKIT_OPENVINO_DIR=dir', 'where the openvino plugin looks first for OpenVINO\'s libraries'],
  ['STRIDEKIT_OPENVINO_DEVICE=dev', 'the OpenVINO device the openvino backend runs on (default: CPU)'],
  ['STRIDEKIT_CUDA_DIR=dir', 'where the cudnn plugin looks first for the CUDA runtime'],
  ['STRIDEKIT_CUDNN_DIR=dir', 'where the cudnn plugin looks first for cuDNN'],
  ['STRIDEKIT_CUDA_DEVICE=n', 'the CUDA device ordinal the cudnn backend runs on (default: 0)'],
  ['STRIDEKIT_COREML_UNITS=u', 'all, cpuAndGPU, cpuAndNeuralEngine or cpuOnly: what Core ML may run on (default: all)'],
  ['STRIDEKIT_COREML_CACHE=dir', 'where the coreml backend keeps compiled models (default: the user\'s caches folder)'],
];

function usage(): string {
  const width = Math.max(...ENVIRONMENT.map(([name]) => name.length));
  return `Usage: stridekit <command> [options]

Commands:
  info [--json] [--backend NAME]
      the platform, the native core that loads and every backend: available, selected, or why not;
      with --backend, exits 1 unless NAME is available
  selftest [--backend NAME] [--precision P] [--json] [--junit FILE]
      runs the conformance cases on every available backend (or NAME) against golden outputs made by
      ONNX Runtime that ship with the package: one line per backend; --junit writes JUnit XML
  bench [--backend NAME] [--filter TEXT] [--json]
      times a short run of the benchmark suite's layers on every available backend (or NAME)
  help        this text (also --help, -h)
  version     the package version (also --version, -v)

Exit status: 0 all is well; 1 the native core does not load, a variable below has a bad value, a forced
or requested backend is unavailable, or a selftest case fails; 2 a usage error.

Environment:
${ENVIRONMENT.map(([name, what]) => `  ${name.padEnd(width)}  ${what}`).join('\n')}
`;
}

/** A usage error: exit status 2, with the usage. */
class UsageError extends Error {}

// ---- info -------------------------------------------------------------------------------------------

function libc(): string | undefined {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header?.glibcVersionRuntime;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function environment(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env)
    .filter(([name, value]) => name.startsWith('STRIDEKIT_') && value)
    .sort(([a], [b]) => a.localeCompare(b))) as Record<string, string>;
}

/** The backend the selection settles on, or the error that says why none (a forced backend unavailable). */
function selection(): { selected?: BackendName; error?: string } {
  try {
    return { selected: defaultBackend() };
  } catch (error) {
    return { error: errorText(error) };
  }
}

function requireBackendName(value: string | undefined): BackendName | undefined {
  if (value === undefined) return undefined;
  if (!(BACKEND_NAMES as readonly string[]).includes(value)) {
    throw new UsageError(`--backend must be one of ${BACKEND_NAMES.join(', ')}, got '${value}'`);
  }
  return value as BackendName;
}

function info(args: string[]): number {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' }, backend: { type: 'string' } }, strict: true, allowPositionals: false });
  const requested = requireBackendName(values.backend);
  const glibc = libc();
  const facts: Record<string, unknown> = {
    stridekit: packageVersion(),
    os: { type: os.type(), release: os.release(), platform: process.platform, arch: process.arch, ...(glibc ? { glibc } : {}) },
    node: { version: process.version, napi: process.versions.napi ?? null },
    environment: environment(),
  };
  let core;
  try {
    core = binding();
  } catch (error) {
    return infoReport({ ...facts, ok: false, core: null, error: errorText(error) }, values.json === true);
  }
  const list = backends();
  const { selected, error } = selection();
  const errors = error === undefined ? [] : [error];
  const requestedInfo = requested === undefined ? undefined : list.find((b) => b.name === requested);
  if (requested !== undefined && !requestedInfo?.available) {
    errors.push(`backend '${requested}' is not available: ${requestedInfo?.reason ?? 'this native core does not know it'} (requested by --backend)`);
  }
  return infoReport({
    ...facts,
    ok: errors.length === 0,
    core: { path: bindingPath(), abi: core.abi.version },
    cpuThreads: { pool: core.numThreads, logicalCpus: os.cpus().length },
    backends: list,
    selected: selected ?? null,
    ...(errors.length ? { error: errors.join('\n') } : {}),
  }, values.json === true);
}

function infoReport(facts: Record<string, unknown>, json: boolean): number {
  const ok = facts.ok === true;
  if (json) {
    console.log(JSON.stringify(facts, null, 2));
    return ok ? 0 : 1;
  }
  const o = facts.os as { type: string; release: string; platform: string; arch: string; glibc?: string };
  const n = facts.node as { version: string; napi: string | null };
  const header: Array<[string, string]> = [
    ['stridekit', String(facts.stridekit)],
    ['OS', `${o.type} ${o.release} ${o.platform}-${o.arch}${o.glibc ? ` (glibc ${o.glibc})` : ''}`],
    ['Node.js', `${n.version} (N-API ${n.napi ?? 'unknown'})`],
    ...Object.entries(facts.environment as Record<string, string>),
  ];
  const core = facts.core as { path: string; abi: number } | null;
  if (core === null) {
    print(header);
    console.error(`\n${String(facts.error)}`);
    return 1;
  }
  const threads = facts.cpuThreads as { pool: number; logicalCpus: number };
  header.push(['Native core', `${core.path} (ABI ${core.abi})`]);
  header.push(['CPU threads', `${threads.pool} in the CPU backend's pool, ${threads.logicalCpus} logical CPUs`]);
  print(header);

  const list = facts.backends as BackendInfo[];
  const width = Math.max(...list.map((b) => b.name.length));
  console.log('\nBackends:');
  for (const b of list) {
    const state = b.selected ? 'selected' : b.available ? 'available' : 'unavailable';
    // After the device, the precisions it honours here, then why 'auto' chose this backend or passed it over.
    const precisions = b.available && b.precisions?.length ? `precisions ${b.precisions.join(', ')}` : undefined;
    const detail = b.available ? [b.device, precisions, b.note].filter(Boolean).join('; ') : (b.reason ?? '');
    console.log(`  ${b.name.padEnd(width)}  ${state.padEnd(11)}  ${detail}`.trimEnd());
  }
  if (facts.error !== undefined) console.error(`\n${String(facts.error)}`);
  return ok ? 0 : 1;
}

function print(rows: ReadonlyArray<[string, string]>): void {
  const width = Math.max(...rows.map(([label]) => label.length)) + 1;
  for (const [label, value] of rows) console.log(`${`${label}:`.padEnd(width)} ${value}`);
}

// ---- the backends a selftest or bench runs on -------------------------------------------------------

/**
 * The backends to run: the one named by --backend, else the forced one (STRIDEKIT_BACKEND), else every
 * backend, available or not (the unavailable ones are reported, not run). `error` when a named or
 * forced backend is unavailable.
 */
function targets(requested: BackendName | undefined): { list: BackendInfo[]; error?: string } {
  binding(); // a core that does not load, or a bad setting, is an error here, with its full message
  const all = backends();
  const forced = selection();
  if (requested !== undefined) {
    const b = all.find((x) => x.name === requested) as BackendInfo;
    const errors = [];
    if (!b.available) errors.push(`backend '${requested}' is not available: ${b.reason ?? 'no reason given'} (requested by --backend)`);
    if (forced.error !== undefined) errors.push(forced.error);
    return { list: [b], ...(errors.length ? { error: errors.join('\n') } : {}) };
  }
  const env = process.env[BACKEND_ENV];
  if (forced.error !== undefined) return { list: [], error: forced.error };
  if (env !== undefined && env !== '' && env !== 'auto') return { list: all.filter((b) => b.name === forced.selected) };
  return { list: all };
}

// ---- selftest ---------------------------------------------------------------------------------------

async function selftestCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      backend: { type: 'string' }, precision: { type: 'string' }, json: { type: 'boolean' }, junit: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const requested = requireBackendName(values.backend);
  const precision = (values.precision ?? 'fp32') as Precision;
  if (!PRECISIONS.includes(precision)) throw new UsageError(`--precision must be one of ${PRECISIONS.join(', ')}, got '${values.precision}'`);
  if (values.junit === '') throw new UsageError('--junit needs a file name');
  const { selftest, junitXml } = await import('./selftest');
  const { list, error } = targets(requested);
  const json = values.json === true;
  const width = Math.max(...BACKEND_NAMES.map((name) => name.length));
  const results = await selftest({
    backends: list,
    precision,
    onBackend: json ? undefined : (r) => {
      if (!r.available) {
        console.log(`${r.backend.padEnd(width)}  unavailable: ${r.reason ?? 'no reason given'}`);
        return;
      }
      const skipped = r.skipped ? `, ${r.skipped} skipped` : '';
      const worst = `worst error ${r.worstError.toExponential(1)} of bound ${r.bound.toExponential(0)}${r.worstCase ? ` (${r.worstCase})` : ''}`;
      const verdict = r.failed ? `FAILED ${r.failed}` : 'ok';
      console.log(`${r.backend.padEnd(width)}  ${verdict}  ${r.passed}/${r.total} passed${skipped}  ${worst}  ${r.seconds.toFixed(1)} s${r.device ? `  [${r.device}]` : ''}`);
      for (const c of r.cases) if (c.status === 'failed') console.log(`${' '.repeat(width)}  failed: ${c.name}: ${c.message}`);
    },
  });
  const failed = results.reduce((n, r) => n + r.failed, 0);
  const ran = results.filter((r) => r.available).length;
  const ok = failed === 0 && error === undefined && ran > 0;
  if (values.junit !== undefined) fs.writeFileSync(values.junit, junitXml(results));
  if (json) {
    console.log(JSON.stringify({ stridekit: packageVersion(), ok, precision, ...(error ? { error } : {}), backends: results }, null, 2));
  } else {
    if (error !== undefined) console.error(error);
    console.log(ok ? `selftest passed on ${results.filter((r) => r.available).map((r) => r.backend).join(', ')}`
      : `selftest FAILED${failed ? `: ${failed} case${failed === 1 ? '' : 's'}` : ''}`);
  }
  return ok ? 0 : 1;
}

// ---- bench ------------------------------------------------------------------------------------------

async function benchCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { backend: { type: 'string' }, filter: { type: 'string' }, json: { type: 'boolean' } },
    strict: true,
    allowPositionals: false,
  });
  const requested = requireBackendName(values.backend);
  const { bench } = await import('./bench');
  const { list, error } = targets(requested);
  if (error !== undefined) {
    console.error(error);
    return 1;
  }
  const names = list.filter((b) => b.available).map((b) => b.name);
  const json = values.json === true;
  const nameWidth = 30;
  const colWidth = 18;
  if (!json) {
    console.log(`stridekit ${packageVersion()} bench: median ms per run (GFLOP/s) of a plan's runSync, ${os.cpus().length} logical CPUs`);
    console.log(`${'layer'.padEnd(nameWidth)}${'GFLOP'.padStart(7)}  ${names.map((n) => n.padStart(colWidth)).join('')}  fastest`);
  }
  const layers = bench({
    backends: names,
    ...(values.filter !== undefined ? { filter: values.filter } : {}),
    onLayer: json ? undefined : (layer) => {
      const cells = layer.timings.map((t) => (t.ms === undefined ? 'failed' : `${t.ms.toFixed(t.ms < 1 ? 3 : 2)} (${(t.gflops as number).toFixed(1)})`).padStart(colWidth));
      console.log(`${layer.name.padEnd(nameWidth)}${(layer.flops / 1e9).toFixed(3).padStart(7)}  ${cells.join('')}  ${layer.fastest ?? ''}`);
      for (const t of layer.timings) if (t.error !== undefined) console.log(`  ${t.backend} failed: ${t.error}`);
    },
  });
  const failures = layers.reduce((n, l) => n + l.timings.filter((t) => t.error !== undefined).length, 0);
  if (json) {
    console.log(JSON.stringify({ stridekit: packageVersion(), logicalCpus: os.cpus().length, backends: names, layers }, null, 2));
  } else if (layers.length === 0) {
    console.error(`no layer of the suite matches '${values.filter}'`);
  }
  return failures === 0 && layers.length > 0 ? 0 : 1;
}

// ---- dispatch ---------------------------------------------------------------------------------------

async function main(args: readonly string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command.startsWith('-')) {
    // No command: only the global flags.
    const { values } = parseArgs({
      args: [...args],
      options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } },
      strict: true,
      allowPositionals: false,
    });
    if (values.version) {
      console.log(packageVersion());
      return 0;
    }
    process.stdout.write(usage());
    return command === undefined || values.help ? 0 : 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(usage());
    return 0;
  }
  switch (command) {
    case 'info':
      return info(rest);
    case 'selftest':
      return selftestCommand(rest);
    case 'bench':
      return benchCommand(rest);
    case 'help':
    case 'version':
      parseArgs({ args: rest, options: {}, strict: true, allowPositionals: false });
      if (command === 'help') process.stdout.write(usage());
      else console.log(packageVersion());
      return 0;
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

/** parseArgs' own errors (unknown option, missing value, stray argument) are usage errors too. */
function isUsageError(error: unknown): boolean {
  if (error instanceof UsageError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    if (isUsageError(error)) {
      process.stderr.write(`stridekit: ${errorText(error)}\n\n${usage()}`);
      process.exitCode = 2;
    } else {
      console.error(errorText(error));
      process.exitCode = 1;
    }
  },
);
