// `npx stridekit selftest` as a CI job runs it: from the packed tarball installed in an empty project
// (install scripts off, offline), on every backend this machine has. It passes here, writes JUnit XML
// with the right counts, gives JSON that parses, exits 1 for an unavailable backend named with --backend
// or forced with STRIDEKIT_BACKEND, and fails, naming the case, when a case is broken on purpose: the
// installed copy's golden for one case is altered, and another's record of its inputs.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { CASES, conformance } = require('./helpers/cases');

const root = path.join(__dirname, '..');
const tuple = `${process.platform}-${process.arch}`;
const prebuildDir = path.join(root, 'prebuilds', tuple);
const prebuilt = fs.existsSync(prebuildDir) && fs.readdirSync(prebuildDir).some((name) => name.endsWith('.node'));
const skipReason = prebuilt ? null : `no prebuilt core in prebuilds/${tuple}/ to pack (run \`npm run build\` first)`;
if (skipReason) console.log(`selftest test skipped: ${skipReason}`);

// The calling shell's STRIDEKIT_* and npm_* settings must not leak into the nested npm and node; the
// runtime folders scripts/checkout-runtimes.js sets are kept, so the plugins find their libraries as an
// installed package finds them on a machine that has them.
const KEEP = /^STRIDEKIT_(OPENVINO|CUDA|CUDNN)_DIR$/;
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) =>
  !/^npm_/i.test(key) && (!key.startsWith('STRIDEKIT_') || KEEP.test(key))));

function mustRun(command, args, cwd) {
  const r = spawnSync(command, args, { cwd, env: cleanEnv, encoding: 'utf8', timeout: 180000 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

function npmPack(dir, destination) {
  const { stdout } = mustRun('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', destination], dir);
  return path.join(destination, JSON.parse(stdout)[0].filename);
}

/** JUnit XML read by Python's ElementTree: an independent parser, so well-formedness is tested too. */
function parseJUnit(file) {
  const script = `
import json, sys, xml.etree.ElementTree as ET
top = ET.parse(sys.argv[1]).getroot()
suites = [{**s.attrib, 'cases': [{'name': c.get('name'), 'failure': c.find('failure') is not None,
  'skipped': c.find('skipped') is not None} for c in s.findall('testcase')]} for s in top.findall('testsuite')]
print(json.dumps({'tag': top.tag, 'attrib': top.attrib, 'suites': suites}))`;
  const r = spawnSync('python3', ['-c', script, file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ElementTree could not parse ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const NAMES = ['cudnn', 'coreml', 'openvino', 'cpu'];
const BROKEN = 'conv2d valid 3x3'; // its golden is altered
const STALE = 'conv1d valid'; // its record of the inputs is altered

(skipReason ? describe.skip : describe)(skipReason ? `stridekit selftest — skipped: ${skipReason}` : 'stridekit selftest, installed from the packed tarball', () => {
  let work;
  let consumer;
  let list;
  const installed = () => path.join(consumer, 'node_modules', 'stridekit');
  const selftest = (args, env = {}) => {
    const r = spawnSync(process.execPath, [path.join(consumer, 'node_modules', '.bin', 'stridekit'), 'selftest', ...args],
      { cwd: consumer, env: { ...cleanEnv, ...env }, encoding: 'utf8', timeout: 300000 });
    if (r.error) throw r.error;
    return r;
  };

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-selftest-'));
    const tarball = npmPack(root, work);
    // The runtime dependencies are packed from this checkout's node_modules, so --offline resolves them.
    const deps = ['node-addon-api', 'node-gyp-build'].map((name) => npmPack(path.join(root, 'node_modules', name), work));
    consumer = path.join(work, 'consumer');
    fs.mkdirSync(consumer);
    fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    mustRun('npm', ['install', '--ignore-scripts', '--offline', '--no-audit', '--no-fund', tarball, ...deps], consumer);
    const script = "console.log(JSON.stringify(require('stridekit').backends()))";
    list = JSON.parse(mustRun(process.execPath, ['-e', script], consumer).stdout);
  });
  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('the tarball ships the goldens and the benchmark layers, not the script that makes them', () => {
    for (const file of ['selftest/goldens.json', 'selftest/goldens.bin', 'bench/layers.json', 'dist/selftest.js', 'dist/conformance.js']) {
      expect(fs.existsSync(path.join(installed(), file))).toBe(true);
    }
    expect(fs.existsSync(path.join(installed(), 'scripts', 'make-goldens.js'))).toBe(false);
  });

  test('passes on every available backend: one line each, exit 0; --junit writes XML with the same counts', () => {
    const junit = path.join(work, 'selftest.xml');
    const r = selftest(['--junit', junit]);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(NAMES.length + 1);
    for (const [i, name] of NAMES.entries()) {
      const b = list.find((x) => x.name === name);
      if (!b.available) {
        expect(lines[i]).toBe(`${name.padEnd(8)}  unavailable: ${b.reason}`);
        continue;
      }
      const skipped = Object.keys(conformance.UNSUPPORTED[name]).length;
      const ran = CASES.length - skipped;
      expect(lines[i]).toMatch(new RegExp(`^${name} +ok  ${ran}/${CASES.length} passed${skipped ? `, ${skipped} skipped` : ''}  worst error \\d\\.\\de[-+]\\d+ of bound \\de-\\d .* \\d+\\.\\d s`));
    }
    expect(lines[NAMES.length]).toBe(`selftest passed on ${NAMES.filter((n) => list.find((b) => b.name === n).available).join(', ')}`);

    const xml = parseJUnit(junit);
    expect(xml.tag).toBe('testsuites');
    expect(xml.suites.map((s) => s.name)).toEqual(NAMES.map((n) => `stridekit selftest ${n}`));
    let tests = 0;
    for (const [i, name] of NAMES.entries()) {
      const s = xml.suites[i];
      const b = list.find((x) => x.name === name);
      const expected = b.available
        ? { tests: CASES.length, failures: 0, skipped: Object.keys(conformance.UNSUPPORTED[name]).length }
        : { tests: 1, failures: 0, skipped: 1 };
      expect({ name, tests: Number(s.tests), failures: Number(s.failures), skipped: Number(s.skipped) }).toEqual({ name, ...expected });
      expect(s.cases).toHaveLength(expected.tests);
      expect(s.cases.filter((c) => c.skipped)).toHaveLength(expected.skipped);
      expect(s.cases.filter((c) => c.failure)).toHaveLength(0);
      if (b.available) expect(s.cases.map((c) => c.name)).toEqual(CASES.map((c) => c.name));
      tests += expected.tests;
    }
    expect(Number(xml.attrib.tests)).toBe(tests);
    expect(Number(xml.attrib.failures)).toBe(0);
  });

  test('--json parses: per backend the counts, the worst error within its bound, and every case', () => {
    const r = selftest(['--json']);
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.ok).toBe(true);
    expect(result.backends.map((b) => b.backend)).toEqual(NAMES);
    for (const b of result.backends) {
      if (!b.available) {
        expect(b.cases).toEqual([]);
        continue;
      }
      expect(b.passed + b.failed + b.skipped).toBe(CASES.length);
      expect(b.failed).toBe(0);
      expect(b.worstError).toBeLessThanOrEqual(b.bound);
      expect(b.cases.map((c) => c.name)).toEqual(CASES.map((c) => c.name));
      // Printed for the record: what the selftest costs on each backend of this machine.
      console.log(`selftest on ${b.backend}: ${b.seconds.toFixed(1)} s, worst error ${b.worstError.toExponential(2)} (${b.worstCase})`);
    }
  });

  test('--backend NAME runs NAME alone', () => {
    const r = selftest(['--backend', 'cpu', '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).backends.map((b) => [b.backend, b.failed])).toEqual([['cpu', 0]]);
  });

  test('an unavailable backend named with --backend, or forced with STRIDEKIT_BACKEND, exits 1 with its reason', () => {
    const unavailable = list.find((b) => !b.available);
    if (!unavailable) {
      console.log('selftest test: every backend is available here; nothing unavailable to name');
      return;
    }
    const named = selftest(['--backend', unavailable.name]);
    expect(named.status).toBe(1);
    expect(named.stderr).toContain(`backend '${unavailable.name}' is not available: ${unavailable.reason} (requested by --backend)`);
    expect(named.stdout).toMatch(/selftest FAILED\n$/);
    const forced = selftest(['--json'], { STRIDEKIT_BACKEND: unavailable.name });
    expect(forced.status).toBe(1);
    const result = JSON.parse(forced.stdout);
    expect(result.ok).toBe(false);
    expect(result.error).toContain(`backend '${unavailable.name}' is not available`);
  });

  test('a case broken on purpose fails on every backend that runs it, by name, and the exit status is 1', () => {
    const dir = path.join(installed(), 'selftest');
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'goldens.json'), 'utf8'));
    const broken = index.cases.find((e) => e.name === BROKEN);
    const bin = fs.readFileSync(path.join(dir, 'goldens.bin'));
    const at = (broken.offset + 7) * 4;
    bin.writeFloatLE(bin.readFloatLE(at) + 0.5, at);
    fs.writeFileSync(path.join(dir, 'goldens.bin'), bin);
    index.cases.find((e) => e.name === STALE).inputs = '00000000';
    fs.writeFileSync(path.join(dir, 'goldens.json'), JSON.stringify(index));

    const junit = path.join(work, 'broken.xml');
    const text = selftest(['--junit', junit]);
    expect(text.status).toBe(1);
    expect(text.stdout).toMatch(/^cpu +FAILED 2  \d+\/\d+ passed/m);
    expect(text.stdout).toContain(`failed: ${BROKEN}: convSync: normalised error`);
    expect(text.stdout).toContain(`failed: ${STALE}: the case's inputs (digest`);
    expect(text.stdout).toMatch(/selftest FAILED: \d+ cases\n$/);

    const xml = parseJUnit(junit);
    const ran = xml.suites.filter((s) => list.find((b) => `stridekit selftest ${b.name}` === s.name).available);
    expect(ran.length).toBeGreaterThan(0);
    for (const s of ran) {
      expect({ suite: s.name, failures: Number(s.failures), failed: s.cases.filter((c) => c.failure).map((c) => c.name) })
        .toEqual({ suite: s.name, failures: 2, failed: [STALE, BROKEN] });
    }
    expect(Number(xml.attrib.failures)).toBe(2 * ran.length);

    const json = selftest(['--backend', 'cpu', '--json']);
    expect(json.status).toBe(1);
    const result = JSON.parse(json.stdout);
    expect(result.ok).toBe(false);
    const [cpu] = result.backends;
    expect(cpu.cases.filter((c) => c.status === 'failed').map((c) => c.name)).toEqual([STALE, BROKEN]);
    expect(cpu.worstCase).toBe(BROKEN);
    expect(cpu.worstError).toBeGreaterThan(cpu.bound);
  });
});
