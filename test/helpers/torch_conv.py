"""The conformance cases computed by PyTorch, for test/goldens-pytorch.test.js.

Reads a JSON list of convolutions on stdin, all in channels-first terms with explicit pads (the test
resolves padding modes and layouts with test/helpers/reference.js), and writes their outputs as JSON:
torch.nn.functional.conv{1,2,3}d / conv_transpose{1,2,3}d in float64 on the CPU, then the bias and the
activation. Explicit [begin, end] pads are applied as PyTorch users do: forward, a zero F.pad of the
input; transposed, a crop (or zero extension) of the full transposed output, which is how a begin/end
pair and outputPadding act on it.

Some cases have strides, dilations or pads near 2**31, whose padded input or full transposed output
would not fit in memory. Those are computed from an index table instead: per spatial dimension, the
input position each (output, tap) pair reads (or a zero slot when it lies outside the input), gathered
with torch.index_select, then one torch convolution with kernel = stride = taps does the sums. The
output says which way each case went; where both fit, both are computed and their difference reported,
so the index table is itself checked against PyTorch's padding and strides.
"""
import base64
import json
import sys

import numpy as np
import torch
import torch.nn.functional as F

FORWARD = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
TRANSPOSED = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
ACTIVATIONS = {
    None: lambda y: y,
    'relu': F.relu,
    'relu6': lambda y: F.hardtanh(y, 0.0, 6.0),
    'sigmoid': torch.sigmoid,
    'tanh': torch.tanh,
    'silu': F.silu,
}


def tensor(spec):
    values = np.frombuffer(base64.b64decode(spec['data']), dtype='<f4').astype(np.float64)
    return torch.from_numpy(values.reshape(spec['shape']).copy())


def forward(case, x, w):
    pad = []
    for begin, end in reversed(case['pads']):  # F.pad takes the last dimension first
        pad += [begin, end]
    return FORWARD[case['rank']](F.pad(x, pad), w, stride=case['stride'], dilation=case['dilation'],
                                 groups=case['groups'])


def transposed(case, x, w):
    full = TRANSPOSED[case['rank']](x, w, stride=case['stride'], dilation=case['dilation'],
                                    groups=case['groups'])
    out = torch.zeros(list(full.shape[:2]) + case['outSize'], dtype=full.dtype)
    src, dst = [slice(None)] * 2, [slice(None)] * 2
    for i, (begin, _) in enumerate(case['pads']):
        # Output position o is position o + begin of the full result, where that exists.
        lo, hi = max(0, -begin), min(case['outSize'][i], full.shape[i + 2] - begin)
        if hi <= lo:
            return out
        dst.append(slice(lo, hi))
        src.append(slice(lo + begin, hi + begin))
    out[tuple(dst)] = full[tuple(src)]
    return out


# Above this many elements, a padded input or full transposed output is built from an index table.
DIRECT_LIMIT = 1 << 24


def gathered(case, x, w):
    """The convolution as one gather per dimension and a convolution with kernel = stride = taps."""
    rank, groups = case['rank'], case['groups']
    taps = list(w.shape[2:])
    if case['transposed']:
        # y[k, o] = sum over c, r of x[c, i] w[c, k, r] where i * s = o + begin - r * d: the (C, K/g)
        # weight regrouped to (K, C/g) for a forward convolution over the gathered input.
        C, Kg = w.shape[0], w.shape[1]
        Cg = C // groups
        w = w.reshape([groups, Cg, Kg] + taps).transpose(1, 2).reshape([groups * Kg, Cg] + taps)
    y = x
    for i in range(rank):
        n, s, d, begin, out, k = x.shape[i + 2], case['stride'][i], case['dilation'][i], case['pads'][i][0], \
            case['outSize'][i], taps[i]
        index = []
        for o in range(out):
            for r in range(k):
                if case['transposed']:
                    q, rest = divmod(o + begin - r * d, s)
                    index.append(q if rest == 0 and 0 <= q < n else n)
                else:
                    p = o * s - begin + r * d
                    index.append(p if 0 <= p < n else n)
        zero = torch.zeros(list(y.shape[:i + 2]) + [1] + list(y.shape[i + 3:]), dtype=y.dtype)
        y = torch.index_select(torch.cat([y, zero], dim=i + 2), i + 2, torch.tensor(index, dtype=torch.long))
    return FORWARD[rank](y, w, stride=taps, groups=groups)


def direct_size(case, x, w):
    """Elements of the padded input (forward) or the full transposed output (transposed)."""
    size = x.shape[0] * max(x.shape[1], w.shape[0] if not case['transposed'] else w.shape[1] * case['groups'])
    for i in range(case['rank']):
        n, s, d, k = x.shape[i + 2], case['stride'][i], case['dilation'][i], w.shape[i + 2]
        begin, end = case['pads'][i]
        size *= (n - 1) * s + (k - 1) * d + 1 if case['transposed'] else n + max(begin, 0) + max(end, 0)
    return size


def main():
    results = []
    with torch.no_grad():
        for case in json.load(sys.stdin):
            x, w = tensor(case['x']), tensor(case['w'])
            way = 'gathered' if direct_size(case, x, w) > DIRECT_LIMIT else 'direct'
            y = gathered(case, x, w) if way == 'gathered' else (transposed if case['transposed'] else forward)(case, x, w)
            # Where both ways fit, the index table is checked against PyTorch's own padding and strides.
            agreement = None
            if way == 'direct':
                other = gathered(case, x, w)
                scale = max(1.0, float(y.abs().max())) if y.numel() else 1.0
                agreement = float((other - y).abs().max()) / scale if y.numel() else 0.0
            if case.get('bias') is not None:
                y = y + tensor(case['bias']).reshape([1, -1] + [1] * case['rank'])
            y = ACTIVATIONS[case.get('activation')](y)
            results.append({'way': way, 'agreement': agreement, 'shape': list(y.shape),
                            'data': base64.b64encode(y.numpy().astype('<f8').tobytes()).decode('ascii')})
    json.dump({'torch': torch.__version__, 'results': results}, sys.stdout)


if __name__ == '__main__':
    main()
