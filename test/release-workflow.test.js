'use strict';
// The release workflow (.github/workflows/release.yml) cannot run here. What can be checked is:
//  - both workflows pass GitHub's own workflow parser (schema, expressions, needs), and that parser
//    does fail on a broken copy (so a pass means something);
//  - every npm script, script file and test file a step names exists, every artifact a job downloads
//    is uploaded by a job it waits for;
//  - the release builds all five prebuilds and the Core ML plugins, packs one tarball and checks it,
//    and its native jobs run the suite against that tarball's binaries, never a source build, on the
//    platforms the README names, with Core ML cpuOnly required;
//  - scripts/check-tarball.js, which the package job runs, refuses what it should.
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.
const { spawnSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const YAML = require('yaml');
const { MAX_TARBALL_BYTES, PLATFORMS, problems } = require('../scripts/check-tarball');

const root = path.resolve(__dirname, '..');
const workflows = path.join(root, '.github', 'workflows');
const RELEASE = path.join(workflows, 'release.yml');
const CI = path.join(workflows, 'ci.yml');
const pkg = require(path.join(root, 'package.json'));

function validate(files) {
  const result = spawnSync(process.execPath, [path.join(__dirname, 'helpers', 'validate-workflow.mjs'), ...files],
    { cwd: root, encoding: 'utf8', timeout: 60000 });
  if (result.status !== 0) throw new Error(`validate-workflow.mjs exited with ${result.status}:\n${result.stderr}`);
  return JSON.parse(result.stdout);
}

function load(file) {
  return YAML.parse(fs.readFileSync(file, 'utf8'));
}

const release = load(RELEASE);
const stepsOf = (job) => job.steps || [];
const runsOf = (job) => stepsOf(job).filter((s) => typeof s.run === 'string').map((s) => s.run);
const usesOf = (job, action) => stepsOf(job).filter((s) => typeof s.uses === 'string' && s.uses.startsWith(`${action}@`));

/** A job's matrix `include` rows (an empty list when it has no matrix). */
function matrixRows(job) {
  return (job.strategy && job.strategy.matrix && job.strategy.matrix.include) || [];
}

/** The npm scripts a run line starts: `npm run X`, with `${{ matrix.K }}` resolved over the matrix rows. */
function npmScripts(run, job) {
  const names = [];
  for (const m of run.matchAll(/npm run (\$\{\{[^}]*\}\}|[^\s&;|]+)/g)) {
    const matrixKey = /^\$\{\{\s*matrix\.([\w-]+)\s*\}\}$/.exec(m[1]);
    if (matrixKey) {
      for (const row of matrixRows(job)) if (row[matrixKey[1]]) names.push(row[matrixKey[1]]);
    } else {
      names.push(m[1]);
    }
  }
  return names;
}

describe('workflow files: GitHub\'s workflow parser', () => {
  test('release.yml and ci.yml have no errors', () => {
    const report = validate([RELEASE, CI]);
    expect(report).toEqual({ [RELEASE]: [], [CI]: [] });
  });

  test('the parser finds a misspelt key, a job that waits for no job, an unclosed expression', () => {
    const text = fs.readFileSync(RELEASE, 'utf8');
    const broken = {
      key: text.replace('runs-on: ubuntu-24.04', 'runs_on: ubuntu-24.04'),
      needs: text.replace('needs: package', 'needs: packge'),
      expression: text.replace('${{ matrix.backend }}', '${{ matrix.backend }'),
    };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-workflow-'));
    try {
      const files = Object.entries(broken).map(([name, content]) => {
        expect(content).not.toBe(text); // the mutation applies to this workflow
        const file = path.join(dir, `${name}.yml`);
        fs.writeFileSync(file, content);
        return file;
      });
      const report = validate(files);
      for (const file of files) expect(report[file].length).toBeGreaterThan(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.each([['release.yml', RELEASE], ['ci.yml', CI]])('%s names only what exists', (name, file) => {
  const workflow = load(file);
  const jobs = Object.entries(workflow.jobs);

  test('every `npm run` script is in package.json', () => {
    const missing = [];
    for (const [id, job] of jobs) {
      for (const run of runsOf(job)) {
        for (const script of npmScripts(run, job)) if (!pkg.scripts[script]) missing.push(`${id}: npm run ${script}`);
      }
    }
    expect(missing).toEqual([]);
  });

  test('every script and test file a step runs is in the repository', () => {
    const missing = [];
    for (const [id, job] of jobs) {
      for (const run of runsOf(job)) {
        for (const m of run.matchAll(/(?:^|\s)((?:scripts|test)\/[\w./-]+\.(?:js|mjs|sh))/g)) {
          if (!fs.existsSync(path.join(root, m[1]))) missing.push(`${id}: ${m[1]}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });
});

describe('release.yml', () => {
  const jobs = release.jobs;

  /** Every job `id` waits for, directly or not. */
  function upstream(id, seen = new Set()) {
    for (const need of [].concat(jobs[id].needs || [])) {
      if (!seen.has(need)) {
        seen.add(need);
        upstream(need, seen);
      }
    }
    return seen;
  }

  test('runs on a version tag and by hand', () => {
    expect(release.on.push.tags).toEqual(['v*']);
    expect(release.on).toHaveProperty('workflow_dispatch');
  });

  test('every artifact a job downloads is uploaded by a job it waits for', () => {
    const problemsFound = [];
    for (const [id, job] of Object.entries(jobs)) {
      const uploaded = [...upstream(id)].flatMap((up) => usesOf(jobs[up], 'actions/upload-artifact'))
        .map((s) => s.with.name);
      for (const step of usesOf(job, 'actions/download-artifact')) {
        const wanted = step.with.name || step.with.pattern;
        const re = new RegExp(`^${wanted.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
        if (!uploaded.some((n) => re.test(n))) problemsFound.push(`${id} downloads ${wanted}; uploaded upstream: ${uploaded.join(', ') || 'nothing'}`);
      }
    }
    expect(problemsFound).toEqual([]);
  });

  test('prebuild: the setups, the build, prebuild:all for all five platforms, the checks, the upload', () => {
    const scripts = runsOf(jobs.prebuild).flatMap((run) => npmScripts(run, jobs.prebuild));
    const order = ['setup:openvino', 'setup:cuda', 'setup:zig', 'setup:prebuild-checks', 'build', 'prebuild:all'];
    expect(scripts.filter((s) => order.includes(s))).toEqual(order);
    // No targets after prebuild:all: all five, the darwin ones included.
    expect(runsOf(jobs.prebuild)).toContain('npm run prebuild:all');
    expect(runsOf(jobs.prebuild).some((run) => run.includes('jest test/prebuilds.test.js'))).toBe(true);
    expect(usesOf(jobs.prebuild, 'actions/upload-artifact').map((s) => s.with.path)).toEqual(['prebuilds/']);
  });

  test('coreml: the plugin for macOS arm64 and x64, built by `npm run build`, uploaded alone', () => {
    expect(matrixRows(jobs.coreml).map((row) => row.arch).sort()).toEqual(['arm64', 'x64']);
    expect(matrixRows(jobs.coreml).every((row) => /^macos-/.test(row.os))).toBe(true);
    expect(runsOf(jobs.coreml)).toContain('npm run build');
    expect(usesOf(jobs.coreml, 'actions/upload-artifact').map((s) => s.with.path))
      .toEqual(['build/plugins/out/libstridekit_coreml.dylib']);
  });

  test('package: one tarball from both, checked by scripts/check-tarball.js with the Core ML plugins', () => {
    expect([].concat(jobs.package.needs).sort()).toEqual(['coreml', 'prebuild']);
    const check = runsOf(jobs.package).find((run) => run.includes('scripts/check-tarball.js'));
    expect(check).toBeDefined();
    expect(check).toContain('prebuilds/darwin-arm64/libstridekit_coreml.dylib');
    expect(check).toContain('prebuilds/darwin-x64/libstridekit_coreml.dylib');
    expect(runsOf(jobs.package).some((run) => /npm pack\b/.test(run))).toBe(true);
  });

  test('native: the tarball on macOS arm64 and x64, Windows, Linux arm64; Core ML cpuOnly required', () => {
    const rows = matrixRows(jobs.native);
    expect([...new Set(rows.map((row) => row.os))].sort())
      .toEqual(['macos-15', 'macos-15-intel', 'ubuntu-24.04-arm', 'windows-latest']);
    for (const os of ['macos-15', 'macos-15-intel']) {
      expect(rows.filter((row) => row.os === os && row.backend === 'coreml' && row.units === 'cpuOnly' && !row.optional))
        .toHaveLength(1);
    }
    expect(rows.filter((row) => row.optional).every((row) => row.backend === 'coreml' && row.units !== 'cpuOnly')).toBe(true);
    expect(jobs.native.env.STRIDEKIT_BACKEND).toBe('${{ matrix.backend }}');
    expect(jobs.native.needs).toBe('package');
  });

  test('native: nothing is built; the suite\'s stridekit is the installed tarball', () => {
    const runs = runsOf(jobs.native);
    const builds = runs.filter((run) => /npm run (build|build:native|prebuildify|prebuild:all)\b|node-gyp|cmake|npm rebuild/.test(run));
    expect(builds).toEqual([]);
    const install = runs.find((run) => run.includes('scripts/install-tarball.js'));
    expect(install).toMatch(/STRIDEKIT_TEST_PACKAGE=\$installed" >> "\$GITHUB_ENV"/);
    const jest = runs.find((run) => /npx jest /.test(run));
    const files = jest.split(/\s+/).filter((word) => /^test\/.*\.test\.js$/.test(word));
    expect(files).toContain('test/conformance.test.js');
    // Each file gets its stridekit from helpers/target.js (its PACKAGE, or target()), never this
    // checkout's own folder.
    for (const file of files) {
      const source = fs.readFileSync(path.join(root, file), 'utf8');
      expect([file, /require\('\.\/helpers\/target'\)/.test(source)]).toEqual([file, true]);
      expect([file, /require\((root|ROOT|'\.\.'|'\.\.\/'|'\.\.\/dist[^']*')\)/.test(source)]).toEqual([file, false]);
    }
  });

  test('publish: on a tag only, after every native job, with provenance', () => {
    expect(jobs.publish.if).toBe("startsWith(github.ref, 'refs/tags/v')");
    expect([].concat(jobs.publish.needs)).toContain('native');
    expect(jobs.publish.permissions['id-token']).toBe('write');
    expect(runsOf(jobs.publish).some((run) => run.startsWith('npm publish --provenance'))).toBe(true);
  });
});

describe('scripts/check-tarball.js', () => {
  const CORES = PLATFORMS.map((tuple) => `prebuilds/${tuple}/stridekit.node`);
  let dir;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-check-tarball-'));
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A tarball laid out as `npm pack` makes one: every file under package/. */
  function tarball(name, files, format = 'gnu') {
    const top = path.join(dir, name);
    for (const [file, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(top, 'package', file)), { recursive: true });
      fs.writeFileSync(path.join(top, 'package', file), content);
    }
    const out = path.join(dir, `${name}.tgz`);
    const result = spawnSync('tar', [`--format=${format}`, '-czf', out, '-C', top, 'package'], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`tar: ${result.stderr}`);
    return out;
  }

  const complete = () => Object.fromEntries(['package.json', 'dist/index.js', 'dist/index.d.ts', 'esm/index.mjs', ...CORES]
    .map((file) => [file, 'x']));

  test.each(['pax', 'gnu'])('a complete tarball under the limit passes, with a path too long for a plain tar header (%s)', (format) => {
    // npm pack writes PAX records for long names, GNU tar its own.
    const deep = `prebuilds/darwin-arm64/${'a'.repeat(120)}.dylib`;
    expect(problems(tarball(`complete-${format}`, { ...complete(), [deep]: 'x' }, format), [...CORES, deep])).toEqual([]);
  });

  test('a tarball over 10 MB, one without a core, one with a local build/ are refused', () => {
    // Random bytes do not compress: the tarball is over the limit.
    const big = tarball('big', { ...complete(), 'prebuilds/linux-x64/big.so': crypto.randomBytes(MAX_TARBALL_BYTES + 1000) });
    expect(problems(big, CORES)).toEqual([expect.stringMatching(/over the 10000000-byte limit/)]);
    const files = complete();
    delete files['prebuilds/win32-x64/stridekit.node'];
    expect(problems(tarball('missing', files), CORES)).toEqual(['prebuilds/win32-x64/stridekit.node is not in missing.tgz']);
    const local = tarball('local', { ...complete(), 'build/Release/stridekit.node': 'x' });
    expect(problems(local, CORES)).toEqual(['a local build is in the tarball: build/Release/stridekit.node']);
  });
});
