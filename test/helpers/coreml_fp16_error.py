"""How far float16 execution can move a conformance result: the basis of the coreml float16 tolerance in
test/helpers/target.js. Simulates, with numpy, the deepest reduction of test/helpers/cases.js (C160 3x3:
1,440 terms per output, K150 x 30 outputs) on uniform [-1, 1) data, and prints the normalised error
max|got - ref| / max(1, max|ref|) of float16 storage alone and of sequential float16 accumulation (the
worst summation order a device could use).

    .venv-coremltools/bin/python test/helpers/coreml_fp16_error.py
"""
import numpy as np

rng = np.random.default_rng(1)
terms, outputs = 1440, 150 * 30
x = rng.uniform(-1, 1, (outputs, terms)).astype(np.float32)
w = rng.uniform(-1, 1, (outputs, terms)).astype(np.float32)
exact = (x.astype(np.float64) * w.astype(np.float64)).sum(1)
xh, wh = x.astype(np.float16), w.astype(np.float16)
storage_only = (xh.astype(np.float64) * wh.astype(np.float64)).sum(1).astype(np.float16).astype(np.float64)
accumulated = np.zeros(outputs, np.float16)
for t in range(terms):
    accumulated = (accumulated + xh[:, t] * wh[:, t]).astype(np.float16)
scale = max(1.0, np.abs(exact).max())
print("max|ref| %.2f" % np.abs(exact).max())
print("float16 storage, exact sums:       %.2e" % (np.abs(storage_only - exact).max() / scale))
print("float16 sequential accumulation:   %.2e" % (np.abs(accumulated.astype(np.float64) - exact).max() / scale))
