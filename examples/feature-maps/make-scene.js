#!/usr/bin/env node
'use strict';
/*
 * Draws scene.png beside this file, the demo's input: a 256x256 RGB synthetic scene (sky gradient,
 * sun, hills, buildings with lit windows, a striped road and the word STRIDEKIT in a 5x7 block font),
 * so the image is ours and license-clean. Deterministic: running it again gives the same bytes.
 *   node examples/feature-maps/make-scene.js
 */
const fs = require('fs');
const path = require('path');
const { PNG } = require('pngjs');

const W = 256;
const H = 256;
const rgb = new Uint8Array(W * H * 3);

function set(x, y, [r, g, b]) {
  if (x < 0 || y < 0 || x >= W || y >= H) return;
  const i = (y * W + x) * 3;
  rgb[i] = r;
  rgb[i + 1] = g;
  rgb[i + 2] = b;
}
function rect(x0, y0, w, h, color) {
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) set(x, y, color);
}
const mix = (a, b, t) => a.map((v, i) => Math.round(v + (b[i] - v) * t));

// Sky: vertical gradient.
for (let y = 0; y < H; y++) {
  const color = mix([40, 70, 160], [250, 190, 120], y / 170);
  for (let x = 0; x < W; x++) set(x, y, color);
}
// Sun with a soft rim.
for (let y = 0; y < H; y++) {
  for (let x = 0; x < W; x++) {
    const d = Math.hypot(x - 190, y - 60);
    if (d < 26) set(x, y, [255, 236, 150]);
    else if (d < 30) set(x, y, mix([255, 236, 150], [250, 200, 130], (d - 26) / 4));
  }
}
// Two hills: sine ridges.
for (let x = 0; x < W; x++) {
  const far = Math.round(140 + 14 * Math.sin(x / 23) + 6 * Math.sin(x / 7.3));
  const near = Math.round(165 + 10 * Math.sin(x / 31 + 1.7));
  for (let y = far; y < H; y++) set(x, y, [90, 110, 120]);
  for (let y = near; y < H; y++) set(x, y, [60, 120, 70]);
}
// Buildings with a grid of windows, some lit.
const buildings = [
  [12, 92, 34, 96], [52, 118, 26, 70], [84, 78, 40, 110], [132, 128, 22, 60], [160, 100, 36, 88], [204, 116, 40, 72],
];
buildings.forEach(([x0, y0, w, h], n) => {
  rect(x0, y0, w, h, [50 + 12 * n, 50 + 6 * n, 70]);
  for (let y = y0 + 5; y + 5 < y0 + h - 4; y += 9) {
    for (let x = x0 + 4; x + 4 < x0 + w - 2; x += 8) {
      const lit = (x * 7 + y * 13 + n) % 5 < 2;
      rect(x, y, 4, 5, lit ? [250, 220, 110] : [30, 35, 50]);
    }
  }
});
// Road with diagonal stripes.
rect(0, 188, W, 30, [45, 45, 50]);
for (let y = 200; y < 206; y++) for (let x = 0; x < W; x++) if ((x + 2 * y) % 24 < 12) set(x, y, [235, 235, 235]);
// Text-like strokes: STRIDEKIT in a 5x7 block font at scale 3.
const FONT = {
  S: ['01111', '10000', '10000', '01110', '00001', '00001', '11110'],
  T: ['11111', '00100', '00100', '00100', '00100', '00100', '00100'],
  R: ['11110', '10001', '10001', '11110', '10100', '10010', '10001'],
  I: ['01110', '00100', '00100', '00100', '00100', '00100', '01110'],
  D: ['11100', '10010', '10001', '10001', '10001', '10010', '11100'],
  E: ['11111', '10000', '10000', '11110', '10000', '10000', '11111'],
  K: ['10001', '10010', '10100', '11000', '10100', '10010', '10001'],
};
const scale = 3;
let penX = 20;
for (const letter of 'STRIDEKIT') {
  FONT[letter].forEach((row, gy) => {
    [...row].forEach((bit, gx) => {
      if (bit === '1') rect(penX + gx * scale, 226 + gy * scale, scale, scale, [20, 20, 20]);
    });
  });
  penX += 6 * scale;
}

const out = path.join(__dirname, 'scene.png');
const png = PNG.sync.write(
  { width: W, height: H, data: Buffer.from(rgb.buffer) },
  { colorType: 2, inputColorType: 2, inputHasAlpha: false },
);
fs.writeFileSync(out, png);
console.log(`wrote ${out} (${fs.statSync(out).size} bytes)`);
