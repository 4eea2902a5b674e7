'use strict';
// The coreml plugin built for macOS on any machine, through the project's own CMake files
// (CMakeLists.txt and native/backends/coreml/plugin.cmake) with Zig's clang as the C++ and Objective-C++
// compiler for a Darwin target: the Foundation and Core ML declarations of test/fixtures/coreml-sdk/
// stand in for Apple's headers, and two empty libraries for the frameworks (the link leaves Core ML's
// symbols to be bound at load time, -undefined dynamic_lookup). Built for arm64 with the macOS 14 SDK's
// declarations and for x86-64 with the macOS 12 SDK's (an Xcode 13 build). Then, from the Mach-O file
// and the compile commands:
//  - the .mm is compiled with ARC, hidden visibility and the plugin's deployment target (macOS 11);
//  - the file's minimum OS is macOS 11.0 and it links CoreML and Foundation;
//  - it exports the entry symbol alone of the project's code: no function of the .mm (before plugin.cmake
//    set OBJCXX_VISIBILITY_PRESET, open_runtime, load_model, predict and runtime_units were exported).
// Zig links its own C++ library statically, whose operator new and delete and image symbols are exported
// too; a build with Apple's toolchain links libc++.dylib instead, so those are left out of the check.
//
// What it cannot see: Apple's real headers and frameworks, and anything at run time (a Mac's job).
// Needs .venv-zig (npm run setup:zig) and cmake; without them the suite is skipped with the reason printed.
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { ROOT } = require('./helpers/target');
const { readMachO } = require('./helpers/macho');

const OUT = path.join(ROOT, 'build', 'coreml-plugin-build');
const SDK_DIR = path.join(__dirname, 'fixtures', 'coreml-sdk');
const PYTHON = path.join(ROOT, '.venv-zig', 'bin', 'python');
const TARGETS = [
  { arch: 'arm64', zig: 'aarch64', sdk: 140000, cputype: 0x0100000c },
  { arch: 'x86_64', zig: 'x86_64', sdk: 120000, cputype: 0x01000007 },
];
// Exported by Zig's static libc++ and its linker, not by the project's code (see above).
const TOOLCHAIN_EXPORTS = /^(__Znw|__Zna|__Zdl|__Zda|__mh_dylib_header$|___dso_handle$)/;

function whyNot() {
  if (process.platform === 'win32') return 'the build scripts here are POSIX shell';
  if (!fs.existsSync(PYTHON)) return 'no .venv-zig (npm run setup:zig)';
  if (spawnSync('cmake', ['--version']).status !== 0) return 'no cmake (install CMake 3.18 or later)';
  return null;
}

function step(command, args, options = {}) {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 900000, ...options });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${r.stdout}${r.stderr}${r.error || ''}`);
  return r.stdout;
}

/** Configures and builds stridekit_coreml for target; returns the build folder. */
function build(target) {
  const dir = path.join(OUT, target.arch);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const triple = `${target.zig}-macos.11.0`;
  const compiler = path.join(dir, 'zig-c++');
  fs.writeFileSync(compiler, `#!/bin/sh\nexec '${PYTHON}' -m ziglang c++ -target ${triple} "$@"\n`, { mode: 0o755 });
  // CMake asks for install_name_tool when it enables Objective-C++ for Darwin; nothing here installs.
  const nameTool = path.join(dir, 'install_name_tool');
  fs.writeFileSync(nameTool, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  const frameworks = path.join(dir, 'frameworks');
  const stub = path.join(dir, 'stub.c');
  fs.writeFileSync(stub, 'void stridekit_framework_stand_in(void) {}\n');
  for (const name of ['CoreML', 'Foundation']) {
    const folder = path.join(frameworks, `${name}.framework`);
    fs.mkdirSync(folder, { recursive: true });
    step(PYTHON, ['-m', 'ziglang', 'cc', '-target', triple, '-shared', '-o', path.join(folder, name), stub,
      `-Wl,-install_name,/System/Library/Frameworks/${name}.framework/${name}`]);
  }
  const env = { ...process.env };
  delete env.MACOSX_DEPLOYMENT_TARGET; // plugin.cmake's own target is what is checked
  const sdkFlags = `-isystem ${SDK_DIR} -include ${path.join(SDK_DIR, 'sdk_version.h')} -DSTRIDEKIT_TEST_SDK=${target.sdk}`;
  step('cmake', ['-S', ROOT, '-B', path.join(dir, 'build'), '-DCMAKE_BUILD_TYPE=Release',
    '-DCMAKE_SYSTEM_NAME=Darwin', `-DCMAKE_SYSTEM_PROCESSOR=${target.arch}`,
    `-DCMAKE_CXX_COMPILER=${compiler}`, `-DCMAKE_OBJCXX_COMPILER=${compiler}`, `-DCMAKE_INSTALL_NAME_TOOL=${nameTool}`,
    `-DCMAKE_FRAMEWORK_PATH=${frameworks}`, `-DCMAKE_OBJCXX_FLAGS=${sdkFlags}`,
    '-DCMAKE_SHARED_LINKER_FLAGS=-Wl,-undefined,dynamic_lookup', '-DCMAKE_EXPORT_COMPILE_COMMANDS=ON',
    '-DSTRIDEKIT_BUILD_TOOLS=OFF'], { env });
  step('cmake', ['--build', path.join(dir, 'build'), '--target', 'stridekit_coreml'], { env });
  return path.join(dir, 'build');
}

const reason = whyNot();
if (reason) {
  console.log(`stridekit tests skipped: coreml plugin build for macOS: ${reason}`);
  describe.skip(`coreml plugin build for macOS — skipped: ${reason}`, () => { test('build', () => {}); });
} else {
  describe.each(TARGETS)('the coreml plugin built for macOS $arch with the macOS $sdk SDK declarations', (target) => {
    let dir;
    beforeAll(() => { dir = build(target); }, 900000);

    test('the .mm is compiled with ARC, hidden visibility and deployment target macOS 11', () => {
      const commands = JSON.parse(fs.readFileSync(path.join(dir, 'compile_commands.json'), 'utf8'));
      const mm = commands.find((c) => c.file.endsWith('coreml_runtime.mm'));
      expect(mm).toBeDefined();
      const words = (mm.command || mm.arguments.join(' ')).split(/\s+/);
      expect(words).toEqual(expect.arrayContaining(['-fobjc-arc', '-fvisibility=hidden', '-mmacosx-version-min=11.0']));
      const cache = commands.find((c) => c.file.endsWith('model_cache.cc'));
      expect(cache).toBeDefined(); // the cache policy is part of the plugin
    });

    test('a Mach-O library for its processor, macOS 11.0, linking CoreML and Foundation', () => {
      const m = readMachO(path.join(dir, 'out', 'libstridekit_coreml.dylib'));
      expect(m.cputype).toBe(target.cputype);
      expect(m.platform).toBe(1); // PLATFORM_MACOS
      expect(m.minos).toBe('11.0');
      expect(m.dylibs).toEqual(expect.arrayContaining([
        '/System/Library/Frameworks/CoreML.framework/CoreML', '/System/Library/Frameworks/Foundation.framework/Foundation']));
    });

    test('of the project\'s code, the entry symbol alone is exported', () => {
      const m = readMachO(path.join(dir, 'out', 'libstridekit_coreml.dylib'));
      expect(m.exported.filter((name) => !TOOLCHAIN_EXPORTS.test(name))).toEqual(['_stridekit_backend_entry']);
    });
  });
}
