#!/usr/bin/env node
'use strict';
// The child process that runs fuzz cases, so that a crash (SIGSEGV, abort, out of memory) kills only
// it and the driver can report the case that did it.
//   forked by the driver: answers each IPC message { id, case } with { id, ok, note?, message?, harness? }
//   by hand:              node test/fuzz/worker.js '<case JSON>'   (or --file case.json)
//                         runs one case, prints the verdict, exits 0 (passed) or 1 (failed).

const fs = require('fs');
const { check } = require('./check');

async function main() {
  if (process.send) {
    process.on('message', async (msg) => {
      const verdict = await check(msg.case);
      process.send({ id: msg.id, ...verdict });
    });
    // The driver's disconnect (or its death) ends this process.
    process.on('disconnect', () => process.exit(0));
    return;
  }
  const args = process.argv.slice(2);
  const text = args[0] === '--file' ? fs.readFileSync(args[1], 'utf8') : args[0];
  if (!text) {
    console.error("usage: node test/fuzz/worker.js '<case JSON>' | --file case.json");
    process.exit(2);
  }
  const c = JSON.parse(text);
  console.log(`backend ${c.backend}, ${c.kind} case:\n${JSON.stringify(c)}`);
  const started = process.hrtime.bigint();
  const verdict = await check(c);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (verdict.ok) {
    console.log(`passed in ${ms.toFixed(1)} ms${verdict.note ? ` (${verdict.note})` : ''}`);
  } else {
    console.log(`FAILED in ${ms.toFixed(1)} ms: ${verdict.message}`);
    process.exitCode = 1;
  }
}

main();
