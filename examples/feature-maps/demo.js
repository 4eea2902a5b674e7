#!/usr/bin/env node
'use strict';
/*
 * `npm run demo` (after `npm run build`): a small strided network on the default backend, through
 * the package's public API only.
 *
 *   scene.png (256x256 RGB, beside this file)
 *   1 edges      3x3 stride 1 'same', 3 -> 4 channels (Sobel x, Sobel y, Laplacian, blur)  convSync
 *   2 features   3x3 stride 2 'same' + relu, 4 -> 8 channels, planned once, run twice   createConv
 *   3 depthwise  3x3 stride 2 'same' + relu6, groups = 8                                 conv
 *   4 upsample   4x4 stride 2 transposed, bilinear x2, groups = 8                        convTranspose
 *
 * Prints each layer's shapes and time, then writes every feature map as one PNG grid to
 * demo-output/feature-maps.png (relative to the current directory). PNG files are read and written
 * with pngjs, a development dependency: the package itself ships no image code.
 */
const fs = require('node:fs');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { PNG } = require('pngjs');

// The package as a user's project gets it: its main entry, dist/index.js, compiled by `npm run build`.
const { backends, conv, convSync, convTranspose, createConv } = require('../..');

const ASSET = path.join(__dirname, 'scene.png');
const OUTPUT_DIR = path.join(process.cwd(), 'demo-output');
const TILE = 128;
const GAP = 2;

/** The image as a (1, 3, H, W) channels-first tensor with values in [0, 1]; alpha is ignored. */
function imageTensor(file) {
  // pngjs decodes every colour type to 8-bit RGBA, gray repeated in R, G and B.
  const { width, height, data: rgba } = PNG.sync.read(fs.readFileSync(file));
  const plane = width * height;
  const data = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) data[c * plane + i] = rgba[i * 4 + c] / 255;
  }
  return { data, shape: [1, 3, height, width] };
}

/** Layer 1 weights (4, 3, 3, 3): classic 3x3 filters applied to luminance. */
function edgeWeights() {
  const filters = [
    [-1, 0, 1, -2, 0, 2, -1, 0, 1], // Sobel x
    [-1, -2, -1, 0, 0, 0, 1, 2, 1], // Sobel y
    [0, 1, 0, 1, -4, 1, 0, 1, 0], // Laplacian
    [1, 2, 1, 2, 4, 2, 1, 2, 1].map((v) => v / 16), // Gaussian blur
  ];
  const luminance = [0.299, 0.587, 0.114];
  const w = new Float32Array(4 * 3 * 9);
  filters.forEach((filter, k) => {
    luminance.forEach((scale, c) => {
      filter.forEach((v, i) => {
        w[(k * 3 + c) * 9 + i] = v * scale;
      });
    });
  });
  return w;
}

/** Deterministic pseudo-random weights in [-scale, scale] (a fixed-seed LCG). */
function randomWeights(count, seed, scale) {
  const w = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    w[i] = (state / 0x100000000 * 2 - 1) * scale;
  }
  return w;
}

/** Transposed-conv weights (C, 1, 4, 4) that upsample each channel x2 bilinearly. */
function bilinearWeights(channels) {
  const k = 4;
  const f = [0.25, 0.75, 0.75, 0.25];
  const w = new Float32Array(channels * k * k);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < k; y++) for (let x = 0; x < k; x++) w[(c * k + y) * k + x] = f[y] * f[x];
  }
  return w;
}

function shapeText(shape) {
  return `(${shape.join(', ')})`;
}

/** Channel c of a (1, C, H, W) tensor, min-max scaled to bytes and resampled to TILE x TILE. */
function tile(t, c) {
  const [, , h, w] = t.shape;
  const plane = t.data.subarray(c * h * w, (c + 1) * h * w);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of plane) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const range = hi - lo || 1;
  const out = new Uint8Array(TILE * TILE);
  for (let y = 0; y < TILE; y++) {
    const sy = Math.min(h - 1, Math.floor((y * h) / TILE));
    for (let x = 0; x < TILE; x++) {
      const sx = Math.min(w - 1, Math.floor((x * w) / TILE));
      out[y * TILE + x] = Math.round(((plane[sy * w + sx] - lo) / range) * 255);
    }
  }
  return out;
}

/** One row per tensor, one tile per channel, on a mid-gray background: 8-bit gray pixels. */
function featureGrid(rows) {
  const columns = Math.max(...rows.map((t) => t.shape[1]));
  const width = columns * (TILE + GAP) + GAP;
  const height = rows.length * (TILE + GAP) + GAP;
  const data = new Uint8Array(width * height).fill(128);
  rows.forEach((t, r) => {
    for (let c = 0; c < t.shape[1]; c++) {
      const pixels = tile(t, c);
      const x0 = GAP + c * (TILE + GAP);
      const y0 = GAP + r * (TILE + GAP);
      for (let y = 0; y < TILE; y++) data.set(pixels.subarray(y * TILE, (y + 1) * TILE), (y0 + y) * width + x0);
    }
  });
  return { width, height, data };
}

/** An 8-bit grayscale PNG file of the grid. */
function grayPng({ width, height, data }) {
  return PNG.sync.write(
    { width, height, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) },
    { colorType: 0, inputColorType: 0, inputHasAlpha: false },
  );
}

async function timed(work) {
  const start = performance.now();
  const result = await work();
  return [result, performance.now() - start];
}

async function main() {
  const selected = backends().find((b) => b.selected);
  console.log(`stridekit demo on backend ${selected ? selected.name : '(none)'}${selected && selected.device ? ` (${selected.device})` : ''}`);

  const x = imageTensor(ASSET);
  console.log(`input  ${path.relative(process.cwd(), ASSET)}  ${shapeText(x.shape)}`);
  const layers = [];

  const [edges, ms1] = await timed(() =>
    convSync(x, { data: edgeWeights(), shape: [4, 3, 3, 3] }, { stride: 1, padding: 'same' }),
  );
  layers.push({ name: 'edges', call: 'convSync', input: x, output: edges, ms: [ms1] });

  const features = createConv({
    weight: { data: randomWeights(8 * 4 * 9, 7, 0.5), shape: [8, 4, 3, 3] },
    bias: new Float32Array(8).fill(0.05),
    stride: 2,
    padding: 'same',
    activation: 'relu',
  });
  let mid;
  let planMs;
  try {
    // The second run reuses the packed weights: it shows what a plan saves.
    const [first, firstMs] = await timed(() => features.run(edges));
    const [, secondMs] = await timed(() => features.run(edges));
    mid = first;
    planMs = [firstMs, secondMs];
  } finally {
    features.dispose();
  }
  layers.push({ name: 'features', call: 'createConv().run', input: edges, output: mid, ms: planMs });

  const [depthwise, ms3] = await timed(() =>
    conv(mid, { data: randomWeights(8 * 9, 11, 0.6), shape: [8, 1, 3, 3] }, {
      stride: 2,
      padding: 'same',
      groups: 8,
      activation: 'relu6',
    }),
  );
  layers.push({ name: 'depthwise', call: 'conv', input: mid, output: depthwise, ms: [ms3] });

  const [upsampled, ms4] = await timed(() =>
    convTranspose(depthwise, { data: bilinearWeights(8), shape: [8, 1, 4, 4] }, {
      stride: 2,
      padding: 1,
      groups: 8,
    }),
  );
  layers.push({ name: 'upsample', call: 'convTranspose', input: depthwise, output: upsampled, ms: [ms4] });

  for (const [i, layer] of layers.entries()) {
    const times = layer.ms.map((ms) => `${ms.toFixed(2)} ms`).join(', then ');
    console.log(
      `${i + 1} ${layer.name.padEnd(9)} ${layer.call.padEnd(16)} ${shapeText(layer.input.shape).padEnd(18)} -> ` +
        `${shapeText(layer.output.shape).padEnd(18)} ${times}`,
    );
  }

  const grid = featureGrid(layers.map((layer) => layer.output));
  fs.mkdirSync(OUTPUT_DIR, { recursive: true });
  const file = path.join(OUTPUT_DIR, 'feature-maps.png');
  fs.writeFileSync(file, grayPng(grid));
  console.log(`feature maps (one row per layer, one tile per channel): ${file}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
