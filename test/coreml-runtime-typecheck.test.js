'use strict';
// The coreml plugin's macOS sources type-checked on any machine: clang (the one Zig bundles, with the
// Darwin libc, objc/ and dispatch/ headers Zig ships) parses native/backends/coreml/coreml_runtime.mm as
// Objective-C++ with ARC for a macOS target, against test/fixtures/coreml-sdk/: Foundation and Core ML
// declarations written from Apple's API documentation (each cites its page), for the SDK of Xcode 13
// (macOS 12), 14 (macOS 13) and 15 (macOS 14). The deployment target is the plugin's own
// (native/backends/coreml/plugin.cmake), and -Werror=unguarded-availability-new makes a symbol newer than
// it an error outside an @available check; a symbol newer than the SDK is not declared at all, as with that
// Xcode, so a use outside an `#if __MAC_OS_X_VERSION_MAX_ALLOWED` guard fails too. The plugin's portable
// files are checked for the same target, and backend.h's entry macro on its own.
//
// The check must be able to fail: each mutation below breaks the file one way (a misspelled selector, a
// wrong argument type, a guard removed) and the test expects clang's refusal.
//
// What it cannot see: Apple's real headers (a declaration here that differs from Apple's hides a
// mistake) and anything at run time. That waits for a Mac: the conformance suite with
// STRIDEKIT_BACKEND=coreml in .github/workflows/ci.yml.
//
// Needs .venv-zig (npm run setup:zig); without it the suite is skipped with the reason printed.
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { ROOT } = require('./helpers/target');

const COREML = path.join(ROOT, 'native', 'backends', 'coreml');
const RUNTIME = path.join(COREML, 'coreml_runtime.mm');
const SDK_DIR = path.join(__dirname, 'fixtures', 'coreml-sdk');
const PYTHON = path.join(ROOT, '.venv-zig', process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');
const SDKS = [120000, 130000, 140000];
const ARCHES = ['aarch64', 'x86_64'];

/** The deployment target plugin.cmake gives the plugin (one place, so the test and the build agree). */
function deploymentTarget() {
  const text = fs.readFileSync(path.join(COREML, 'plugin.cmake'), 'utf8');
  const found = /set\(coreml_deployment_target ([0-9.]+)\)/.exec(text);
  if (!found) throw new Error('native/backends/coreml/plugin.cmake sets no coreml_deployment_target');
  return found[1];
}

function whyNot() {
  if (!fs.existsSync(PYTHON)) return 'no .venv-zig (npm run setup:zig)';
  const probe = spawnSync(PYTHON, ['-m', 'ziglang', 'version'], { encoding: 'utf8' });
  if (probe.status !== 0) return `zig does not run from .venv-zig: ${(probe.stderr || String(probe.error)).trim()}`;
  return null;
}

const OBJECTS = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-coreml-objects-'));
let objects = 0;

/** Compiles file for macOS (an object file, thrown away: zig's cache wants one, and code generation
 * checks what ARC adds); { ok, output }. */
function check(file, { sdk = 140000, arch = 'aarch64', language = 'objective-c++', extra = [] } = {}) {
  const args = ['-m', 'ziglang', 'c++', '-target', `${arch}-macos.${deploymentTarget()}`, '-c',
    '-o', path.join(OBJECTS, `${objects++}.o`),
    '-x', language, '-std=c++17', '-Wall', '-Wextra', '-Wno-unused-parameter', '-Werror',
    '-Werror=unguarded-availability-new',
    '-isystem', SDK_DIR, '-include', path.join(SDK_DIR, 'sdk_version.h'), `-DSTRIDEKIT_TEST_SDK=${sdk}`,
    '-I', path.join(ROOT, 'native', 'include'), '-I', COREML, ...extra];
  if (language === 'objective-c++') args.push('-fobjc-arc');
  args.push(file);
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', timeout: 600000 });
  return { ok: r.status === 0, output: `${r.stdout || ''}${r.stderr || ''}${r.error ? r.error.message : ''}` };
}

/** coreml_runtime.mm with `from` replaced by `to` (which must occur), in a temporary folder. */
function mutated(from, to) {
  const text = fs.readFileSync(RUNTIME, 'utf8');
  if (!text.includes(from)) throw new Error(`coreml_runtime.mm no longer contains ${JSON.stringify(from)}: update this mutation`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-coreml-typecheck-'));
  const file = path.join(dir, 'coreml_runtime.mm');
  fs.writeFileSync(file, text.replace(from, to));
  return file;
}

const MUTATIONS = [
  { name: 'a misspelled selector', from: 'predictionFromFeatures:features', to: 'predictionFromFeature:features',
    expect: /no visible @interface for 'MLModel' declares the selector 'predictionFromFeature:options:error:'/ },
  { name: 'a wrong argument type', from: 'featureValueWithMultiArray:input', to: 'featureValueWithMultiArray:@(kInputName)',
    expect: /cannot initialize a parameter of type 'MLMultiArray \*[^']*' with an rvalue of type 'NSString \*/ },
  { name: 'compileModelAtURL:completionHandler: without @available', from: 'if (@available(macOS 13.0, *)) {\n    [MLModel compileModelAtURL',
    to: 'if (true) {\n    [MLModel compileModelAtURL', sdk: 130000,
    expect: /'compileModelAtURL:completionHandler:' is only available on macOS 13\.0 or newer/ },
  { name: 'MLComputeUnitsCPUAndNeuralEngine without its SDK guard', sdk: 120000,
    from: '#if __MAC_OS_X_VERSION_MAX_ALLOWED >= 130000\n      if (@available(macOS 13.0, *)) return MLComputeUnitsCPUAndNeuralEngine;\n#endif',
    to: '      if (@available(macOS 13.0, *)) return MLComputeUnitsCPUAndNeuralEngine;',
    expect: /use of undeclared identifier 'MLComputeUnitsCPUAndNeuralEngine'/ },
  { name: 'getBytesWithHandler: without @available', from: 'if (@available(macOS 12.3, *)) {', to: 'if (true) {', sdk: 130000,
    expect: /'getBytesWithHandler:' is only available on macOS 12\.3 or newer/ },
];

const reason = whyNot();
if (reason) {
  console.log(`stridekit tests skipped: coreml runtime type check: ${reason}`);
  describe.skip(`coreml runtime type check — skipped: ${reason}`, () => { test('type check', () => {}); });
} else {
  describe('coreml_runtime.mm type-checks as Objective-C++ with ARC', () => {
    for (const sdk of SDKS) {
      for (const arch of ARCHES) {
        test(`macOS ${sdk / 10000} SDK, ${arch}, deployment target ${deploymentTarget()}`, () => {
          const r = check(RUNTIME, { sdk, arch });
          if (!r.ok) throw new Error(r.output);
        }, 600000);
      }
    }
  });

  describe('the plugin\'s C++ files type-check for macOS', () => {
    for (const file of ['coreml_backend.cc', 'coreml_plan.cc', 'model_cache.cc', 'compute_units.cc']) {
      test(file, () => {
        const r = check(path.join(COREML, file), { language: 'c++' });
        if (!r.ok) throw new Error(r.output);
      }, 600000);
    }
    test('backend.h\'s entry macro compiles with no other include', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-backend-h-'));
      const file = path.join(dir, 'entry.cc');
      fs.writeFileSync(file, '#include "stridekit/backend.h"\nstatic const sk_backend kTable = {};\nSK_DEFINE_BACKEND_ENTRY(kTable)\n');
      const r = check(file, { language: 'c++', extra: ['-Wno-missing-field-initializers'] });
      if (!r.ok) throw new Error(r.output);
    }, 600000);
  });

  describe('the type check fails on a broken file', () => {
    for (const m of MUTATIONS) {
      test(m.name, () => {
        const r = check(mutated(m.from, m.to), { sdk: m.sdk || 140000 });
        expect(r.ok).toBe(false);
        expect(r.output).toMatch(m.expect);
      }, 600000);
    }
  });
}
