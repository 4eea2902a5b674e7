// The package's entry points as consumers resolve them through package.json's `exports`: CommonJS
// `require`, ES module `import` (esm/index.mjs), and TypeScript's types for both under the
// `node16`, `nodenext` and `bundler` module resolutions. Tiny consumer projects in a temporary folder
// reach this checkout through a node_modules/stridekit symlink, as `npm link` or a workspace would.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const cjsNames = Object.keys(require(root)).sort();

function run(command, args, cwd) {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 120000 });
  if (r.error) throw r.error;
  return r;
}

function write(dir, files) {
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), typeof text === 'string' ? text : JSON.stringify(text, null, 2));
  }
}

/** A consumer project folder with node_modules/stridekit linking to this checkout. */
function project(base, name, files) {
  const dir = path.join(base, name);
  write(dir, files);
  fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
  fs.symlinkSync(root, path.join(dir, 'node_modules', 'stridekit'), 'junction');
  return dir;
}

// Typed uses of the API, and one wrong use each: `@ts-expect-error` fails the check if the types are
// missing or `any`.
const typedImport = `
import { convSync, outputShape, backends, type Tensor, type ConvOptions } from 'stridekit';
import stridekit from 'stridekit';
const shape: number[] = outputShape([1, 1, 9], [1, 1, 3], { stride: 2 });
const options: ConvOptions = { stride: 2 };
const x: Tensor = { data: new Float32Array(9), shape: [1, 1, 9] };
const run: typeof convSync = stridekit.convSync;
// @ts-expect-error outputShape returns numbers
const wrong: string[] = outputShape([1, 1, 9], [1, 1, 3]);
export const used = [shape, options, x, run, wrong, backends];
`;
const typedRequire = `
import stridekit = require('stridekit');
const shape: number[] = stridekit.outputShape([1, 1, 9], [1, 1, 3], { stride: 2 });
// @ts-expect-error stride is a number
stridekit.outputShape([1, 1, 9], [1, 1, 3], { stride: 'two' });
export const used = shape;
`;

describe('package exports', () => {
  let base;
  beforeAll(() => { base = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-exports-')); });
  afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

  test('the ES module entry re-exports every CommonJS export, and the same objects', () => {
    const dir = project(base, 'runtime', {
      'package.json': { name: 'runtime', private: true },
      'main.cjs': "const s = require('stridekit'); console.log(JSON.stringify({ names: Object.keys(s).sort(), shape: s.outputShape([1, 1, 9], [1, 1, 3], { stride: 2 }) }));",
      'main.mjs': "import * as s from 'stridekit'; import d from 'stridekit'; import { createRequire } from 'node:module';\n" +
        "const cjs = createRequire(import.meta.url)('stridekit');\n" +
        "const names = Object.keys(s).filter((n) => n !== 'default').sort();\n" +
        "console.log(JSON.stringify({ names, same: d === cjs && names.every((n) => s[n] === cjs[n]), shape: s.outputShape([1, 1, 9], [1, 1, 3], { stride: 2 }) }));",
      'deep.cjs': "require('stridekit/dist/loader.js');",
      'deep.mjs': "import 'stridekit/esm/index.mjs';",
      'pkg.cjs': "console.log(require('stridekit/package.json').name);",
    });
    const cjs = JSON.parse(run(process.execPath, ['main.cjs'], dir).stdout);
    expect(cjs).toEqual({ names: cjsNames, shape: [1, 1, 4] });
    const esm = run(process.execPath, ['main.mjs'], dir);
    expect(esm.stderr).toBe('');
    expect(JSON.parse(esm.stdout)).toEqual({ names: cjsNames, same: true, shape: [1, 1, 4] });
    for (const file of ['deep.cjs', 'deep.mjs']) {
      const r = run(process.execPath, [file], dir);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
    }
    expect(run(process.execPath, ['pkg.cjs'], dir).stdout.trim()).toBe('stridekit');
  });

  test('the bin still runs from the package', () => {
    const r = run(process.execPath, [path.join(root, require(path.join(root, 'package.json')).bin.stridekit), 'info'], root);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/cpu/);
  });

  const settings = [
    ['node16', 'node16'],
    ['nodenext', 'nodenext'],
    ['bundler', 'esnext'],
  ];
  test.each(settings)('TypeScript with moduleResolution %s type-checks its consumers (import; require in a .cts where that exists)', (resolution, module) => {
    const files = {
      'package.json': { name: `ts-${resolution}`, private: true, type: 'module' },
      'tsconfig.json': {
        compilerOptions: {
          module, moduleResolution: resolution, target: 'es2022', strict: true, noEmit: true,
          skipLibCheck: false, types: [], typeRoots: [path.join(root, 'node_modules', '@types')],
        },
      },
      'src/import.ts': typedImport,
    };
    // `import x = require()` exists only where TypeScript knows the file is CommonJS (.cts under node16/nodenext).
    if (resolution !== 'bundler') files['src/require.cts'] = typedRequire;
    const dir = project(base, `ts-${resolution}`, files);
    const r = run(process.execPath, [tsc, '-p', 'tsconfig.json', '--traceResolution'], dir);
    const errors = r.stdout.split('\n').filter((line) => /error TS/.test(line));
    expect(errors).toEqual([]);
    expect(r.status).toBe(0);
    // Each consumer got the declaration file of its own entry.
    expect(r.stdout).toMatch(/Module name 'stridekit' was successfully resolved to '[^']*esm\/index\.d\.mts'/);
    if (resolution !== 'bundler') {
      expect(r.stdout).toMatch(/Module name 'stridekit' was successfully resolved to '[^']*dist\/index\.d\.ts'/);
    }
  });
});
