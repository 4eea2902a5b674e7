// The facade <-> core layout has one source per side (lib/native-abi.ts, native/core/js_abi.h) and
// the loader compares them when it loads a binary: a core whose table differs in any field, or
// whose version differs, is refused with a reason that names the first difference.
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { ABI, ABI_VERSION } = require('../dist/native-abi');
const { abiMismatch, binding } = require('../dist/loader');

const root = path.join(__dirname, '..');
const { version } = require('../package.json');
const facade = `this facade (stridekit ${version})`;

/** A deep, mutable copy of the facade's table, as a binary built from the same sources exports it. */
const table = () => JSON.parse(JSON.stringify(ABI));

describe("the loader's check of a binary's abi table", () => {
  test('accepts a table equal to native-abi.ts, whatever the order of its fields', () => {
    expect(abiMismatch(table())).toBeUndefined();
    const reordered = Object.fromEntries(Object.entries(table()).reverse());
    reordered.geometry = Object.fromEntries(Object.entries(reordered.geometry).reverse());
    expect(abiMismatch(reordered)).toBeUndefined();
  });

  test('refuses one offset off, naming the field and both values', () => {
    const abi = table();
    abi.geometry.kernel += 1;
    expect(abiMismatch(abi)).toBe(`ABI table differs at abi.geometry.kernel: the binary has ${ABI.geometry.kernel + 1}, ` +
      `${facade} expects ${ABI.geometry.kernel}: the binary is stale or out of sync with the facade's native-abi.ts`);
  });

  test('refuses a different code', () => {
    const abi = table();
    abi.precision.fp16 = 3;
    expect(abiMismatch(abi)).toMatch(/^ABI table differs at abi\.precision\.fp16: the binary has 3, .* expects 2: /);
  });

  test('refuses a missing field, and a missing group', () => {
    const abi = table();
    delete abi.shape.padEnd;
    expect(abiMismatch(abi)).toBe(`ABI table differs at abi.shape.padEnd: the binary has no such field, ${facade} ` +
      `expects ${ABI.shape.padEnd}: the binary is stale or out of sync with the facade's native-abi.ts`);
    const noGroup = table();
    delete noGroup.activation;
    expect(abiMismatch(noGroup)).toMatch(/^ABI table differs at abi\.activation: the binary has no such field, /);
  });

  test('refuses a field only the binary has', () => {
    const abi = table();
    abi.geometry.groupsPerChannel = 18;
    expect(abiMismatch(abi)).toBe(`ABI table differs at abi.geometry.groupsPerChannel: the binary has 18, ${facade} ` +
      "expects no such field: the binary is stale or out of sync with the facade's native-abi.ts");
  });

  test('refuses a group that is not a table', () => {
    const abi = table();
    abi.shape = 13;
    expect(abiMismatch(abi)).toMatch(/^ABI table differs at abi\.shape: the binary has 13, .* expects an object with keys batch, /);
  });

  test('refuses a different version before comparing anything else', () => {
    const abi = table();
    abi.version = ABI_VERSION - 1;
    abi.geometry.kernel += 1;
    expect(abiMismatch(abi)).toBe(`ABI version ${ABI_VERSION - 1}, but ${facade} expects ${ABI_VERSION}: the binary is stale`);
  });

  test('refuses a binary without a table', () => {
    expect(abiMismatch(undefined))
      .toBe(`ABI version unknown (the binary exports no abi table), but ${facade} expects ${ABI_VERSION}: the binary is stale`);
  });

  test('a refused binary is listed with its reason, and rebuilding is offered', () => {
    // In a child node whose every .node file "loads" as a module exporting a stale table.
    const script = `
      require.extensions['.node'] = (module) => {
        const abi = ${JSON.stringify(table())};
        abi.shape.padBegin = 6;
        module.exports = { abi };
      };
      try { require('./dist/loader').binding(); } catch (error) { process.stdout.write(error.message); }`;
    const r = spawnSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' });
    expect(r.stdout).toMatch(/\nTried:\n- \S+\.node: ABI table differs at abi\.shape\.padBegin: the binary has 6, .* expects 7: /);
    expect(r.stdout).toContain('\n- The binary belongs to another stridekit version: rebuild it with `npm run build`');
  });
});

describe('the built core', () => {
  test("exports the table of native-abi.ts (native/core/js_abi.h and backend.h's codes agree with it)", () => {
    expect(binding().abi).toEqual(ABI);
    expect(abiMismatch(binding().abi)).toBeUndefined();
  });
});

describe("the built core's backends(): precisions as bits of backend.h's precision codes", () => {
  test('every backend has fp32\'s bit and no bit beyond the codes the table names', () => {
    const known = Object.values(ABI.precision).reduce((bits, code) => bits | (1 << code), 0);
    for (const b of binding().backends(['cpu', 'openvino', 'cudnn'])) {
      expect([b.name, Number.isInteger(b.precisions)]).toEqual([b.name, true]);
      expect([b.name, b.precisions & (1 << ABI.precision.fp32), b.precisions & ~known]).toEqual([b.name, 1, 0]);
    }
  });
});
