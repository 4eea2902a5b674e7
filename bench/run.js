#!/usr/bin/env node
'use strict';
// npm run bench [-- --threads N] [--layer substring] [--out bench/results]
//
// Runs every layer of bench/layers.json on each available stridekit backend and, in the same process
// with the same thread count, on the peers a Node.js user would pick instead. Prints a table (ms,
// GFLOP/s, stridekit's speed-up over each peer), the per-call overhead on the tiny layer and the
// machine's measured GEMM peak, and writes JSON and an SVG chart under bench/results/.

const os = require('node:os');
const path = require('node:path');

function argument(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const threads = Number(argument('threads', process.env.STRIDEKIT_NUM_THREADS || os.availableParallelism()));
// The pool is sized when the addon loads: set the count before stridekit is required.
process.env.STRIDEKIT_NUM_THREADS = String(threads);

const sk = require('..');
const { loadSuite } = require('./layers');
const { measure, measureOverhead } = require('./timing');
const { printTable, speedup, geometricMean, writeJson, writeSvg } = require('./report');
const { stridekitPeers } = require('./peers/stridekit');
const { onnxruntimePeer } = require('./peers/onnxruntime');

function maxRelativeError(actual, expected) {
  let err = 0, scale = 1;
  for (let i = 0; i < expected.length; i++) {
    err = Math.max(err, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return err / scale;
}

/** GFLOP/s of a large GEMM through the CPU backend's own kernel: a 1x1 stride-1 convolution. */
async function gemmPeak() {
  const C = 512, K = 512, H = 48;
  const x = { data: new Float32Array(C * H * H).fill(0.5), shape: [1, C, H, H] };
  const plan = sk.createConv({ weight: { data: new Float32Array(K * C).fill(0.01), shape: [K, C, 1, 1] }, backend: 'cpu' });
  const out = { data: new Float32Array(K * H * H), shape: [1, K, H, H] };
  const { ms } = await measure(() => plan.runSync(x, { out }), { minSeconds: 1 });
  plan.dispose();
  return { m: K, n: H * H, k: C, ms, gflops: (2 * C * K * H * H) / ms / 1e6 };
}

async function callOverhead(layer) {
  const plan = sk.createConv({ weight: layer.w, bias: layer.bias, backend: 'cpu', ...layer.options });
  const options = { bias: layer.bias, backend: 'cpu', ...layer.options };
  const result = {
    'plan.runSync': await measureOverhead(() => plan.runSync(layer.x)),
    convSync: await measureOverhead(() => sk.convSync(layer.x, layer.w, options)),
    'plan.run (async)': await measureOverhead(() => plan.run(layer.x)),
    'conv (async)': await measureOverhead(() => sk.conv(layer.x, layer.w, options)),
  };
  plan.dispose();
  return result;
}

async function main() {
  const layers = loadSuite(argument('layer'));
  const peers = [...stridekitPeers(sk), onnxruntimePeer(threads)];
  const usable = peers.filter((p) => !p.unavailable);
  for (const p of peers) if (p.unavailable) console.log(`skipping ${p.name}: ${p.unavailable}`);
  const reference = usable[0].name;
  const machine = `${os.cpus()[0].model}, ${os.cpus().length} CPUs, ${os.platform()}-${os.arch()}`;
  console.log(`stridekit benchmark — ${machine}; ${threads} threads for every peer; ${new Date().toISOString()}`);
  console.log(sk.backends().map((b) => `${b.name}: ${b.available ? b.device : `unavailable (${b.reason})`}`).join('\n'));

  const peak = await gemmPeak();
  console.log(`GEMM peak (cpu backend kernel, ${peak.m}x${peak.n}x${peak.k}): ${peak.gflops.toFixed(1)} GFLOP/s\n`);

  const rows = [];
  for (const layer of layers) {
    const row = { layer: layer.name, gflop: layer.flops / 1e9, results: {} };
    let expected = null;
    for (const peer of usable) {
      const job = await peer.prepare(layer);
      const { ms, runs } = await measure(job.run);
      const output = job.output();
      if (!expected) expected = Float32Array.from(output);
      const error = maxRelativeError(output, expected);
      row.results[peer.name] = { ms, runs, gflops: layer.flops / ms / 1e6, shareOfPeak: layer.flops / ms / 1e6 / peak.gflops, maxRelativeError: error };
      if (error > 1e-3) console.warn(`warning: ${peer.name} differs from ${usable[0].name} on ${layer.name} by ${error}`);
      job.dispose();
    }
    rows.push(row);
  }
  const names = usable.map((p) => p.name);
  printTable(rows, names, reference);

  const summary = {};
  for (const peer of names) {
    if (peer === reference) continue;
    const ratios = rows.map((r) => speedup(r, reference, peer)).filter((v) => v !== null);
    summary[peer] = { geometricMeanSpeedup: geometricMean(ratios), slowestRatio: Math.min(...ratios) };
    console.log(`${reference} vs ${peer}: geometric mean ${summary[peer].geometricMeanSpeedup.toFixed(2)}x, worst layer ${summary[peer].slowestRatio.toFixed(2)}x`);
  }

  const tiny = layers.find((l) => l.name.startsWith('tiny'));
  const overhead = tiny ? await callOverhead(tiny) : null;
  if (overhead) {
    console.log(`\nper-call time on ${tiny.name}, microseconds:`);
    for (const [k, v] of Object.entries(overhead)) console.log(`  ${k.padEnd(18)} ${v.toFixed(1)}`);
  }

  const outDir = path.resolve(argument('out', path.join(__dirname, 'results')));
  const data = { date: new Date().toISOString(), machine, threads, node: process.version, gemmPeak: peak, reference, summary, overheadMicroseconds: overhead, rows };
  writeJson(path.join(outDir, 'latest.json'), data);
  writeSvg(path.join(outDir, 'latest.svg'), rows, names, `stridekit benchmark, ${threads} threads — ${machine}`);
  console.log(`\nwrote ${path.relative(process.cwd(), path.join(outDir, 'latest.json'))} and latest.svg`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
