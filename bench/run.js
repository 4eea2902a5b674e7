#!/usr/bin/env node
'use strict';
// npm run bench [-- --threads N] [--layer substring] [--peers substring] [--rounds N] [--out dir] [--save name] [--tfjs-threaded]
//
// Runs every layer of bench/layers.json on each available stridekit backend and, in the same process
// with the same thread count, on the peers a Node.js user would pick instead (onnxruntime-node's CPU
// execution provider, @tensorflow/tfjs-backend-wasm). When the openvino backend is available, OpenVINO
// called directly (bench/peers/openvino-direct.js: the same model and properties, timed in C++) runs
// too, and the ratio of stridekit's openvino plan to it is the cost of the bridge. Prints the peers and
// what each one's timed region includes, a table (ms, GFLOP/s, stridekit's speed-up over each peer, the
// bridge ratio), each entry's share of the machine's measured GEMM peak and of the same GEMM timed side
// by side with the layer (the load of the same minutes), the geometric-mean speed-up and
// worst layer per peer, and the per-call time on the tiny layer; writes JSON and an SVG chart under
// bench/results/ (latest.*, and <name>.*  with --save <name>, for a run to be recorded in the repository).

const os = require('node:os');
const path = require('node:path');

const USAGE = `usage: npm run bench -- [options]
  --threads N        threads for every peer (default: $STRIDEKIT_NUM_THREADS or the CPUs available)
  --layer TEXT       only the layers whose name contains TEXT
  --peers TEXT       only the peers whose name contains TEXT, or one of several comma-separated (e.g.
                     openvino: the plugin and OpenVINO direct; cpu,onnx: stridekit's cpu backend and ORT)
  --out DIR          where to write the results (default: bench/results)
  --save NAME        also write DIR/NAME.json and DIR/NAME.svg (latest.* are not committed; these are)
  --rounds N         time every layer N times on all peers, and keep each peer's lowest median
                     (default 1); within a round the peers are timed side by side in interleaved slices,
                     so that load from elsewhere falls on all of them alike
  --precision P      also time each stridekit plan and OpenVINO direct with precision P (bf16, fp16 or
                     tf32: a permission), as peers of their own beside the float32 ones, and compare
                     each with its float32 plan and with OpenVINO direct at P
  --tfjs-threaded    experimental: start tfjs-backend-wasm's threaded build in Node through a start-up
                     workaround (out of the box it runs single-threaded in Node); see bench/peers/tfjs-wasm.js
  --help             this text

peers: stridekit's backends (plan.runSync and convSync each), onnxruntime-node, tfjs-backend-wasm and,
when the openvino backend is available, "openvino (direct)": OpenVINO's C++ runtime called directly on
the graph the plugin builds for those layers, built with OpenVINO's own API, with the same properties
and thread count (a CMake project of its own, bench/peers/openvino-direct/, configured and built on
demand in build/bench/openvino-direct/). Its columns "bridge" and "best" are stridekit openvino plan /
openvino (direct), on median and on fastest runs: what the facade, the core and the plugin add (1.00x:
nothing).`;

function fail(message) {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

function argument(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  if (i + 1 >= process.argv.length || process.argv[i + 1].startsWith('--')) fail(`--${name} needs a value`);
  return process.argv[i + 1];
}
const flag = (name) => process.argv.includes(`--${name}`);

if (flag('help')) {
  console.log(USAGE);
  process.exit(0);
}

const threads = Number(argument('threads', process.env.STRIDEKIT_NUM_THREADS || os.availableParallelism()));
if (!Number.isInteger(threads) || threads < 1) fail(`--threads must be a positive integer, got ${argument('threads')}`);
const rounds = Number(argument('rounds', 1));
if (!Number.isInteger(rounds) || rounds < 1) fail(`--rounds must be a positive integer, got ${argument('rounds')}`);
const { PRECISIONS } = require('../dist/options');
const precision = argument('precision', 'fp32');
if (!PRECISIONS.includes(precision)) fail(`--precision must be one of ${PRECISIONS.join(', ')}, got ${precision}`);
const saveName = argument('save', null);
if (saveName !== null && !/^[\w.-]+$/.test(saveName)) fail(`--save takes a file name (letters, digits, _ . -), got ${saveName}`);
// The pool is sized when the addon loads: set the count before stridekit is required.
process.env.STRIDEKIT_NUM_THREADS = String(threads);
// The checkout's own OpenVINO and CUDA runtimes, as the tests use them (scripts/checkout-runtimes.js).
require('../scripts/checkout-runtimes');

const sk = require('..');
const { loadSuite } = require('./layers');
const {
  functionTimer, measureSideBySide, measure, measureOverhead, measureOverheadsSideBySide, OVERHEAD_DEFAULTS, TIMING_DEFAULTS,
} = require('./timing');
const { printTable, speedup, bridgeRatio, geometricMean, writeJson, writeSvg } = require('./report');
const { stridekitPeers } = require('./peers/stridekit');
const { onnxruntimePeer } = require('./peers/onnxruntime');
const { tfjsWasmPeer } = require('./peers/tfjs-wasm');
const { openvinoDirectPeer } = require('./peers/openvino-direct');

function maxRelativeError(actual, expected) {
  let err = 0, scale = 1;
  for (let i = 0; i < expected.length; i++) {
    err = Math.max(err, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return err / scale;
}

/**
 * A large GEMM through the CPU backend's own kernel: a 1x1 stride-1 convolution of channels_last data
 * is a plain GEMM (pixels x C times C x K), the packed kernel with no im2col and no layout change,
 * large enough that packing is noise. run() multiplies once.
 */
function gemmJob() {
  const C = 1024, K = 1024, H = 24;
  const x = { data: new Float32Array(C * H * H).fill(0.5), shape: [1, H, H, C] };
  const plan = sk.createConv({
    weight: { data: new Float32Array(K * C).fill(0.01), shape: [K, C, 1, 1] }, layout: 'channels_last', backend: 'cpu',
  });
  const out = { data: new Float32Array(K * H * H), shape: [1, H, H, K] };
  return { backend: 'cpu', m: H * H, n: K, k: C, flops: 2 * C * K * H * H, run: () => plan.runSync(x, { out }), dispose: () => plan.dispose() };
}

/**
 * GFLOP/s of the GEMM (gemmJob): the fastest of the repeated runs, since a peak is what the machine
 * can do, not what it did on average. Measured at the start and again at the end of the benchmark;
 * the better of the two counts, so that a burst of load from elsewhere on a shared machine does not
 * lower it.
 */
async function gemmPeak(gemm, previous = null) {
  const { ms, minMs, runs } = await measure(gemm.run, { minSeconds: 1 });
  const { backend, m, n, k, flops } = gemm;
  const peak = { backend, m, n, k, bestMs: minMs, medianMs: ms, runs, gflops: flops / minMs / 1e6, medianGflops: flops / ms / 1e6 };
  return previous && previous.gflops >= peak.gflops ? previous : peak;
}

/**
 * Per-call time on the tiny layer: stridekit's four entry points on the cpu backend, plan.runSync on
 * openvino when it is there (in turns with OpenVINO called directly, whose ratio to it is the bridge's
 * per-call cost), then each other peer's timed call.
 */
async function callOverhead(layer, otherPeers) {
  const plan = sk.createConv({ weight: layer.w, bias: layer.bias, backend: 'cpu', ...layer.options });
  const out = { data: new Float32Array(layer.yShape.reduce((a, b) => a * b, 1)), shape: layer.yShape };
  const options = { bias: layer.bias, backend: 'cpu', ...layer.options };
  const stridekit = {
    'plan.runSync': await measureOverhead(() => plan.runSync(layer.x, { out })),
    convSync: await measureOverhead(() => sk.convSync(layer.x, layer.w, options)),
    'plan.run (async)': await measureOverhead(() => plan.run(layer.x, { out })),
    'conv (async)': await measureOverhead(() => sk.conv(layer.x, layer.w, options)),
  };
  plan.dispose();
  const peers = {};
  if (sk.backends().some((b) => b.name === 'openvino' && b.available)) {
    const openvinoPlan = sk.createConv({ weight: layer.w, bias: layer.bias, backend: 'openvino', ...layer.options });
    const planCalls = () => measureOverhead(() => openvinoPlan.runSync(layer.x, { out }));
    const direct = otherPeers.find((peer) => peer.bridgeOf);
    const directJob = direct ? await direct.prepare(layer) : null;
    if (directJob && !directJob.unsupported) {
      const [plugin, own] = await measureOverheadsSideBySide([planCalls, () => directJob.measureOverhead()]);
      stridekit['openvino plan.runSync'] = plugin;
      peers[direct.name] = own;
      directJob.dispose();
    } else {
      stridekit['openvino plan.runSync'] = await planCalls();
    }
    openvinoPlan.dispose();
  }
  for (const peer of otherPeers) {
    if (peer.name in peers) continue;
    const job = await peer.prepare(layer);
    if (job.unsupported) continue;
    peers[peer.name] = job.measureOverhead ? await job.measureOverhead() : await measureOverhead(job.run);
    job.dispose();
  }
  return { layer: layer.name, stridekit, peers };
}

// The bridge is within target when the plugin's plan takes at most this many times OpenVINO's own run.
const BRIDGE_TARGET = 1.1;

function bridgeSummary(rows, peers) {
  const directPeer = peers.find((p) => p.bridgeOf);
  const compared = rows.filter((r) => r.bridge);
  if (!directPeer || compared.length === 0) return null;
  const worst = compared.reduce((a, b) => (b.bridge.ratio > a.bridge.ratio ? b : a));
  return {
    plugin: directPeer.bridgeOf,
    direct: directPeer.name,
    meaning: 'median ms of the plugin plan / median ms of OpenVINO called directly, per layer: what the facade, the core and the plugin add (bestRun: the same for the fastest run of each)',
    geometricMean: geometricMean(compared.map((r) => r.bridge.ratio)),
    bestRunGeometricMean: geometricMean(compared.map((r) => r.bridge.bestRunRatio)),
    worstRatio: worst.bridge.ratio,
    worstLayer: worst.layer,
    target: BRIDGE_TARGET,
    layersCompared: compared.length,
    layersWithinTarget: compared.filter((r) => r.bridge.ratio <= BRIDGE_TARGET).length,
    layersWithinTargetBestRun: compared.filter((r) => r.bridge.bestRunRatio <= BRIDGE_TARGET).length,
  };
}

/** The bridge ratio of every layer, for the chart's notes. */
function bridgeNotes(rows, s) {
  const perLayer = rows.filter((r) => r.bridge).map((r) => `${r.layer} ${r.bridge.ratio.toFixed(2)}x`).join(', ');
  return [`bridge (${s.plugin} / ${s.direct}, median ms; 1.00x: the bridge adds nothing): ${perLayer}; geometric mean ${s.geometricMean.toFixed(2)}x (fastest runs: ${s.bestRunGeometricMean.toFixed(2)}x)`];
}

async function main() {
  const layers = loadSuite(argument('layer'));
  if (layers.length === 0) fail(`no layer matches --layer ${argument('layer')}`);
  // OpenVINO called directly sits right after the plugin's plan, the run whose bridge it measures.
  const ownPeers = stridekitPeers(sk, precision);
  const direct = await openvinoDirectPeer(sk, threads);
  const plugin = ownPeers.findIndex((p) => p.name === direct.bridgeOf);
  const at = plugin < 0 ? ownPeers.length : plugin + 1;
  const reduced = precision === 'fp32' ? [] : [await openvinoDirectPeer(sk, threads, precision)];
  const peers = [...ownPeers.slice(0, at), direct, ...reduced, ...ownPeers.slice(at), onnxruntimePeer(threads), await tfjsWasmPeer(threads, { threaded: flag('tfjs-threaded') })];
  for (const p of peers) if (p.threads === undefined && p.backend) p.threads = threads;
  const wanted = argument('peers', null);
  const usable = peers.filter((p) => !p.unavailable && (!wanted || wanted.split(',').some((w) => p.name.includes(w))));
  if (usable.length === 0) fail(`no available peer matches --peers ${wanted}`);
  for (const p of peers) if (p.unavailable) console.log(`skipping ${p.name}: ${p.unavailable}`);
  const reference = usable[0].name;
  const machine = `${os.cpus()[0].model.trim()}, ${os.cpus().length} CPUs, ${os.platform()}-${os.arch()}`;
  const date = new Date().toISOString();
  const roundsText = rounds > 1 ? `; ${rounds} rounds per layer, every peer's lowest median kept` : '';
  const precisionText = precision === 'fp32' ? '' : `; stridekit's plans and OpenVINO direct also at precision ${precision} (the peers named so)`;
  console.log(`stridekit benchmark — ${machine}; ${threads} threads for every peer${roundsText}${precisionText}; node ${process.version}; ${date}`);
  console.log(sk.backends().map((b) => `${b.name}: ${b.available ? b.device : `unavailable (${b.reason})`}`).join('\n'));
  for (const p of usable) if (p.note) console.log(`${p.name}: ${p.note}`);

  // One GEMM plan serves the peak, at the start and the end, and the GEMM timed beside every layer.
  const gemm = gemmJob();
  let peak = await gemmPeak(gemm);
  console.log(`GEMM peak (${peak.backend} backend kernel, ${peak.m}x${peak.n}x${peak.k}, best run): ${peak.gflops.toFixed(1)} GFLOP/s (median run ${peak.medianGflops.toFixed(1)}); measured again at the end\n`);

  const rows = [];
  for (const layer of layers) {
    process.stderr.write(`${layer.name} ...`);
    const row = { layer: layer.name, gflop: layer.flops / 1e9, results: {} };
    const jobs = [];
    for (const peer of usable) {
      const job = await peer.prepare(layer);
      if (job.unsupported) row.results[peer.name] = { skipped: job.unsupported };
      else jobs.push({ peer, job, best: null, medians: [] });
    }
    // Every round times all peers side by side, in interleaved slices (bench/timing.js), so that load
    // from elsewhere falls on all of them alike; each peer keeps its round with the lowest median. The
    // GEMM of the peak runs beside them: what the kernel did under the same load.
    const gemmMedians = [];
    for (let round = 0; round < rounds; round++) {
      const timers = [...jobs.map((entry) => entry.job.timer || functionTimer(entry.job.run)), functionTimer(gemm.run)];
      const timings = await measureSideBySide(timers);
      jobs.forEach((entry, i) => {
        entry.medians.push(timings[i].ms);
        if (!entry.best || timings[i].ms < entry.best.ms) entry.best = timings[i];
      });
      gemmMedians.push(timings[jobs.length].ms);
    }
    const gemmMs = Math.min(...gemmMedians);
    row.gemmBeside = { medianMs: gemmMs, gflops: gemm.flops / gemmMs / 1e6 };
    process.stderr.write(` ${jobs.map((entry) => entry.peer.short).join(', ')}`);
    for (const { job } of jobs) if (job.finish) await job.finish();
    let expected = null;
    for (const { peer, job, best, medians } of jobs) {
      const { ms, minMs, runs } = best;
      const output = job.output();
      if (!expected) expected = Float32Array.from(output);
      const error = output.length === expected.length ? maxRelativeError(output, expected) : Infinity;
      const gflops = layer.flops / ms / 1e6;
      row.results[peer.name] = {
        ms, minMs, runs, gflops, shareOfPeak: gflops / peak.gflops, shareOfGemmBeside: gflops / row.gemmBeside.gflops, maxRelativeError: error,
        ...(rounds > 1 ? { roundMedians: medians } : {}), ...(job.details ? job.details() : {}), ...(job.note ? { note: job.note } : {}),
      };
      // A reduced precision's own bound: bf16 rounds x and w to 8-bit significands (fp16 11, tf32 11).
      if (!(error <= (peer.precision ? 3e-2 : 1e-3))) console.warn(`\nwarning: ${peer.name} differs from ${reference} on ${layer.name} by ${error}`);
      job.dispose();
    }
    process.stderr.write('\n');
    for (const p of usable.filter((b) => b.bridgeOf)) {
      const ratio = bridgeRatio(row, p);
      if (ratio !== null) row.bridge = { plugin: p.bridgeOf, direct: p.name, ratio, bestRunRatio: bridgeRatio(row, p, true) };
    }
    rows.push(row);
  }
  // The peak again, now that everything else has run: keep the better measurement, and every share.
  const start = peak;
  peak = await gemmPeak(gemm, peak);
  gemm.dispose();
  if (peak !== start) for (const row of rows) for (const r of Object.values(row.results)) if (r.gflops !== undefined) r.shareOfPeak = r.gflops / peak.gflops;
  printTable(rows, usable, reference, peak);

  console.log('');
  // How many times faster `a` ran than `b` over the layers both ran: geometric mean and worst layer.
  const compare = (a, b) => {
    const ratios = rows.map((r) => ({ layer: r.layer, ratio: speedup(r, a, b) })).filter((v) => v.ratio !== null);
    if (ratios.length === 0) return null;
    const worst = ratios.reduce((x, y) => (y.ratio < x.ratio ? y : x));
    return {
      geometricMeanSpeedup: geometricMean(ratios.map((v) => v.ratio)),
      slowestRatio: worst.ratio,
      slowestLayer: worst.layer,
      layersCompared: ratios.length,
      layersSkipped: rows.filter((r) => r.results[b] && r.results[b].skipped).map((r) => r.layer),
    };
  };
  const line = (a, b, s) => {
    const skipped = s.layersSkipped.length ? `; ${s.layersSkipped.length} unsupported, left out` : '';
    console.log(`${a} vs ${b}: geometric mean ${s.geometricMeanSpeedup.toFixed(2)}x over ${s.layersCompared} layers${skipped}, worst layer ${s.slowestRatio.toFixed(2)}x (${s.slowestLayer})`);
  };
  const summary = {};
  for (const peer of usable) {
    if (peer.name === reference || peer.bridgeOf) continue; // the bridge line below speaks for OpenVINO direct
    const s = compare(reference, peer.name);
    if (!s) continue;
    summary[peer.name] = s;
    line(reference, peer.name, s);
  }
  // Every other stridekit backend's plan against the outside peers too: each backend has its own
  // targets (the cpu backend's against onnxruntime-node, say), whichever backend 'auto' selects.
  const planSummaries = {};
  const outside = usable.filter((p) => !p.backend && !p.bridgeOf && !p.precision);
  for (const plan of usable.filter((p) => p.backend && p.name !== reference && p.name.endsWith(' plan'))) {
    for (const peer of outside) {
      const s = compare(plan.name, peer.name);
      if (!s) continue;
      (planSummaries[plan.name] ||= {})[peer.name] = s;
      line(plan.name, peer.name, s);
    }
  }

  // Each plan at the reduced precision against its own float32 plan (what the permission buys) and
  // against OpenVINO direct at the same precision.
  const precisionSummaries = {};
  for (const plan of usable.filter((p) => p.backend && p.precision)) {
    const against = [plan.name.slice(0, -` ${precision}`.length), ...usable.filter((p) => !p.backend && p.precision).map((p) => p.name)];
    for (const other of against) {
      const s = other && usable.some((p) => p.name === other) ? compare(plan.name, other) : null;
      if (!s) continue;
      (precisionSummaries[plan.name] ||= {})[other] = s;
      line(plan.name, other, s);
    }
  }

  const bridge = bridgeSummary(rows, usable);
  if (bridge) {
    const s = bridge;
    const within = Math.round(100 * (s.target - 1));
    console.log(`bridge (${s.plugin} / ${s.direct}): geometric mean ${s.geometricMean.toFixed(3)}x over ${s.layersCompared} layers, worst ${s.worstRatio.toFixed(3)}x (${s.worstLayer}); within ${within}% on ${s.layersWithinTarget} of ${s.layersCompared}; fastest runs: geometric mean ${s.bestRunGeometricMean.toFixed(3)}x, within ${within}% on ${s.layersWithinTargetBestRun}`);
  }

  const tiny = layers.find((l) => l.name.startsWith('tiny'));
  const overhead = tiny ? await callOverhead(tiny, usable.filter((p) => !p.backend)) : null;
  if (overhead) {
    console.log(`\nper-call time on ${tiny.name}, microseconds (async calls awaited one after the other), median and best batch:`);
    const entries = [...Object.entries(overhead.stridekit).map(([k, v]) => [`stridekit ${k}`, v]), ...Object.entries(overhead.peers)];
    const width = Math.max(...entries.map(([k]) => k.length));
    for (const [k, v] of entries) console.log(`  ${k.padEnd(width)}  ${v.median.toFixed(1).padStart(7)}  ${v.best.toFixed(1).padStart(7)}`);
  }

  const outDir = path.resolve(argument('out', path.join(__dirname, 'results')));
  const peerInfo = usable.map((p) => ({
    name: p.name, short: p.short, threads: p.threads, timed: p.timed, ...(p.precision ? { precision: p.precision } : {}),
    ...(p.note ? { note: p.note } : {}), ...(p.version ? { version: p.version } : {}), ...(p.wasmBinary ? { wasmBinary: p.wasmBinary } : {}),
  }));
  const T = TIMING_DEFAULTS;
  const data = {
    date, machine, threads, precision, node: process.version, stridekit: require('../package.json').version,
    timing: `every peer's median and fastest call, the peers timed side by side: each warmed up (at least ${T.warmup} calls and ${T.warmupSeconds} s), ` +
      `then ${T.slices} interleaved slices, in each of which every peer in turn, after a pause of ${T.settleSeconds} s, runs one untimed call and then timed calls for ${T.minSeconds / T.slices} s ` +
      `(over all slices at least ${T.minRuns} and at most ${T.maxRuns} per peer); a peer whose first call takes over ${T.slowSeconds} s: ` +
      `no warm-up and ${T.slowRuns} calls after the others` +
      (rounds > 1 ? `; ${rounds} rounds, the lowest of a peer's ${rounds} medians kept (roundMedians lists them)` : ''),
    rounds,
    overheadTiming: `overheadMicroseconds: microseconds per call on the tiny layer, timed in batches of ${OVERHEAD_DEFAULTS.batch} calls ` +
      `after ${OVERHEAD_DEFAULTS.warmupBatches} warm-up batches; the median and the best of ${OVERHEAD_DEFAULTS.batches} batches; ` +
      `stridekit's openvino plan.runSync and OpenVINO called directly take ${OVERHEAD_DEFAULTS.rounds} turns each, ` +
      'the median of their round medians kept (roundMedians lists them)',
    gemmPeak: peak, reference, peers: peerInfo,
    skipped: peers.filter((p) => p.unavailable).map((p) => ({ name: p.name, reason: p.unavailable })),
    summary, planSummaries, ...(precision !== 'fp32' ? { precisionSummaries } : {}), ...(bridge ? { bridge } : {}), overheadMicroseconds: overhead, rows,
  };
  const title = `stridekit benchmark: ${threads} thread${threads === 1 ? '' : 's'} per peer`;
  const subtitle = `${machine}; node ${process.version}; ${date.slice(0, 16).replace('T', ' ')} UTC; bars: GFLOP/s, median of repeated runs${rounds > 1 ? ` (lowest of ${rounds} rounds)` : ''}`;
  const names = ['latest', ...(saveName ? [saveName] : [])];
  for (const name of names) {
    writeJson(path.join(outDir, `${name}.json`), data);
    writeSvg(path.join(outDir, `${name}.svg`), rows, usable, { title, subtitle, peak, notes: bridge ? bridgeNotes(rows, bridge) : [] });
  }
  for (const p of peers) if (p.close) await p.close();
  console.log(`\nwrote ${names.map((n) => path.relative(process.cwd(), path.join(outDir, n))).map((f) => `${f}.json, ${f}.svg`).join(', ')}`);
  return peers.some((p) => p.keepsProcessAlive);
}

main().then((forceExit) => {
  // The threaded tfjs build's worker threads keep the event loop alive: end explicitly then.
  if (forceExit) process.exit(0);
}, (error) => {
  console.error(error);
  process.exit(1);
});
