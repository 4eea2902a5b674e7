// The package as an Electron app packaged with asarUnpack carries it: electron-builder (and Electron
// Forge's auto-unpack-natives plugin) leave the JavaScript in resources/app.asar and move the native
// files to resources/app.asar.unpacked, the same path with the archive's name changed. There is no
// Electron here, so the layout is simulated with plain folders (app.asar is a folder, not an archive,
// and node loads the JavaScript from it instead of Electron's patched fs); what is checked is that the
// loader finds the core in the unpacked twin and the core finds its plugins beside itself there.
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const tuple = `${process.platform}-${process.arch}`;
const prebuildDir = path.join(root, 'prebuilds', tuple);
const files = fs.existsSync(prebuildDir) ? fs.readdirSync(prebuildDir) : [];
const core = files.filter((name) => name.endsWith('.node'));
// The files the core opens by a backend's name; a stub's _impl half is opened by the stub, beside it.
const plugins = files.filter((name) => /\.(so|dylib|dll)$/.test(name) && !/_impl\./.test(name));
const skipReason = `no prebuilt core in prebuilds/${tuple}/ (run \`npm run build\` first)`;
if (!core.length) console.log(`electron layout test skipped: ${skipReason}`);

function copyDir(from, to) {
  fs.cpSync(from, to, { recursive: true });
}

(core.length ? describe : describe.skip)(
  core.length ? 'Electron asarUnpack layout' : `Electron asarUnpack layout: skipped (${skipReason})`, () => {
    let dir;
    let packed;
    let unpacked;
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-electron-'));
      const resources = path.join(dir, 'My App', 'resources');
      packed = path.join(resources, 'app.asar', 'node_modules', 'stridekit');
      unpacked = path.join(resources, 'app.asar.unpacked', 'node_modules', 'stridekit');
      // In the archive: the JavaScript and package.json of stridekit and of its runtime dependency.
      copyDir(path.join(root, 'dist'), path.join(packed, 'dist'));
      fs.copyFileSync(path.join(root, 'package.json'), path.join(packed, 'package.json'));
      copyDir(path.join(root, 'node_modules', 'node-gyp-build'),
        path.join(resources, 'app.asar', 'node_modules', 'node-gyp-build'));
      // Unpacked: the core and its plugins (asarUnpack "**/node_modules/stridekit/prebuilds/**").
      copyDir(prebuildDir, path.join(unpacked, 'prebuilds', tuple));
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    test('the loader takes the core from app.asar.unpacked, and the core finds its plugins there', () => {
      const script = `
        const stridekit = require(${JSON.stringify(packed)});
        const { bindingPath } = require(${JSON.stringify(path.join(packed, 'dist', 'loader.js'))});
        const y = stridekit.convSync({ data: new Float32Array([1, 2, 3, 4, 5]), shape: [1, 1, 5] },
          { data: new Float32Array([1, 1]), shape: [1, 1, 2] }, { stride: 2, backend: 'cpu' });
        process.stdout.write(JSON.stringify({ file: bindingPath(), backends: stridekit.backends(), y: Array.from(y.data) }));`;
      const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('STRIDEKIT_')));
      const r = spawnSync(process.execPath, ['-e', script], { cwd: dir, env, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const { file, backends, y } = JSON.parse(r.stdout);
      expect(file).toBe(path.join(unpacked, 'prebuilds', tuple, core[0]));
      expect(y).toEqual([3, 7]);
      // Nothing native is inside the archive, so each plugin found was found in the twin.
      expect(fs.readdirSync(packed).sort()).toEqual(['dist', 'package.json']);
      for (const plugin of plugins) {
        const name = /stridekit_(\w+)\./.exec(plugin)[1];
        const backend = backends.find((b) => b.name === name);
        expect(backend).toBeDefined();
        expect(backend.reason || '').not.toMatch(/^not built/);
      }
    });

    (plugins.length ? test : test.skip)(plugins.length
      ? 'a plugin missing from the twin is reported as looked for in the twin'
      : 'a plugin missing from the twin: skipped (no plugin was built here, so none can be removed)', () => {
      const plugin = plugins[0];
      const name = /stridekit_(\w+)\./.exec(plugin)[1];
      fs.rmSync(path.join(unpacked, 'prebuilds', tuple, plugin));
      const script = `process.stdout.write(JSON.stringify(require(${JSON.stringify(packed)}).backends()));`;
      const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('STRIDEKIT_')));
      const r = spawnSync(process.execPath, ['-e', script], { cwd: dir, env, encoding: 'utf8' });
      expect(r.status).toBe(0);
      const backend = JSON.parse(r.stdout).find((b) => b.name === name);
      expect(backend.reason).toBe(`not built: ${plugin} not found in ${path.join(unpacked, 'prebuilds', tuple)}`);
    });
  });
