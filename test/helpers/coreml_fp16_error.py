"""How far float16 execution can move a conformance result: the basis of the coreml float16 tolerance in
test/helpers/target.js. Simulates, with numpy on uniform [-1, 1) data, the two reductions of
test/helpers/cases.js that float16 hurts most: the deepest (C160 3x3: 1,440 terms, no activation) and the
deepest followed by a squashing activation (C64 3x3 tanh: 576 terms; after tanh the error is normalised
by 1, not by the large sums). For each it prints the normalised error max|got - ref| / max(1, max|ref|)
of float16 storage with exact sums (what a device that accumulates wider than float16 gives), of
pairwise float16 sums, and of sequential float16 sums (the worst order).

    .venv-coremltools/bin/python test/helpers/coreml_fp16_error.py
"""
import numpy as np

rng = np.random.default_rng(1)


def simulate(terms, outputs, activation):
    x = rng.uniform(-1, 1, (outputs, terms)).astype(np.float32)
    w = rng.uniform(-1, 1, (outputs, terms)).astype(np.float32)
    exact = activation((x.astype(np.float64) * w).sum(1))
    scale = max(1.0, np.abs(exact).max())
    xh, wh = x.astype(np.float16), w.astype(np.float16)

    def error(sums):
        return np.abs(activation(sums.astype(np.float16).astype(np.float64)) - exact).max() / scale

    storage = error((xh.astype(np.float64) * wh).sum(1))
    sequential = np.zeros(outputs, np.float16)
    for t in range(terms):
        sequential = (sequential + xh[:, t] * wh[:, t]).astype(np.float16)
    pairwise = (xh * wh).astype(np.float16)
    while pairwise.shape[1] > 1:
        if pairwise.shape[1] % 2:
            pairwise = np.concatenate([pairwise, np.zeros((outputs, 1), np.float16)], 1)
        pairwise = (pairwise[:, ::2] + pairwise[:, 1::2]).astype(np.float16)
    return storage, error(pairwise[:, 0]), error(sequential)


for name, terms, outputs, activation in [
    ("C160 3x3 (1,440 terms), none", 1440, 150 * 30, lambda v: v),
    ("C64 3x3 (576 terms), tanh", 576, 20 * 110, np.tanh),
]:
    storage, pairwise, sequential = simulate(terms, outputs, activation)
    print(f"{name:30s} storage {storage:.1e}   pairwise fp16 sums {pairwise:.1e}   sequential fp16 sums {sequential:.1e}")
