// Types of esm/index.mjs: those of the CommonJS build, which it re-exports.
import * as stridekit from '../dist/index.js';

export * from '../dist/index.js';
export default stridekit;
