'use strict';
// Golden outputs from a framework nobody here wrote: ONNX Runtime (onnxruntime-node), CPU execution
// provider, one thread. Each call builds a one-node Conv or ConvTranspose model (plus a bias input and
// an activation node) with the encoder in tools/onnx-model.js, runs it, and returns the output. This file
// decides the ONNX attributes from stridekit's options.
//
// ONNX is channels first only, so channels_last inputs and channels_last (TF/Keras) weights are
// transposed here, and the output transposed back.
//
// Padding: forward 'same' / 'same_lower' / 'valid' go to ORT as auto_pad SAME_UPPER / SAME_LOWER / VALID,
// so ORT resolves them itself: an independent check of the padding formulas (README, Padding). Everything else
// ('causal', explicit, and every transposed case) goes as explicit pads computed by reference.js, because:
//   - 'causal' has no auto_pad;
//   - ConvTranspose's auto_pad is where ONNX and its runtimes disagree (the spec's pseudo-code for
//     SAME_UPPER/SAME_LOWER has been swapped and re-swapped between ONNX versions, and output_padding
//     interacts with it); with explicit pads the model means exactly one thing. test/reference.test.js
//     records what ORT 1.30 does with ConvTranspose SAME_UPPER / SAME_LOWER.
//   - a transposed 'same' with stride > effective kernel has a negative end pad (outputs past the last
//     tap); ONNX pads must be >= 0, so that part becomes output_padding (it is < stride).

const path = require('path');
const { Worker } = require('worker_threads');
const { convModel, singleNodeModel } = require('../../tools/onnx-model');
const reference = require('./reference');

// ---- the golden convolution --------------------------------------------------------------------------

const AUTO_PAD = { same: 'SAME_UPPER', same_lower: 'SAME_LOWER', valid: 'VALID' };

/** The ONNX attributes for a case, channels first: { attributes, note } */
function convAttributes(xShapeCF, wShapeCF, opts, transposed) {
  const g = reference.geometry(xShapeCF, wShapeCF, { ...opts, transposed, layout: 'channels_first', weightLayout: 'channels_first' });
  const attributes = {
    kernel_shape: g.kernel,
    strides: g.stride,
    dilations: g.dilation,
    group: g.groups,
  };
  const padding = opts.padding === undefined ? 0 : opts.padding;
  // ORT 1.30 refuses auto_pad SAME_* with dilation > 1 ("Dilation not supported for
  // AutoPadType::SAME_UPPER or AutoPadType::SAME_LOWER"): those go as explicit pads.
  const dilated = g.dilation.some((d) => d !== 1);
  if (!transposed && typeof padding === 'string' && AUTO_PAD[padding] && !(dilated && padding !== 'valid')) {
    attributes.auto_pad = AUTO_PAD[padding];
    return attributes;
  }
  const pads = reference.resolvePadding(xShapeCF, wShapeCF, { ...opts, transposed, layout: 'channels_first', weightLayout: 'channels_first' });
  const outputPadding = g.outputPadding.slice();
  const begins = pads.map((p) => p[0]);
  const ends = pads.map((p, i) => {
    if (p[1] >= 0) return p[1];
    if (!transposed) throw new Error(`onnx: negative pad in forward dimension ${i}`);
    outputPadding[i] += -p[1]; // outputs past the last tap: ONNX calls that output_padding
    return 0;
  });
  if (begins.some((b) => b < 0)) throw new Error('onnx: negative begin pad');
  attributes.pads = [...begins, ...ends];
  if (transposed) attributes.output_padding = outputPadding;
  return attributes;
}

/**
 * Why ORT cannot give a golden output for these arguments, or null when it can.
 * ORT 1.30's ConvTranspose refuses output_padding >= stride ("output_padding (2) may be too large for
 * stride (1)"), which PyTorch and stridekit allow while output_padding < dilation.
 */
function unsupportedReason(x, w, opts = {}, transposed = false) {
  if (!transposed) return null;
  const xShape = x.shape || x.dims;
  const o = { ...opts, transposed, layout: 'channels_first', weightLayout: 'channels_first' };
  const xcf = opts.layout === 'channels_last' ? reference.toChannelsFirst({ data: x.data, shape: xShape }).shape : xShape;
  const wcf = opts.weightLayout === 'channels_last' ? reference.weightToChannelsFirst(w).shape : w.shape;
  const attributes = convAttributes(xcf, wcf, o, true);
  const i = attributes.output_padding.findIndex((op, d) => op >= attributes.strides[d]);
  if (i < 0) return null;
  return `ORT 1.30 ConvTranspose refuses output_padding (${attributes.output_padding[i]}) >= stride (${attributes.strides[i]}) in dimension ${i}`;
}

/** The serialised ModelProto for a case (channels-first shapes). */
function buildModel({ xShape, w, bias, opts, transposed }) {
  return convModel({
    xShape,
    w,
    bias,
    opType: transposed ? 'ConvTranspose' : 'Conv',
    attributes: convAttributes(xShape, w.shape, opts, transposed),
    activation: opts.activation,
  });
}

// ORT runs on a worker thread (helpers/ort-worker.js), started on first use and unref'd while idle.
let worker = null;
let nextId = 1;
const pending = new Map();

function ortWorker() {
  if (worker) return worker;
  worker = new Worker(path.join(__dirname, 'ort-worker.js'));
  worker.unref();
  worker.on('message', ({ id, y, error }) => {
    const request = pending.get(id);
    pending.delete(id);
    if (pending.size === 0) worker.unref();
    if (error) request.reject(new Error(`onnxruntime: ${error}`));
    else request.resolve({ data: new Float32Array(y.data), shape: y.shape });
  });
  const failAll = (e) => {
    for (const request of pending.values()) request.reject(e);
    pending.clear();
    worker = null;
  };
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`onnxruntime worker exited with code ${code}`)));
  return worker;
}

function runModel(bytes, x) {
  const w = ortWorker();
  const id = nextId++;
  w.ref();
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    w.postMessage({ id, bytes: new Uint8Array(bytes), x: { data: Float32Array.from(x.data), shape: Array.from(x.shape) } });
  });
}

/** Stops the ORT worker (call from afterAll; a later golden() starts a new one). */
async function close() {
  if (!worker) return;
  const w = worker;
  worker = null;
  w.removeAllListeners('exit');
  await w.terminate();
}

/**
 * ORT's result for stridekit's arguments: x, w Tensors in the layouts opts names, opts as in the
 * README's option table (bias as Float32Array or Tensor). Resolves to a Tensor in opts.layout.
 */
async function golden(x, w, opts = {}, transposed = false) {
  const xShape = x.shape || x.dims;
  const channelsLast = opts.layout === 'channels_last';
  const xcf = channelsLast ? reference.toChannelsFirst({ data: x.data, shape: xShape }) : { data: x.data, shape: xShape };
  const wcf = opts.weightLayout === 'channels_last' ? reference.weightToChannelsFirst(w) : w;
  const bias = opts.bias ? (opts.bias.data !== undefined ? opts.bias.data : opts.bias) : null;
  const bytes = buildModel({ xShape: xcf.shape, w: wcf, bias, opts, transposed });
  const y = await runModel(bytes, xcf);
  return channelsLast ? reference.toChannelsLast(y) : y;
}

/** Runs a raw ONNX attribute set (for probing ORT's own behaviour), channels first, no bias/activation. */
async function runRaw({ x, w, opType, attributes }) {
  return runModel(singleNodeModel({ xShape: x.shape, w, opType, attributes }), x);
}

module.exports = { golden, close, unsupportedReason, runRaw };
