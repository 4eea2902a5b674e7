'use strict';
// stridekit itself, through the public API: the plan path (createConv once, runSync many) and the
// one-shot functional path (convSync packs the weights on every call).

// With `precision` (a permission: 'tf32', 'fp16' or 'bf16'), each backend's plan also runs at it, as a
// peer of its own ("stridekit cpu plan bf16") beside the float32 one; convSync stays float32.
function stridekitPeers(sk, precision = 'fp32') {
  return sk.backends().filter((b) => b.available).flatMap((b) => [
    {
      name: `stridekit ${b.name} plan`,
      short: `${b.name} plan`,
      backend: b.name,
      timed: 'plan.runSync(x, { out }) into a preallocated output; options checked and weights packed once, in createConv',
      prepare(layer) {
        const plan = sk.createConv({ weight: layer.w, bias: layer.bias, backend: b.name, ...layer.options });
        const out = { data: new Float32Array(layer.yShape.reduce((a, c) => a * c, 1)), shape: layer.yShape };
        return {
          run: () => plan.runSync(layer.x, { out }),
          output: () => out.data,
          dispose: () => plan.dispose(),
        };
      },
    },
    ...(precision === 'fp32' ? [] : [{
      name: `stridekit ${b.name} plan ${precision}`,
      short: `${b.name} ${precision}`,
      backend: b.name,
      precision,
      timed: `plan.runSync(x, { out }) as the plan above, created with precision '${precision}'`,
      prepare(layer) {
        const plan = sk.createConv({ weight: layer.w, bias: layer.bias, backend: b.name, ...layer.options, precision });
        const out = { data: new Float32Array(layer.yShape.reduce((a, c) => a * c, 1)), shape: layer.yShape };
        return {
          run: () => plan.runSync(layer.x, { out }),
          output: () => out.data,
          dispose: () => plan.dispose(),
        };
      },
    }]),
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
