#!/usr/bin/env node
'use strict';
/*
 * `node bench/fastest.js [filter]`: what backend: 'fastest' picks for each layer of the benchmark suite
 * (bench/layers.json) on this machine, what each available backend measured, and how long createConv
 * spent choosing (the whole call: every backend's plan, first run and timed runs). `--json` prints the
 * rows as JSON instead of a table.
 */
require('../scripts/checkout-runtimes');

const { performance } = require('node:perf_hooks');
const sk = require('..');
const { loadSuite } = require('./layers');

const args = process.argv.slice(2);
const json = args.includes('--json');
const filter = args.find((a) => !a.startsWith('--'));

const rows = [];
for (const layer of loadSuite(filter)) {
  const start = performance.now();
  const plan = sk.createConv({ weight: layer.w, bias: layer.bias, ...layer.options, backend: 'fastest', inputShape: layer.x.shape });
  const chooseMs = performance.now() - start;
  rows.push({ layer: layer.name, chosen: plan.backend, chooseMs, timings: plan.backendTimings });
  plan.dispose();
}

if (json) {
  console.log(JSON.stringify({ backends: sk.backends(), rows }, null, 2));
} else {
  const ms = (v) => (v === undefined ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(1));
  const names = rows[0] ? rows[0].timings.map((t) => t.backend) : [];
  const header = ['layer', 'chosen', ...names.map((n) => `${n} ms (setup)`), 'choosing ms'];
  const table = rows.map((r) => [
    r.layer, r.chosen,
    ...r.timings.map((t) => (t.rejected !== undefined ? `rejected: ${t.rejected}` : `${ms(t.ms)} (${ms(t.setupMs)}) x${t.runs}`)),
    ms(r.chooseMs),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => String(row[i]).length)));
  for (const row of [header, ...table]) console.log(row.map((cell, i) => String(cell).padEnd(widths[i])).join('  ').trimEnd());
  const total = rows.reduce((sum, r) => sum + r.chooseMs, 0);
  console.log(`\n${rows.length} layers, ${ms(total)} ms choosing in all`);
}
