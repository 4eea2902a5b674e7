#!/usr/bin/env node
'use strict';
/*
 * Makes the golden outputs that ship with the package for `stridekit selftest` (lib/selftest.ts):
 * every conformance case (lib/conformance.ts) run once by ONNX Runtime (onnxruntime-node, a
 * devDependency: CPU execution provider, one thread, through test/helpers/onnx.js), or, for the cases
 * ONNX Runtime refuses, by the float64 reference (test/helpers/reference.js). Writes
 * selftest/goldens.json and selftest/goldens.bin, which are committed; test/goldens.test.js fails when
 * they no longer match what this script would make.
 *
 *   npm run build:ts && node scripts/make-goldens.js
 *
 * Run it after adding or changing a case; commit both files.
 */
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const { CASES, build } = require(path.join(root, 'dist', 'conformance.js'));
const { inputDigest } = require(path.join(root, 'dist', 'selftest.js'));
const onnx = require(path.join(root, 'test', 'helpers', 'onnx.js'));
const reference = require(path.join(root, 'test', 'helpers', 'reference.js'));

const ortVersion = require(path.join(root, 'node_modules', 'onnxruntime-node', 'package.json')).version;

/** The golden of one case: { source, y }. */
async function goldenOf(c) {
  const b = build(c);
  const why = onnx.unsupportedReason(b.x, b.w, b.opts, c.transposed);
  if (why === null) return { b, source: 'onnxruntime', y: await onnx.golden(b.x, b.w, b.opts, c.transposed) };
  return { b, source: 'reference', why, y: (c.transposed ? reference.convTranspose : reference.conv)(b.x, b.w, b.opts) };
}

async function main() {
  const out = process.argv[2] ? path.resolve(process.argv[2]) : path.join(root, 'selftest');
  const entries = [];
  const chunks = [];
  let offset = 0;
  for (const c of CASES) {
    const { b, source, why, y } = await goldenOf(c);
    if (why) console.error(`[make-goldens] ${c.name}: the float64 reference, because ${why}`);
    const data = Float32Array.from(y.data);
    const bytes = Buffer.alloc(data.length * 4);
    data.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
    chunks.push(bytes);
    entries.push({ name: c.name, source, shape: Array.from(y.shape), offset, length: data.length, inputs: inputDigest(b) });
    offset += data.length;
  }
  await onnx.close();
  const index = {
    about: 'Golden outputs of the conformance cases (lib/conformance.ts) for `stridekit selftest`: goldens.bin holds each case\'s output as float32 little-endian at offset (in values); inputs is the digest of the inputs it was made from. Made by scripts/make-goldens.js.',
    generator: `onnxruntime-node ${ortVersion} (CPU execution provider, one thread); 'reference' cases: the float64 reference of test/helpers/reference.js`,
    cases: entries,
  };
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'goldens.bin'), Buffer.concat(chunks));
  // One line per case: readable in a diff, small in the tarball.
  const lines = entries.map((e) => `  ${JSON.stringify(e)}`).join(',\n');
  const head = JSON.stringify({ about: index.about, generator: index.generator }, null, 1).replace(/\n}$/, '');
  fs.writeFileSync(path.join(out, 'goldens.json'), `${head},\n "cases": [\n${lines}\n ]\n}\n`);
  console.error(`[make-goldens] ${entries.length} cases, ${offset} values (${offset * 4} bytes) in ${out}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
