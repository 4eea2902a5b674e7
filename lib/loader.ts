/**
 * Loads the native core lazily, on the first call that needs it, so that the pure parts of the
 * package (outputShape, resolvePadding, argument errors) work where the binary cannot load.
 * A failure lists every attempt with its underlying message and ends with `Possible solutions:`
 * chosen from those messages. The outcome, success or failure, is remembered for the process.
 *
 * Before the core loads, the environment variables it reads are checked (settings.ts): a bad
 * STRIDEKIT_NUM_THREADS or STRIDEKIT_CPU_KERNELS is a RangeError from this first call, and the core is
 * not loaded, so a caller that corrects process.env can try again.
 */
import * as fs from 'fs';
import * as path from 'path';
import { describe } from './errors';
import { ABI, ABI_VERSION, NativeBinding } from './native-abi';
import { checkSettings } from './settings';

const MIN_NAPI_VERSION = 8;
const MIN_NODE_MAJOR = 18;

const PACKAGE_ROOT = path.join(__dirname, '..');

/**
 * Where the native binaries are: the package folder, or its `app.asar.unpacked` twin when the package
 * sits inside an Electron `app.asar` archive. A native addon cannot be loaded from inside the archive,
 * so packagers (electron-builder's asarUnpack, Electron Forge's auto-unpack-natives) move the binaries
 * to the twin folder while the JavaScript stays in the archive. The core looks for its plugins beside
 * itself, so they are found in the twin as well.
 */
export function nativeRoot(packageRoot: string = PACKAGE_ROOT): string {
  const unpacked = unpackedTwin(packageRoot);
  return unpacked !== undefined && fs.existsSync(unpacked) ? unpacked : packageRoot;
}

/** `packageRoot` with its last `app.asar` path segment renamed `app.asar.unpacked`, if it has one. */
export function unpackedTwin(packageRoot: string): string | undefined {
  const parts = packageRoot.split(/[\\/]/);
  const at = parts.lastIndexOf('app.asar');
  if (at < 0) return undefined;
  parts[at] = 'app.asar.unpacked';
  return parts.join(path.sep);
}

/**
 * How this copy of the facade was installed, which decides the advice a load failure gives:
 * - `checkout`: a clone of the repository (it has .git or the test folder): `npm run build` builds it;
 * - `dependency`: the npm package in a project's node_modules: `npm rebuild stridekit` builds it;
 * - `bundled`: a bundler copied the facade into an application's bundle, away from the package's
 *   binaries: the folder above this file holds no stridekit package.json, or this file is not the
 *   facade's own loader.js.
 */
export type InstallKind = 'checkout' | 'dependency' | 'bundled';

export function installKind(packageRoot: string = PACKAGE_ROOT, file: string = __filename): InstallKind {
  if (packageName(packageRoot) !== 'stridekit' || !/^loader\.[cm]?[jt]s$/.test(path.basename(file))) return 'bundled';
  const checkout = fs.existsSync(path.join(packageRoot, '.git')) || fs.existsSync(path.join(packageRoot, 'test'));
  return checkout ? 'checkout' : 'dependency';
}

function packageName(packageRoot: string): string | undefined {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { name?: unknown };
    return typeof pkg.name === 'string' ? pkg.name : undefined;
  } catch {
    return undefined;
  }
}

interface NodeGypBuild {
  (dir: string): unknown;
  /** The binary node-gyp-build would load: build/Release first, then prebuilds/<platform>-<arch>/. */
  path(dir: string): string;
}

interface Attempt {
  where: string;
  error: string;
}

let loaded: { binding: NativeBinding; file: string } | undefined;
let failure: Error | undefined;

export function binding(): NativeBinding {
  return load().binding;
}

/** The path of the loaded core binary; loads it if needed. */
export function bindingPath(): string {
  return load().file;
}

function load(): { binding: NativeBinding; file: string } {
  if (loaded !== undefined) return loaded;
  checkSettings();
  if (failure !== undefined) throw failure;
  const attempts: Attempt[] = [];
  for (const file of candidates(attempts)) {
    try {
      const candidate = require(file) as NativeBinding;
      const mismatch = abiMismatch(candidate.abi);
      if (mismatch !== undefined) {
        attempts.push({ where: file, error: mismatch });
        continue;
      }
      loaded = { binding: candidate, file };
      return loaded;
    } catch (error) {
      attempts.push({ where: file, error: messageOf(error) });
    }
  }
  for (const dir of [releaseDir(), prebuildDir()]) {
    if (!attempts.some((a) => a.where.includes(dir))) attempts.push({ where: dir, error: emptyDirReason(dir) });
  }
  failure = loadError(attempts);
  throw failure;
}

/**
 * Why a binary's `abi` table (native/core/js_abi_export.cc) does not match this facade's
 * (native-abi.ts ABI), or undefined when every field agrees. The version is compared first; then
 * every field this facade knows, in its order; then any field only the binary has. The reason names
 * the first difference.
 */
export function abiMismatch(abi: unknown): string | undefined {
  const version = isRecord(abi) ? abi.version : undefined;
  if (version !== ABI_VERSION) {
    const found = isRecord(abi) ? `ABI version ${describe(version)}` : 'ABI version unknown (the binary exports no abi table)';
    return `${found}, but ${thisFacade()} expects ${ABI_VERSION}: the binary is stale`;
  }
  const difference = firstDifference(abi, ABI, 'abi');
  if (difference === undefined) return undefined;
  return `ABI table differs at ${difference.path}: the binary has ${difference.binary}, ${thisFacade()} expects ` +
    `${difference.facade}: the binary is stale or out of sync with the facade's native-abi.ts`;
}

/** Read only for a message: package.json is not opened when the binary matches. */
function thisFacade(): string {
  return `this facade (stridekit ${packageVersion()})`;
}

interface Difference {
  path: string;
  binary: string;
  facade: string;
}

function firstDifference(binary: unknown, facade: unknown, path: string): Difference | undefined {
  if (isRecord(facade) && isRecord(binary)) {
    for (const key of Object.keys(facade)) {
      const inner = `${path}.${key}`;
      if (!hasOwn(binary, key)) return { path: inner, binary: 'no such field', facade: describe(facade[key]) };
      const difference = firstDifference(binary[key], facade[key], inner);
      if (difference !== undefined) return difference;
    }
    const extra = Object.keys(binary).find((key) => !hasOwn(facade, key));
    if (extra === undefined) return undefined;
    return { path: `${path}.${extra}`, binary: describe(binary[extra]), facade: 'no such field' };
  }
  return Object.is(binary, facade) ? undefined : { path, binary: describe(binary), facade: describe(facade) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function hasOwn(object: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

function emptyDirReason(dir: string): string {
  if (!fs.existsSync(dir)) return 'no such folder';
  return 'no binary for this runtime here';
}

/**
 * node-gyp-build's choice first; when that one fails to load, the other binaries of this platform's
 * prebuilds/ folder, so a stale local build does not hide a working prebuild.
 */
function candidates(attempts: Attempt[]): string[] {
  const files: string[] = [];
  try {
    const nodeGypBuild = require('node-gyp-build') as NodeGypBuild;
    files.push(nodeGypBuild.path(nativeRoot()));
  } catch (error) {
    attempts.push({ where: `${releaseDir()} and ${prebuildDir()}`, error: messageOf(error) });
  }
  for (const name of listDir(prebuildDir())) {
    const file = path.join(prebuildDir(), name);
    if (name.endsWith('.node') && !files.includes(file)) files.push(file);
  }
  return files;
}

function releaseDir(): string {
  return path.join(nativeRoot(), 'build', 'Release') + path.sep;
}

function prebuildDir(): string {
  return path.join(nativeRoot(), 'prebuilds', `${process.platform}-${process.arch}`) + path.sep;
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.trim().replace(/\s*\n\s*/g, '; ');
}

export function packageVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

function loadError(attempts: readonly Attempt[]): Error {
  const runtime = `Node.js ${process.version}, N-API ${process.versions.napi ?? 'unknown'}`;
  const context = currentContext();
  const lines = [
    `Could not load the stridekit native core for ${process.platform}-${process.arch} (${runtime}).`,
    'Tried:',
    ...attempts.map((a) => `- ${a.where}: ${a.error}`),
    'Possible solutions:',
    ...solutions(attempts.map((a) => a.error).join('\n'), context).map((s) => `- ${s}`),
  ];
  return new Error(lines.join('\n'));
}

/** What the advice depends on besides the error messages; every field is read from this process by currentContext(). */
export interface SolutionContext {
  install: InstallKind;
  /** The facade's own file, named when a bundler has moved it. */
  file: string;
  platform: string;
  arch: string;
  nodeVersion: string;
  napi: number;
  addonsFlag: boolean;
  glibc: string;
}

export function currentContext(): SolutionContext {
  return {
    install: installKind(),
    file: __filename,
    platform: process.platform,
    arch: process.arch,
    nodeVersion: process.version,
    napi: Number(process.versions.napi ?? 0),
    addonsFlag: process.execArgv.includes('--no-addons'),
    // A getter: the diagnostic report behind it is only worth taking for a glibc message.
    get glibc() {
      return glibcVersion();
    },
  };
}

/**
 * The `Possible solutions:` of a load failure, chosen from what went wrong (`errors`, the attempts'
 * messages), most specific first, worded for how the package was installed: a checkout builds with
 * its own `npm run build`; a dependency with `npm rebuild stridekit`, which runs the install script
 * that package managers may have skipped; a bundled copy cannot find its binaries at all, whatever
 * the platform, and must be kept out of the bundle.
 */
export function solutions(errors: string, context: SolutionContext): string[] {
  const found: string[] = [];
  const tuple = `${context.platform}-${context.arch}`;
  if (context.install === 'bundled') {
    found.push(`stridekit was bundled: its loader runs from ${context.file}, away from the package's native binaries. ` +
      'Mark stridekit as external in the bundler (webpack `externals`, esbuild `--external:stridekit`, ' +
      'Rollup/Vite `external`, Next.js `serverExternalPackages`) so that it is loaded from node_modules at run time.');
    found.push('`npx stridekit info` shows what loads from node_modules; see the Installation section of the README.');
    return found;
  }
  const dependency = context.install === 'dependency';
  const build = dependency ? '`npm rebuild stridekit`' : '`npm run build`';
  const nodeMajor = Number(context.nodeVersion.replace(/^v/, '').split('.')[0]);
  if (context.napi < MIN_NAPI_VERSION || nodeMajor < MIN_NODE_MAJOR) {
    found.push(`Upgrade Node.js to ${MIN_NODE_MAJOR} or later (N-API ${MIN_NAPI_VERSION}); this is ${context.nodeVersion} with N-API ${context.napi || 'unknown'}.`);
  }
  const noBinary = /No native build was found/.test(errors);
  const addonsDisabled = context.addonsFlag || /addons are disabled|--no-addons/i.test(errors);
  if (addonsDisabled) {
    found.push('Node.js runs with --no-addons (or a policy that forbids native addons); stridekit needs its native addon, so remove that flag.');
  }
  if (/GLIBC_|GLIBCXX_|CXXABI_/.test(errors)) {
    found.push(`The binary needs a newer glibc/libstdc++ than this system has (glibc ${context.glibc}): build from source with ${build}, or use a newer distribution.`);
  }
  if (/invalid ELF header|wrong ELF class|not a valid Win32 application|mach-o file, but is an incompatible architecture/i.test(errors)) {
    found.push(`The binary was built for another platform or architecture: reinstall on this ${tuple} machine (\`npm rebuild stridekit\`).`);
  }
  if (/ABI version|ABI table/.test(errors)) {
    found.push(dependency
      ? 'The binary belongs to another stridekit version: reinstall stridekit, or rebuild it with `npm rebuild stridekit --build-from-source`.'
      : 'The binary belongs to another stridekit version: rebuild it with `npm run build` (or reinstall stridekit).');
  }
  if (noBinary) {
    found.push(dependency
      ? `No prebuilt binary ships for ${tuple}, so stridekit's install script compiles one, and it has not run or did not finish: run ${build}.`
      : `No binary is built for ${tuple} in this checkout: run ${build}.`);
  }
  // The install script compiles when no shipped binary loads; having neither means it did not run.
  if (dependency && !addonsDisabled && (noBinary || /GLIBC_|GLIBCXX_|CXXABI_/.test(errors))) {
    found.push('If install scripts are off, stridekit\'s never ran: npm skips them with `ignore-scripts=true` (.npmrc) or ' +
      '`--ignore-scripts`, and allow-lists such as `@lavamoat/allow-scripts` need stridekit listed; pnpm 10 and later ' +
      "run a dependency's scripts only once `pnpm approve-builds` (or `onlyBuiltDependencies`) allows it; Bun only " +
      'for `trustedDependencies`; Yarn skips them with `enableScripts: false`. Allow stridekit\'s install script, then ' +
      'reinstall, or run `npm rebuild stridekit --ignore-scripts=false`.');
  }
  if (!addonsDisabled || found.length > 1) {
    found.push(noBinary
      ? 'Building from source needs Python 3, make and a C++17 compiler for node-gyp.'
      : `Build from source: ${build} (needs Python 3, make and a C++17 compiler for node-gyp).`);
  }
  found.push('`npx stridekit info` shows what loaded; see the Installation section of the README.');
  return found;
}

function glibcVersion(): string {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header?.glibcVersionRuntime ?? 'unknown';
}
