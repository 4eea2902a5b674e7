'use strict';
// The coreml backend's compiled-model cache (native/backends/coreml/model_cache.cc): its policy is
// portable C++, so it is checked here on any POSIX machine with a stand-in for Core ML's compiler
// (test/fixtures/coreml-cache/cache_check.cc, built by CMake): the key changes with the model, the OS build
// and Core ML's version; a hit does not compile; a damaged entry (no completeness marker, another key's
// marker, no model) is compiled again; a failed compile leaves nothing; prune removes the least recently
// used entries past the limit, never one in use or used recently, and the leftovers of a crashed process.
// Then processes race on one key: each compiles into its own staging folder, one rename wins, and every
// racer gets the winner's complete entry. And a plan's models in memory (native/backends/coreml/coreml_plan.cc,
// test/fixtures/coreml-cache/plan_check.cc, with a stand-in runtime): past its limit a plan drops its least
// recently used model, not the one with the smallest shape key.
//
// What Core ML does with the entry (compile, load) is coreml_runtime.mm's, checked only on a Mac.
// Needs cmake and a C++ compiler; without them the suite is skipped with the reason printed.
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const { ROOT } = require('./helpers/target');

const PROJECT = path.join(__dirname, 'fixtures', 'coreml-cache');
const OUT = path.join(ROOT, 'build', 'coreml-cache-check');
const EXE = path.join(OUT, 'cache_check');
const RACERS = 6;

function whyNot() {
  if (process.platform === 'win32') return 'the cache is POSIX code (flock), for macOS';
  if (spawnSync('cmake', ['--version']).status !== 0) return 'no cmake (install CMake 3.18 or later)';
  if (spawnSync(process.env.CXX || 'c++', ['--version']).status !== 0) return 'no C++ compiler (set CXX)';
  return null;
}

function step(command, args) {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

function run(args) {
  return new Promise((resolve) => {
    const child = spawn(EXE, args);
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('close', (status) => resolve({ status, out }));
  });
}

const reason = whyNot();
if (reason) {
  console.log(`stridekit tests skipped: coreml model cache: ${reason}`);
  describe.skip(`coreml model cache — skipped: ${reason}`, () => { test('cache', () => {}); });
} else {
  describe('coreml model cache policy', () => {
    beforeAll(() => {
      fs.rmSync(OUT, { recursive: true, force: true });
      step('cmake', ['-S', PROJECT, '-B', OUT, `-DCMAKE_CXX_COMPILER=${process.env.CXX || 'c++'}`]);
      step('cmake', ['--build', OUT]);
    }, 300000);

    test('single process: key, hit, damaged entries, failed compile, discard, prune', () => {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-coreml-cache-'));
      const out = step(EXE, ['scenarios', path.join(root, 'cache')]);
      expect(out).not.toMatch(/FAIL/);
      for (const line of ['key: model, OS build, Core ML version', 'miss compiles, hit reuses', 'damaged entries are compiled again',
        'a failed compile leaves nothing', 'discard', 'prune by last use', 'leftovers of a crashed process']) {
        expect(out).toMatch(new RegExp(`^ok ${line}$`, 'm'));
      }
    });

    test('a plan drops its least recently used model', () => {
      const out = step(path.join(OUT, 'plan_check'), []);
      expect(out).toMatch(/^ok a plan drops its least recently used model$/m);
    });

    test(`${RACERS} processes racing on one key all get one complete entry`, async () => {
      const root = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-coreml-race-')), 'cache');
      const key = '0123456789abcdef0123456789abcdef';
      // Each compile takes 300 ms, so the racers' compiles overlap.
      const results = await Promise.all(Array.from({ length: RACERS }, () => run(['race', root, key, '300'])));
      for (const r of results) expect(r).toMatchObject({ status: 0 });
      const winners = results.map((r) => /^by (\d+) compiled ([01])$/m.exec(r.out));
      for (const w of winners) expect(w).not.toBeNull();
      const by = new Set(winners.map((w) => w[1]));
      expect(by.size).toBe(1); // every racer uses the one published entry
      expect(winners.filter((w) => w[2] === '1').length).toBe(1); // exactly one rename won
      expect(fs.readdirSync(root).sort()).toEqual(['.lock', key]); // no staging or trash folder left
      expect(fs.readFileSync(path.join(root, key, 'complete'), 'utf8')).toBe(`${key}\n`);
      expect(fs.readFileSync(path.join(root, key, 'model.mlmodelc', 'by'), 'utf8')).toBe([...by][0]);
    }, 60000);
  });
}
