// The shipped golden outputs (selftest/goldens.*, made by ONNX Runtime) against PyTorch: every
// conformance case computed by torch.nn.functional's convolutions in float64 (test/helpers/torch_conv.py),
// a second framework beside ONNX Runtime (test/goldens.test.js) that shares no code with it or with
// stridekit. Padding modes and layouts are resolved to explicit channels-first terms by
// test/helpers/reference.js, which is checked against the facade's resolvePadding elsewhere.
//
// PyTorch for Linux from PyPI is about 3 GB with the CUDA wheels it depends on, so CI does not install
// it and this file is skipped there, with that reason. A developer runs it with STRIDEKIT_TORCH_PYTHON
// naming a Python that has torch (python3 -m venv .venv-torch && .venv-torch/bin/pip install torch; the
// checkout's .venv-torch/ is found by itself).
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const reference = require('./helpers/reference');
const { CASES, build, describeCase } = require('./helpers/cases');

const root = path.join(__dirname, '..');
const { loadGoldens } = require(path.join(root, 'dist', 'selftest.js'));

// torch computes in float64 here, as the float64 reference does: the goldens are float32 results of
// ONNX Runtime, within a few float32 ulps of the largest output.
const AGAINST_PYTORCH = 1e-5;

function torchPython() {
  const candidates = [process.env.STRIDEKIT_TORCH_PYTHON, path.join(root, '.venv-torch', 'bin', 'python')].filter(Boolean);
  for (const python of candidates) {
    if (!fs.existsSync(python)) continue;
    const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
    if (probe.status === 0) return { python, version: probe.stdout.trim() };
  }
  return null;
}

const base64 = (values) => Buffer.from(Float32Array.from(values).buffer).toString('base64');

/** A case in the channels-first, explicit-pad terms torch_conv.py takes. */
function torchCase(c) {
  const b = build(c);
  const opts = { ...b.opts, transposed: c.transposed };
  const g = reference.geometry(b.x.shape, b.w.shape, opts);
  const x = g.channelsLast ? reference.toChannelsFirst(b.x) : b.x;
  const w = g.weightLast ? reference.weightToChannelsFirst(b.w) : b.w;
  return {
    rank: g.rank,
    transposed: c.transposed,
    x: { shape: x.shape, data: base64(x.data) },
    w: { shape: w.shape, data: base64(w.data) },
    bias: b.bias ? { shape: [b.bias.length], data: base64(b.bias) } : null,
    stride: g.stride,
    dilation: g.dilation,
    groups: g.groups,
    pads: reference.resolvePadding(b.x.shape, b.w.shape, opts),
    outSize: reference.outputSize(b.x.shape, b.w.shape, opts),
    activation: b.opts.activation ?? null,
    channelsLast: g.channelsLast,
  };
}

const torch = torchPython();
if (!torch) {
  test.skip('goldens against PyTorch — skipped: no Python with torch (set STRIDEKIT_TORCH_PYTHON, or make .venv-torch/; '
    + 'PyTorch from PyPI is about 3 GB with its CUDA wheels, so CI does not install it)', () => {});
} else {
  const goldens = loadGoldens(path.join(root, 'selftest'));
  const cases = CASES.map(torchCase);
  const run = spawnSync(torch.python, [path.join(__dirname, 'helpers', 'torch_conv.py')], {
    input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 1 << 30,
  });
  if (run.status !== 0) throw new Error(`torch_conv.py failed: ${run.stderr}`);
  const { results } = JSON.parse(run.stdout);

  test(`PyTorch ${torch.version}: the index-table way agrees with PyTorch's own padding and strides wherever both fit`, () => {
    const both = results.filter((r) => r.way === 'direct');
    expect(both.length).toBeGreaterThan(0);
    expect(both.filter((r) => !(r.agreement <= 1e-12))).toEqual([]);
    // eslint-disable-next-line no-console
    console.log(`PyTorch ${torch.version}: ${both.length} cases direct (and by index table), `
      + `${results.length - both.length} by index table alone (strides, dilations or pads near 2**31)`);
  });

  describe.each(CASES.map((c, i) => [describeCase(c), c, i]))(`%s (PyTorch ${torch.version})`, (_, c, i) => {
    test('the golden matches PyTorch', () => {
      const golden = goldens.get(c.name);
      const bytes = Buffer.from(results[i].data, 'base64');
      let y = { shape: results[i].shape, data: new Float64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8) };
      if (cases[i].channelsLast) y = reference.toChannelsLast(y);
      expect(Array.from(y.shape)).toEqual(golden.entry.shape);
      const error = reference.normalisedError(golden.data, y.data);
      expect({ error, ok: error <= AGAINST_PYTORCH }).toEqual({ error, ok: true });
    });
  });
}
