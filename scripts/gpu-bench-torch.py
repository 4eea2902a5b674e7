#!/usr/bin/env python3
"""The PyTorch half of the GPU benchmark scripts/gpu-check.sh runs (scripts/gpu-bench.js is the stridekit
half): every layer of bench/layers.json with torch.nn.functional.conv1d/2d/3d and
torch.backends.cudnn.benchmark = True, at three settings: fp32 with TF32 off, TF32 allowed, fp16 (half
tensors). Times, each after warm-up:
  device_events_ms  CUDA events around many calls queued back to back (the GPU time per call);
  device_synced_ms  median wall time of one call and torch.cuda.synchronize() (what a caller waits for
                    when it needs y at once, as stridekit's runSync returns with y complete);
  host_ms           median wall time of x.cuda() -> conv -> .cpu() from and to float32 CPU tensors.

  python3 scripts/gpu-bench-torch.py --out FILE [--layer TEXT] [--min-ms N]
"""
import argparse
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(fn, min_ms, sync):
    for _ in range(3):
        fn()
    sync()
    samples = []
    start = time.perf_counter()
    while len(samples) < 5 or (time.perf_counter() - start) * 1e3 < min_ms:
        t0 = time.perf_counter()
        fn()
        sync()
        samples.append((time.perf_counter() - t0) * 1e3)
        if len(samples) >= 10000:
            break
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--out', required=True)
    parser.add_argument('--layer', default=None)
    parser.add_argument('--min-ms', type=float, default=200)
    args = parser.parse_args()

    import torch
    import torch.nn.functional as F

    if not torch.cuda.is_available():
        sys.exit('gpu-bench-torch: torch.cuda.is_available() is False')
    torch.backends.cudnn.benchmark = True
    device = torch.device('cuda')
    with open(os.path.join(ROOT, 'bench', 'layers.json')) as f:
        layers = json.load(f)['layers']
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
    results = []
    for layer in layers:
        if args.layer and args.layer not in layer['name']:
            continue
        rank = len(layer['kernel'])
        x_cpu = torch.randn(layer['n'], layer['c'], *layer['in'])
        w_cpu = torch.randn(layer['k'], layer['c'] // layer['groups'], *layer['kernel'])
        b_cpu = torch.randn(layer['k'])
        options = dict(stride=tuple(layer['stride']), padding=tuple(layer['pad']), groups=layer['groups'])
        fn = conv[rank]
        for precision in ('fp32', 'tf32', 'fp16'):
            entry = {'layer': layer['name'], 'precision': precision}
            try:
                torch.backends.cudnn.allow_tf32 = precision == 'tf32'
                dtype = torch.float16 if precision == 'fp16' else torch.float32
                x = x_cpu.to(device, dtype)
                w = w_cpu.to(device, dtype)
                b = b_cpu.to(device, dtype)
                with torch.no_grad():
                    for _ in range(5):
                        fn(x, w, b, **options)
                    torch.cuda.synchronize()
                    calls = 200 if layer['name'].startswith('tiny') else 50
                    start = torch.cuda.Event(enable_timing=True)
                    end = torch.cuda.Event(enable_timing=True)
                    start.record()
                    for _ in range(calls):
                        fn(x, w, b, **options)
                    end.record()
                    torch.cuda.synchronize()
                    entry['device_events_ms'] = start.elapsed_time(end) / calls
                    entry['device_synced_ms'] = timed(lambda: fn(x, w, b, **options), args.min_ms, torch.cuda.synchronize)
                    entry['host_ms'] = timed(lambda: fn(x_cpu.to(device, dtype), w, b, **options).float().cpu(),
                                             args.min_ms, lambda: None)
            except Exception as e:  # recorded, and the other layers still run
                entry['error'] = f'{type(e).__name__}: {e}'
            results.append(entry)
            print(f"{layer['name']:30} {precision}  " + (entry.get('error') or
                  f"events {entry['device_events_ms']:.4f} ms, synced {entry['device_synced_ms']:.4f} ms, host {entry['host_ms']:.4f} ms"),
                  flush=True)
    with open(args.out, 'w') as f:
        json.dump({'peer': 'pytorch', 'torch': torch.__version__, 'cudnn': torch.backends.cudnn.version(),
                   'cuda': torch.version.cuda, 'device': torch.cuda.get_device_name(0), 'results': results}, f, indent=2)


if __name__ == '__main__':
    main()
