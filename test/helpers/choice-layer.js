'use strict';
// The layer test/backend-choice.test.js times, in its own process and in child processes: big enough
// that timings mean something, small enough for 2 cores. 16 -> 32 channels, 3x3, stride 2, on 40x40.
const { mulberry32, randomArray } = require('./cases');

module.exports = function choiceLayer(seed) {
  const random = mulberry32(seed);
  const w = { data: randomArray(32 * 16 * 9, random), shape: [32, 16, 3, 3] };
  const x = { data: randomArray(16 * 40 * 40, random), shape: [1, 16, 40, 40] };
  return { w, x, opts: { stride: 2, padding: 1 } };
};
