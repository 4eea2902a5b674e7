// The cuDNN plugin's lowering, checked without a GPU: cuDNN pads symmetrically and wants channels-first
// tensors of at least two spatial dimensions, so native/backends/cudnn/cudnn_lowering.cc turns asymmetric
// pads, outputPadding, rank 1 and channels-last into zero borders, crops and box copies. The fixture
// test/fixtures/cudnn/lowering_check.cc, built here with the system C++ compiler, carries out those steps
// with a naive model of each cuDNN call and compares y with a direct convolution from stridekit's own
// definition, for thousands of random geometries (half of them with copies cut into pieces, as the
// plugin cuts copies longer than cuDNN's 65535 per dimension). Each --mutate run breaks one part of the lowering on
// purpose and must fail, so a check that cannot fail would show.
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const compiler = process.env.CXX || 'c++';
const haveCompiler = spawnSync(compiler, ['--version'], { encoding: 'utf8' }).status === 0;

(haveCompiler ? describe : describe.skip)(
  haveCompiler ? 'cuDNN lowering (CPU model of the cuDNN calls)' : `cuDNN lowering: skipped (no C++ compiler ${compiler})`,
  () => {
    let dir;
    let checker;
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-cudnn-lowering-'));
      checker = path.join(dir, 'lowering_check');
      const r = spawnSync(compiler, ['-std=c++17', '-O2', '-Wall', '-Wextra', '-Werror',
        '-I', path.join(root, 'native', 'include'), '-I', path.join(root, 'native', 'backends', 'cudnn'),
        '-I', path.join(root, 'test', 'fixtures'),
        path.join(root, 'test', 'fixtures', 'cudnn', 'lowering_check.cc'),
        path.join(root, 'native', 'backends', 'cudnn', 'cudnn_lowering.cc'), '-o', checker], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`building the lowering checker failed:\n${r.stderr}`);
    }, 60000);
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    const run = (...args) => spawnSync(checker, args.map(String), { encoding: 'utf8' });

    test.each([1, 2, 3])('20000 random geometries, seed %i, match the direct convolution exactly', (seed) => {
      const r = run(20000, seed);
      expect(r.stdout + r.stderr).toMatch(/^ok 20000 cases/);
      expect(r.status).toBe(0);
      // Every path of the lowering was exercised, asymmetric pads most of all.
      const [, fd, fs_, td, ts, asym, pieces] = /forward direct (\d+), forward staged (\d+), transposed direct (\d+), transposed staged (\d+); (\d+) with asymmetric pads; (\d+) with copies in pieces/
        .exec(r.stdout).map(Number);
      for (const n of [fd, fs_, td, ts]) expect(n).toBeGreaterThan(100);
      expect(asym).toBeGreaterThan(10000);
      expect(pieces).toBeGreaterThan(5000);
    });

    test.each([
      ['pad', /cuDNN would reject|y\[\d+\] = /],
      ['zero', /y\[\d+\] = (nan|-?\d)/],
      ['crop', /outside a buffer|y\[\d+\] = /],
      ['layout', /y\[\d+\] = |outside a buffer/],
      ['pieces', /y\[\d+\] = nan/],
    ])('the check fails when the lowering is broken (--mutate=%s)', (how, message) => {
      const r = run(3000, 1, `--mutate=${how}`);
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/^FAIL case \d+: /);
      expect(r.stdout).toMatch(message);
    });
  });
