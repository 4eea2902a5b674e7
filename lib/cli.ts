#!/usr/bin/env node
/**
 * `stridekit info`: what this machine offers, in the manner of `node-llama-cpp inspect gpu`.
 * Exit status: 0 when the native core loads, 1 when it does not or one of the environment variables
 * it reads has a bad value (settings.ts), 2 for a usage error.
 */
import * as os from 'os';
import { BACKEND_NAMES } from './backend-names';
import { BACKEND_ENV, backends, defaultBackend } from './backends';
import { binding, bindingPath, packageVersion } from './loader';
import { CPU_KERNELS, KERNELS_ENV, MAX_THREADS, THREADS_ENV } from './settings';

const USAGE = `Usage: stridekit <command>

Commands:
  info        the platform, the native core that loads and every backend: available, selected, or why not
  help        this text (also --help, -h)
  version     the package version (also --version, -v)

Environment:
  ${BACKEND_ENV}=name      force a backend (${BACKEND_NAMES.join(', ')}); an unavailable one is an error
  ${THREADS_ENV}=n     threads of the CPU backend, 1 to ${MAX_THREADS} (default: one per CPU)
  ${KERNELS_ENV}=k     ${CPU_KERNELS.join(' or ')}: cap the CPU backend's kernels (default: the best the CPU runs)
  STRIDEKIT_PLUGIN_PATH=dirs  folders searched for vendor plugins before the core's own
A bad value of any of these is an error; \`stridekit info\` then exits with status 1.
`;

function info(): number {
  const header: Array<[string, string]> = [
    ['stridekit', packageVersion()],
    ['OS', `${os.type()} ${os.release()} ${process.platform}-${process.arch}${libc()}`],
    ['Node.js', `${process.version} (N-API ${process.versions.napi ?? 'unknown'})`],
  ];
  for (const name of [BACKEND_ENV, THREADS_ENV, KERNELS_ENV, 'STRIDEKIT_PLUGIN_PATH']) {
    if (process.env[name]) header.push([name, process.env[name] as string]);
  }
  let core;
  try {
    core = binding();
  } catch (error) {
    print(header);
    console.error(`\n${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  header.push(['Native core', `${bindingPath()} (ABI ${core.abi.version})`]);
  header.push(['CPU threads', `${core.numThreads} in the CPU backend's pool, ${os.cpus().length} logical CPUs`]);
  print(header);

  const list = backends();
  const width = Math.max(...list.map((b) => b.name.length));
  console.log('\nBackends, in ranking order:');
  for (const b of list) {
    const state = b.selected ? 'selected' : b.available ? 'available' : 'unavailable';
    const detail = b.available ? [b.device, b.note].filter(Boolean).join('; ') : (b.reason ?? '');
    console.log(`  ${b.name.padEnd(width)}  ${state.padEnd(11)}  ${detail}`.trimEnd());
  }
  try {
    defaultBackend();
  } catch (error) {
    console.log(`\n${error instanceof Error ? error.message : String(error)}`);
  }
  return 0;
}

function print(rows: ReadonlyArray<[string, string]>): void {
  const width = Math.max(...rows.map(([label]) => label.length)) + 1;
  for (const [label, value] of rows) console.log(`${`${label}:`.padEnd(width)} ${value}`);
}

function libc(): string {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  const glibc = report?.header?.glibcVersionRuntime;
  return glibc ? ` (glibc ${glibc})` : '';
}

function main(args: readonly string[]): number {
  const command = args[0] ?? 'help';
  switch (command) {
    case 'info':
      return info();
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    case 'version':
    case '--version':
    case '-v':
      console.log(packageVersion());
      return 0;
    default:
      process.stderr.write(`stridekit: unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}

process.exitCode = main(process.argv.slice(2));
