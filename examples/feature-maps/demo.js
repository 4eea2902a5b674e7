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
 * Prints each layer's shapes and time, then writes demo-output/feature-maps.png (relative to the
 * current directory): the input image, then one labelled row per layer with every feature map at its
 * own size, so the maps shrink with each stride-2 layer and grow with the transposed one. PNG files
 * are read and written with pngjs, a development dependency: the package itself ships no image code;
 * the labels are drawn with a 5x7 bitmap font (font.js).
 */
const fs = require('node:fs');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { PNG } = require('pngjs');
const { GLYPH_HEIGHT, drawText, textWidth } = require('./font');

// The package as a user's project gets it: its main entry, dist/index.js, compiled by `npm run build`.
const { backends, conv, convSync, convTranspose, createConv } = require('../..');

const ASSET = path.join(__dirname, 'scene.png');
const OUTPUT_DIR = path.join(process.cwd(), 'demo-output');
const GAP = 4; // between a row's maps
const ROW_GAP = 12;
const LABEL_GAP = 16; // between a row's label and its first map
const MARGIN = 12;
const TEXT_SCALE = 2; // each font pixel as a 2x2 square
const BACKGROUND = [222, 228, 236]; // light blue-gray: white map edges stay visible, and no gray map pixel equals it
const INK = [16, 16, 16];

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

/** Channel c of a (1, C, H, W) tensor, min-max scaled to gray bytes, at its own size (h x w). */
function channelImage(t, c) {
  const [, , h, w] = t.shape;
  const plane = t.data.subarray(c * h * w, (c + 1) * h * w);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of plane) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const range = hi - lo || 1;
  const gray = new Uint8Array(h * w);
  for (let i = 0; i < gray.length; i++) gray[i] = Math.round(((plane[i] - lo) / range) * 255);
  return { width: w, height: h, pixel: (x, y) => [gray[y * w + x], gray[y * w + x], gray[y * w + x]] };
}

/** The (1, 3, H, W) input in its own colours. */
function colourImage(t) {
  const [, , h, w] = t.shape;
  const plane = h * w;
  const byte = (c, i) => Math.round(Math.min(1, Math.max(0, t.data[c * plane + i])) * 255);
  return { width: w, height: h, pixel: (x, y) => [0, 1, 2].map((c) => byte(c, y * w + x)) };
}

/**
 * The picture: a title, then one row per tensor, the input first. Each row starts with its label (the
 * layer, its kernel and stride, and the output's maps and size) and shows every channel at its own size,
 * one output pixel per image pixel, so each stride-2 layer's maps are visibly half as wide as the row
 * above, and the transposed layer's twice. 8-bit RGB pixels.
 */
function figure(title, rows) {
  const lineHeight = (GLYPH_HEIGHT + 4) * TEXT_SCALE;
  const labelWidth = Math.max(...rows.flatMap((row) => row.label.map((line) => textWidth(line, TEXT_SCALE))));
  const tilesWidth = (row) => row.tiles.reduce((sum, t) => sum + t.width + GAP, -GAP);
  const rowHeight = (row) => Math.max(row.label.length * lineHeight, ...row.tiles.map((t) => t.height));
  const titleHeight = lineHeight + MARGIN;
  const width = Math.max(MARGIN * 2 + textWidth(title, TEXT_SCALE),
    MARGIN * 2 + labelWidth + LABEL_GAP + Math.max(...rows.map(tilesWidth)));
  const height = MARGIN + titleHeight + rows.reduce((sum, row) => sum + rowHeight(row) + ROW_GAP, -ROW_GAP) + MARGIN;
  const image = { width, height, data: new Uint8Array(width * height * 3) };
  for (let i = 0; i < width * height; i++) image.data.set(BACKGROUND, i * 3);
  drawText(image, title, MARGIN, MARGIN, TEXT_SCALE, INK);
  let y0 = MARGIN + titleHeight;
  for (const row of rows) {
    row.label.forEach((line, i) => drawText(image, line, MARGIN, y0 + i * lineHeight, TEXT_SCALE, INK));
    let x0 = MARGIN + labelWidth + LABEL_GAP;
    for (const t of row.tiles) {
      for (let y = 0; y < t.height; y++) {
        for (let x = 0; x < t.width; x++) image.data.set(t.pixel(x, y), ((y0 + y) * width + x0 + x) * 3);
      }
      x0 += t.width + GAP;
    }
    y0 += rowHeight(row) + ROW_GAP;
  }
  return image;
}

/** An 8-bit RGB PNG file of the image. */
function rgbPng({ width, height, data }) {
  return PNG.sync.write(
    { width, height, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) },
    { colorType: 2, inputColorType: 2, inputHasAlpha: false },
  );
}

/** "4 maps 256x256" for a (1, C, H, W) tensor. */
function mapsText(t) {
  const [, c, h, w] = t.shape;
  return `${c} ${c === 1 ? 'map' : 'maps'} ${h}x${w}`;
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
  layers.push({ name: 'edges', kind: 'conv 3x3, stride 1', call: 'convSync', input: x, output: edges, ms: [ms1] });

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
  layers.push({ name: 'features', kind: 'conv 3x3, stride 2', call: 'createConv().run', input: edges, output: mid, ms: planMs });

  const [depthwise, ms3] = await timed(() =>
    conv(mid, { data: randomWeights(8 * 9, 11, 0.6), shape: [8, 1, 3, 3] }, {
      stride: 2,
      padding: 'same',
      groups: 8,
      activation: 'relu6',
    }),
  );
  layers.push({ name: 'depthwise', kind: 'per-channel 3x3, stride 2', call: 'conv', input: mid, output: depthwise, ms: [ms3] });

  const [upsampled, ms4] = await timed(() =>
    convTranspose(depthwise, { data: bilinearWeights(8), shape: [8, 1, 4, 4] }, {
      stride: 2,
      padding: 1,
      groups: 8,
    }),
  );
  layers.push({ name: 'upsample', kind: 'transposed 4x4, stride 2', call: 'convTranspose', input: depthwise, output: upsampled, ms: [ms4] });

  for (const [i, layer] of layers.entries()) {
    const times = layer.ms.map((ms) => `${ms.toFixed(2)} ms`).join(', then ');
    console.log(
      `${i + 1} ${layer.name.padEnd(9)} ${layer.call.padEnd(16)} ${shapeText(layer.input.shape).padEnd(18)} -> ` +
        `${shapeText(layer.output.shape).padEnd(18)} ${times}`,
    );
  }

  const rows = [
    { label: ['input', path.basename(ASSET), `3 channels ${x.shape[2]}x${x.shape[3]}`], tiles: [colourImage(x)] },
    ...layers.map((layer, i) => ({
      label: [`${i + 1} ${layer.name}`, layer.kind, mapsText(layer.output)],
      tiles: Array.from({ length: layer.output.shape[1] }, (_, c) => channelImage(layer.output, c)),
    })),
  ];
  const picture = figure(`stridekit feature maps, backend ${selected ? selected.name : 'none'}`, rows);
  fs.mkdirSync(OUTPUT_DIR, { recursive: true });
  const file = path.join(OUTPUT_DIR, 'feature-maps.png');
  fs.writeFileSync(file, rgbPng(picture));
  console.log(`feature maps (the input, then one row per layer, one map per channel at its own size): ${file}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
