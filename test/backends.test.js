'use strict';
// backends(): the four known backends, each available or not with a reason; exactly one selected; cpu
// always there. Each backend this machine lacks shows up as a skipped test whose title says why.
// Forcing an unavailable backend (the `backend` option, or STRIDEKIT_BACKEND in a fresh process) is an
// error that carries that reason, never a silent fallback.

const { spawnSync } = require('child_process');
const { loadStridekit, ROOT, PACKAGE } = require('./helpers/target');

const KNOWN = ['cpu', 'openvino', 'cudnn', 'coreml'];

const { sk } = loadStridekit();
const list = sk.backends();
const byName = Object.fromEntries(list.map((b) => [b.name, b]));

const x = { data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [1, 1, 6] };
const w = { data: Float32Array.from([1, -1]), shape: [1, 1, 2] };

/** Runs `source` in a fresh node process with STRIDEKIT_BACKEND set (or unset when value is null). */
function node(source, value) {
  const env = { ...process.env };
  if (value === null) delete env.STRIDEKIT_BACKEND;
  else env.STRIDEKIT_BACKEND = value;
  return spawnSync(process.execPath, ['-e', source], { cwd: ROOT, env, encoding: 'utf8', timeout: 60000 });
}

const CONV_IN_CHILD = `
  const sk = require(${JSON.stringify(PACKAGE)});
  const y = sk.convSync({ data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [1, 1, 6] },
                        { data: Float32Array.from([1, -1]), shape: [1, 1, 2] });
  console.log(JSON.stringify({ y: Array.from(y.data), selected: sk.backends().filter((b) => b.selected).map((b) => b.name) }));
`;

describe('backends()', () => {
  test('lists exactly cpu, openvino, cudnn and coreml, each once', () => {
    expect(list.map((b) => b.name).sort()).toEqual([...KNOWN].sort());
  });

  test('every entry has a boolean available and selected; an unavailable one has a non-empty reason', () => {
    for (const b of list) {
      expect([b.name, typeof b.available, typeof b.selected]).toEqual([b.name, 'boolean', 'boolean']);
      if (!b.available) {
        expect(typeof b.reason).toBe('string');
        expect([b.name, b.reason.trim().length > 0]).toEqual([b.name, true]);
      }
    }
  });

  const forced = process.env.STRIDEKIT_BACKEND;
  if (forced && byName[forced] && !byName[forced].available) {
    test(`STRIDEKIT_BACKEND=${forced} is unavailable: no other backend is selected in its place`, () => {
      expect(list.filter((b) => b.selected && b.name !== forced).map((b) => b.name)).toEqual([]);
    });
  } else {
    test(`exactly one backend is selected, and it is available${forced ? ` (STRIDEKIT_BACKEND=${forced})` : ''}`, () => {
      const selected = list.filter((b) => b.selected);
      expect(selected.map((b) => b.name)).toEqual([forced || (selected[0] && selected[0].name)]);
      expect(selected[0].available).toBe(true);
    });
  }

  // Elsewhere than Apple platforms the coreml plugin is a stand-in whose probe says so (native/backends/coreml/plugin.cmake).
  if (process.platform !== 'darwin') {
    test(`coreml is unavailable on ${process.platform} with the reason 'macOS only'`, () => {
      expect({ available: byName.coreml.available, reason: byName.coreml.reason }).toEqual({ available: false, reason: 'macOS only' });
    });
  }

  test('cpu is always available', () => {
    expect(byName.cpu.available).toBe(true);
  });

  // Ahead of cpu only a backend whose work runs on a GPU or NPU (test/backend-choice.test.js has the details).
  test('without STRIDEKIT_BACKEND the first available backend ranked above cpu is selected (cudnn, coreml, openvino), else cpu', () => {
    const r = node(CONV_IN_CHILD, null);
    expect(r.status).toBe(0);
    const ranked = ['cudnn', 'coreml', 'openvino'].find((n) => byName[n].available && ['gpu', 'npu'].includes(byName[n].deviceKind) &&
      !(n === 'coreml' && process.arch !== 'arm64')) || 'cpu';
    expect(JSON.parse(r.stdout.trim().split('\n').pop()).selected).toEqual([ranked]);
  });

  test('STRIDEKIT_BACKEND=cpu selects cpu and convolves', () => {
    const r = node(CONV_IN_CHILD, 'cpu');
    if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop());
    expect(out.selected).toEqual(['cpu']);
    expect(out.y).toEqual([-1, -1, -1, -1, -1]);
  });

  test('STRIDEKIT_BACKEND naming no backend is an error that names it', () => {
    const r = node(CONV_IN_CHILD, 'no-such-backend');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('no-such-backend');
  });

  test("backend: 'cpu' always runs", () => {
    expect(Array.from(sk.convSync(x, w, { backend: 'cpu' }).data)).toEqual([-1, -1, -1, -1, -1]);
  });
});

for (const name of KNOWN) {
  const info = byName[name];
  if (!info) continue; // the listing test above fails for it
  if (info.available) {
    describe(`${name}: available${info.device ? ` (${info.device})` : ''}`, () => {
      test(`backend: '${name}' runs`, () => {
        const y = sk.convSync(x, w, { backend: name });
        const got = Array.from(y.data);
        expect(got).toHaveLength(5);
        for (const v of got) expect(Math.abs(v + 1)).toBeLessThan(1e-2);
      });
    });
    continue;
  }
  const reason = info.reason;
  describe(`${name}: unavailable (${reason})`, () => {
    test.skip(`${name} conformance: unavailable (${reason})`, () => {});

    test(`backend: '${name}' throws an Error that says why`, async () => {
      expect(() => sk.convSync(x, w, { backend: name })).toThrow(reason);
      await expect((async () => sk.conv(x, w, { backend: name }))()).rejects.toThrow(reason);
      expect(() => sk.createConv({ weight: w, backend: name })).toThrow(reason);
    });

    test(`STRIDEKIT_BACKEND=${name} makes require + conv fail in a fresh process, saying why`, () => {
      const r = node(CONV_IN_CHILD, name);
      expect(r.status).not.toBe(0);
      expect(r.signal).toBeNull(); // an error, not a crash
      expect(r.stderr).toContain(reason);
    });
  });
}

describe('backends()[].precisions: what each backend computes in when a call permits it, on this machine', () => {
  const ALL = ['fp32', 'tf32', 'fp16', 'bf16'];

  test('an available backend lists fp32 first, then known precisions in order; an unavailable one none', () => {
    for (const b of list) {
      expect([b.name, Array.isArray(b.precisions)]).toEqual([b.name, true]);
      if (!b.available) expect([b.name, b.precisions]).toEqual([b.name, []]);
      else expect([b.name, b.precisions]).toEqual([b.name, ALL.filter((p) => b.precisions.includes(p))]);
      if (b.available) expect([b.name, b.precisions[0]]).toEqual([b.name, 'fp32']);
    }
  });

  // The cpu backend's bf16 kernels need AVX512-BF16 (with AVX512BW); Linux lists the flags.
  const flags = process.platform === 'linux' && process.arch === 'x64'
    ? (/^flags\s*:(.*)$/m.exec(require('fs').readFileSync('/proc/cpuinfo', 'utf8')) || [null, ''])[1].trim().split(/\s+/)
    : null;
  const kernels = process.env.STRIDEKIT_CPU_KERNELS;
  const why = !flags ? 'the processor\'s flags are read from /proc/cpuinfo on x86-64 Linux only'
    : kernels ? `STRIDEKIT_CPU_KERNELS=${kernels} is set here` : null;
  (why ? test.skip : test)(`cpu honours bf16 exactly when the processor has avx512_bf16 and avx512bw${why ? ` — skipped: ${why}` : ''}`, () => {
    const bf16 = ['avx512f', 'avx512bw', 'avx512_bf16'].every((f) => flags.includes(f));
    expect(byName.cpu.precisions).toEqual(bf16 ? ['fp32', 'bf16'] : ['fp32']);
  });

  test('STRIDEKIT_CPU_KERNELS=avx2 (or portable) leaves cpu fp32 only: the bf16 kernels are AVX-512', () => {
    for (const value of ['avx2', 'portable']) {
      const r = spawnSync(process.execPath, ['-e', `console.log(JSON.stringify(require(${JSON.stringify(PACKAGE)}).backends().find((b) => b.name === 'cpu').precisions))`],
        { cwd: ROOT, env: { ...process.env, STRIDEKIT_CPU_KERNELS: value }, encoding: 'utf8', timeout: 60000 });
      if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
      expect([value, JSON.parse(r.stdout.trim().split('\n').pop())]).toEqual([value, ['fp32']]);
    }
  });
});
