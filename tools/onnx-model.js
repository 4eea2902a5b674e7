'use strict';
// One ONNX convolution, serialised in memory with a small protobuf encoder: a Conv or ConvTranspose node
// (with a bias input when there is one) and the activation after it. The tests' golden outputs
// (test/helpers/onnx.js, ONNX Runtime) and the benchmark's onnxruntime-node peer
// (bench/peers/onnxruntime.js) both build their models here, so that each is a model onnxruntime-node
// reads as any ONNX file, with no ONNX package in the dependencies.
//
// The caller gives the ONNX attributes (kernel_shape, strides, pads, ...) by their ONNX names: how
// stridekit's options map onto them is the caller's business (the tests derive them from their reference,
// the benchmark from its layer table). Shapes are channels first, as ONNX has them.
//
// Protobuf field numbers are those of onnx/onnx.proto (proto2): unpacked repeated scalars, which every
// protobuf parser accepts, and raw_data for tensor contents.

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

// ---- the convolution model ---------------------------------------------------------------------------

/** The nodes from `from` to `to` for one of stridekit's activation names (none: an Identity node). */
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
 * The serialised ModelProto of input X (shape xShape) -> opType ('Conv' or 'ConvTranspose') with weight
 * w ({ data, shape }, ONNX's layout) and, when given, bias (K values) -> activation -> output Y.
 */
function convModel({ xShape, w, bias, opType, attributes, activation }) {
  const initializers = [tensorProto('W', w.shape, w.data)];
  const convInputs = ['X', 'W'];
  if (bias) {
    initializers.push(tensorProto('B', [bias.length], bias));
    convInputs.push('B');
  }
  const nodes = [
    node(opType, convInputs, ['conv_out'], attributes),
    ...activationNodes(activation, 'conv_out', 'Y', initializers),
  ];
  return model({ nodes, initializers, input: { name: 'X', dims: xShape }, output: { name: 'Y' } });
}

/** The serialised ModelProto of X -> one opType node with weight W and these attributes -> Y. */
function singleNodeModel({ xShape, w, opType, attributes }) {
  const initializers = [tensorProto('W', w.shape, w.data)];
  const nodes = [node(opType, ['X', 'W'], ['Y'], attributes)];
  return model({ nodes, initializers, input: { name: 'X', dims: xShape }, output: { name: 'Y' } });
}

module.exports = { convModel, singleNodeModel, OPSET };
