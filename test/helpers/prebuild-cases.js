'use strict';
// Runs the conformance cases (cases.js) on cpu through the facade of one installed-like package
// folder, in whatever Node.js runs this file (the official arm64 binary under qemu, for one), and
// writes every result to a JSON file: { arch, platform, core, cpu, seconds, results: [{ name, shape,
// data (base64 float32) | error }] }. A file, not stdout: node.exe under wine fails on a piped stdout.
//
//   node prebuild-cases.js <package folder> <output file> [case name ...]
const fs = require('fs');
const path = require('path');
const { CASES, build } = require('./cases');

const [packageDir, outFile, ...only] = process.argv.slice(2);
const started = Date.now();
const sk = require(path.resolve(packageDir));
const results = [];
for (const c of CASES) {
  if (only.length && !only.includes(c.name)) continue;
  const b = build(c);
  const opts = { ...b.opts, backend: 'cpu' };
  try {
    const y = b.transposed ? sk.convTransposeSync(b.x, b.w, opts) : sk.convSync(b.x, b.w, opts);
    const bytes = Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength);
    results.push({ name: c.name, shape: Array.from(y.shape), data: bytes.toString('base64') });
  } catch (error) {
    results.push({ name: c.name, error: `${error.name}: ${error.message}` });
  }
}
const cpu = sk.backends().find((b) => b.name === 'cpu');
const core = require(path.join(path.resolve(packageDir), 'dist', 'loader.js')).bindingPath();
fs.writeFileSync(outFile, JSON.stringify({
  arch: process.arch, platform: process.platform, core, cpu: cpu && cpu.device,
  seconds: (Date.now() - started) / 1000, results,
}));
