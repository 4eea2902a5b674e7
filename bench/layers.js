'use strict';
// The benchmark suite (bench/layers.json) turned into tensors and options every peer understands.

const path = require('node:path');

const SUITE = require(path.join(__dirname, 'layers.json'));

function product(values) {
  return values.reduce((a, b) => a * b, 1);
}

/** Small deterministic generator (mulberry32): the same data in every run and for every peer. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function filled(length, next, scale) {
  const data = new Float32Array(length);
  for (let i = 0; i < length; i++) data[i] = (next() * 2 - 1) * scale;
  return data;
}

/** A layer with its data: x (N, C, ...in), w (K, C/g, ...kernel), bias (K), options, output shape, FLOPs. */
function materialise(layer, index) {
  const next = random(1000 + index);
  const rank = layer.kernel.length;
  const xShape = [layer.n, layer.c, ...layer.in];
  const wShape = [layer.k, layer.c / layer.groups, ...layer.kernel];
  const outSize = layer.in.map((n, d) => Math.floor((n + 2 * layer.pad[d] - layer.kernel[d]) / layer.stride[d]) + 1);
  const fanIn = (layer.c / layer.groups) * product(layer.kernel);
  return {
    name: layer.name,
    rank,
    x: { data: filled(product(xShape), next, 1), shape: xShape },
    w: { data: filled(product(wShape), next, 1 / Math.sqrt(fanIn)), shape: wShape },
    bias: filled(layer.k, next, 0.1),
    options: {
      stride: layer.stride,
      padding: layer.pad.map((p) => [p, p]),
      groups: layer.groups,
    },
    yShape: [layer.n, layer.k, ...outSize],
    flops: 2 * layer.n * layer.k * product(outSize) * fanIn,
  };
}

function loadSuite(filter) {
  return SUITE.layers
    .map(materialise)
    .filter((layer) => !filter || layer.name.includes(filter));
}

module.exports = { loadSuite, product };
