#!/usr/bin/env node
'use strict';
/*
 * Builds stridekit's native parts, offline:
 *   1. the core addon (binding.gyp) with node-gyp `rebuild`, against local Node headers;
 *   2. the vendor plugins (CMakeLists.txt) with cmake-js, when `cmake` is on PATH;
 *   3. copies the core and the plugins into prebuilds/<platform>-<arch>/, where node-gyp-build
 *      looks for the core and the core looks for plugins (next to itself).
 *
 *   node scripts/build-native.js                 the above (npm run build:native, npm run build)
 *   node scripts/build-native.js --prebuildify   step 1 and 3 through `prebuildify --napi --strip`
 *                                                (npm run prebuildify: a stripped binary to publish)
 *   node scripts/build-native.js --no-plugins    skip step 2
 *   node scripts/build-native.js --if-missing    build only when no core binary loads (the package's
 *                                                install script; npm_config_build_from_source=true
 *                                                forces the build); in an installed package (not a
 *                                                checkout) only the core: step 2 is skipped
 *   node scripts/build-native.js --dry-run       print what the other flags would build, build nothing
 *
 * Nothing here downloads. node-gyp gets --nodedir: the prefix of process.execPath when it holds
 * include/node/node_api.h (Linux distributions and the official tarballs do), else a folder made
 * from the `node-api-headers` package (the core only uses Node-API, so those headers suffice).
 * cmake-js never needs Node headers for the plugins: package.json's "binary.napi_versions" tells
 * it the project is Node-API, which is its documented switch for not downloading them.
 *
 * Why copy instead of always running prebuildify: prebuildify can run offline (it spawns node-gyp,
 * which honours npm_config_nodedir from the environment), but it is a devDependency, and this script
 * is also the install script (--if-missing) on a machine with no matching prebuild, where
 * devDependencies are absent. The copy uses prebuildify's name for a Node-API build,
 * `<package name>.node` (prebuildify/index.js prebuildName with --napi), which node-gyp-build's
 * parseTags/matchTags accept for every runtime and ABI. (The npm script is not called `prebuild`:
 * npm would run a script of that name before every `npm run build`.)
 */
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const pkg = require(path.join(root, 'package.json'));
const args = new Set(process.argv.slice(2));
const usePrebuildify = args.has('--prebuildify');
const ifMissing = args.has('--if-missing');
const dryRun = args.has('--dry-run');
// A checkout has its git metadata or its test folder; the npm package ships neither ("files" in
// package.json). Installed as a dependency, a source build makes the core alone: the vendor plugins
// and the test tools would link against this checkout's SDK folders, which a user's machine lacks,
// and would add minutes (and a cmake requirement) to an install.
const checkout = fs.existsSync(path.join(root, '.git')) || fs.existsSync(path.join(root, 'test'));
const dependencyInstall = ifMissing && !checkout;
const buildPlugins = !args.has('--no-plugins') && !dependencyInstall;

const tuple = `${process.platform}-${process.arch}`;
const prebuildDir = path.join(root, 'prebuilds', tuple);
const coreName = `${pkg.name}.node`;
const pluginBuildDir = path.join(root, 'build', 'plugins');
const pluginOutDir = path.join(pluginBuildDir, 'out'); // CMakeLists.txt: STRIDEKIT_PLUGIN_OUTPUT_DIR
const jobs = String(os.cpus().length || 1);

let stepNumber = 0;
const stepCount = usePrebuildify ? 2 : 3;
function step(message) {
  stepNumber += 1;
  console.log(`[stridekit] ${stepNumber}/${stepCount} ${message}`);
}
function note(message) {
  console.log(`[stridekit]     ${message}`);
}
function fail(message) {
  console.error(`[stridekit] build failed: ${message}`);
  process.exit(1);
}

/** Runs a command with the output on this terminal; exits with its status when it fails. */
function run(command, commandArgs, options = {}) {
  const result = spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) fail(`${command} could not start: ${result.error.message}`);
  if (result.status !== 0) {
    const how = result.signal ? `was killed by ${result.signal}` : `exited with ${result.status}`;
    fail(`${path.basename(commandArgs[0] || command)} ${how} (its output is above)`);
  }
}

function firstExisting(candidates) {
  return candidates.find((candidate) => candidate && fs.existsSync(candidate));
}

/** node-gyp from node_modules, else the copy npm bundles next to the running node. */
function findNodeGyp() {
  let local;
  try {
    local = require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] });
  } catch {
    local = undefined;
  }
  const binDir = path.dirname(process.execPath);
  return firstExisting([
    local,
    path.join(binDir, '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(binDir, 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    process.env.npm_config_node_gyp,
  ]);
}

/** The Node headers node-gyp compiles against, without downloading anything. */
function findNodeDir() {
  const binDir = path.dirname(process.execPath);
  const prefix = process.platform === 'win32' ? binDir : path.resolve(binDir, '..');
  if (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) {
    return { dir: prefix, from: `local Node headers in ${path.join(prefix, 'include', 'node')}`, extraArgs: [] };
  }
  // The made-up nodedir has no config.gypi: take the running node's process.config instead.
  return { dir: nodeDirFromNodeApiHeaders(), from: 'the node-api-headers package', extraArgs: ['--force-process-config'] };
}

/**
 * node-gyp wants <nodedir>/include/node/*.h and a common.gypi. The core uses Node-API only, so
 * the node-api-headers package plus a minimal common.gypi is a complete nodedir. It lives outside
 * build/, which `node-gyp rebuild` deletes first. (Windows would also need node.lib, generated from
 * node-api-headers' .def files; not done yet: no Windows build has been seen.)
 */
function nodeDirFromNodeApiHeaders() {
  let headers;
  try {
    headers = require(require.resolve('node-api-headers', { paths: [root] }));
  } catch {
    fail(
      `no Node headers: ${process.execPath} has no include/node/node_api.h beside it and the ` +
        'node-api-headers package is not installed (npm install node-api-headers, or install the ' +
        "Node development headers of your distribution); nothing is downloaded on purpose",
    );
  }
  const dir = path.join(os.tmpdir(), `stridekit-nodedir-${process.versions.node}`);
  const include = path.join(dir, 'include', 'node');
  fs.mkdirSync(include, { recursive: true });
  for (const file of fs.readdirSync(headers.include_dir)) {
    fs.copyFileSync(path.join(headers.include_dir, file), path.join(include, file));
  }
  const commonGypi = {
    variables: { node_engine_include_dir: 'include/node' },
    target_defaults: {
      default_configuration: 'Release',
      cflags: ['-fPIC'],
      configurations: { Debug: { defines: ['DEBUG', '_DEBUG'], cflags: ['-g', '-O0'] }, Release: {} },
    },
  };
  fs.writeFileSync(path.join(include, 'common.gypi'), JSON.stringify(commonGypi, null, 2));
  return dir;
}

function hasCommand(command) {
  const result = spawnSync(command, ['--version'], { stdio: 'ignore' });
  return !result.error && result.status === 0;
}

function copyInto(dir, files) {
  fs.mkdirSync(dir, { recursive: true });
  for (const file of files) fs.copyFileSync(file, path.join(dir, path.basename(file)));
}

function isSharedLibrary(name) {
  return /\.(so|dylib|dll)$/.test(name);
}

/**
 * The install script's check. Not `node-gyp-build "<this script>"`: node-gyp-build runs its
 * argument *before* its own plain `node-gyp rebuild`, which would build twice, the second time
 * online (no --nodedir) and wiping the plugins from build/Release.
 */
function loadableCore() {
  if (process.env.npm_config_build_from_source === 'true') return undefined;
  try {
    const file = require('node-gyp-build').path(root);
    require(file);
    return file;
  } catch (error) {
    note(`no loadable core binary: ${String(error.message || error).split('\n')[0]}`);
    return undefined;
  }
}

if (ifMissing) {
  const file = loadableCore();
  if (file) {
    console.log(`[stridekit] core binary loads, nothing to build: ${path.relative(root, file)}`);
    process.exit(0);
  }
  console.log(`[stridekit] building the native core from source${dependencyInstall ? ' (installed as a dependency: the core only)' : ''}`);
}

if (dryRun) {
  console.log(`[stridekit] dry run: core yes (${usePrebuildify ? 'prebuildify' : 'node-gyp'}), plugins ${buildPlugins ? 'yes' : 'no'} ` +
    `(${checkout ? 'a checkout' : 'an installed package'}${args.has('--no-plugins') ? ', --no-plugins' : ''}), nothing built`);
  process.exit(0);
}

// ---- 1. the core addon ------------------------------------------------------------------------

const nodeDir = findNodeDir();
const nodeGyp = findNodeGyp();
if (!nodeGyp) {
  fail('node-gyp not found: neither in node_modules nor bundled with npm next to ' + process.execPath);
}
// node-gyp (also when prebuildify spawns it) reads npm_config_* from the environment.
const gypEnv = { ...process.env, npm_config_nodedir: nodeDir.dir, npm_config_jobs: 'max' };

if (usePrebuildify) {
  let prebuildify;
  try {
    prebuildify = require.resolve('prebuildify/bin.js', { paths: [root] });
  } catch {
    fail('--prebuildify needs the prebuildify devDependency (npm ci --ignore-scripts)');
  }
  step(`core: prebuildify --napi --strip for Node ${process.versions.node} with ${nodeDir.from}`);
  // prebuildify spawns `node-gyp` from PATH (node_modules/.bin first); give it the one found above.
  // It spawns the file directly, so only where a script with a shebang runs as is.
  const env = process.platform === 'win32' ? gypEnv : { ...gypEnv, PREBUILD_NODE_GYP: nodeGyp };
  run(process.execPath, [prebuildify, '--napi', '--strip', `--target=${process.versions.node}`], { env });
  note(`${path.relative(root, path.join(prebuildDir, coreName))}`);
} else {
  step(`core: node-gyp rebuild -j max (${jobs} cores) with ${nodeDir.from}`);
  run(process.execPath, [nodeGyp, 'rebuild', '--release', '--jobs=max', `--nodedir=${nodeDir.dir}`, ...nodeDir.extraArgs], {
    env: gypEnv,
  });
}

// ---- 2. the vendor plugins ---------------------------------------------------------------------

let plugins = [];
if (dependencyInstall) {
  step('plugins: skipped (installed as a dependency: a source build makes the core only)');
} else if (!buildPlugins) {
  step('plugins: skipped (--no-plugins)');
} else if (!hasCommand('cmake')) {
  step('plugins: skipped, cmake is not on PATH (only the built-in cpu backend will be there)');
} else {
  fs.rmSync(pluginBuildDir, { recursive: true, force: true });
  let cmakeJs;
  try {
    cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
  } catch {
    cmakeJs = undefined;
  }
  if (cmakeJs) {
    step(`plugins: cmake-js rebuild of CMakeLists.txt into ${path.relative(root, pluginBuildDir)}/`);
    const cmakeJsArgs = ['rebuild', '--log-level', 'warn', '--directory', root, '--out', pluginBuildDir, '--parallel', jobs];
    run(process.execPath, [cmakeJs, ...cmakeJsArgs]);
  } else {
    // cmake-js is a devDependency; at install time on a user's machine plain cmake does the same.
    step(`plugins: cmake (cmake-js not installed) of CMakeLists.txt into ${path.relative(root, pluginBuildDir)}/`);
    run('cmake', ['-S', root, '-B', pluginBuildDir, '-DCMAKE_BUILD_TYPE=Release']);
    run('cmake', ['--build', pluginBuildDir, '--config', 'Release', '--parallel', jobs]);
  }
  if (fs.existsSync(pluginOutDir)) {
    plugins = fs.readdirSync(pluginOutDir).filter(isSharedLibrary).map((name) => path.join(pluginOutDir, name));
  }
  note(plugins.length ? `built: ${plugins.map((p) => path.basename(p)).join(', ')}` : 'built: none (see the skip reasons above)');
}

// ---- 3. prebuilds/<platform>-<arch>/ ------------------------------------------------------------

const built = path.join(root, 'build', 'Release', coreName);
if (!usePrebuildify) {
  const kept = dependencyInstall ? ', keeping the shipped plugins' : '';
  step(`copy: ${path.relative(root, built)} and ${plugins.length} plugin(s) to ${path.relative(root, prebuildDir)}/${kept}`);
  if (!fs.existsSync(built)) fail(`node-gyp reported success but ${built} does not exist`);
}
// Stale plugins from an earlier build must not be loaded by a newer core. In an installed package
// the plugins there are the shipped ones, of this same version: they stay, and join the core built
// here in build/Release (which node-gyp-build prefers), so that they are found next to it.
const shippedPlugins = [];
if (fs.existsSync(prebuildDir)) {
  for (const name of fs.readdirSync(prebuildDir)) {
    if (!isSharedLibrary(name)) continue;
    if (dependencyInstall) shippedPlugins.push(path.join(prebuildDir, name));
    else fs.rmSync(path.join(prebuildDir, name));
  }
}
if (usePrebuildify) {
  copyInto(prebuildDir, plugins); // prebuildify has moved the core there already
} else {
  copyInto(prebuildDir, [built, ...plugins]);
  // node-gyp-build prefers build/Release over prebuilds/ in a checkout: the plugins go beside
  // that copy of the core as well, so both layouts find them next to the binary.
  copyInto(path.dirname(built), [...plugins, ...shippedPlugins]);
}
console.log(`[stridekit] native build done: ${path.relative(root, path.join(prebuildDir, coreName))}`);
