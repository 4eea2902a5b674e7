// The `stridekit` command as CI uses it: exit statuses (0 well, 1 a failure or an unavailable forced or
// requested backend, 2 a usage error), `info --json` that parses and says what `info` says, `--help`
// that names every environment variable the package reads, and a short `bench`. `selftest` has its own
// file (test/selftest.test.js). Run from this checkout's dist/ (`npm run build`).
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const cli = path.join(root, 'dist', 'cli.js');

// STRIDEKIT_* of the calling shell (a forced backend, for one) must not decide these tests; the
// runtime folders scripts/checkout-runtimes.js sets are kept, so the plugins find their libraries.
const KEEP = /^STRIDEKIT_(OPENVINO|CUDA|CUDNN)_DIR$|^STRIDEKIT_PLUGIN_PATH$/;
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('STRIDEKIT_') || KEEP.test(key)));

function stridekit(args, env = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...cleanEnv, ...env }, timeout: 120000 });
  if (r.error) throw r.error;
  return r;
}

// What backends() says in the environment the CLI runs in (no STRIDEKIT_BACKEND of the calling shell).
const listed = spawnSync(process.execPath, ['-e', `console.log(JSON.stringify(require(${JSON.stringify(root)}).backends()))`],
  { encoding: 'utf8', env: cleanEnv });
if (listed.status !== 0) throw new Error(`backends() in a child failed: ${listed.stderr}`);
const list = JSON.parse(listed.stdout);
const unavailable = list.find((b) => !b.available);
const available = list.filter((b) => b.available);

/** Every STRIDEKIT_* variable the package reads: getenv in native/, process.env and *_ENV constants in lib/, runtime-search variables of the plugin stubs. */
function variablesRead() {
  const names = new Set();
  const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  for (const file of walk(path.join(root, 'native'))) {
    if (!/\.(cc|h|mm)$/.test(file)) continue;
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/getenv\("(STRIDEKIT_[A-Z0-9_]+)"\)/g)) names.add(m[1]);
    // The plugin stubs name the variable that points at their vendor's libraries (runtime_search.h).
    for (const m of text.matchAll(/^\s*"(STRIDEKIT_[A-Z0-9_]+_DIR)",$/gm)) names.add(m[1]);
  }
  for (const file of walk(path.join(root, 'lib'))) {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:_ENV = |process\.env\.|process\.env\[|env\.)'?(STRIDEKIT_[A-Z0-9_]+)/g)) names.add(m[1]);
  }
  return [...names].sort();
}

describe('stridekit --help', () => {
  test('names every environment variable the package reads, and nothing it does not read', () => {
    const read = variablesRead();
    // What the scan must find at least: if these go missing the scan, not the package, has broken.
    expect(read).toEqual(expect.arrayContaining(['STRIDEKIT_BACKEND', 'STRIDEKIT_NUM_THREADS', 'STRIDEKIT_CPU_KERNELS',
      'STRIDEKIT_PLUGIN_PATH', 'STRIDEKIT_OPENVINO_DEVICE', 'STRIDEKIT_OPENVINO_DIR', 'STRIDEKIT_CUDA_DIR', 'STRIDEKIT_CUDNN_DIR',
      'STRIDEKIT_CUDA_DEVICE', 'STRIDEKIT_COREML_UNITS', 'STRIDEKIT_COREML_CACHE']));
    const r = stridekit(['--help']);
    expect(r.status).toBe(0);
    const environment = r.stdout.slice(r.stdout.indexOf('\nEnvironment:\n'));
    const listed = [...environment.matchAll(/^ {2}(STRIDEKIT_[A-Z0-9_]+)=/gm)].map((m) => m[1]).sort();
    expect(listed).toEqual(read);
  });

  test('help, -h, a command\'s --help and no arguments print the usage and exit 0', () => {
    for (const args of [[], ['help'], ['-h'], ['--help'], ['selftest', '--help'], ['info', '-h']]) {
      const r = stridekit(args);
      expect({ args, status: r.status }).toEqual({ args, status: 0 });
      expect(r.stdout).toMatch(/^Usage: stridekit <command>/);
      for (const command of ['info', 'selftest', 'bench']) expect(r.stdout).toContain(`\n  ${command} [`);
    }
  });

  test('version and --version print the package version', () => {
    const { version } = require(path.join(root, 'package.json'));
    for (const args of [['version'], ['--version'], ['-v']]) {
      const r = stridekit(args);
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).toBe(version);
    }
  });
});

describe('usage errors exit 2 with the usage', () => {
  test.each([
    [['frobnicate'], "unknown command 'frobnicate'"],
    [['--bogus'], "Unknown option '--bogus'"],
    [['info', '--jsn'], "Unknown option '--jsn'"],
    [['info', 'extra'], "Unexpected argument 'extra'"],
    [['selftest', '--nope'], "Unknown option '--nope'"],
    [['selftest', '--backend'], "Option '--backend <value>' argument missing"],
    [['selftest', '--backend', 'tpu'], "--backend must be one of cudnn, coreml, openvino, cpu, got 'tpu'"],
    [['selftest', '--precision', 'fp64'], "--precision must be one of fp32, tf32, fp16, bf16, got 'fp64'"],
    [['bench', '--json', 'now'], "Unexpected argument 'now'"],
    [['version', '--json'], "Unknown option '--json'"],
  ])('stridekit %j', (args, message) => {
    const r = stridekit(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain('Usage: stridekit <command>');
    expect(r.stdout).toBe('');
  });
});

describe('stridekit info', () => {
  test('--json parses and holds what info prints: version, platform, core, every backend and the selection', () => {
    const r = stridekit(['info', '--json']);
    expect(r.status).toBe(0);
    const facts = JSON.parse(r.stdout);
    expect(facts.ok).toBe(true);
    expect(facts.stridekit).toBe(require(path.join(root, 'package.json')).version);
    expect(facts.os.platform).toBe(process.platform);
    expect(facts.node.version).toBe(process.version);
    expect(fs.existsSync(facts.core.path)).toBe(true);
    expect(facts.backends.map((b) => [b.name, b.available])).toEqual(list.map((b) => [b.name, b.available]));
    expect(facts.selected).toBe(list.find((b) => b.selected).name);
    const text = stridekit(['info']);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain(facts.core.path);
    for (const b of facts.backends) expect(text.stdout).toMatch(new RegExp(`^  ${b.name} +${b.selected ? 'selected' : b.available ? 'available' : 'unavailable'}`, 'm'));
  });

  const noUnavailable = unavailable ? null : 'every backend is available on this machine';
  (noUnavailable ? test.skip : test)(`a forced backend that is unavailable exits 1, in text and JSON${noUnavailable ? ` — skipped: ${noUnavailable}` : ''}`, () => {
    const env = { STRIDEKIT_BACKEND: unavailable.name };
    const text = stridekit(['info'], env);
    expect(text.status).toBe(1);
    expect(text.stderr).toContain(`backend '${unavailable.name}' is not available`);
    expect(text.stdout).toMatch(/^Backends:$/m); // the facts are still shown
    const json = stridekit(['info', '--json'], env);
    expect(json.status).toBe(1);
    const facts = JSON.parse(json.stdout);
    expect(facts.ok).toBe(false);
    expect(facts.selected).toBe(null);
    expect(facts.error).toContain(`backend '${unavailable.name}' is not available`);
  });

  (noUnavailable ? test.skip : test)(`info --backend NAME exits 1 unless NAME is available${noUnavailable ? ` — skipped: ${noUnavailable}` : ''}`, () => {
    const r = stridekit(['info', '--backend', unavailable.name]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`backend '${unavailable.name}' is not available: ${unavailable.reason}`);
    expect(stridekit(['info', '--backend', available[0].name]).status).toBe(0);
  });

  test('each available backend\'s line names the precisions it honours here, as backends() and --json say', () => {
    const text = stridekit(['info']);
    const json = JSON.parse(stridekit(['info', '--json']).stdout);
    for (const b of list) {
      expect([b.name, json.backends.find((j) => j.name === b.name).precisions]).toEqual([b.name, b.precisions]);
      const line = text.stdout.split('\n').find((l) => l.startsWith(`  ${b.name} `));
      if (b.available) expect(line).toContain(`; precisions ${b.precisions.join(', ')}`);
      else expect(line).not.toContain('precisions');
    }
  });

  test('whatever else backends() says of a backend in words follows its device; --json keeps every field', () => {
    // backends() gaining a field (why 'auto' did not choose a backend, for one): a preload adds one,
    // and says cpu honours fp16, which no build of it does, so the line shows what backends() says.
    const preload = path.join(require('node:os').tmpdir(), `stridekit-cli-note-${process.pid}.js`);
    fs.writeFileSync(preload, `const m = require(${JSON.stringify(path.join(root, 'dist', 'backends.js'))});
      const original = m.backends;
      m.backends = () => original().map((b) => (b.name === 'cpu' ? { ...b, note: 'a note on cpu', deviceKind: 'cpu', precisions: ['fp32', 'fp16'] } : b));`);
    try {
      const run = (args) => spawnSync(process.execPath, ['-r', preload, cli, ...args], { encoding: 'utf8', env: cleanEnv });
      const text = run(['info']);
      expect(text.status).toBe(0);
      const cpu = list.find((b) => b.name === 'cpu');
      expect(text.stdout).toMatch(new RegExp(`^  cpu +(selected|available) +${cpu.device.replace(/[()+.]/g, '\\$&')}; precisions fp32, fp16; a note on cpu$`, 'm'));
      const json = JSON.parse(run(['info', '--json']).stdout);
      expect(json.backends.find((b) => b.name === 'cpu')).toMatchObject({ note: 'a note on cpu', deviceKind: 'cpu', precisions: ['fp32', 'fp16'] });
    } finally {
      fs.rmSync(preload, { force: true });
    }
  });

  test('a forced backend stridekit does not know exits 1', () => {
    const r = stridekit(['info', '--json'], { STRIDEKIT_BACKEND: 'tpu' });
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout).error).toContain('STRIDEKIT_BACKEND');
  });

  test('a forced backend that is available exits 0 and is the selection', () => {
    const r = stridekit(['info', '--json'], { STRIDEKIT_BACKEND: 'cpu' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).selected).toBe('cpu');
  });

  test('--json with a core that does not load: ok false, the loader\'s message, exit 1', () => {
    const r = spawnSync(process.execPath, ['--no-addons', cli, 'info', '--json'], { encoding: 'utf8', env: cleanEnv });
    expect(r.status).toBe(1);
    const facts = JSON.parse(r.stdout);
    expect(facts.ok).toBe(false);
    expect(facts.core).toBe(null);
    expect(facts.error).toContain('Possible solutions:');
  });
});

describe('stridekit bench', () => {
  test('--json: every available backend timed on the layers asked for; exit 0', () => {
    const r = stridekit(['bench', '--json', '--filter', 'tiny']);
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.backends).toEqual(available.map((b) => b.name));
    expect(result.layers.map((l) => l.name)).toEqual(['tiny 3x3/s2 (call overhead)']);
    const [layer] = result.layers;
    expect(layer.timings.map((t) => t.backend)).toEqual(result.backends);
    for (const t of layer.timings) {
      expect(t.ms).toBeGreaterThan(0);
      expect(t.runs).toBeGreaterThanOrEqual(3);
    }
    expect(result.backends).toContain(layer.fastest);
  });

  test('the table: a header, one row per layer with a column per backend', () => {
    const r = stridekit(['bench', '--backend', 'cpu', '--filter', 'tiny']);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[1]).toMatch(/^layer +GFLOP +cpu +fastest$/);
    expect(lines[2]).toMatch(/^tiny 3x3\/s2 \(call overhead\) +0\.\d+ +\d+\.\d+ \(\d+\.\d\) +cpu$/);
    expect(lines).toHaveLength(3);
  });

  test('a filter that matches no layer exits 1', () => {
    const r = stridekit(['bench', '--filter', 'no such layer']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("no layer of the suite matches 'no such layer'");
  });

  (unavailable ? test : test.skip)(`--backend NAME that is unavailable exits 1${unavailable ? '' : ' — skipped: every backend is available here'}`, () => {
    const r = stridekit(['bench', '--backend', unavailable.name, '--filter', 'tiny']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`backend '${unavailable.name}' is not available`);
  });
});
