'use strict';
// Small networks for the device-resident tensor tests: layers that feed each other (a strided
// convolution, a dilated depthwise one, a transposed upsampling), their float64 reference, and the
// same chain run through host tensors.

const reference = require('./reference');
const { mulberry32, randomArray } = require('./cases');

function tensor(shape, random) {
  return { data: randomArray(shape.reduce((a, b) => a * b, 1), random), shape };
}

/** x and three layers; `layout` 'channels_last' moves x and every activation to (N, ...spatial, C). */
function buildChain(seed, layout = 'channels_first') {
  const random = mulberry32(seed);
  const x = layout === 'channels_last' ? tensor([2, 12, 10, 3], random) : tensor([2, 3, 12, 10], random);
  const layers = [
    { transposed: false, w: tensor([8, 3, 3, 3], random), opts: { stride: 2, padding: 1, bias: randomArray(8, random), activation: 'relu', layout } },
    { transposed: false, w: tensor([8, 1, 3, 3], random), opts: { groups: 8, dilation: 2, padding: 'same', activation: 'silu', layout } },
    { transposed: true, w: tensor([8, 4, 4, 4], random), opts: { stride: 2, padding: 1, bias: randomArray(4, random), layout } },
  ];
  return { x, layers };
}

/** The chain in float64 per layer (each layer's output rounded to float32, as a device would store it). */
function referenceChain(chain, count = chain.layers.length) {
  let y = chain.x;
  for (const layer of chain.layers.slice(0, count)) {
    y = (layer.transposed ? reference.convTranspose : reference.conv)(y, layer.w, layer.opts);
  }
  return y;
}

function plansFor(sk, chain, extra) {
  return chain.layers.map((layer) => sk.createConv({ ...layer.opts, ...extra, weight: layer.w, transposed: layer.transposed }));
}

module.exports = { buildChain, referenceChain, plansFor };
