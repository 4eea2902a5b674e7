'use strict';
// @tensorflow/tfjs-backend-wasm: TensorFlow.js's WebAssembly backend (XNNPACK compiled to wasm), the
// peer a Node.js user picks who wants no native addon at all. Loaded fully offline: the .wasm binaries
// ship in the package's dist/ folder and setWasmPaths points the loader there as a file-path prefix
// (Node's emscripten loader reads it with fs; nothing is fetched).
//
// Threads. tfjs-backend-wasm 4.22 turns its threaded build off in Node: the WASM_HAS_MULTITHREAD_SUPPORT
// flag returns false when IS_NODE (a TODO in flags_wasm.ts), so Node gets tfjs-backend-wasm-simd.wasm
// and one thread. Forcing the flag does not work either: the pthread workers are started from blob:
// URLs, which Node's worker_threads rejects (ERR_WORKER_PATH), and the main script handed to them is a
// function's source that refers to the bundle's own variables. Even then, XNNPACK's pool is capped at
// logical CPUs / 2 (one thread on a 2-CPU machine). So by default this peer runs single-threaded and its
// name says so. `--tfjs-threaded` (experimental, not something a user gets out of the box) works around
// all three for the length of the backend's start-up: see startThreadedInNode below.
//
// Layout. tfjs is channels-last: input and weights are transposed once in prepare() (outside timing);
// the output is transposed back to channels-first only for the correctness cross-check (outside
// timing). 1-D layers run as 2-D with height 1, which is what tf.conv1d does internally.
//
// Timed region: tf.tidy(convolution op [+ tf.pad] [+ bias add]) then dataSync(), which copies the
// output out of the wasm heap into a new Float32Array, then dispose(). Comparable to onnxruntime-node
// (a new output tensor per run); stridekit's plan path writes into a preallocated buffer instead.
// tfjs's wasm kernels cache the XNNPACK operator (packed weights) per weight tensor, so after the
// warm-up each run is, like the plan path, convolution only.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** data of `shape` with its axes reordered: result axis i is input axis perm[i]. */
function permute(data, shape, perm) {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]);
  const inStrides = new Array(rank);
  for (let d = rank - 1, s = 1; d >= 0; d--) { inStrides[d] = s; s *= shape[d]; }
  const strides = perm.map((p) => inStrides[p]); // input stride of each output axis
  const out = new Float32Array(data.length);
  const index = new Array(rank).fill(0);
  const last = rank - 1, lastStride = strides[last], lastSize = outShape[last];
  let offset = 0;
  for (let o = 0; o < out.length; o += lastSize) {
    for (let i = 0, src = offset; i < lastSize; i++, src += lastStride) out[o + i] = data[src];
    for (let d = last - 1; d >= 0; d--) {
      index[d]++;
      offset += strides[d];
      if (index[d] < outShape[d]) break;
      offset -= index[d] * strides[d];
      index[d] = 0;
    }
  }
  return { data: out, shape: outShape };
}

const toChannelsLast = (t) => permute(t.data, t.shape, [0, ...t.shape.slice(2).map((_, i) => i + 2), 1]);
const toChannelsFirst = (data, shape) => permute(data, shape, [0, shape.length - 1, ...shape.slice(1, -1).map((_, i) => i + 1)]);

/** Runs fn while recording which .wasm files the emscripten loader reads. */
async function recordWasmReads(fn) {
  const reads = [];
  const saved = { readFile: fs.readFile, readFileSync: fs.readFileSync };
  const note = (file) => { if (String(file).endsWith('.wasm')) reads.push(path.basename(String(file))); };
  fs.readFile = function readFile(file, ...rest) { note(file); return saved.readFile.call(this, file, ...rest); };
  fs.readFileSync = function readFileSync(file, ...rest) { note(file); return saved.readFileSync.call(this, file, ...rest); };
  try {
    return { result: await fn(), reads };
  } finally {
    Object.assign(fs, saved);
  }
}

/**
 * EXPERIMENTAL (--tfjs-threaded): starts the threaded-simd build in Node by working around, during the
 * backend's start-up only, the three things that stop it (see the header). Returns a restore function.
 */
function startThreadedInNode(tf, threads) {
  const bundle = fs.readFileSync(require.resolve('@tensorflow/tfjs-backend-wasm'), 'utf8');
  // The threaded factory is shipped to the workers as its source text, which refers to the bundle's
  // top-level `var require$$N = require('...')` and `commonjsGlobal`: define them for the workers too.
  const requires = [...bundle.matchAll(/^var (require\$\$\d+) = require\('([\w:/]+)'\);$/gm)].map((m) => `${m[1]} = require('${m[2]}')`);
  const prelude = `var ${[...requires, 'commonjsGlobal = globalThis'].join(', ')};\n`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-bench-tfjs-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const mainScript = path.join(dir, 'tfjs-backend-wasm-threaded-simd.js');
  const workerScript = path.join(dir, 'tfjs-backend-wasm-threaded-simd.worker.js');

  const saved = { Blob: globalThis.Blob, createObjectURL: URL.createObjectURL, cpus: os.cpus };
  const realCpus = os.cpus();
  globalThis.Blob = class TextBlob extends saved.Blob {
    constructor(parts, options) {
      super(parts, options);
      this.text_ = parts.every((p) => typeof p === 'string') ? parts.join('') : null;
      if (this.text_ && this.text_.startsWith('var WasmBackendModuleThreadedSimd')) fs.writeFileSync(mainScript, prelude + this.text_);
    }
  };
  URL.createObjectURL = (blob) => {
    if (!blob || typeof blob.text_ !== 'string' || !blob.text_.includes('ENVIRONMENT_IS_PTHREAD')) return saved.createObjectURL(blob);
    // The pthread worker: load the main script from the file above instead of from a blob.
    const patched = blob.text_
      .replace('typeof e.data.urlOrBlob=="string"', 'true')
      .replace('importScripts(e.data.urlOrBlob)', `importScripts(${JSON.stringify(mainScript)})`);
    if (!patched.includes(JSON.stringify(mainScript))) throw new Error('unexpected pthread worker script: cannot redirect its main script');
    fs.writeFileSync(workerScript, patched);
    return workerScript;
  };
  // XNNPACK's pool size is min(requested, logical CPUs / 2): report enough CPUs for `threads`.
  os.cpus = () => Array.from({ length: Math.max(realCpus.length, 2 * threads) }, (_, i) => realCpus[i % realCpus.length]);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  return () => {
    globalThis.Blob = saved.Blob;
    URL.createObjectURL = saved.createObjectURL;
    os.cpus = saved.cpus;
  };
}

/** Explicit [begin, end] pads per spatial dimension, as layers.js writes them. */
function padsOf(layer) {
  return layer.options.padding.map((p) => (Array.isArray(p) ? p : [p, p]));
}

async function tfjsWasmPeer(threads, { threaded = false } = {}) {
  let tf, wasm;
  try {
    tf = require('@tensorflow/tfjs-core');
    wasm = require('@tensorflow/tfjs-backend-wasm');
  } catch (error) {
    return { name: 'tfjs-wasm', short: 'tfjs-wasm', unavailable: `cannot load @tensorflow/tfjs-core / tfjs-backend-wasm: ${error.message}` };
  }
  const dist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  wasm.setWasmPaths(dist);
  wasm.setThreadsCount(threads);
  const nodeFlag = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  const restore = threaded ? startThreadedInNode(tf, threads) : () => {};
  let started;
  try {
    started = await recordWasmReads(() => tf.setBackend('wasm'));
    await tf.ready();
  } catch (error) {
    return { name: 'tfjs-wasm', short: 'tfjs-wasm', keepsProcessAlive: threaded, unavailable: `the wasm backend did not start: ${error.message || error}` };
  } finally {
    restore();
  }
  if (!started.result || tf.getBackend() !== 'wasm') {
    return { name: 'tfjs-wasm', short: 'tfjs-wasm', keepsProcessAlive: threaded, unavailable: 'the wasm backend did not start (see the messages above)' };
  }
  const actualThreads = wasm.getThreadsCount();
  const binary = started.reads[0] || 'unknown';
  let name, note;
  if (threaded) {
    name = `tfjs-wasm (${actualThreads} thread${actualThreads === 1 ? '' : 's'}, patched threaded loader)`;
    note = `threaded-simd build started in Node through bench/peers/tfjs-wasm.js's start-up workaround (--tfjs-threaded); XNNPACK pool: ${actualThreads} threads`;
  } else if (actualThreads < threads) {
    name = `tfjs-wasm (${actualThreads} thread: threaded wasm unavailable in Node)`;
    note = `tfjs-backend-wasm disables its threaded build in Node (WASM_HAS_MULTITHREAD_SUPPORT=${nodeFlag}), so it ran ${binary} on ${actualThreads} thread; --tfjs-threaded tries a workaround`;
  } else {
    name = 'tfjs-wasm';
    note = `${binary}, ${actualThreads} thread`;
  }
  const short = `tfjs ${actualThreads}t`;

  const has = (kernel) => Boolean(tf.getKernel(kernel, 'wasm'));
  const missing = (kernels) => kernels.find((k) => !has(k));

  return {
    name,
    short,
    threads: actualThreads,
    wasmBinary: binary,
    version: tf.version_core,
    note,
    timed: 'tf.tidy(op [+ pad] [+ bias add]) + dataSync() (copies the output out of the wasm heap into a new Float32Array) + dispose(); NHWC transposes outside timing',
    keepsProcessAlive: threaded,
    prepare(layer) {
      const rank = layer.rank;
      const [, C] = layer.x.shape;
      const K = layer.w.shape[0];
      const groups = layer.options.groups || 1;
      const depthwise = groups > 1 && groups === C && K % C === 0;
      const strides = layer.options.stride;
      const dilations = layer.options.dilation || new Array(rank).fill(1);
      const pads = padsOf(layer);
      if (groups > 1 && !depthwise) return { unsupported: `unsupported by tfjs-backend-wasm: grouped convolution (groups=${groups}, not depthwise)` };
      if (rank === 3 && depthwise) return { unsupported: 'unsupported by tfjs-backend-wasm: depthwise Conv3D' };
      if (strides.some((s) => s > 1) && dilations.some((d) => d > 1)) return { unsupported: 'unsupported by tfjs: stride > 1 together with dilation > 1' };

      const base = tf.memory().numTensors;
      const xl = toChannelsLast(layer.x);
      let compute;
      let tensors;
      let note;
      if (rank === 3) {
        // tf.conv3d takes only 'valid' / 'same': explicit symmetric pads become a tf.pad inside the timed
        // region (what a user would write), unless they are what 'same' or 'valid' gives.
        const same = layer.x.shape.slice(2).every((n, d) => {
          const k = (layer.w.shape[2 + d] - 1) * dilations[d] + 1;
          const out = Math.ceil(n / strides[d]);
          const total = Math.max((out - 1) * strides[d] + k - n, 0);
          return pads[d][0] === Math.floor(total / 2) && pads[d][1] === total - Math.floor(total / 2);
        });
        const zero = pads.every(([b, e]) => b === 0 && e === 0);
        const needsPad = !same && !zero;
        const kernels = ['Conv3D', 'Add', ...(needsPad ? ['PadV2'] : [])];
        if (missing(kernels)) return { unsupported: `unsupported by tfjs-backend-wasm: ${missing(kernels)}` };
        const wl = permute(layer.w.data, layer.w.shape, [2, 3, 4, 1, 0]); // (kd, kh, kw, C, K)
        const x = tf.tensor(xl.data, xl.shape);
        const w = tf.tensor(wl.data, wl.shape);
        const b = tf.tensor1d(layer.bias);
        tensors = [x, w, b];
        const padding = [[0, 0], ...pads, [0, 0]];
        compute = () => tf.tidy(() => tf.add(tf.conv3d(needsPad ? tf.pad(x, padding) : x, w, strides, same ? 'same' : 'valid', 'NDHWC', dilations), b));
        note = "tf.conv3d runs tfjs-backend-wasm's own scalar loop (XNNPACK has no 3-D convolution), on one thread"
          + (needsPad ? '; tf.pad + tf.conv3d(valid) in the timed region (tf.conv3d takes only valid/same padding)' : '')
          + '; bias: tf.add in the timed region';
      } else {
        // 1-D as 2-D with height 1 (as tf.conv1d does); explicit pads go straight to the fused op.
        const x4 = rank === 1 ? [xl.shape[0], 1, xl.shape[1], xl.shape[2]] : xl.shape;
        const k2 = rank === 1 ? [1, layer.w.shape[2]] : layer.w.shape.slice(2);
        const s2 = rank === 1 ? [1, strides[0]] : strides;
        const d2 = rank === 1 ? [1, dilations[0]] : dilations;
        const p2 = rank === 1 ? [[0, 0], [0, 0], pads[0], [0, 0]] : [[0, 0], ...pads, [0, 0]];
        const kernel = depthwise ? 'FusedDepthwiseConv2D' : 'FusedConv2D';
        if (!has(kernel)) return { unsupported: `unsupported by tfjs-backend-wasm: ${kernel}` };
        // conv: (K, C, ...k) -> (...k, C, K); depthwise: (C*m, 1, ...k) -> (...k, C*m) -> (...k, C, m)
        const wl = depthwise
          ? permute(layer.w.data, [K, ...layer.w.shape.slice(2)], [...layer.w.shape.slice(2).map((_, i) => i + 1), 0])
          : permute(layer.w.data, layer.w.shape, [...layer.w.shape.slice(2).map((_, i) => i + 2), 1, 0]);
        const wShape = depthwise ? [...k2, C, K / C] : [...k2, C, K];
        const x = tf.tensor(xl.data, x4);
        const w = tf.tensor(wl.data, wShape);
        const b = tf.tensor1d(layer.bias);
        tensors = [x, w, b];
        const op = depthwise ? tf.fused.depthwiseConv2d : tf.fused.conv2d;
        const args = { x, filter: w, strides: s2, pad: p2, dataFormat: 'NHWC', dilations: d2, bias: b };
        compute = () => tf.tidy(() => op(args));
      }
      const yShapeLast = [layer.yShape[0], ...layer.yShape.slice(2), layer.yShape[1]];
      let last = null;
      return {
        note,
        run: () => {
          const y = compute();
          last = y.dataSync();
          y.dispose();
        },
        output: () => toChannelsFirst(last, yShapeLast).data,
        dispose: () => {
          for (const t of tensors) t.dispose();
          const left = tf.memory().numTensors - base;
          if (left !== 0) console.warn(`warning: tfjs-wasm leaked ${left} tensors on ${layer.name}`);
        },
      };
    },
  };
}

module.exports = { tfjsWasmPeer, permute };
