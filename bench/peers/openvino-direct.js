'use strict';
// OpenVINO called directly, the peer beside stridekit's openvino backend: what the plugin, the core and
// the facade add around OpenVINO (the cost of the bridge) is the ratio of the two.
//
// The driver, bench/peers/openvino-direct/openvino_direct.cc, builds the layer's model with OpenVINO's
// own API, compiles it with the properties the plugin sets and times ov::InferRequest::infer() in C++,
// as one of bench/timing.js's timers, side by side with the in-process peers. This module configures
// and builds it (a CMake project of its own, bench/peers/openvino-direct/CMakeLists.txt, in
// build/bench/openvino-direct/), starts it once per benchmark, and opens one layer at a time: the tensors
// as raw float32 files in a temporary folder, the geometry and timing parameters on one line of stdin.
// The driver answers each request with one JSON line: the layer compiled and warmed up, the times of a
// slice of infer() calls, and on closing, its output written for the benchmark's error check. Process
// start-up, file reading and compile_model stay outside the timings.

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const { OVERHEAD_DEFAULTS } = require('../timing');

const ROOT = path.join(__dirname, '..', '..');
const SOURCE_DIR = path.join(__dirname, 'openvino-direct');
const BUILD_DIR = path.join(ROOT, 'build', 'bench', 'openvino-direct');
const TARGET = 'stridekit_openvino_direct';
const EXECUTABLE = path.join(BUILD_DIR, process.platform === 'win32' ? `${TARGET}.exe` : TARGET);
const DIRECT_NAME = 'openvino (direct)';
const DIRECT_SHORT = 'ov direct';
// The stridekit peer whose run this one measures the bridge of (bench/peers/stridekit.js names it).
const PLUGIN_PEER = 'stridekit openvino plan';

/** The last lines of a failed command's output, on one line. */
function lastLines(result) {
  return `${result.stdout}\n${result.stderr}`.trim().split('\n').filter(Boolean).slice(-3).join(' / ');
}

/** The driver configured (once) and built (or found up to date); a reason string when that fails. */
function buildDriver() {
  const cmake = (args) => spawnSync('cmake', args, { encoding: 'utf8' });
  const where = path.relative(ROOT, BUILD_DIR);
  if (!fs.existsSync(path.join(BUILD_DIR, 'CMakeCache.txt'))) {
    const configured = cmake(['-S', SOURCE_DIR, '-B', BUILD_DIR, '-DCMAKE_BUILD_TYPE=Release']);
    if (configured.error) return `cannot run cmake to configure the driver: ${configured.error.message}`;
    if (configured.status !== 0) {
      // A failed configure leaves a cache that would hide the failure from the next run.
      fs.rmSync(BUILD_DIR, { recursive: true, force: true });
      return `configuring the driver (cmake -S ${path.relative(ROOT, SOURCE_DIR)} -B ${where}) failed: ${lastLines(configured)}`;
    }
  }
  const built = cmake(['--build', BUILD_DIR, '--target', TARGET, '--config', 'Release']);
  if (built.error) return `cannot run cmake to build the driver: ${built.error.message}`;
  if (built.status !== 0) return `building the driver (cmake --build ${where}) failed: ${lastLines(built)}`;
  return fs.existsSync(EXECUTABLE) ? null : `the driver was built but ${EXECUTABLE} is missing`;
}

/** The OpenVINO release in a backend's device description ("... (OpenVINO 2025.3.0; devices: CPU)"), or null. */
function openvinoRelease(device) {
  const match = /OpenVINO (\d[\w.]*)/.exec(device || '');
  return match ? match[1] : null;
}

/** The driver process, as a function from one request line to its parsed JSON reply. */
function startDriver() {
  const child = spawn(EXECUTABLE, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = [];
  let ended = null;
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    const next = waiting.shift();
    if (next) next.resolve(line);
  });
  child.on('exit', (code, signal) => {
    ended = `the driver exited (${signal || `code ${code}`})`;
    for (const w of waiting.splice(0)) w.reject(new Error(ended));
  });
  child.on('error', (error) => {
    ended = `the driver failed to start: ${error.message}`;
    for (const w of waiting.splice(0)) w.reject(new Error(ended));
  });
  const nextReply = () => new Promise((resolve, reject) => {
    if (ended) reject(new Error(ended));
    else waiting.push({ resolve: (line) => resolve(JSON.parse(line)), reject });
  });
  return {
    hello: nextReply(),
    request(line) {
      const reply = nextReply();
      child.stdin.write(`${line}\n`);
      return reply;
    },
    close: () => new Promise((resolve) => {
      if (ended) return resolve();
      child.once('exit', resolve);
      child.stdin.end();
      return undefined;
    }),
  };
}

/** The layer (channels first, as bench/layers.js lays every layer out) with every size explicit, one field a word. */
function layerFields(layer, files) {
  const rank = layer.rank;
  const perDim = (v, fallback) => (v === undefined ? Array(rank).fill(fallback) : Array.isArray(v) ? v : Array(rank).fill(v));
  const pads = layer.options.padding.map((p) => (Array.isArray(p) ? p : [p, p]));
  const fields = {
    rank,
    groups: layer.options.groups || 1,
    c: layer.x.shape[1],
    k: layer.w.shape[0],
    kernel: layer.w.shape.slice(2),
    stride: perDim(layer.options.stride, 1),
    dilation: perDim(layer.options.dilation, 1),
    batch: layer.x.shape[0],
    in: layer.x.shape.slice(2),
    out: layer.yShape.slice(2),
    pad_begin: pads.map((p) => p[0]),
    pad_end: pads.map((p) => p[1]),
    ...files,
  };
  return Object.entries(fields).map(([key, value]) => `${key}=${Array.isArray(value) ? value.join(',') : value}`).join(' ');
}

function writeFloats(file, data) {
  fs.writeFileSync(file, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}

/**
 * OpenVINO called directly at `precision`: fp32 (inference precision f32, the bridge's measure), or a
 * permission the plugin passes on ('bf16': inference precision bf16), as a peer of its own that stands
 * beside stridekit's plans at that precision instead of measuring a bridge.
 */
async function openvinoDirectPeer(sk, threads, precision = 'fp32') {
  const suffix = precision === 'fp32' ? '' : ` ${precision}`;
  const NAME = `${DIRECT_NAME}${suffix}`, SHORT = `${DIRECT_SHORT}${suffix}`;
  const openvino = sk.backends().find((b) => b.name === 'openvino');
  if (!openvino || !openvino.available) {
    const why = openvino ? openvino.reason : 'not known to this stridekit';
    return { name: NAME, short: SHORT, unavailable: `no bridge to measure: the openvino backend is unavailable (${why})` };
  }
  const problem = buildDriver();
  if (problem) return { name: NAME, short: SHORT, unavailable: problem };
  const driver = startDriver();
  let hello;
  try {
    hello = await driver.hello;
  } catch (error) {
    return { name: NAME, short: SHORT, unavailable: error.message };
  }
  // The bridge ratio means something only when both sides run the same OpenVINO release.
  const pluginRelease = openvinoRelease(openvino.device);
  if (pluginRelease && pluginRelease !== hello.openvino) {
    await driver.close();
    return {
      name: NAME,
      short: SHORT,
      unavailable: `the driver links OpenVINO ${hello.openvino}, the openvino backend ${pluginRelease}: point OpenVINO_DIR at one release and remove ${path.relative(ROOT, BUILD_DIR)}/`,
    };
  }
  // The device the plugin compiles for: the openvino backend reads the same variable.
  const device = process.env.STRIDEKIT_OPENVINO_DEVICE || 'CPU';
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-bench-openvino-'));
  const common = `device=${device} threads=${threads} precision=${precision}`;

  return {
    name: NAME,
    short: SHORT,
    threads,
    version: hello.openvino,
    ...(precision === 'fp32' ? { bridgeOf: PLUGIN_PEER } : { precision }),
    timed: `ov::InferRequest::infer() in a C++ process on the request's own tensors, filled once; the model the plugin builds for the layer, built with OpenVINO's API, and the plugin's compile properties (${device}, INFERENCE_NUM_THREADS ${threads}, inference precision ${precision === 'fp32' ? 'f32' : precision}); compile and process start outside timing`,
    async prepare(layer) {
      const files = { x: path.join(folder, 'x.f32'), w: path.join(folder, 'w.f32'), bias: path.join(folder, 'bias.f32'), y: path.join(folder, 'y.f32') };
      writeFloats(files.x, layer.x.data);
      writeFloats(files.w, layer.w.data);
      writeFloats(files.bias, layer.bias);
      fs.rmSync(files.y, { force: true });
      const fields = layerFields(layer, files);
      const ask = async (line) => {
        const reply = await driver.request(line);
        if (!reply.ok) throw new Error(`${NAME} on ${layer.name}: ${reply.error}`);
        return reply;
      };
      const o = OVERHEAD_DEFAULTS;
      let details = null;
      return {
        // bench/timing.js's timer interface, answered by the driver: `open` compiles the layer's model
        // and warms it up, `slice` times infer() calls, `close` writes the output.
        timer: {
          async warm({ warmup, warmupSeconds, slowSeconds }) {
            const r = await ask(`mode=open ${common} ${fields} warmup=${warmup} warmup_seconds=${warmupSeconds} slow_seconds=${slowSeconds}`);
            details = { compileMs: r.compileMs, properties: r.properties };
            return { slow: r.slow };
          },
          async slice({ seconds, minCalls, maxCalls, untimed }) {
            return (await ask(`mode=slice seconds=${seconds} min_calls=${minCalls} max_calls=${maxCalls} untimed=${untimed}`)).times;
          },
        },
        details: () => details,
        async measureOverhead() {
          const r = await ask(`mode=overhead ${common} ${fields} batch_calls=${o.batch} batches=${o.batches} warmup_batches=${o.warmupBatches}`);
          return { median: r.microsecondsPerCall, best: r.bestMicrosecondsPerCall };
        },
        // After the timing: the driver checks the output's shape and writes it for output().
        async finish() {
          if (details) await ask('mode=close');
        },
        output: () => {
          const bytes = fs.readFileSync(files.y);
          return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
        },
        dispose: () => {},
      };
    },
    async close() {
      await driver.close();
      fs.rmSync(folder, { recursive: true, force: true });
    },
  };
}

module.exports = { openvinoDirectPeer, PLUGIN_PEER };
