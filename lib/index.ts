/** stridekit: strided convolution for Node.js. This module only wires the public API together. */
export { conv, convSync, convTranspose, convTransposeSync } from './conv';
export { createConv } from './plan';
export type { ConvPlan } from './plan';
export { outputShape, resolvePadding } from './shape';
export { backends } from './backends';
export { DeviceTensor, upload } from './device-tensor';
export type { DeviceConvOptions, DeviceRunOptions, UploadOptions } from './device-tensor';
export type {
  Activation, BackendInfo, BackendName, BackendRequest, BackendTiming, ConvOptions, DimsTensor, Layout, LayerOptions, Padding,
  PaddingMode, PaddingPair, PerDimension, PlanBackendRequest, PlanOptions, Precision, RunOptions, ShapeOptions, Tensor, TensorInput,
} from './types';
