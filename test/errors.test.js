// Every bad argument gets a TypeError or RangeError with an exact, predictable message, before any
// native code runs: nothing here needs the native addon (see the --no-addons test at the end).
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const sk = require('..');
const { describe: describeValue, invalid, unknownOption } = require('../dist/errors');

const root = path.join(__dirname, '..');
const tensor = (shape) => ({ data: new Float32Array(shape.reduce((a, b) => a * b, 1)), shape });
const x1 = tensor([1, 3, 10]);
const w1 = tensor([4, 3, 3]);
const x2 = tensor([1, 3, 8, 8]);
const w2 = tensor([4, 3, 3, 3]);
const conv1 = (options) => () => sk.convSync(x1, w1, options);
const conv2 = (options) => () => sk.convSync(x2, w2, options);
const shape2 = (options) => () => sk.outputShape([1, 3, 8, 8], [4, 3, 3, 3], options);
const transposed1 = (options) => () => sk.convTransposeSync(tensor([1, 3, 5]), tensor([3, 2, 3]), options);
const PADDING_2D = "padding must be a non-negative integer, an array of 2 entries (one per spatial dimension), or one of 'valid', 'same', 'same_lower' for a 2-D convolution";
const PADDING_1D_TRANSPOSED = "padding must be a non-negative integer, an array of 1 entry (one per spatial dimension), or one of 'valid', 'same', 'same_lower' for a transposed convolution";
const PADDING_1D = "padding must be a non-negative integer, an array of 1 entry (one per spatial dimension), or one of 'valid', 'same', 'same_lower', 'causal'";

// name, call, error class, exact message
const cases = [
  ['convSync whose options detach w.data after w was read', () => {
    const w = tensor([4, 3, 3]);
    return sk.convSync(x1, w, { get padding() { structuredClone(w.data.buffer, { transfer: [w.data.buffer] }); return 0; } });
  }, RangeError, 'w.data.length must be 36 elements long as when it was checked, got 0 (its ArrayBuffer was detached, ' +
    'transferred or resized while the arguments were read)'],
  ['createConv whose options detach weight.data after it was read', () => {
    const w = tensor([4, 3, 3]);
    return sk.createConv({ weight: w, get stride() { structuredClone(w.data.buffer, { transfer: [w.data.buffer] }); return 1; } });
  }, RangeError, 'weight.data.length must be 36 elements long as when it was checked, got 0 (its ArrayBuffer was detached, ' +
    'transferred or resized while the arguments were read)'],
  // tensors
  ['x is not a tensor', () => sk.convSync(undefined, w1), TypeError,
    'x must be a Tensor ({ data: Float32Array, shape: number[] }), got undefined'],
  ['x.data is a Float64Array', () => sk.convSync({ data: new Float64Array(30), shape: [1, 3, 10] }, w1), TypeError,
    'x.data must be a Float32Array, got Float64Array'],
  ['x.data is a plain array', () => sk.convSync({ data: [1, 2], shape: [1, 1, 2] }, w1), TypeError,
    'x.data must be a Float32Array, got [1, 2]'],
  ['w.data is a Buffer', () => sk.convSync(x1, { data: Buffer.alloc(36), shape: [4, 3, 3] }), TypeError,
    'w.data must be a Float32Array, got Buffer'],
  ['no shape', () => sk.convSync({ data: new Float32Array(30) }, w1), TypeError,
    'x.shape must be an array of positive integers, got undefined'],
  ['NaN in a shape', () => sk.convSync({ data: new Float32Array(30), shape: [1, 3, NaN] }, w1), RangeError,
    'x.shape[2] must be a positive integer, got NaN'],
  ['zero in a shape', () => sk.outputShape([1, 0, 10], [4, 3, 3]), RangeError,
    'xShape[1] must be a positive integer, got 0'],
  ['fraction in a shape', () => sk.outputShape([1, 3, 10], [4, 3, 1.5]), RangeError,
    'wShape[2] must be a positive integer, got 1.5'],
  ['Infinity in a shape', () => sk.outputShape([1, 3, Infinity], [4, 3, 3]), RangeError,
    'xShape[2] must be a positive integer, got Infinity'],
  ['string in a shape', () => sk.outputShape(['1', 3, 10], [4, 3, 3]), TypeError,
    "xShape[0] must be a positive integer, got '1'"],
  ['dims (ONNX Runtime) with a bad entry', () => sk.convSync({ data: new Float32Array(30), dims: [1, 3, 0] }, w1), RangeError,
    'x.dims[2] must be a positive integer, got 0'],
  ['shape and dims disagree', () => sk.convSync({ data: new Float32Array(30), shape: [1, 3, 10], dims: [1, 10, 3] }, w1), RangeError,
    'x.dims must be equal to x.shape [1, 3, 10] when both are given, got [1, 10, 3]'],
  ['data length differs from the shape', () => sk.convSync({ data: new Float32Array(29), shape: [1, 3, 10] }, w1), RangeError,
    'x.data.length must be 30 (the product of x.shape [1, 3, 10]), got 29'],
  ['a dimension beyond 2**32 - 1', () => sk.outputShape([1, 1, 2 ** 32], [1, 1, 1]), RangeError,
    'xShape[2] must be at most 4294967295, got 4294967296'],
  ['an element count beyond 2**32 - 1', () => sk.outputShape([65536, 65536, 2], [1, 1, 1]), RangeError,
    'xShape must be a shape of at most 4294967295 elements, got [65536, 65536, 2] (8589934592 elements)'],
  ['an output beyond 2**32 - 1 elements', () => sk.outputShape([1, 1, 100000], [1, 1, 1], { stride: 100000, transposed: true }), RangeError,
    'output shape must be a shape of at most 4294967295 elements, got [1, 1, 9999900001] (9999900001 elements)'],

  // ranks and channels
  ['weight of rank 2', () => sk.convSync(x1, tensor([3, 3])), RangeError,
    'w.shape must be 3, 4 or 5 entries long (2 channel axes and a 1-D, 2-D or 3-D kernel), got [3, 3]'],
  ['weight of rank 6', () => sk.outputShape([1, 1, 2, 2, 2, 2], [1, 1, 1, 1, 1, 1]), RangeError,
    'wShape must be 3, 4 or 5 entries long (2 channel axes and a 1-D, 2-D or 3-D kernel), got [1, 1, 1, 1, 1, 1]'],
  ['x rank differs from w rank', () => sk.convSync(x1, w2), RangeError,
    'x.shape must be [N, C, H, W] for a 2-D kernel (w.shape [4, 3, 3, 3]), got [1, 3, 10]'],
  ['x rank differs, channels_last', () => sk.convSync(x1, w2, { layout: 'channels_last' }), RangeError,
    'x.shape must be [N, H, W, C] for a 2-D kernel (w.shape [4, 3, 3, 3]), got [1, 3, 10]'],
  ['x channels differ from w', () => sk.convSync(tensor([1, 4, 8, 8]), w2), RangeError,
    'x.shape[1] must be 3 to match w.shape[1], got 4'],
  ['x channels differ from w × groups', () => sk.convSync(tensor([1, 4, 8, 8]), tensor([6, 3, 3, 3]), { groups: 2 }), RangeError,
    'x.shape[1] must be 6 to match w.shape[1] × groups (3 × 2), got 4'],
  ['x channels, channels_last', () => sk.convSync(tensor([1, 8, 8, 4]), w2, { layout: 'channels_last' }), RangeError,
    'x.shape[3] must be 3 to match w.shape[1], got 4'],
  ['x channels, transposed', () => sk.convTransposeSync(tensor([1, 4, 5]), tensor([6, 2, 3])), RangeError,
    'x.shape[1] must be 6 to match w.shape[0], got 4'],
  ['groups does not divide K', () => sk.convSync(tensor([1, 8, 8, 8]), tensor([6, 2, 3, 3]), { groups: 4 }), RangeError,
    'groups must be a divisor of w.shape[0] (6 output channels), got 4'],
  ['groups does not divide K, TensorFlow weights', () => sk.outputShape([1, 8, 8, 8], [3, 3, 2, 6], { groups: 4, weightLayout: 'channels_last' }), RangeError,
    'groups must be a divisor of wShape[3] (6 output channels), got 4'],
  ['groups does not divide C, transposed', () => sk.convTransposeSync(tensor([1, 6, 5]), tensor([6, 2, 3]), { groups: 4 }), RangeError,
    'groups must be a divisor of w.shape[0] (6 input channels), got 4'],
  ['groups zero', conv1({ groups: 0 }), RangeError, 'groups must be a positive integer, got 0'],
  ['groups a string', conv1({ groups: '1' }), TypeError, "groups must be a positive integer, got '1'"],

  // stride, dilation
  ['stride zero in one dimension', conv2({ stride: [1, 0] }), RangeError, 'stride[1] must be a positive integer, got 0'],
  ['stride a fraction', conv2({ stride: 1.5 }), RangeError, 'stride must be a positive integer, got 1.5'],
  ['stride NaN', conv2({ stride: [NaN, 1] }), RangeError, 'stride[0] must be a positive integer, got NaN'],
  ['stride a string', conv2({ stride: '2' }), TypeError,
    "stride must be a positive integer or an array of 2 entries (one per spatial dimension), got '2'"],
  ['stride array too long', conv2({ stride: [1, 2, 3] }), RangeError,
    'stride must be a positive integer or an array of 2 entries (one per spatial dimension), got [1, 2, 3]'],
  ['stride array too short, 1-D', conv1({ stride: [] }), RangeError,
    'stride must be a positive integer or an array of 1 entry (one per spatial dimension), got []'],
  ['stride beyond the core limit', conv1({ stride: 2 ** 31 }), RangeError, 'stride must be at most 2147483647, got 2147483648'],
  ['dilation zero', conv1({ dilation: [0] }), RangeError, 'dilation[0] must be a positive integer, got 0'],
  ['dilation negative', conv2({ dilation: -1 }), RangeError, 'dilation must be a positive integer, got -1'],
  ['effective kernel beyond the core limit', conv1({ dilation: 2 ** 30 }), RangeError,
    'dilation[0] must be small enough that the effective kernel (3 - 1) * dilation + 1 is at most 2147483647, got 1073741824'],

  // padding
  ['padding negative', conv2({ padding: -1 }), RangeError, 'padding must be a non-negative integer, got -1'],
  ['padding entry negative', conv2({ padding: [-1, 0] }), RangeError,
    'padding[0] must be a non-negative integer or a [begin, end] pair, got -1'],
  ['padding pair entry negative', conv2({ padding: [[1, -2], 0] }), RangeError, 'padding[0][1] must be a non-negative integer, got -2'],
  ['padding pair of three', conv2({ padding: [[1, 2, 3], 0] }), RangeError,
    'padding[0] must be a non-negative integer or a [begin, end] pair, got [1, 2, 3]'],
  ['padding entry a string', conv2({ padding: ['same', 0] }), TypeError,
    "padding[0] must be a non-negative integer or a [begin, end] pair, got 'same'"],
  ['padding array of the wrong length', conv2({ padding: [1, 1, 1] }), RangeError, `${PADDING_2D}, got [1, 1, 1]`],
  ['bare [begin, end] for 1-D', conv1({ padding: [2, 3] }), RangeError, `${PADDING_1D}, got [2, 3] (for begin and end write [[2, 3]])`],
  ['ONNX flat pads', conv2({ padding: [1, 2, 3, 4] }), RangeError,
    `${PADDING_2D}, got [1, 2, 3, 4] (ONNX pads [begins..., ends...] are written [[1, 3], [2, 4]])`],
  ['TensorFlow spelling', conv2({ padding: 'SAME' }), RangeError, `${PADDING_2D}, got 'SAME' (did you mean 'same'?)`],
  ['ONNX spelling', conv1({ padding: 'SAME_UPPER' }), RangeError, `${PADDING_1D}, got 'SAME_UPPER' (did you mean 'same'?)`],
  ['causal in 2-D', conv2({ padding: 'causal' }), RangeError, `${PADDING_2D}, got 'causal'`],
  ['causal transposed', transposed1({ padding: 'causal' }), RangeError, `${PADDING_1D_TRANSPOSED}, got 'causal'`],
  ['padding a boolean', conv2({ padding: true }), TypeError, `${PADDING_2D}, got true`],

  // output size
  ['output below 1', () => sk.convSync(tensor([1, 1, 3]), tensor([1, 1, 3]), { dilation: 2 }), RangeError,
    'output size[0] must be at least 1, got -1 = floor((input 3 + padding 0 + 0 - effective kernel 5) / stride 1) + 1'],
  ['output below 1 in the second dimension, valid', () => sk.outputShape([1, 1, 9, 2], [1, 1, 3, 3], { padding: 'valid', stride: 2 }), RangeError,
    'output size[1] must be at least 1, got 0 = floor((input 2 + padding 0 + 0 - effective kernel 3) / stride 2) + 1'],
  ['transposed output below 1', () => sk.convTransposeSync(tensor([1, 1, 2]), tensor([1, 1, 3]), { padding: 3 }), RangeError,
    'output size[0] must be at least 1, got -2 = (input 2 - 1) * stride 1 - padding 3 - 3 + effective kernel 3 + outputPadding 0'],

  // outputPadding
  ['outputPadding not below stride or dilation', transposed1({ stride: 2, outputPadding: 2 }), RangeError,
    'outputPadding must be smaller than stride[0] (2) or dilation[0] (1), got 2'],
  ['outputPadding per dimension', () => sk.outputShape([1, 1, 4, 4], [1, 1, 3, 3], { transposed: true, stride: 2, outputPadding: [0, 2] }), RangeError,
    'outputPadding[1] must be smaller than stride[1] (2) or dilation[1] (1), got 2'],
  ['outputPadding negative', transposed1({ outputPadding: -1 }), RangeError, 'outputPadding must be a non-negative integer, got -1'],
  ['outputPadding on a forward convolution', conv1({ outputPadding: 1 }), RangeError,
    'outputPadding must be left out for a forward convolution, got 1 (it applies to transposed convolutions only)'],

  // bias
  ['bias of the wrong length', conv1({ bias: new Float32Array(5) }), RangeError, 'bias.length must be 4 (one value per output channel), got 5'],
  ['bias tensor of the wrong length', conv1({ bias: tensor([5]) }), RangeError, 'bias.data.length must be 4 (one value per output channel), got 5'],
  ['bias tensor with a bad shape', conv1({ bias: { data: new Float32Array(4), shape: [0] } }), RangeError, 'bias.shape[0] must be a positive integer, got 0'],
  ['bias a plain array', conv1({ bias: [1, 2, 3, 4] }), TypeError,
    'bias must be a Float32Array or a Tensor with one value per output channel, got [1, 2, 3, 4]'],
  ['bias a Float64Array', conv1({ bias: new Float64Array(4) }), TypeError,
    'bias must be a Float32Array or a Tensor with one value per output channel, got Float64Array'],

  // enumerations
  ['unknown activation', conv1({ activation: 'gelu' }), RangeError,
    "activation must be one of 'relu', 'relu6', 'sigmoid', 'tanh', 'silu', got 'gelu'"],
  ['activation in another case', conv1({ activation: 'ReLU' }), RangeError,
    "activation must be one of 'relu', 'relu6', 'sigmoid', 'tanh', 'silu', got 'ReLU' (did you mean 'relu'?)"],
  ['activation not a string', conv1({ activation: 1 }), TypeError,
    "activation must be one of 'relu', 'relu6', 'sigmoid', 'tanh', 'silu', got 1"],
  ['layout as a format string', conv1({ layout: 'NHWC' }), RangeError,
    "layout must be one of 'channels_first', 'channels_last', got 'NHWC' (did you mean 'channels_last'?)"],
  ['unknown weightLayout', conv1({ weightLayout: 'hwio' }), RangeError,
    "weightLayout must be one of 'channels_first', 'channels_last', got 'hwio'"],
  ['unknown backend', conv1({ backend: 'gpu' }), RangeError,
    "backend must be one of 'auto', 'cudnn', 'coreml', 'openvino', 'cpu', got 'gpu'"],
  ['backend spelled after the toolkit', conv1({ backend: 'cuda' }), RangeError,
    "backend must be one of 'auto', 'cudnn', 'coreml', 'openvino', 'cpu', got 'cuda' (did you mean 'cudnn'?)"],
  ['unknown precision', conv1({ precision: 'fp64' }), RangeError,
    "precision must be one of 'fp32', 'tf32', 'fp16', 'bf16', got 'fp64'"],
  ['precision spelled as a dtype', conv1({ precision: 'float16' }), RangeError,
    "precision must be one of 'fp32', 'tf32', 'fp16', 'bf16', got 'float16' (did you mean 'fp16'?)"],
  ['bf16 spelled as a dtype', conv1({ precision: 'bfloat16' }), RangeError,
    "precision must be one of 'fp32', 'tf32', 'fp16', 'bf16', got 'bfloat16' (did you mean 'bf16'?)"],
  ['bf16 spelled as torch.bfloat16\'s type name', conv1({ precision: 'BFloat16' }), RangeError,
    "precision must be one of 'fp32', 'tf32', 'fp16', 'bf16', got 'BFloat16' (did you mean 'bf16'?)"],
  ['bf16 in capitals', conv1({ precision: 'BF16' }), RangeError,
    "precision must be one of 'fp32', 'tf32', 'fp16', 'bf16', got 'BF16' (did you mean 'bf16'?)"],
  ['precision as PyTorch\'s matmul precision', conv1({ precision: 'highest' }), RangeError,
    "precision must be one of 'fp32', 'tf32', 'fp16', 'bf16', got 'highest' (did you mean 'fp32'?)"],
  ['bf16 as PyTorch\'s matmul precision', conv1({ precision: 'medium' }), RangeError,
    "precision must be one of 'fp32', 'tf32', 'fp16', 'bf16', got 'medium' (did you mean 'bf16'?)"],
  ['precision not a string', () => sk.createConv({ weight: w1, precision: 16 }), TypeError,
    "precision must be one of 'fp32', 'tf32', 'fp16', 'bf16', got 16"],

  // options bags
  ['options not an object', () => sk.convSync(x1, w1, 3), TypeError, 'options must be an object, got 3'],
  ['options an array', () => sk.convSync(x1, w1, [1]), TypeError, 'options must be an object, got [1]'],
  ['Keras spelling', conv1({ strides: 2 }), TypeError, "options.strides is not a known option (did you mean 'stride'?)"],
  ['PyTorch spelling', transposed1({ output_padding: 1 }), TypeError, "options.output_padding is not a known option (did you mean 'outputPadding'?)"],
  ['ONNX spelling of pads', conv1({ pads: [0, 0] }), TypeError, "options.pads is not a known option (did you mean 'padding'?)"],
  ['ONNX spelling of groups', conv1({ group: 1 }), TypeError, "options.group is not a known option (did you mean 'groups'?)"],
  ['Keras data_format', conv1({ data_format: 'channels_last' }), TypeError, "options.data_format is not a known option (did you mean 'layout'?)"],
  ['nothing close', conv1({ foo: 1 }), TypeError,
    'options.foo is not a known option (known options: stride, padding, dilation, groups, bias, activation, layout, weightLayout, outputPadding, backend, precision, out, transposed)'],
  ['transposed: true given to conv', conv1({ transposed: true }), RangeError,
    'transposed must be false or left out for conv(), got true (use convTranspose())'],
  ['transposed: false given to convTranspose', transposed1({ transposed: false }), RangeError,
    'transposed must be true or left out for convTranspose(), got false (use conv())'],
  ['transposed not a boolean', shape2({ transposed: 1 }), TypeError, 'transposed must be a boolean, got 1'],

  // out
  ['out of the wrong shape', conv2({ out: tensor([1, 4, 6, 7]) }), RangeError,
    'out.shape must be [1, 4, 6, 6] (the output shape), got [1, 4, 6, 7]'],
  ['out with the right size but another shape', conv2({ out: tensor([1, 4, 36]) }), RangeError,
    'out.shape must be [1, 4, 6, 6] (the output shape), got [1, 4, 36]'],
  ['out with bad dims', conv2({ out: { data: new Float32Array(144), dims: [1, 4, 6, -6] } }), RangeError,
    'out.dims[3] must be a positive integer, got -6'],
  ['out.data a Float64Array', conv2({ out: { data: new Float64Array(144), shape: [1, 4, 6, 6] } }), TypeError,
    'out.data must be a Float32Array, got Float64Array'],
  ['out is x', () => { const x = tensor([1, 3, 8, 8]); return sk.convSync(x, tensor([3, 3, 3, 3]), { padding: 'same', out: x }); }, RangeError,
    'out.data must be memory separate from x.data, got a view that overlaps it'],
  ['out overlaps x in one buffer', () => {
    const memory = new Float32Array(300);
    const x = { data: memory.subarray(0, 192), shape: [1, 3, 8, 8] };
    return sk.convSync(x, w2, { out: { data: memory.subarray(150, 294), shape: [1, 4, 6, 6] } });
  }, RangeError, 'out.data must be memory separate from x.data, got a view that overlaps it'],
  ['out overlaps w', () => {
    const memory = new Float32Array(300);
    const w = { data: memory.subarray(0, 108), shape: [4, 3, 3, 3] };
    return sk.convSync(x2, w, { out: { data: memory.subarray(100, 244), shape: [1, 4, 6, 6] } });
  }, RangeError, 'out.data must be memory separate from w.data, got a view that overlaps it'],

  // plans (validated before any weight is packed)
  ['plan without a weight', () => sk.createConv({ stride: 2 }), TypeError,
    'weight must be a Tensor ({ data: Float32Array, shape: number[] }), got undefined'],
  ['plan given out', () => sk.createConv({ weight: w1, out: tensor([1, 4, 8]) }), TypeError,
    'options.out is not a known option (pass out to run() or runSync())'],
  ['plan given a Keras spelling', () => sk.createConv({ kernel: w1 }), TypeError,
    "options.kernel is not a known option (did you mean 'weight'?)"],
  ['plan with a bad option', () => sk.createConv({ weight: w1, stride: [0] }), RangeError, 'stride[0] must be a positive integer, got 0'],
  ['plan weight with ONNX dims', () => sk.createConv({ weight: { data: new Float32Array(36), dims: [4, 3, 3, 0] } }), RangeError,
    'weight.dims[3] must be a positive integer, got 0'],
];

describe('argument errors', () => {
  test.each(cases)('%s', (_name, call, ErrorClass, message) => {
    let thrown;
    try {
      call();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ErrorClass);
    expect(thrown.constructor).toBe(ErrorClass);
    expect(thrown.message).toBe(message);
  });
});

function revokedProxy() {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

describe('async functions reject, never throw', () => {
  test.each([
    ['conv', () => sk.conv(x1, w1, { stride: 0 }), RangeError, 'stride must be a positive integer, got 0'],
    ['convTranspose', () => sk.convTranspose(x1, w1, { padding: 'causal' }), RangeError,
      `${PADDING_1D_TRANSPOSED}, got 'causal'`],
    ['conv with a bad tensor', () => sk.conv(null, w1), TypeError,
      'x must be a Tensor ({ data: Float32Array, shape: number[] }), got null'],
    ['conv on a revoked Proxy', () => sk.conv(revokedProxy(), w1), TypeError, /revoked/],
    ['convTranspose on a revoked Proxy', () => sk.convTranspose(revokedProxy(), w1), TypeError, /revoked/],
    ['plan.run on a revoked Proxy', () => sk.createConv({ weight: w1, backend: 'cpu' }).run(revokedProxy()), TypeError, /revoked/],
    ['conv whose options detach x.data after x was read', () => {
      const x = tensor([1, 3, 10]);
      return sk.conv(x, w1, { get stride() { structuredClone(x.data.buffer, { transfer: [x.data.buffer] }); return 1; } });
    }, RangeError, 'x.data.length must be 30 elements long as when it was checked, got 0 (its ArrayBuffer was detached, ' +
      'transferred or resized while the arguments were read)'],
    ['plan.run whose out getter detaches x.data', () => {
      const x = tensor([1, 3, 10]);
      const plan = sk.createConv({ weight: w1, backend: 'cpu' });
      return plan.run(x, { get out() { structuredClone(x.data.buffer, { transfer: [x.data.buffer] }); return undefined; } });
    }, RangeError, /^x.data.length must be 30 elements long as when it was checked, got 0/],
  ])('%s', async (_name, call, ErrorClass, message) => {
    let promise;
    expect(() => { promise = call(); }).not.toThrow();
    await expect(promise).rejects.toThrow(ErrorClass);
    await expect(promise).rejects.toThrow(message);
  });
});

describe('STRIDEKIT_BACKEND', () => {
  const saved = process.env.STRIDEKIT_BACKEND;
  afterEach(() => {
    if (saved === undefined) delete process.env.STRIDEKIT_BACKEND;
    else process.env.STRIDEKIT_BACKEND = saved;
  });

  test('an unknown name is refused with the valid names, before the native core is needed', () => {
    process.env.STRIDEKIT_BACKEND = 'gpu';
    expect(conv1()).toThrow(new RangeError("STRIDEKIT_BACKEND must be one of 'auto', 'cudnn', 'coreml', 'openvino', 'cpu', got 'gpu'"));
  });
});

describe('the error factory', () => {
  test('phrases every message alike', () => {
    const error = invalid('range', 'stride[1]', 'a positive integer', 0);
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toBe('stride[1] must be a positive integer, got 0');
    expect(invalid('type', 'x.data', 'a Float32Array', new Float64Array(1)).message)
      .toBe('x.data must be a Float32Array, got Float64Array');
    expect(invalid('range', 'p', 'q', 1, { got: 'one', hint: 'why' }).message).toBe('p must be q, got one (why)');
  });

  test('describes values briefly', () => {
    expect(describeValue(NaN)).toBe('NaN');
    expect(describeValue(-0)).toBe('-0');
    expect(describeValue('same')).toBe("'same'");
    expect(describeValue([[1, 2], 'a'])).toBe("[[1, 2], 'a']");
    expect(describeValue([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])).toBe('[1, 2, 3, 4, 5, 6, 7, 8, … (10 entries)]');
    expect(describeValue({ data: 1, dims: 2 })).toBe('an object with keys data, dims');
    expect(describeValue(new Map())).toBe('Map');
    expect(describeValue(10n)).toBe('10n');
    expect(describeValue(() => 1)).toBe('a function');
  });

  test('suggests the closest option or lists them all', () => {
    expect(unknownOption('dilations', ['stride', 'dilation']).message)
      .toBe("options.dilations is not a known option (did you mean 'dilation'?)");
    expect(unknownOption('zzz', ['stride', 'dilation']).message)
      .toBe('options.zzz is not a known option (known options: stride, dilation)');
  });
});

describe('without the native addon', () => {
  const run = (script) => spawnSync(process.execPath, ['--no-addons', '-e', script], { cwd: root, encoding: 'utf8' });

  test('shape functions and argument errors work', () => {
    const r = run(`
      const sk = require('.');
      const shape = sk.outputShape([1, 3, 8, 8], [4, 3, 3, 3], { stride: 2, padding: 'same' });
      let message;
      try { sk.convSync({ data: new Float32Array(3), shape: [1, 1, 3] }, { data: new Float32Array(1), shape: [1, 1, 1] }, { stride: 0 }); }
      catch (error) { message = error.message; }
      process.stdout.write(JSON.stringify({ shape, message }));`);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ shape: [1, 4, 4, 4], message: 'stride must be a positive integer, got 0' });
  });

  test('a convolution says what was tried and how to fix it', () => {
    const r = run(`
      try { require('.').convSync({ data: new Float32Array(3), shape: [1, 1, 3] }, { data: new Float32Array(1), shape: [1, 1, 1] }); }
      catch (error) { process.stdout.write(error.message); }`);
    expect(r.stdout).toMatch(/^Could not load the stridekit native core for \S+ \(Node\.js v[\d.]+, N-API \d+\)\.\nTried:\n- /);
    expect(r.stdout).toContain(`${path.join(root, 'build', 'Release')}${path.sep}`);
    expect(r.stdout).toContain(path.join(root, 'prebuilds', `${process.platform}-${process.arch}`));
    expect(r.stdout).toContain('\nPossible solutions:\n- Node.js runs with --no-addons');
  });

  test('stridekit info prints the loader message and exits 1', () => {
    const r = spawnSync(process.execPath, ['--no-addons', path.join(root, 'dist', 'cli.js'), 'info'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^stridekit: +\d+\.\d+\.\d+/);
    expect(r.stderr).toContain('Possible solutions:');
  });
});

describe('native failures carry the awaiting caller\'s stack', () => {
  const { withAwaitingStack } = require('../dist/errors');

  test('the message and class stay, the frames become those of the async functions awaiting the call', () => {
    // In a child node: jest rewrites stack frames and drops V8's "async" markers. The rejection is made
    // as a native one arrives, with no JavaScript frames, and awaited two calls deep.
    const script = `
      const { withAwaitingStack } = require(${JSON.stringify(path.join(root, 'dist', 'errors'))});
      const nativeFailure = () => new Promise((resolve, reject) => setImmediate(() => {
        const native = new RangeError('backend cpu: out of memory');
        native.stack = 'RangeError: backend cpu: out of memory';
        reject(native);
      }));
      async function stridekitRun() {
        try { await nativeFailure(); } catch (error) { throw withAwaitingStack(error); }
      }
      async function usersInference() { await stridekitRun(); }
      usersInference().catch((e) => process.stdout.write(e.constructor.name + '\\n' + e.stack));`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    const [name, header, ...frames] = r.stdout.split('\n');
    expect(name).toBe('RangeError');
    expect(header).toBe('RangeError: backend cpu: out of memory');
    expect(frames[0]).toMatch(/^ +at stridekitRun /);
    expect(frames[1]).toMatch(/^ +at async usersInference /);
  });

});
