#!/usr/bin/env node
'use strict';
/*
 * Cross-compiles the core addon for every platform the package ships a prebuilt binary for, from
 * this (Linux x64) machine, with Zig as the C++ toolchain (`npm run setup:zig` installs it into
 * .venv-zig/). Offline: the Node-API headers come from the running Node.js.
 *
 *   node scripts/prebuild-all.js                 every target below (npm run prebuild:all)
 *   node scripts/prebuild-all.js linux-arm64 ... only those
 *   node scripts/prebuild-all.js --plugins-only linux-x64 ...
 *                                                the Linux vendor plugins alone, the cores left as they are
 *
 * The sources, defines and warnings are binding.gyp's (and the two sources.gypi it includes), read
 * from those files, so the prebuilds and a source build compile the same thing. Each result is
 * stripped and written to prebuilds/<platform>-<arch>/<package name>.node, prebuildify's name for a
 * Node-API build, which node-gyp-build and lib/loader.ts load. Zig links its libc++ statically into
 * every target. The Linux targets are glibc 2.28, the floor of Node.js's own Linux binaries; the
 * macOS ones are macOS 11.0 and take Node-API from the host at load (-undefined dynamic_lookup); the
 * Windows one takes Node-API and libuv from whichever executable loaded it (node.exe, electron.exe:
 * native/core/win_host_imports.cc). test/prebuilds.test.js checks them.
 *
 * For linux-x64 and linux-arm64 it also builds the vendor plugins (buildVendorPlugins below): the root
 * CMakeLists.txt, the one a source build uses, configured with Zig for the target as its compiler, so
 * that the plugins' sources, defines and runtime search stay in their native/backends/<name>/
 * plugin.cmake. Each is the loader stub libstridekit_<name>.so and libstridekit_<name>_impl.so,
 * stripped, glibc 2.28, libc++ linked in, no RUNPATH; the implementation names its vendor libraries by
 * soname (linked against soname-only placeholders: no vendor library for arm64 is needed, or
 * downloaded), and every symbol it leaves undefined is checked against the vendor libraries found here.
 * A plugin whose SDK is missing is skipped with the reason; one whose build fails or whose symbols the
 * vendor libraries lack is left out too, and prebuild:all then exits non-zero; the rest replace every
 * plugin in prebuilds/<platform>-<arch>/.
 * test/prebuilt-plugins.test.js checks them, and loads them under node and qemu.
 *
 * Run it after `npm run build`, which copies its own core and plugins (g++, this machine's glibc and
 * libstdc++) into this platform's prebuilds/ folder: prebuild:all's replace them. A checkout's own tests
 * load build/Release/, which prebuild:all leaves alone. macOS and Windows get the core only here; their
 * plugins are left to a build on those systems.
 */
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const pkg = require(path.join(root, 'package.json'));
const zigPython = path.join(root, '.venv-zig', 'bin', 'python');

// Zig target triples; a versioned glibc suffix is the oldest glibc the binary accepts.
const TARGETS = {
  'linux-x64': { zig: 'x86_64-linux-gnu.2.28', os: 'linux', processor: 'x86_64' },
  'linux-arm64': { zig: 'aarch64-linux-gnu.2.28', os: 'linux', processor: 'aarch64' },
  // macOS 11, the first with arm64, as binding.gyp's MACOSX_DEPLOYMENT_TARGET.
  'darwin-x64': { zig: 'x86_64-macos.11.0', os: 'darwin' },
  'darwin-arm64': { zig: 'aarch64-macos.11.0', os: 'darwin' },
  'win32-x64': { zig: 'x86_64-windows-gnu', os: 'win32' },
};

// Windows only: binds the core's Node-API and libuv imports to whichever executable loaded it.
const HOST_IMPORTS_SOURCE = 'native/core/win_host_imports.cc';

function fail(message) {
  console.error(`[prebuild-all] failed: ${message}`);
  process.exit(1);
}

function log(message) {
  console.log(`[prebuild-all] ${message}`);
}

/** binding.gyp, less its comment lines, is JSON. */
function readGyp(file) {
  const text = fs.readFileSync(file, 'utf8').split('\n').filter((line) => !/^\s*#/.test(line)).join('\n');
  return JSON.parse(text);
}

/** A sources.gypi's file names (one quoted name a line), as paths from the repository root. */
function readSources(gypi) {
  const text = fs.readFileSync(path.join(root, gypi), 'utf8');
  const names = [...text.matchAll(/^\s*'([^']+\.cc)',?\s*$/gm)].map((m) => m[1]);
  if (names.length === 0) fail(`no sources found in ${gypi}`);
  return names.map((name) => path.join(path.dirname(gypi), name));
}

/** The headers of the running Node.js (node_api.h, and uv.h, which native/core/async_work.cc uses). */
function nodeIncludeDir() {
  const dir = path.join(path.dirname(process.execPath), '..', 'include', 'node');
  if (!fs.existsSync(path.join(dir, 'node_api.h')) || !fs.existsSync(path.join(dir, 'uv.h'))) {
    fail(`no Node.js headers (node_api.h and uv.h) in ${dir}: install Node.js from its official tarball ` +
      'or your distribution\'s nodejs development package');
  }
  return path.resolve(dir);
}

function zigCommand() {
  if (!fs.existsSync(zigPython)) fail('no .venv-zig/: run `npm run setup:zig` first');
  return [zigPython, '-m', 'ziglang'];
}

/** Runs commands, at most `jobs` at a time; rejects with the first failure's output. */
function runAll(commands, jobs) {
  return new Promise((resolve, reject) => {
    let next = 0;
    let running = 0;
    let failed = false;
    const launch = () => {
      if (failed) return;
      if (next === commands.length && running === 0) return resolve();
      while (running < jobs && next < commands.length) {
        const [command, ...args] = commands[next++];
        running += 1;
        const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'inherit', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (chunk) => { stderr += chunk; });
        child.on('error', (error) => { failed = true; reject(error); });
        child.on('close', (status) => {
          running -= 1;
          if (stderr) process.stderr.write(stderr);
          if (status !== 0) {
            failed = true;
            return reject(new Error(`${args.slice(-1)[0]}: exit ${status}`));
          }
          launch();
        });
      }
    };
    launch();
  });
}

async function buildTarget(tuple, target, common) {
  const started = Date.now();
  const objDir = path.join(root, 'build', 'prebuild', tuple);
  fs.mkdirSync(objDir, { recursive: true });
  const zig = zigCommand();
  const flags = ['-target', target.zig, ...common.flags];
  if (target.os === 'linux') flags.push('-fPIC');
  const objects = [];
  // libuv's functions, like Node-API's, are imported from the host (uv.h: dllimport).
  if (target.os === 'win32') flags.push('-DUSING_UV_SHARED=1');
  const objectOf = (source) => path.join(objDir, source.replace(/[\\/]/g, '_').replace(/\.cc$/, '.o'));
  const commands = common.sources.map((source) => {
    const object = objectOf(source);
    objects.push(object);
    return [...zig, 'c++', ...flags, '-c', '-o', object, source];
  });
  await runAll(commands, common.jobs);
  if (target.os === 'win32') {
    writeHostImports(objDir, objects);
    const object = objectOf(HOST_IMPORTS_SOURCE);
    await runAll([[...zig, 'c++', ...flags, `-I${objDir}`, '-c', '-o', object, HOST_IMPORTS_SOURCE]], 1);
    objects.push(object);
  }

  // Linked in the object folder (a Windows link also writes an import library beside it), then copied.
  const linked = path.join(objDir, `${pkg.name}.node`);
  const link = [...zig, 'c++', '-target', target.zig, '-shared', '-s', '-o', linked, ...objects];
  // Zig links its libc++ and libunwind statically; glibc 2.28 keeps libdl and libpthread apart.
  if (target.os === 'linux') link.push('-ldl', '-lpthread');
  // Node-API and libuv come from the executable that loads the addon, as node-gyp links on macOS.
  // -x: without local symbols, as `strip -x` (zig's -s keeps them in a Mach-O file).
  if (target.os === 'darwin') link.push('-Wl,-undefined,dynamic_lookup', '-Wl,-x');
  const result = spawnSync(link[0], link.slice(1), { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) fail(`linking ${tuple} exited with ${result.status}`);
  const outDir = path.join(root, 'prebuilds', tuple);
  fs.mkdirSync(outDir, { recursive: true });
  const out = path.join(outDir, `${pkg.name}.node`);
  fs.copyFileSync(linked, out);
  log(`${tuple}: ${path.relative(root, out)} (${fs.statSync(out).size} bytes, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

// ---- the vendor plugins (Linux) -----------------------------------------------------------------

/** Runs a command quietly; its status and its output (stdout and stderr together). */
function capture(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  if (result.error) return { status: -1, output: String(result.error.message) };
  return { status: result.status, output: `${result.stdout || ''}${result.stderr || ''}` };
}

/** The configure's stridekit-plugins.tsv (CMakeLists.txt): what it will build, skips, vendor libraries. */
function readPluginManifest(file) {
  const plugins = new Map();
  const of = (name) => {
    if (!plugins.has(name)) plugins.set(name, { name, target: null, files: [], skipped: null, vendor: [] });
    return plugins.get(name);
  };
  for (const line of fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const [kind, name, ...rest] = line.split('\t');
    if (kind === 'built') Object.assign(of(name), { target: rest[0], files: rest.slice(1) });
    else if (kind === 'skipped') of(name).skipped = rest.join('\t');
    else if (kind === 'vendor') of(name).vendor.push({ soname: rest[0], file: rest[1] });
  }
  return [...plugins.values()];
}

/** `nm -D` of a file: its dynamic symbols, undefined or defined, without their @version. */
function dynamicSymbols(file, which) {
  const r = capture('nm', ['-D', which === 'undefined' ? '--undefined-only' : '--defined-only', file]);
  if (r.status !== 0) throw new Error(`nm -D ${path.relative(root, file)} (binutils): ${r.output.trim() || `exit ${r.status}`}`);
  return r.output.split('\n').filter(Boolean).map((line) => {
    const fields = line.trim().split(/\s+/);
    const [name, version] = fields[fields.length - 1].split(/@+/);
    return { type: fields[fields.length - 2], name, version };
  });
}

/**
 * Every symbol the implementation leaves undefined is the C runtime's (versioned GLIBC_*, or weak) or
 * is exported by the vendor libraries found here. Placeholders let any name through the link; this is
 * the check that none is missing from the real libraries, as a C++ API compiled against Zig's libc++
 * would be (std::__1 names where the vendor exports libstdc++'s). For arm64 the libraries found are this
 * machine's x64 build of the same release, whose exported names are the same. The reason, or null when
 * all resolve.
 */
function unresolvedVendorSymbols(implementation, vendor) {
  const exported = new Set();
  for (const library of vendor) for (const s of dynamicSymbols(library.file, 'defined')) exported.add(s.name);
  const missing = dynamicSymbols(implementation, 'undefined')
    .filter((s) => s.type === 'U' && !(s.version || '').startsWith('GLIBC_') && !exported.has(s.name))
    .map((s) => s.name);
  if (missing.length === 0) return null;
  return `${missing.length} undefined symbol(s) that ${vendor.map((v) => v.soname).join(' and ')} do not export: ` +
    `${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}`;
}

/** The first compiler or linker error of a failed build's output, for a one-line reason. */
function firstError(output) {
  const line = output.split('\n').find((l) => /\berror\b/i.test(l)) || output.trim().split('\n').pop() || '';
  return line.replace(`${root}/`, '').trim().slice(0, 300);
}

/**
 * The vendor plugins for one Linux target: the project's own CMakeLists.txt (the plugins' sources,
 * defines and runtime search are those of a source build, in native/backends/<name>/plugin.cmake),
 * configured with Zig as its C++ compiler for the target and with STRIDEKIT_VENDOR_PLACEHOLDERS,
 * so that each implementation names its vendor libraries by soname without linking this machine's
 * (CMakeLists.txt). Each plugin is built on its own. One whose SDK the configure did not find is
 * skipped with the reason; one that fails to build, or whose implementation uses a symbol its vendor
 * libraries lack, is a defect: it is left out and reported as failed, the others are still copied,
 * and main() exits non-zero once every target has been tried, so that neither CI nor a release goes
 * on without a plugin it could have shipped. The stub and the implementation (stripped, no RUNPATH)
 * replace every plugin in prebuilds/<tuple>/, so that `npm run build`'s own (system g++, glibc of
 * this machine, libstdc++) never stays there. Writes build/prebuild/<tuple>/plugins.json, what was
 * built, skipped and failed; returns the failed ones' names.
 */
function buildVendorPlugins(tuple, target, jobs) {
  const started = Date.now();
  const dir = path.join(root, 'build', 'prebuild', tuple, 'plugins');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  if (capture('cmake', ['--version']).status !== 0) {
    log(`${tuple}: vendor plugins skipped: cmake is not on PATH`);
    return [];
  }
  // CMake runs its compiler as one program: a wrapper that names the target (the project is C++ only).
  const zig = zigCommand().map((word) => `'${word}'`).join(' ');
  const compiler = path.join(dir, 'zig-c++');
  fs.writeFileSync(compiler, `#!/bin/sh\nexec ${zig} c++ -target ${target.zig} "$@"\n`, { mode: 0o755 });
  const outDir = path.join(dir, 'out');
  const configure = capture('cmake', [
    '-S', root, '-B', dir, '-DCMAKE_BUILD_TYPE=Release',
    '-DCMAKE_SYSTEM_NAME=Linux', `-DCMAKE_SYSTEM_PROCESSOR=${target.processor}`,
    `-DCMAKE_CXX_COMPILER=${compiler}`,
    // As for the core: no sanitizer runtime (Zig's default without -O), stripped (-s keeps .dynsym).
    '-DCMAKE_CXX_FLAGS=-fno-sanitize=all', '-DCMAKE_SHARED_LINKER_FLAGS=-s',
    '-DSTRIDEKIT_VENDOR_PLACEHOLDERS=ON', '-DSTRIDEKIT_BUILD_TOOLS=OFF', `-DSTRIDEKIT_PLUGIN_OUTPUT_DIR=${outDir}`,
  ]);
  if (configure.status !== 0) {
    process.stderr.write(configure.output);
    fail(`${tuple}: configuring the vendor plugins with Zig failed (its output is above)`);
  }
  const manifest = readPluginManifest(path.join(dir, 'stridekit-plugins.tsv'));
  const summary = { tuple, built: {}, skipped: {}, failed: {} };
  for (const plugin of manifest) {
    if (plugin.skipped) {
      summary.skipped[plugin.name] = plugin.skipped;
      continue;
    }
    const build = capture('cmake', ['--build', dir, '--target', plugin.target, '--parallel', String(jobs)]);
    let reason = build.status === 0 ? null : `its build with Zig failed: ${firstError(build.output)}`;
    const implementation = plugin.files.find((name) => /_impl\.so$/.test(name));
    if (!reason && implementation && plugin.vendor.length) {
      try {
        reason = unresolvedVendorSymbols(path.join(outDir, implementation), plugin.vendor);
      } catch (error) {
        reason = `its symbols could not be checked (${error.message.split('\n')[0]})`;
      }
    }
    if (reason) {
      summary.failed[plugin.name] = reason;
      continue;
    }
    summary.built[plugin.name] = {
      files: plugin.files,
      needed: plugin.vendor.map((v) => v.soname),
    };
  }

  const prebuildDir = path.join(root, 'prebuilds', tuple);
  fs.mkdirSync(prebuildDir, { recursive: true });
  for (const name of fs.readdirSync(prebuildDir)) {
    if (/\.so$/.test(name)) fs.rmSync(path.join(prebuildDir, name));
  }
  for (const { files } of Object.values(summary.built)) {
    for (const name of files) fs.copyFileSync(path.join(outDir, name), path.join(prebuildDir, name));
  }
  fs.writeFileSync(path.join(root, 'build', 'prebuild', tuple, 'plugins.json'), `${JSON.stringify(summary, null, 2)}\n`);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  for (const [name, { files }] of Object.entries(summary.built)) {
    const sizes = files.map((f) => `${f} ${fs.statSync(path.join(prebuildDir, f)).size} bytes`).join(', ');
    log(`${tuple}: ${name} plugin: ${sizes}`);
  }
  for (const [name, reason] of Object.entries(summary.skipped)) log(`${tuple}: ${name} plugin not built: ${reason}`);
  for (const [name, reason] of Object.entries(summary.failed)) log(`${tuple}: ${name} plugin FAILED: ${reason}`);
  log(`${tuple}: vendor plugins in ${seconds} s`);
  return Object.keys(summary.failed).map((name) => `${tuple} ${name}`);
}

/** The external symbols an x86-64 COFF object uses without defining them. */
function coffUndefined(file) {
  const b = fs.readFileSync(file);
  if (b.readUInt16LE(0) !== 0x8664) fail(`${file}: not an x86-64 COFF object`);
  const symbols = b.readUInt32LE(8);
  const count = b.readUInt32LE(12);
  const strings = symbols + count * 18; // IMAGE_SYMBOL is 18 bytes; the string table follows
  const names = [];
  for (let i = 0; i < count; i += 1) {
    const at = symbols + i * 18;
    const section = b.readInt16LE(at + 12);
    const storageClass = b[at + 16];
    if (section === 0 && storageClass === 2 /* IMAGE_SYM_CLASS_EXTERNAL */ && b.readUInt32LE(at + 8) === 0) {
      const name = b.readUInt32LE(at) === 0
        ? b.toString('latin1', strings + b.readUInt32LE(at + 4), b.indexOf(0, strings + b.readUInt32LE(at + 4)))
        : b.toString('latin1', at, at + 8).replace(/\0.*$/, '');
      names.push(name);
    }
    i += b[at + 17]; // auxiliary records
  }
  return names;
}

/**
 * host_imports.inc for native/core/win_host_imports.cc: every Node-API and libuv function the
 * objects import (the headers declare them dllimport, so the objects name __imp_<function>). Read
 * from the objects rather than from node-api-headers' node_api.def, which has no uv_* functions.
 */
function writeHostImports(objDir, objects) {
  const imports = new Set();
  for (const object of objects) {
    for (const name of coffUndefined(object)) {
      const m = /^__imp_((?:napi_|node_api_|uv_)\w+)$/.exec(name);
      if (m) imports.add(m[1]);
    }
  }
  if (imports.size === 0) fail('the Windows objects import no Node-API function: is NAPI_EXTERN dllimport?');
  const lines = [...imports].sort().map((name) => `SK_HOST_IMPORT(${name})\n`);
  fs.writeFileSync(path.join(objDir, 'host_imports.inc'), lines.join(''));
}

async function main() {
  const argv = process.argv.slice(2);
  const pluginsOnly = argv.includes('--plugins-only');
  const wanted = argv.filter((arg) => arg !== '--plugins-only');
  for (const name of wanted) if (!TARGETS[name]) fail(`unknown target ${name} (known: ${Object.keys(TARGETS).join(', ')})`);
  const tuples = wanted.length ? wanted : Object.keys(TARGETS);

  const gyp = readGyp(path.join(root, 'binding.gyp')).targets[0];
  const sources = gyp.includes.flatMap(readSources);
  const includeDirs = [require('node-addon-api').include_dir, 'native/include', 'native', nodeIncludeDir()]
    .map((dir) => path.resolve(root, dir));
  const flags = [
    ...gyp.cflags_cc,
    // What node-gyp adds to every addon.
    `-DNODE_GYP_MODULE_NAME=${gyp.target_name}`, '-DBUILDING_NODE_EXTENSION',
    ...gyp.defines.map((define) => `-D${define}`),
    ...includeDirs.map((dir) => `-I${dir}`),
    // Zig's defaults differ from node-gyp's g++ build in these: no sanitizers in a release build,
    // exceptions and RTTI on (binding.gyp removes -fno-exceptions and -fno-rtti).
    '-fno-sanitize=all', '-fexceptions', '-frtti',
  ];
  const jobs = os.cpus().length || 1;
  const started = Date.now();
  const failed = [];
  for (const tuple of tuples) {
    if (!pluginsOnly) {
      log(`${tuple}: zig c++ -target ${TARGETS[tuple].zig}, ${sources.length} sources`);
      await buildTarget(tuple, TARGETS[tuple], { sources, flags, jobs });
    }
    if (TARGETS[tuple].os === 'linux') failed.push(...buildVendorPlugins(tuple, TARGETS[tuple], jobs));
  }
  log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (failed.length) fail(`vendor plugins whose SDK is here failed to build: ${failed.join(', ')} (reasons above)`);
}

main().catch((error) => fail(error.message));
