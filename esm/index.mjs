// The ES module entry: the CommonJS build's exports under their own names (and as the default
// export), so `import` and `require` share one copy of the module and of its native binding.
import stridekit from '../dist/index.js';

export const {
  conv, convSync, convTranspose, convTransposeSync, createConv, outputShape, resolvePadding, backends, DeviceTensor, upload,
} = stridekit;
export default stridekit;
