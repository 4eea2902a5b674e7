#!/usr/bin/env node
'use strict';
// The stridekit half of the GPU benchmark that scripts/gpu-check.sh runs on a lent NVIDIA machine, and the
// comparison with the PyTorch half (scripts/gpu-bench-torch.py) on the same GPU:
//
//   node scripts/gpu-bench.js run --out FILE [--backend cudnn] [--layer TEXT] [--min-ms N]
//     every layer of bench/layers.json at precision fp32, tf32 and fp16, each timed two ways:
//       device  plan.runSync(DeviceTensor x, { out: DeviceTensor y }): the tensors stay on the GPU; a
//               call returns when y is complete (the plugin waits for its stream);
//       host    plan.runSync(Float32Array x, { out }) : x to the GPU, the convolution, y back.
//     Median milliseconds per call after warm-up, and the largest difference between the two paths'
//     outputs (they run the same plan, so it must be 0).
//   node scripts/gpu-bench.js compare STRIDEKIT.json TORCH.json --out FILE.md
//     one table per precision: stridekit and PyTorch side by side, the speed-up (PyTorch ms / stridekit
//     ms: above 1.00x stridekit is faster), the geometric mean over the large layers, and the tiny
//     layer's per-call time.
const fs = require('node:fs');
const path = require('node:path');
const { loadSuite } = require('../bench/layers');

const PRECISIONS = ['fp32', 'tf32', 'fp16'];
const TINY = 'tiny';

function argument(args, name, fallback) {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
}

function median(values) {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

// Milliseconds per call of fn: a few warm-up calls, then calls until minMs have passed (at least 5).
function time(fn, minMs) {
  for (let i = 0; i < 3; i++) fn();
  const samples = [];
  const start = process.hrtime.bigint();
  while (samples.length < 5 || Number(process.hrtime.bigint() - start) / 1e6 < minMs) {
    const t0 = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (samples.length >= 10000) break;
  }
  return { ms: median(samples), best: Math.min(...samples), calls: samples.length };
}

function run(args) {
  const sk = require('..');
  const backend = argument(args, 'backend', 'cudnn');
  const out = argument(args, 'out');
  const minMs = Number(argument(args, 'min-ms', '200'));
  if (!out) throw new Error('run needs --out FILE');
  const info = sk.backends().find((b) => b.name === backend);
  if (!info || !info.available) throw new Error(`backend ${backend} is not available: ${info ? info.reason : 'unknown'}`);
  const results = [];
  for (const layer of loadSuite(argument(args, 'layer'))) {
    for (const precision of PRECISIONS) {
      const entry = { layer: layer.name, precision, flops: layer.flops };
      try {
        const started = process.hrtime.bigint();
        const plan = sk.createConv({ weight: layer.w, bias: layer.bias, backend, precision, ...layer.options });
        const hostY = { data: new Float32Array(layer.yShape.reduce((a, c) => a * c, 1)), shape: layer.yShape };
        plan.runSync(layer.x, { out: hostY });
        entry.firstCallMs = Number(process.hrtime.bigint() - started) / 1e6;  // plan creation, measuring, one run
        entry.host = time(() => plan.runSync(layer.x, { out: hostY }), minMs);
        const dx = sk.upload(layer.x, { backend });
        const dy = plan.runSync(dx);
        entry.device = time(() => plan.runSync(dx, { out: dy }), minMs);
        const deviceY = dy.download().data;
        let worst = 0;
        for (let i = 0; i < deviceY.length; i++) worst = Math.max(worst, Math.abs(deviceY[i] - hostY.data[i]));
        entry.hostDeviceDifference = worst;
        dx.dispose();
        dy.dispose();
        plan.dispose();
      } catch (e) {
        entry.error = String(e && e.message ? e.message : e);
      }
      results.push(entry);
      const line = entry.error ? `error: ${entry.error}`
        : `device ${entry.device.ms.toFixed(4)} ms, host ${entry.host.ms.toFixed(4)} ms, first call ${entry.firstCallMs.toFixed(1)} ms`;
      console.log(`${layer.name.padEnd(30)} ${precision}  ${line}`);
    }
  }
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ peer: `stridekit ${backend}`, device: info.device, node: process.version, results }, null, 2));
}

function geomean(values) {
  return values.length ? Math.exp(values.reduce((a, v) => a + Math.log(v), 0) / values.length) : NaN;
}

function compare(args) {
  const [mineFile, torchFile] = args.filter((a) => !a.startsWith('--') && a !== argument(args, 'out'));
  const mine = JSON.parse(fs.readFileSync(mineFile, 'utf8'));
  const torch = JSON.parse(fs.readFileSync(torchFile, 'utf8'));
  const lines = [`stridekit: ${mine.device}`, `PyTorch: ${torch.torch} (cuDNN ${torch.cudnn}, CUDA ${torch.cuda}) on ${torch.device}`, ''];
  for (const precision of PRECISIONS) {
    lines.push(`### ${precision}`, '',
      '| layer | stridekit device ms | torch device ms (events) | torch device ms (synced call) | speed-up (vs synced) | stridekit host ms | torch host ms | host speed-up |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    const deviceRatios = [];
    const hostRatios = [];
    for (const m of mine.results.filter((r) => r.precision === precision)) {
      const t = torch.results.find((r) => r.layer === m.layer && r.precision === precision);
      if (m.error || !t || t.error) {
        lines.push(`| ${m.layer} | ${m.error || ''} | ${t ? t.error || '' : 'no torch result'} | | | | | |`);
        continue;
      }
      const dr = t.device_synced_ms / m.device.ms;
      const hr = t.host_ms / m.host.ms;
      if (!m.layer.startsWith(TINY)) {
        deviceRatios.push(dr);
        hostRatios.push(hr);
      }
      lines.push(`| ${m.layer} | ${m.device.ms.toFixed(4)} | ${t.device_events_ms.toFixed(4)} | ${t.device_synced_ms.toFixed(4)} | ${dr.toFixed(2)}x | ` +
        `${m.host.ms.toFixed(3)} | ${t.host_ms.toFixed(3)} | ${hr.toFixed(2)}x |`);
    }
    lines.push('', `geometric mean over the large layers: device ${geomean(deviceRatios).toFixed(2)}x, host ${geomean(hostRatios).toFixed(2)}x`, '');
  }
  const text = lines.join('\n');
  console.log(text);
  const out = argument(args, 'out');
  if (out) fs.writeFileSync(out, `${text}\n`);
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'run') run(rest);
else if (command === 'compare') compare(rest);
else {
  console.error('usage: node scripts/gpu-bench.js run --out FILE [--backend B] [--layer TEXT] [--min-ms N] | compare MINE.json TORCH.json [--out FILE.md]');
  process.exit(2);
}
