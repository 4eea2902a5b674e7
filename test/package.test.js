// The published package, seen from a user's project: `npm pack` gives a tarball with the compiled
// facade and the prebuilt core, which installs with install scripts off and no network, and works.
// It imports as an ES module too, a copy inlined into an app's bundle is told to mark stridekit as
// external, and then, with the binary removed, loading fails with a message that lists what was
// tried and the advice for a dependency.
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const tuple = `${process.platform}-${process.arch}`;
const prebuildDir = path.join(root, 'prebuilds', tuple);
const prebuilt = fs.existsSync(prebuildDir)
  ? fs.readdirSync(prebuildDir).filter((name) => name.endsWith('.node'))
  : [];
const plugins = fs.existsSync(prebuildDir)
  ? fs.readdirSync(prebuildDir).filter((name) => /\.(so|dylib|dll)$/.test(name))
  : [];
const skipReason = `no prebuilt core in prebuilds/${tuple}/ (run \`npm run build\` first)`;
if (!prebuilt.length) console.log(`package test skipped: ${skipReason}`);

// The parent `npm test` exports npm_config_* settings (and maybe STRIDEKIT_*) that must not leak
// into the nested npm and node processes.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) =>
  !/^npm_/i.test(key) && !key.startsWith('STRIDEKIT_')));

function run(command, args, cwd, env = cleanEnv) {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 120000 });
  if (result.error) throw result.error;
  return result;
}

function mustRun(command, args, cwd) {
  const result = run(command, args, cwd);
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${result.status}:\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

function npmPack(dir, destination) {
  const { stdout } = mustRun('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', destination], dir);
  const [info] = JSON.parse(stdout);
  return { file: path.join(destination, info.filename), files: info.files.map((f) => f.path) };
}

/** The reference: a direct 2-D convolution, NCHW, one batch, explicit symmetric padding. */
function reference(x, [c, h, w], weight, [k, , kh, kw], stride, pad) {
  const oh = Math.floor((h + 2 * pad - kh) / stride) + 1;
  const ow = Math.floor((w + 2 * pad - kw) / stride) + 1;
  const y = new Float64Array(k * oh * ow);
  for (let o = 0; o < k; o++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        let sum = 0;
        for (let ci = 0; ci < c; ci++) {
          for (let u = 0; u < kh; u++) {
            for (let v = 0; v < kw; v++) {
              const r = i * stride - pad + u;
              const s = j * stride - pad + v;
              if (r >= 0 && r < h && s >= 0 && s < w) {
                sum += x[(ci * h + r) * w + s] * weight[((o * c + ci) * kh + u) * kw + v];
              }
            }
          }
        }
        y[(o * oh + i) * ow + j] = sum;
      }
    }
  }
  return { shape: [1, k, oh, ow], data: Array.from(y) };
}

const X_SHAPE = [2, 5, 6];
const W_SHAPE = [3, 2, 3, 3];
const x = Array.from({ length: 2 * 5 * 6 }, (_, i) => ((i * 7) % 11) - 5);
const weight = Array.from({ length: 3 * 2 * 9 }, (_, i) => ((i * 5) % 7) / 4 - 0.75);

const consumerScript = `
const stridekit = require('stridekit');
const y = stridekit.convSync(
  { data: Float32Array.from(${JSON.stringify(x)}), shape: [1, ${X_SHAPE}] },
  { data: Float32Array.from(${JSON.stringify(weight)}), shape: [${W_SHAPE}] },
  { stride: 2, padding: 1 });
const selected = stridekit.backends().find((b) => b.selected);
console.log(JSON.stringify({ shape: y.shape, data: Array.from(y.data), backend: selected && selected.name }));
`;

(prebuilt.length ? describe : describe.skip)(
  prebuilt.length ? 'npm package' : `npm package: skipped (${skipReason})`, () => {
    let work;
    let pack;
    let consumer;
    const installed = () => path.join(consumer, 'node_modules', 'stridekit');

    beforeAll(() => {
      work = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-package-'));
      pack = npmPack(root, work);
    });
    afterAll(() => {
      if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    test('the tarball holds the compiled facade, the prebuilt core and every built plugin', () => {
      expect(pack.files).toContain('dist/index.js');
      expect(pack.files).toContain('dist/index.d.ts');
      expect(pack.files).toContain('esm/index.mjs');
      expect(pack.files).toContain('esm/index.d.mts');
      expect(pack.files).toContain('package.json');
      for (const name of [...prebuilt, ...plugins]) expect(pack.files).toContain(`prebuilds/${tuple}/${name}`);
      expect(pack.files.filter((f) => f.startsWith('build/'))).toEqual([]);
    });

    test('the tarball ships the product alone: no example, benchmark, tool or test file, no demo in dist/', () => {
      // bench/layers.json is the one file of bench/ that ships: `stridekit bench` times its layers.
      const development = pack.files.filter((f) => /^(examples|bench|tools|test)\//.test(f) && f !== 'bench/layers.json');
      expect(development).toEqual([]);
      expect(pack.files.filter((f) => /^dist\/(demo|png)\./.test(f))).toEqual([]);
      // The README is for users and ships (npm shows it); CONTRIBUTING.md is about working in a clone
      // (setup scripts, CI, the test matrix), none of which a tarball has, so it stays in the repository.
      expect(pack.files).toContain('README.md');
      expect(pack.files).not.toContain('CONTRIBUTING.md');
    });

    test('it installs offline with install scripts off, and convSync gives the reference result', () => {
      // The two runtime dependencies are packed from this checkout's node_modules and installed
      // beside the tarball, so npm resolves everything locally: --offline cannot reach a registry.
      const deps = ['node-addon-api', 'node-gyp-build'].map((name) =>
        npmPack(path.join(root, 'node_modules', name), work).file);
      consumer = path.join(work, 'consumer');
      fs.mkdirSync(consumer);
      fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
      mustRun('npm', ['install', '--ignore-scripts', '--offline', '--no-audit', '--no-fund', pack.file, ...deps], consumer);
      expect(fs.existsSync(path.join(installed(), 'prebuilds', tuple, prebuilt[0]))).toBe(true);
      expect(fs.existsSync(path.join(installed(), 'build'))).toBe(false);

      const { stdout } = mustRun(process.execPath, ['-e', consumerScript], consumer);
      const result = JSON.parse(stdout);
      const expected = reference(x, X_SHAPE, weight, W_SHAPE, 2, 1);
      expect(result.backend).toBeTruthy();
      expect(result.shape).toEqual(expected.shape);
      expect(result.data).toHaveLength(expected.data.length);
      result.data.forEach((v, i) => expect(v).toBeCloseTo(expected.data[i], 4));
    });

    test('the installed package also imports as an ES module, and hides its internals', () => {
      expect(consumer).toBeDefined();
      const esm = "import { outputShape } from 'stridekit'; import stridekit from 'stridekit'; " +
        "console.log(JSON.stringify(outputShape([1, 1, 9], [1, 1, 3], { stride: 2 })), typeof stridekit.convSync);";
      expect(mustRun(process.execPath, ['--input-type=module', '-e', esm], consumer).stdout.trim()).toBe('[1,1,4] function');
      const deep = run(process.execPath, ['-e', "require('stridekit/dist/loader.js')"], consumer);
      expect(deep.status).not.toBe(0);
      expect(deep.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
      expect(mustRun(process.execPath, ['-p', "require('stridekit/package.json').name"], consumer).stdout.trim()).toBe('stridekit');
    });

    test('installed, a source build would make the core only: no vendor plugin, no test tool', () => {
      expect(consumer).toBeDefined();
      const script = path.join(installed(), 'scripts', 'build-native.js');
      const env = { ...cleanEnv, npm_config_build_from_source: 'true' };
      const result = run(process.execPath, [script, '--if-missing', '--dry-run'], installed(), env);
      expect(result.status).toBe(0);
      expect(result.stdout).toContain('plugins no (an installed package)');
      // With the shipped binary loading, the install script builds nothing.
      expect(mustRun(process.execPath, [script, '--if-missing'], installed()).stdout).toContain('core binary loads, nothing to build');
    });

    test('copied into an application\'s bundle, the facade says to mark stridekit as external', () => {
      expect(consumer).toBeDefined();
      // What a bundler that inlines the package leaves: the facade's code in the app's own output
      // folder, under the app's package.json, far from node_modules/stridekit/prebuilds.
      const app = path.join(consumer, 'app');
      fs.cpSync(path.join(installed(), 'dist'), path.join(app, 'build'), { recursive: true });
      fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'my-app', private: true }));
      const result = run(process.execPath, ['-e', "require('./app/build/index.js').backends()"], consumer);
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain('Possible solutions:\n- stridekit was bundled');
      expect(result.stderr).toContain('Mark stridekit as external');
      expect(result.stderr).not.toMatch(/No prebuilt binary ships|npm run build/);
    });

    test('without the binary, loading fails and the error lists what was tried', () => {
      expect(consumer).toBeDefined();
      for (const name of prebuilt) fs.rmSync(path.join(installed(), 'prebuilds', tuple, name));
      // Loading is lazy: require succeeds, the first call that needs native code loads it.
      const script = "const s = require('stridekit'); console.log('required'); s.backends();";
      const result = run(process.execPath, ['-e', script], consumer);
      expect(result.stdout).toContain('required');
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain('Tried:');
      expect(result.stderr).toContain(path.join('prebuilds', tuple));
      expect(result.stderr).not.toMatch(/Segmentation|Aborted|core dumped/);
      // Advice for a dependency: its own rebuild and the install-script settings, not this repository's script.
      expect(result.stderr).toContain('`npm rebuild stridekit`');
      expect(result.stderr).toContain('`pnpm approve-builds`');
      expect(result.stderr).toContain('`ignore-scripts=true`');
      expect(result.stderr).not.toContain('npm run build');
    });
  });
