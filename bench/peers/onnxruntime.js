'use strict';
// onnxruntime-node's CPU execution provider, the peer a Node.js user reaches for first: a one-node
// Conv model (with bias) built in memory by tools/onnx-model.js, the encoder the tests' golden outputs
// use too, intra-op threads set to the benchmark's thread count.

const { convModel } = require('../../tools/onnx-model');

/** ONNX Conv attributes for a layer of bench/layers.js: explicit pads, channels first, no dilation. */
function convAttributes(layer) {
  const { stride, padding, groups } = layer.options;
  return {
    kernel_shape: layer.w.shape.slice(2),
    strides: stride,
    dilations: stride.map(() => 1),
    group: groups,
    pads: [...padding.map(([begin]) => begin), ...padding.map(([, end]) => end)],
  };
}

function onnxruntimePeer(threads) {
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (error) {
    return { name: 'onnxruntime-node', short: 'ORT', unavailable: `cannot load onnxruntime-node: ${error.message}` };
  }
  return {
    name: 'onnxruntime-node',
    short: 'ORT',
    threads,
    version: ort.env && ort.env.versions ? ort.env.versions.common : undefined,
    timed: 'await session.run(feeds): a new output tensor each run; model built and session created outside timing',
    async prepare(layer) {
      const bytes = convModel({
        xShape: layer.x.shape, w: layer.w, bias: layer.bias, opType: 'Conv', attributes: convAttributes(layer),
      });
      const session = await ort.InferenceSession.create(bytes, {
        executionProviders: ['cpu'],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
      const feeds = { X: new ort.Tensor('float32', layer.x.data, layer.x.shape) };
      let y;
      return {
        run: async () => { y = (await session.run(feeds)).Y; },
        output: () => y.data,
        dispose: () => session.release(),
      };
    },
  };
}

module.exports = { onnxruntimePeer };
