#!/usr/bin/env node
'use strict';
// The fuzzer's command line: random valid calls against reference.js and random invalid arguments
// that must be refused with a TypeError or RangeError, on each backend, every case run in a child
// process (child.js / worker.js) so that a crash is a reported failure, not the end of the run.
//
//   npm run fuzz -- [--cases N] [--seed S] [--backend NAME[,NAME]] [--kind valid|invalid|all]
//                   [--no-huge] [--timeout SECONDS] [--max-rss MB] [--shrink-time SECONDS]
//                   [--path P] [--skip MODULE] [--progress SECONDS]
//
//   --cases N       cases per backend (default 1000)
//   --seed S        fast-check's seed (default: random, printed); the same seed gives the same cases
//   --backend       default: every available backend (backends().filter(b => b.available)), in turn
//   --kind          valid, invalid or all (default all: about 3 valid cases to 1 invalid)
//   --no-huge       keep strides, dilations and pads small (default: sometimes up to 2**31 - 1)
//   --timeout       seconds a case may take before it counts as a hang (default 30)
//   --max-rss       MB of resident memory the child may reach before it is killed (default 4096)
//   --shrink-time   seconds spent shrinking a failure (default 120); then the smallest case so far
//   --path P        with --seed: replay fast-check's path P (from a failure report) and shrink again
//   --skip MODULE   a module exporting skip(case) => boolean: cases to pass over (steer around a
//                   known bug while hunting for others); skipped cases are counted
//   --progress S    print a progress line every S seconds (default 30; 0: never)
// Exits 1 when any case fails, 2 on bad usage.

// The checkout's own OpenVINO and CUDA runtimes, as the suite uses them (scripts/checkout-runtimes.js).
require('../../scripts/checkout-runtimes');
const fc = require('fast-check');
const path = require('path');
const { PACKAGE } = require('../helpers/target');
const { fuzzCase } = require('./arbitraries');
const { Child } = require('./child');

const ROOT = path.resolve(__dirname, '..', '..');

function usage(message) {
  console.error(`fuzz: ${message}\n${require('fs').readFileSync(__filename, 'utf8').split('\n').filter((l) => l.startsWith('//')).join('\n')}`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = {
    cases: 1000, seed: null, backends: [], kind: 'all', huge: true, timeout: 30, maxRss: 4096,
    shrinkTime: 120, path: undefined, skip: null, progress: 30,
  };
  for (let i = 0; i < argv.length; ++i) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=') ? arg.split(/=(.*)/s) : [arg, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) usage(`${flag} needs a value`);
      return argv[++i];
    };
    const number = (min) => {
      const text = value();
      const v = Number(text);
      if (!Number.isFinite(v) || v < min) usage(`${flag} must be a number >= ${min}, got '${text}'`);
      return v;
    };
    switch (flag) {
      case '--cases': o.cases = Math.floor(number(1)); break;
      case '--seed': o.seed = number(-(2 ** 31)) | 0; break;
      case '--backend': o.backends.push(...value().split(',').filter(Boolean)); break;
      case '--kind': o.kind = value(); if (!['valid', 'invalid', 'all'].includes(o.kind)) usage(`--kind must be valid, invalid or all, got '${o.kind}'`); break;
      case '--huge': o.huge = true; break;
      case '--no-huge': o.huge = false; break;
      case '--timeout': o.timeout = number(0.1); break;
      case '--max-rss': o.maxRss = number(64); break;
      case '--shrink-time': o.shrinkTime = number(0); break;
      case '--path': o.path = value(); break;
      case '--skip': o.skip = path.resolve(value()); break;
      case '--progress': o.progress = number(0); break;
      case '--help': case '-h': usage('help'); break;
      default: usage(`unknown argument '${arg}'`);
    }
  }
  if (o.seed === null) o.seed = (Date.now() ^ Math.floor(Math.random() * 2 ** 31)) | 0;
  return o;
}

/** POSIX shell single-quoting. */
const quote = (text) => `'${text.replace(/'/g, "'\\''")}'`;

function pickBackends(requested) {
  const list = require(PACKAGE).backends();
  if (requested.length === 0) return list.filter((b) => b.available).map((b) => b.name);
  for (const name of requested) {
    const info = list.find((b) => b.name === name);
    if (!info) usage(`unknown backend '${name}' (known: ${list.map((b) => b.name).join(', ')})`);
    if (!info.available) usage(`backend '${name}' is not available here: ${info.reason}`);
  }
  return requested;
}

async function fuzzBackend(backend, o, skip) {
  const child = new Child(backend, { timeoutMs: o.timeout * 1000, maxRssMb: o.maxRss });
  const stats = { valid: 0, invalid: 0, skipped: 0, shrinkRuns: 0 };
  const verdicts = new Map(); // case JSON -> failing verdict
  let firstFailure = null;
  let shrinkCut = false;
  const started = Date.now();
  let lastProgress = started;

  const property = fc.asyncProperty(fuzzCase(backend, { kind: o.kind, huge: o.huge }), async (c) => {
    if (skip && skip(c)) {
      stats.skipped += 1;
      return true;
    }
    if (firstFailure) {
      // Shrinking: past its time budget every candidate "passes", so fast-check stops with the
      // smallest failing case found so far.
      if (Date.now() - firstFailure.at > o.shrinkTime * 1000) {
        shrinkCut = true;
        return true;
      }
      stats.shrinkRuns += 1;
    } else {
      stats[c.kind] += 1;
    }
    const verdict = await child.run(c);
    if (o.progress > 0 && Date.now() - lastProgress > o.progress * 1000) {
      lastProgress = Date.now();
      const done = stats.valid + stats.invalid + stats.skipped;
      console.error(`  ${backend}: ${done}/${o.cases} cases${firstFailure ? `, shrinking (${stats.shrinkRuns} tries)` : ''}, ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
    if (verdict.ok) return true;
    verdicts.set(JSON.stringify(c), verdict);
    if (!firstFailure) firstFailure = { at: Date.now(), c, verdict };
    return false;
  });

  const params = { seed: o.seed, numRuns: o.cases };
  if (o.path !== undefined) params.path = o.path;
  let details;
  try {
    details = await fc.check(property, params);
  } finally {
    child.stop();
  }
  const seconds = (Date.now() - started) / 1000;
  return { backend, details, stats, verdicts, firstFailure, shrinkCut, seconds, childStarts: child.starts };
}

function report(r, o) {
  const { backend, details, stats } = r;
  const lines = [];
  if (!details.failed) return lines;
  const c = details.counterexample ? details.counterexample[0] : null;
  const json = c ? JSON.stringify(c) : null;
  const verdict = json && r.verdicts.get(json);
  lines.push('', `==== FAILURE on ${backend} ====`);
  lines.push(`seed ${details.seed}, path ${details.counterexamplePath}, found after ${stats.valid + stats.invalid + stats.skipped} cases, shrunk in ${details.numShrinks} steps${r.shrinkCut ? ` (shrinking stopped after --shrink-time ${o.shrinkTime} s: the case may shrink further)` : ''}`);
  if (verdict) {
    lines.push(`what happened: ${verdict.harness ? '(an error of the fuzzer itself, not of stridekit) ' : ''}${verdict.message}`);
  } else if (details.errorInstance || details.error) {
    lines.push(`what happened: the property threw: ${details.errorInstance ? details.errorInstance.stack : details.error}`);
  }
  if (json) {
    lines.push(`case (JSON):\n${json}`);
    lines.push(`reproduce this case:\n  STRIDEKIT_BACKEND=${backend} node test/fuzz/worker.js ${quote(json)}`);
  }
  const flags = [`--backend ${backend}`, `--seed ${details.seed}`, `--path ${details.counterexamplePath}`, `--kind ${o.kind}`, ...(o.huge ? [] : ['--no-huge'])];
  lines.push(`replay the run and shrink again:\n  npm run fuzz -- ${flags.join(' ')}`);
  if (r.firstFailure && r.firstFailure.c !== c) {
    lines.push(`first failing case before shrinking: ${r.firstFailure.verdict.message.split('\n')[0]}\n  ${JSON.stringify(r.firstFailure.c)}`);
  }
  return lines;
}

function summary(r) {
  const { stats, details } = r;
  const cases = stats.valid + stats.invalid;
  const failures = details.failed ? 1 : 0;
  const shrink = details.failed ? ` (then ${stats.shrinkRuns} shrink runs)` : '';
  return `${r.backend}: ${cases} cases (${stats.valid} valid, ${stats.invalid} invalid${stats.skipped ? `, ${stats.skipped} skipped by --skip` : ''}), ${failures} ${failures === 1 ? 'failure' : 'failures'}${shrink}, ${r.seconds.toFixed(1)} s, ${(cases / Math.max(r.seconds, 1e-3)).toFixed(0)} cases/s`;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const skip = o.skip ? require(o.skip).skip : null;
  if (o.skip && typeof skip !== 'function') usage(`--skip ${o.skip} must export a function skip(case)`);
  const backends = pickBackends(o.backends);
  console.log(`stridekit fuzz: seed ${o.seed}, ${o.cases} cases per backend, kind ${o.kind}, huge values ${o.huge ? 'on' : 'off'}, backends ${backends.join(', ')}${o.path !== undefined ? `, path ${o.path}` : ''}`);
  console.log(`  (${path.relative(process.cwd(), ROOT) || '.'}; each case in a child process; a case taking over ${o.timeout} s is a hang)`);
  const results = [];
  for (const backend of backends) {
    const r = await fuzzBackend(backend, o, skip);
    results.push(r);
    for (const line of report(r, o)) console.log(line);
    console.log(summary(r));
  }
  const failed = results.filter((r) => r.details.failed);
  console.log(`\nfuzz summary (seed ${o.seed}):`);
  for (const r of results) console.log(`  ${summary(r)}`);
  console.log(failed.length ? `FAILED on ${failed.map((r) => r.backend).join(', ')}` : 'no failures');
  process.exitCode = failed.length ? 1 : 0;
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(2);
});
