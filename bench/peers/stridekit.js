'use strict';
// stridekit itself, through the public API: the plan path (createConv once, runSync many) and the
// one-shot functional path (convSync packs the weights on every call).

// A backend's plan at `precision`: created once, then plan.runSync into a preallocated output.
function planPeer(sk, b, precision) {
  const reduced = precision !== 'fp32';
  return {
    name: `stridekit ${b.name} plan${reduced ? ` ${precision}` : ''}`,
    short: reduced ? `${b.name} ${precision}` : `${b.name} plan`,
    backend: b.name,
    ...(reduced ? { precision } : {}),
    timed: reduced
      ? `plan.runSync(x, { out }) as the plan above, created with precision '${precision}'`
      : 'plan.runSync(x, { out }) into a preallocated output; options checked and weights packed once, in createConv',
    prepare(layer) {
      const plan = sk.createConv({ weight: layer.w, bias: layer.bias, backend: b.name, ...layer.options, precision });
      const out = { data: new Float32Array(layer.yShape.reduce((a, c) => a * c, 1)), shape: layer.yShape };
      return {
        run: () => plan.runSync(layer.x, { out }),
        output: () => out.data,
        dispose: () => plan.dispose(),
      };
    },
  };
}

// With `precision` (a permission: 'tf32', 'fp16' or 'bf16'), each backend's plan also runs at it, as a
// peer of its own ("stridekit cpu plan bf16") right after the float32 one; convSync stays float32.
function stridekitPeers(sk, precision = 'fp32') {
  return sk.backends().filter((b) => b.available).flatMap((b) => [
    planPeer(sk, b, 'fp32'),
    ...(precision === 'fp32' ? [] : [planPeer(sk, b, precision)]),
    {
      name: `stridekit ${b.name} convSync`,
      short: `${b.name} convSync`,
      backend: b.name,
      timed: 'convSync(x, w, options): checks the options, packs the weights and allocates a new output on every call',
      prepare(layer) {
        const options = { bias: layer.bias, backend: b.name, ...layer.options };
        let y;
        return {
          run: () => { y = sk.convSync(layer.x, layer.w, options); },
          output: () => y.data,
          dispose: () => {},
        };
      },
    },
  ]);
}

module.exports = { stridekitPeers };
