/** stridekit: strided convolution for Node.js. This module only wires the public API together. */
export { conv, convSync, convTranspose, convTransposeSync } from './conv';
export { createConv } from './plan';
export { outputShape, resolvePadding } from './shape';
export { backends } from './backends';
export type {
  Activation, BackendInfo, BackendName, BackendRequest, ConvOptions, ConvPlan, DimsTensor, Layout,
  LayerOptions, Padding, PaddingMode, PaddingPair, PerDimension, PlanOptions, RunOptions, ShapeOptions,
  Tensor, TensorInput,
} from './types';
