// The golden outputs that ship for `stridekit selftest` (selftest/goldens.json, selftest/goldens.bin,
// made by scripts/make-goldens.js) cannot rot: they cover exactly the conformance cases, each was made
// from the inputs the case builds today, and each still matches ONNX Runtime run now (or, where ONNX
// Runtime refuses the case, the float64 reference) and the float64 reference.
//
// The bounds are far below every backend's (1e-4 and up, lib/conformance.ts): ONNX Runtime on another
// processor may round differently (other SIMD kernels), by a few float32 ulps of the largest output;
// the reference differs from a float32 computation by its rounding, ~1e-6 at these sizes.
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.
const path = require('node:path');
const reference = require('./helpers/reference');
const onnx = require('./helpers/onnx');
const { CASES, build, describeCase } = require('./helpers/cases');

const root = path.join(__dirname, '..');
const { loadGoldens, inputDigest } = require(path.join(root, 'dist', 'selftest.js'));

const AGAINST_ONNXRUNTIME = 1e-6;
const AGAINST_REFERENCE = 1e-5;

const goldens = loadGoldens(path.join(root, 'selftest'));

afterAll(() => onnx.close());

test('one golden per case, in the table\'s order, packed end to end', () => {
  const entries = goldens.index.cases;
  expect(entries.map((e) => e.name)).toEqual(CASES.map((c) => c.name));
  let offset = 0;
  for (const e of entries) {
    expect({ name: e.name, offset: e.offset }).toEqual({ name: e.name, offset });
    offset += e.length;
  }
  expect(require('node:fs').statSync(path.join(root, 'selftest', 'goldens.bin')).size).toBe(offset * 4);
});

describe.each(CASES.map((c) => [describeCase(c), c]))('%s', (_, c) => {
  const b = build(c);
  const golden = goldens.get(c.name);
  const ortReason = onnx.unsupportedReason(b.x, b.w, b.opts, c.transposed);

  test('made from the inputs the case builds, with the shape the reference gives', () => {
    expect(golden.entry.inputs).toBe(inputDigest(b));
    expect(golden.entry.shape).toEqual(reference.outputShape(b.x.shape, b.w.shape, { ...b.opts, transposed: c.transposed }));
    expect(golden.entry.source).toBe(ortReason ? 'reference' : 'onnxruntime');
  });

  test('matches the float64 reference', () => {
    const r = (c.transposed ? reference.convTranspose : reference.conv)(b.x, b.w, b.opts);
    const error = reference.normalisedError(golden.data, r.data);
    expect({ error, ok: error <= AGAINST_REFERENCE }).toEqual({ error, ok: true });
  });

  (ortReason ? test.skip : test)(ortReason ? `ONNX Runtime — none: ${ortReason}` : 'matches ONNX Runtime run now', async () => {
    const y = await onnx.golden(b.x, b.w, b.opts, c.transposed);
    expect(Array.from(y.shape)).toEqual(golden.entry.shape);
    const error = reference.normalisedError(golden.data, y.data);
    expect({ error, ok: error <= AGAINST_ONNXRUNTIME }).toEqual({ error, ok: true });
  });
});
