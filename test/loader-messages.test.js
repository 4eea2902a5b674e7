// The advice a load failure gives (lib/loader.ts solutions), for each way the package can be
// installed: a checkout of this repository, a dependency in node_modules, a copy inlined by a bundler.
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { installKind, nativeRoot, solutions, unpackedTwin } = require('../dist/loader');

const root = path.join(__dirname, '..');
const base = {
  file: '/app/dist/loader.js', platform: 'linux', arch: 'x64', nodeVersion: 'v20.19.0', napi: 10, addonsFlag: false, glibc: '2.31',
};
const noBuild = 'No native build was found for platform=linux arch=x64 runtime=node abi=115 uv=1 libc=glibc node=20.19.0';
const glibc = "/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found (required by stridekit.node)";
const stale = 'ABI version 3, but this facade (stridekit 0.1.0) expects 4: the binary is stale';
const advice = (errors, install, extra = {}) => solutions(errors, { ...base, install, ...extra }).join('\n');

describe('possible solutions', () => {
  test('a dependency is told `npm rebuild stridekit`, never this repository\'s `npm run build`', () => {
    for (const errors of [noBuild, glibc, stale, 'Cannot find module']) {
      const text = advice(errors, 'dependency');
      expect(text).not.toContain('npm run build');
      expect(text).toContain('npm rebuild stridekit');
    }
  });

  test('a dependency without any binary hears about skipped install scripts: npm, pnpm approve-builds, allow-lists', () => {
    const text = advice(noBuild, 'dependency');
    expect(text).toContain('No prebuilt binary ships for linux-x64, so stridekit\'s install script compiles one');
    expect(text).toContain('`ignore-scripts=true`');
    expect(text).toContain('`--ignore-scripts`');
    expect(text).toContain('`pnpm approve-builds`');
    expect(text).toContain('@lavamoat/allow-scripts');
    expect(text).toContain('Python 3, make and a C++17 compiler');
    // A glibc too old for the shipped binary: the install script would have compiled, so it did not run.
    expect(advice(glibc, 'dependency')).toContain('`pnpm approve-builds`');
    expect(advice(glibc, 'dependency')).toContain('glibc 2.31');
    // A stale binary is not a question of install scripts.
    expect(advice(stale, 'dependency')).not.toContain('approve-builds');
    expect(advice(stale, 'dependency')).toContain('`npm rebuild stridekit --build-from-source`');
  });

  test('a checkout is told its own `npm run build`, with no word on install scripts', () => {
    for (const errors of [noBuild, glibc, stale]) {
      const text = advice(errors, 'checkout');
      expect(text).toContain('`npm run build`');
      expect(text).not.toContain('npm rebuild stridekit`.');
      expect(text).not.toContain('approve-builds');
    }
    expect(advice(noBuild, 'checkout')).toContain('No binary is built for linux-x64 in this checkout: run `npm run build`.');
  });

  test('a bundled copy is told to mark stridekit as external, not that no binary ships for its platform', () => {
    const list = solutions(noBuild, { ...base, install: 'bundled', file: '/app/.next/server/chunks/123.js' });
    expect(list[0]).toMatch(/^stridekit was bundled: its loader runs from \/app\/\.next\/server\/chunks\/123\.js/);
    expect(list[0]).toContain('Mark stridekit as external');
    const text = list.join('\n');
    expect(text).not.toMatch(/No prebuilt binary|npm run build|npm rebuild/);
  });

  test('--no-addons alone gives no build advice; an old Node.js is told to upgrade', () => {
    const text = advice('Cannot load native addon because loading addons is disabled', 'dependency', { addonsFlag: true });
    expect(text).toContain('--no-addons');
    expect(text).not.toMatch(/npm rebuild|approve-builds/);
    expect(advice(noBuild, 'dependency', { nodeVersion: 'v16.20.0', napi: 8 })).toContain('Upgrade Node.js to 18 or later');
  });

  test('a binary for another architecture is to be reinstalled on this machine', () => {
    expect(advice('invalid ELF header', 'dependency', { arch: 'arm64' }))
      .toContain('reinstall on this linux-arm64 machine (`npm rebuild stridekit`)');
  });
});

describe('how the facade was installed', () => {
  let dir;
  beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-kind-')); });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('this repository is a checkout', () => {
    expect(installKind(root, path.join(root, 'dist', 'loader.js'))).toBe('checkout');
  });

  test('a stridekit package.json without .git or test/ is a dependency; another package.json, none, or a renamed file is a bundle', () => {
    const pkg = path.join(dir, 'node_modules', 'stridekit');
    fs.mkdirSync(path.join(pkg, 'dist'), { recursive: true });
    fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'stridekit' }));
    expect(installKind(pkg, path.join(pkg, 'dist', 'loader.js'))).toBe('dependency');
    expect(installKind(pkg, path.join(pkg, 'dist', 'main.js'))).toBe('bundled');
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'my-app' }));
    expect(installKind(dir, path.join(dir, 'dist', 'loader.js'))).toBe('bundled');
    expect(installKind(path.join(dir, 'nowhere'), path.join(dir, 'nowhere', 'loader.js'))).toBe('bundled');
  });

  test('inside app.asar the binaries are looked for in the app.asar.unpacked twin, when it exists', () => {
    const packed = path.join(dir, 'resources', 'app.asar', 'node_modules', 'stridekit');
    const twin = path.join(dir, 'resources', 'app.asar.unpacked', 'node_modules', 'stridekit');
    expect(unpackedTwin(packed)).toBe(twin);
    expect(unpackedTwin(root)).toBeUndefined();
    expect(unpackedTwin(path.join(dir, 'app.asar.bak', 'x'))).toBeUndefined();
    expect(nativeRoot(packed)).toBe(packed);
    fs.mkdirSync(twin, { recursive: true });
    expect(nativeRoot(packed)).toBe(twin);
    expect(nativeRoot(root)).toBe(root);
  });
});
