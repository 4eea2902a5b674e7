'use strict';
// Runs ONNX Runtime for test/helpers/onnx.js on a worker thread: a plain Node environment, outside
// jest's sandbox. (Inside jest, onnxruntime-node's native outputs are Float32Arrays of another realm
// and onnxruntime-common's `instanceof Float32Array` check rejects them.)

const { parentPort } = require('worker_threads');
const ort = require('onnxruntime-node');

ort.env.logLevel = 'fatal'; // failures reach the caller as rejections; keep ORT's own log quiet

const SESSION_OPTIONS = {
  executionProviders: ['cpu'],
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'disabled', // run the nodes as written, no fusion
  logSeverityLevel: 4,
};

async function runModel(bytes, x) {
  const session = await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
  try {
    const result = await session.run({ X: new ort.Tensor('float32', x.data, x.shape) }, { logSeverityLevel: 4 });
    const y = result.Y;
    return { data: new Float32Array(y.data), shape: Array.from(y.dims, Number) };
  } finally {
    await session.release();
  }
}

parentPort.on('message', async ({ id, bytes, x }) => {
  try {
    const y = await runModel(bytes, { data: new Float32Array(x.data), shape: x.shape });
    parentPort.postMessage({ id, y });
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message ? e.message : e) });
  }
});
