'use strict';
// Golden outputs from a framework nobody here wrote: ONNX Runtime (onnxruntime-node), CPU execution
// provider, one thread. Each call builds a one-node Conv or ConvTranspose model (plus a bias input and
// an activation node) with the small protobuf encoder below, runs it, and returns the output.
//
// ONNX is channels first only, so channels_last inputs and channels_last (TF/Keras) weights are
// transposed here, and the output transposed back.
//
// Padding: forward 'same' / 'same_lower' / 'valid' go to ORT as auto_pad SAME_UPPER / SAME_LOWER / VALID,
// so ORT resolves them itself: an independent check of DESIGN.md's formulas. Everything else
// ('causal', explicit, and every transposed case) goes as explicit pads computed by reference.js, because:
//   - 'causal' has no auto_pad;
//   - ConvTranspose's auto_pad is where ONNX and its runtimes disagree (the spec's pseudo-code for
//     SAME_UPPER/SAME_LOWER has been swapped and re-swapped between ONNX versions, and output_padding
//     interacts with it); with explicit pads the model means exactly one thing. test/reference.test.js
//     records what ORT 1.30 does with ConvTranspose SAME_UPPER / SAME_LOWER.
//   - a transposed 'same' with stride > effective kernel has a negative end pad (outputs past the last
//     tap); ONNX pads must be >= 0, so that part becomes output_padding (it is < stride).
//
// Protobuf field numbers are those of onnx/onnx.proto (proto2): unpacked repeated scalars, which every
// protobuf parser accepts, and raw_data for tensor contents.

const path = require('path');
const { Worker } = require('worker_threads');
const reference = require('./reference');

const OPSET = 17;
const IR_VERSION = 8; // ONNX 1.12, which introduced opset 17, writes IR version 8

// ---- protobuf wire format --------------------------------------------------------------------------

const WIRE_VARINT = 0;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

function varint(value) {
  let v = BigInt.asUintN(64, BigInt(value)); // negative int64 values take ten bytes, as protobuf says
  const bytes = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    bytes.push(byte);
  } while (v !== 0n);
  return Buffer.from(bytes);
}

const key = (field, wire) => varint((field << 3) | wire);
const fieldVarint = (field, value) => Buffer.concat([key(field, WIRE_VARINT), varint(value)]);
const fieldBytes = (field, bytes) => Buffer.concat([key(field, WIRE_LENGTH), varint(bytes.length), bytes]);
const fieldString = (field, text) => fieldBytes(field, Buffer.from(text, 'utf8'));
const fieldMessage = (field, parts) => fieldBytes(field, Buffer.concat(parts));
function fieldFloat(field, value) {
  const b = Buffer.alloc(4);
  b.writeFloatLE(value, 0);
  return Buffer.concat([key(field, WIRE_FIXED32), b]);
}

// ---- ONNX messages (onnx.proto field numbers) --------------------------------------------------------

const TensorProtoDataType = { FLOAT: 1 };
const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 };

// TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9
function tensorProto(name, dims, data) {
  const raw = Buffer.alloc(data.length * 4);
  for (let i = 0; i < data.length; ++i) raw.writeFloatLE(data[i], i * 4);
  return [
    ...dims.map((d) => fieldVarint(1, d)),
    fieldVarint(2, TensorProtoDataType.FLOAT),
    fieldString(8, name),
    fieldBytes(9, raw),
  ];
}

// ValueInfoProto: name = 1, type = 2; TypeProto: tensor_type = 1; TypeProto.Tensor: elem_type = 1,
// shape = 2; TensorShapeProto: dim = 1; Dimension: dim_value = 1.
function valueInfo(name, dims) {
  const tensorType = [fieldVarint(1, TensorProtoDataType.FLOAT)];
  if (dims) tensorType.push(fieldMessage(2, dims.map((d) => fieldMessage(1, [fieldVarint(1, d)]))));
  return [fieldString(1, name), fieldMessage(2, [fieldMessage(1, tensorType)])];
}

// AttributeProto: name = 1, f = 2, i = 3, s = 4, ints = 8, type = 20
function attribute(name, value) {
  const parts = [fieldString(1, name)];
  if (Array.isArray(value)) {
    parts.push(...value.map((v) => fieldVarint(8, v)), fieldVarint(20, AttributeType.INTS));
  } else if (typeof value === 'string') {
    parts.push(fieldString(4, value), fieldVarint(20, AttributeType.STRING));
  } else if (Number.isInteger(value)) {
    parts.push(fieldVarint(3, value), fieldVarint(20, AttributeType.INT));
  } else {
    parts.push(fieldFloat(2, value), fieldVarint(20, AttributeType.FLOAT));
  }
  return parts;
}

// NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5
function node(opType, inputs, outputs, attributes = {}) {
  return [
    ...inputs.map((s) => fieldString(1, s)),
    ...outputs.map((s) => fieldString(2, s)),
    fieldString(3, `${opType}_${outputs[0]}`),
    fieldString(4, opType),
    ...Object.entries(attributes).map(([k, v]) => fieldMessage(5, attribute(k, v))),
  ];
}

// GraphProto: node = 1, name = 2, initializer = 5, input = 11, output = 12
// ModelProto: ir_version = 1, producer_name = 2, graph = 7, opset_import = 8; OperatorSetIdProto: domain = 1, version = 2
function model({ nodes, initializers, input, output }) {
  const graph = [
    ...nodes.map((n) => fieldMessage(1, n)),
    fieldString(2, 'stridekit_golden'),
    ...initializers.map((t) => fieldMessage(5, t)),
    fieldMessage(11, valueInfo(input.name, input.dims)),
    fieldMessage(12, valueInfo(output.name, null)),
  ];
  return Buffer.concat([
    fieldVarint(1, IR_VERSION),
    fieldString(2, 'stridekit-test'),
    fieldMessage(7, graph),
    fieldMessage(8, [fieldString(1, ''), fieldVarint(2, OPSET)]),
  ]);
}

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

function activationNodes(activation, from, to, initializers) {
  switch (activation) {
    case undefined:
    case null:
      return [node('Identity', [from], [to])];
    case 'relu':
      return [node('Relu', [from], [to])];
    case 'relu6':
      initializers.push(tensorProto('clip_min', [], [0]), tensorProto('clip_max', [], [6]));
      return [node('Clip', [from, 'clip_min', 'clip_max'], [to])];
    case 'sigmoid':
      return [node('Sigmoid', [from], [to])];
    case 'tanh':
      return [node('Tanh', [from], [to])];
    case 'silu':
      return [node('Sigmoid', [from], ['silu_gate']), node('Mul', [from, 'silu_gate'], [to])];
    default:
      throw new Error(`onnx: unknown activation ${activation}`);
  }
}

/**
 * Why ORT cannot give a golden output for these arguments, or null when it can.
 * ORT 1.30's ConvTranspose refuses output_padding >= stride ("output_padding (2) may be too large for
 * stride (1)"), which PyTorch and DESIGN.md allow while output_padding < dilation.
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
  const initializers = [tensorProto('W', w.shape, w.data)];
  const convInputs = ['X', 'W'];
  if (bias) {
    initializers.push(tensorProto('B', [bias.length], bias));
    convInputs.push('B');
  }
  const nodes = [
    node(transposed ? 'ConvTranspose' : 'Conv', convInputs, ['conv_out'], convAttributes(xShape, w.shape, opts, transposed)),
    ...activationNodes(opts.activation, 'conv_out', 'Y', initializers),
  ];
  return model({ nodes, initializers, input: { name: 'X', dims: xShape }, output: { name: 'Y' } });
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
 * ORT's result for stridekit's arguments: x, w Tensors in the layouts opts names, opts as in DESIGN.md
 * (bias as Float32Array or Tensor). Resolves to a Tensor in opts.layout.
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
  const initializers = [tensorProto('W', w.shape, w.data)];
  const nodes = [node(opType, ['X', 'W'], ['Y'], attributes)];
  const bytes = model({ nodes, initializers, input: { name: 'X', dims: x.shape }, output: { name: 'Y' } });
  return runModel(bytes, x);
}

module.exports = { golden, close, unsupportedReason, buildModel, runRaw, convAttributes, varint, OPSET };
