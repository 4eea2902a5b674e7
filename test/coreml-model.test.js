'use strict';
// The coreml backend's models, checked on any platform by Apple's own tooling: for every conformance case
// (test/helpers/cases.js), in float32 and in float16, the portable model builder writes the .mlpackage the
// macOS plugin would compile (tools/coreml-model-tool/), and coremltools reads it back
// (test/helpers/coreml_inspect.py): the package and specification parse, the MIL loader rebuilds the
// program and its type inference gives stridekit's outputShape(), every declared result type is the
// inferred one, and the weights and bias read back are the values given (rounded to float16 in float16).
// The model must be written as coremltools writes it: every pad pads every dimension of its input, every
// conv_transpose states its output_shape, and every float constant of 10 or more elements sits in
// weights/weight.bin (MIL blob storage, its header and per-blob metadata checked byte by byte; the values
// read back through coremltools' BlobReader), with Manifest.json registering the weights folder.
//
// The oracle for "as coremltools writes it": coremltools' own converter, given the same convolution as a
// frontend program built with its MIL Builder in float32 (explicit pads, the bias in the convolution, the
// activation after it: the operations its PyTorch frontend lowers nn.Conv*d and nn.ConvTranspose*d to;
// outputPadding as a trailing constant pad, where that frontend pre-pads or crops instead) and converted
// by ct.convert for the same deployment target and precision, so that coremltools' pass pipeline and
// writer decide the casts, the constants' types and storage, and the package; the two programs must agree
// op by op (type, result, every input and constant value and storage) and the packages in layout.
// PyTorch itself, traced and converted, would be the more literal oracle, but from PyPI on Linux it is an
// 865 MB wheel that needs about 2.2 GB of CUDA and Triton wheels to import (CPU-only builds are not on PyPI), too
// much for the CI job; the Builder program is what a frontend hands to the same pipeline.
// Then the program as coremltools loaded it is evaluated on the case's input and compared with the float64
// reference (test/helpers/reference.js): coremltools computes the layout, cast, pad, bias and activation
// operations (their value_inference); conv, conv_transpose and silu, which have none, are numpy
// transcriptions of MIL's definitions in coreml_inspect.py. coremltools cannot run Core ML itself outside
// macOS, so what Core ML's kernels compute is the conformance suite's job with STRIDEKIT_BACKEND=coreml.
//
// Needs scripts/setup-coremltools.sh (.venv-coremltools) and the tool from `npm run build`; without them
// the suite is skipped with the reason printed, never passed.
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { CASES, build } = require('./helpers/cases');
const reference = require('./helpers/reference');
const { loadStridekit, ROOT, expectClose, UNSUPPORTED } = require('./helpers/target');

const WINDOWS = process.platform === 'win32';
const TOOL = process.env.STRIDEKIT_COREML_MODEL_TOOL ||
  path.join(ROOT, 'build', 'plugins', 'tools', WINDOWS ? 'stridekit_coreml_model.exe' : 'stridekit_coreml_model');
const SETUP = path.join(ROOT, 'scripts', 'setup-coremltools.sh');
const PYTHON = path.join(ROOT, '.venv-coremltools', WINDOWS ? 'Scripts/python.exe' : 'bin/python');
const INSPECT = path.join(__dirname, 'helpers', 'coreml_inspect.py');
const PRECISIONS = ['fp32', 'fp16'];
// float32 values at the edges of float16: the largest half, ties that round up to infinity or down to
// 65504, subnormals and the ties between them, the smallest normal, ties to even around 1, signed zero.
const FP16_EDGES = Float32Array.from([
  65504, 65519.99, 65520, -70000, 6.103515625e-5, 6.0e-5, 5.9604645e-8, 2.9802322e-8, 2.9802326e-8, -8.940697e-8,
  1e-9, 1 + 2 ** -11, 1 + 3 * 2 ** -11, -0, 0.1, 1 / 3, -1234.5678,
]);
// Normalised error of the evaluated program against the float64 reference. float32: as the cpu backend.
// float16: x, weights, bias, each intermediate and y rounded to float16 with exact sums, which
// test/helpers/coreml_fp16_error.py puts at 6.0e-3 on the worst case (576 terms, then tanh).
const EVALUATION_TOLERANCE = { fp32: 1e-4, fp16: 1e-2 };

const { sk } = loadStridekit();

/** Why the model tool cannot run here, or null. */
function whyNoTool() {
  return fs.existsSync(TOOL) ? null : `${path.relative(ROOT, TOOL)} is not built (npm run build builds it when cmake is on PATH)`;
}

/** Why the coremltools suite cannot run here, or null. */
function whyNot() {
  if (whyNoTool()) return whyNoTool();
  if (!fs.existsSync(SETUP)) return 'scripts/setup-coremltools.sh is missing';
  if (!fs.existsSync(PYTHON)) return 'coremltools is not installed (no .venv-coremltools: run npm run setup:coremltools)';
  const probe = spawnSync(PYTHON, ['-c', 'import coremltools'], { encoding: 'utf8', timeout: 120000 });
  if (probe.status !== 0) {
    return `coremltools does not import in .venv-coremltools: ${(probe.stderr || String(probe.error)).trim().split('\n').pop()}`;
  }
  return null;
}

/** Channels-first weights, as the core hands them to every backend (native/core/weight_layout.cc). */
function channelsFirstWeights(c, w) {
  if (c.opts.weightLayout !== 'channels_last') return w.data;
  const groups = c.opts.groups || 1;
  const outer = c.transposed ? c.C : c.K; // the last TensorFlow axis
  const middle = c.transposed ? c.K / groups : c.C / groups;
  const taps = c.kernel.reduce((a, b) => a * b, 1);
  const out = new Float32Array(w.data.length);
  for (let t = 0; t < taps; ++t) {
    for (let m = 0; m < middle; ++m) {
      for (let o = 0; o < outer; ++o) out[(o * middle + m) * taps + t] = w.data[(t * middle + m) * outer + o];
    }
  }
  return out;
}

function perDim(value, rank, fallback) {
  if (value === undefined) return new Array(rank).fill(fallback);
  return Array.isArray(value) ? value : new Array(rank).fill(value);
}

function spatial(shape, rank, channelsLast) {
  return channelsLast ? shape.slice(1, 1 + rank) : shape.slice(2);
}

/** The tool's arguments for one case: geometry and shape as the core resolves them. */
function describeModel(c, precision, dir) {
  const { x, w, opts, bias, transposed } = build(c);
  const rank = c.kernel.length;
  const channelsLast = c.opts.layout === 'channels_last';
  const shapeOpts = { ...opts, transposed: c.transposed };
  delete shapeOpts.bias;
  const yShape = sk.outputShape(x.shape, w.shape, shapeOpts);
  const pads = sk.resolvePadding(x.shape, w.shape, shapeOpts);
  const id = `${CASES.indexOf(c)}-${precision}`;
  const weightFile = path.join(dir, `${id}.weight.f32`);
  fs.writeFileSync(weightFile, Buffer.from(channelsFirstWeights(c, w).buffer));
  let biasFile = null;
  if (bias) {
    biasFile = path.join(dir, `${id}.bias.f32`);
    fs.writeFileSync(biasFile, Buffer.from(bias.buffer));
  }
  const args = {
    out: path.join(dir, `${id}.mlpackage`), precision, rank, transposed: c.transposed ? 1 : 0,
    layout: channelsLast ? 'last' : 'first', activation: c.opts.activation || 'none', groups: c.opts.groups || 1,
    channels: [c.C, c.K], kernel: c.kernel, stride: perDim(c.opts.stride, rank, 1),
    dilation: perDim(c.opts.dilation, rank, 1), batch: c.N, 'in-size': spatial(x.shape, rank, channelsLast),
    'out-size': spatial(yShape, rank, channelsLast), 'pad-begin': pads.map((p) => p[0]), 'pad-end': pads.map((p) => p[1]),
    weight: weightFile,
  };
  if (biasFile) args.bias = biasFile;
  const xFile = path.join(dir, `${id}.x.f32`);
  fs.writeFileSync(xFile, Buffer.from(x.data.buffer));
  const expected = (transposed ? reference.convTranspose : reference.conv)(x, w, opts);
  const argv = Object.entries(args).flatMap(([k, v]) => [`--${k}`, Array.isArray(v) ? v.join(',') : String(v)]);
  return {
    id, c, precision, argv, xShape: x.shape, yShape, args, bias: !!bias, xFile, yFile: path.join(dir, `${id}.y.f32`), expected,
    weightCount: w.data.length,
  };
}

function runTool(argv) {
  return spawnSync(TOOL, argv, { encoding: 'utf8', timeout: 60000 });
}


/** Skips with the reason printed (never passes) when this machine lacks what a suite needs. */
function describeIf(reason, title, body) {
  if (!reason) return describe(title, body);
  // eslint-disable-next-line no-console
  console.log(`stridekit tests skipped: ${title}: ${reason}`);
  return describe.skip(`${title} — skipped: ${reason}`, body);
}

describeIf(whyNoTool(), 'coreml model tool', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-coreml-tool-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const m = describeModel(CASES.find((c) => !c.transposed && c.opts.activation), 'fp32', dir);
  const withFlag = (flag, value) => {
    const argv = [...m.argv];
    if (argv.includes(`--${flag}`)) argv[argv.indexOf(`--${flag}`) + 1] = value;
    else argv.push(`--${flag}`, value);
    return argv;
  };

  // The plugin's choice (compute_units.cc): float16 when the caller allows it, or when only the Neural
  // Engine (float16 only) may run it; float32 otherwise, `all` included (Core ML then keeps the float32
  // program on the CPU and GPU), and bf16 too (an ML Program has no bfloat16 type).
  test.each([
    ['all', 'fp32', 'fp32'], ['all', 'tf32', 'fp32'], ['all', 'fp16', 'fp16'], ['all', 'bf16', 'fp32'],
    ['cpuAndGPU', 'fp32', 'fp32'], ['cpuAndGPU', 'fp16', 'fp16'], ['cpuAndGPU', 'bf16', 'fp32'],
    ['cpuOnly', 'fp32', 'fp32'], ['cpuOnly', 'fp16', 'fp16'],
    ['cpuAndNeuralEngine', 'fp32', 'fp16'], ['cpuAndNeuralEngine', 'fp16', 'fp16'],
  ])('units %s, precision %s: a %s program', (units, allowed, program) => {
    const r = runTool([...withFlag('precision', allowed), '--units', units]);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.stdout.trim()).toMatch(new RegExp(`^[0-9a-f]{16} ${program}$`));
  });

  test('an unknown STRIDEKIT_COREML_UNITS value is refused with the accepted ones', () => {
    const r = runTool([...m.argv, '--units', 'gpu']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("STRIDEKIT_COREML_UNITS must be one of all, cpuAndGPU, cpuAndNeuralEngine, cpuOnly, got 'gpu'");
  });

  test('the same model always has the same hash (the compiled-model cache key), another model another', () => {
    const a = runTool(m.argv).stdout;
    expect(runTool(m.argv).stdout).toBe(a);
    expect(runTool(withFlag('precision', 'fp16')).stdout.split(' ')[0]).not.toBe(a.split(' ')[0]);
    // Weights that differ in one value only: the specification is the same (the weights are in
    // weights/weight.bin), the hash must not be.
    const weights = fs.readFileSync(m.args.weight);
    const changed = Buffer.from(weights);
    changed.writeFloatLE(changed.readFloatLE(0) + 1, 0);
    const other = path.join(dir, 'other.weight.f32');
    fs.writeFileSync(other, changed);
    expect(runTool(withFlag('weight', other)).stdout.split(' ')[0]).not.toBe(a.split(' ')[0]);
  });

  test('the tool writes packages only (a bare specification cannot hold the weight file)', () => {
    const r = runTool(withFlag('out', path.join(dir, 'bare.mlmodel')));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--out must name a .mlpackage');
  });

  test('the builder refuses sizes and pads that disagree (a core bug), naming the dimension', () => {
    const at = m.argv.indexOf('--out-size') + 1;
    const sizes = m.argv[at].split(',').map(Number);
    const r = runTool(withFlag('out-size', [sizes[0] + 1, ...sizes.slice(1)].join(',')));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/coreml model: dimension 0 gives output \d+ but the core expects \d+/);
  });
});

const reason = whyNot();
if (reason) {
  // eslint-disable-next-line no-console
  console.log(`stridekit tests skipped: coreml models read by coremltools: ${reason}`);
  describe.skip(`coreml models read by coremltools — skipped: ${reason}`, () => {
    test('every conformance case', () => {});
  });
} else {
  describe('coreml models read by coremltools', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-coreml-'));
    const supported = CASES.filter((c) => !UNSUPPORTED.coreml[c.name]);
    const models = supported.flatMap((c) => PRECISIONS.map((p) => describeModel(c, p, dir)));
    const edges = { package: path.join(dir, 'fp16-edges.mlpackage'), weight: path.join(dir, 'fp16-edges.weight.f32') };
    const built = {};
    const errors = [];
    const checked = []; // what the checked models held, so that no check above passes for want of cases
    let inspected = null;

    beforeAll(() => {
      for (const m of models) built[m.id] = runTool(m.argv);
      const manifest = models.filter((m) => built[m.id].status === 0).map((m) => ({
        id: m.id, package: m.args.out, weight: m.args.weight, bias: m.args.bias || null, precision: m.precision,
        x: m.xFile, y: m.yFile, geometry: m.args, oracle: path.join(dir, `${m.id}.coremltools.mlpackage`),
      }));
      // One more model: float16 weights at the edges of the format, against numpy's IEEE rounding.
      fs.writeFileSync(edges.weight, Buffer.from(FP16_EDGES.buffer));
      const edge = runTool(['--out', edges.package, '--precision', 'fp16', '--rank', '1', '--transposed', '0',
        '--layout', 'first', '--groups', '1', '--channels', '1,1', '--kernel', String(FP16_EDGES.length), '--stride', '1',
        '--dilation', '1', '--batch', '1', '--in-size', String(FP16_EDGES.length), '--out-size', '1', '--pad-begin', '0',
        '--pad-end', '0', '--weight', edges.weight]);
      if (edge.status !== 0) throw new Error(`stridekit_coreml_model failed on the float16 edge weights: ${edge.stderr}`);
      manifest.push({ id: 'fp16-edges', package: edges.package, weight: edges.weight, bias: null, precision: 'fp16' });
      const manifestFile = path.join(dir, 'manifest.json');
      fs.writeFileSync(manifestFile, JSON.stringify(manifest));
      const r = spawnSync(PYTHON, [INSPECT, manifestFile], { encoding: 'utf8', timeout: 600000, maxBuffer: 64 << 20 });
      if (r.status !== 0) throw new Error(`coreml_inspect.py failed (${r.status}): ${r.stderr}`);
      inspected = JSON.parse(r.stdout);
    }, 600000);

    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    for (const c of CASES.filter((c) => UNSUPPORTED.coreml[c.name])) {
      test.skip(`${c.name} — unsupported on coreml: ${UNSUPPORTED.coreml[c.name]}`, () => {});
    }

    test.each(models.map((m) => [`${m.c.name} [${m.precision}]`, m]))('%s', (title, m) => {
      const tool = built[m.id];
      if (tool.status !== 0) throw new Error(`stridekit_coreml_model failed (${tool.status}): ${tool.stderr}`);
      const got = inspected.results[m.id];
      if (got.error) throw new Error(`coremltools could not read the model: ${got.error}`);
      expect(got.inferredOutput).toEqual({ name: 'y', shape: m.yShape, dtype: 'fp32' });
      expect(got.outputs).toEqual({ y: m.yShape });
      expect(got.inputs).toEqual({ x: m.xShape });
      expect(got.mismatchedTypes).toEqual([]);
      expect([got.specificationVersion, got.opset]).toEqual([6, 'CoreML5']);
      expect(got.convDtype).toBe(m.precision);
      expect(got.convAttributes.strides).toEqual(m.args.stride);
      expect(got.convAttributes.dilations).toEqual(m.args.dilation);
      expect(got.convAttributes.groups).toBe(m.args.groups);
      expect(got.weightEqual).toBe(true);
      expect(got.biasEqual).toBe(m.bias ? true : null);
      expect(got.operations).toContain(m.c.transposed ? 'conv_transpose' : 'conv');
      if (m.c.opts.activation) expect(got.operations).toContain(m.c.opts.activation);
      // As coremltools writes it: pads over every dimension, conv_transpose with its output_shape.
      expect(got.pads).toEqual(got.pads.map((p) => ({ pad: 2 * p.inputRank, inputRank: p.inputRank })));
      expect(got.convTranspose).toHaveLength(m.c.transposed ? 1 : 0);
      expect(got.convTranspose.map((t) => t.outputShape)).toEqual(got.convTranspose.map((t) => t.shape));
      // Float constants of 10 or more elements in weights/weight.bin, the rest immediate; the file as MIL
      // blob storage writes it; the weights folder registered in Manifest.json.
      expect(got.misplacedConstants).toEqual([]);
      expect(got.fileConstants.includes('weight')).toBe(m.weightCount >= 10);
      expect(got.weightFile.problems).toEqual([]);
      const { present, version, blobs } = got.weightFile;
      expect(present ? [version, blobs] : [2, 0]).toEqual([2, got.fileConstants.length]);
      expect(got.weightsItem).toBe(true);
      // coremltools' own converter on the same convolution.
      if (got.oracle.error) throw new Error(`coremltools could not convert the oracle program: ${got.oracle.error}`);
      expect(got.oracle.differences).toEqual([]);
      expect(got.oracle.layout).toBe('same');
      checked.push(got);
      expect(got.evaluatedShape).toEqual(m.yShape);
      const bytes = fs.readFileSync(m.yFile);
      const y = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      expectClose({ data: y, shape: got.evaluatedShape }, m.expected, EVALUATION_TOLERANCE[m.precision], 'evaluated program');
      errors.push([m.precision, reference.normalisedError(y, m.expected.data)]);
    });

    test('float16 weights round as IEEE 754 does (numpy): ties to even, subnormals, overflow to infinity', () => {
      const got = inspected.results['fp16-edges'];
      if (got.error) throw new Error(`coremltools could not read the model: ${got.error}`);
      expect(got.weightEqual).toBe(true);
    });

    test("coremltools' weight-file threshold is the one checked (10 elements), and the checks had cases", () => {
      expect(inspected.fileThreshold).toBe(true);
      expect(checked).toHaveLength(models.length);
      // At least one pad (outputPadding), conv_transpose, weight in the file and weight immediate.
      expect(checked.filter((got) => got.pads.length).length).toBeGreaterThan(0);
      expect(checked.filter((got) => got.convTranspose.length).length).toBeGreaterThan(0);
      expect(checked.filter((got) => got.fileConstants.includes('weight')).length).toBeGreaterThan(0);
      expect(checked.filter((got) => !got.fileConstants.includes('weight')).length).toBeGreaterThan(0);
    });

    test('every case evaluated; largest normalised error per precision (printed)', () => {
      for (const precision of PRECISIONS) {
        const measured = errors.filter(([p]) => p === precision).map(([, e]) => e);
        expect(measured).toHaveLength(supported.length); // every supported case evaluated
        const worst = Math.max(...measured);
        // eslint-disable-next-line no-console
        console.log(`coreml programs evaluated through coremltools, ${precision}: largest normalised error ${worst.toExponential(2)}`);
        expect(worst).toBeLessThanOrEqual(EVALUATION_TOLERANCE[precision]);
      }
    });

  });
}
