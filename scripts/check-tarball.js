#!/usr/bin/env node
'use strict';
/*
 * Checks a packed stridekit tarball (`npm pack`) before it is published: it is under the size limit
 * (10 MB: every prebuild of every platform travels to every user who installs the package), it holds
 * the compiled facade and the given prebuilt files, and nothing from a local build (build/).
 *
 *   node scripts/check-tarball.js <tarball> [another required path in the package ...]
 *
 * Required: the facade, and the cores of the five platforms `npm run prebuild:all` builds. Prints the
 * size and the prebuilds/ files; exits 1 with every problem listed. The release workflow
 * (.github/workflows/release.yml) runs it on the tarball it publishes, and test/prebuilds.test.js
 * checks the tarball it packs against the same limit.
 */
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const MAX_TARBALL_BYTES = 10 * 1000 * 1000;
const PLATFORMS = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64'];
const ALWAYS = ['package.json', 'dist/index.js', 'dist/index.d.ts', 'esm/index.mjs'];

/**
 * The regular files of a gzip-compressed tar archive, as paths inside the package (npm pack puts
 * everything under `package/`), with their sizes. Reads ustar headers, and the records that carry a
 * long name before its file's header: PAX `path` (npm pack writes these) and GNU `L` (GNU tar's).
 */
function listTarball(file) {
  const tar = zlib.gunzipSync(fs.readFileSync(file));
  const files = [];
  let longName = null;
  for (let at = 0; at + 512 <= tar.length;) {
    const header = tar.subarray(at, at + 512);
    if (header.every((byte) => byte === 0)) break;
    const field = (start, length) => header.toString('utf8', start, start + length).replace(/\0[\s\S]*$/, '');
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1) || '0';
    const prefix = field(345, 155);
    const body = tar.subarray(at + 512, at + 512 + size);
    let name = longName || (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    longName = null;
    if (type === 'x') {
      const record = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString('utf8'));
      if (record) longName = record[1];
    } else if (type === 'L') {
      longName = body.toString('utf8').replace(/\0[\s\S]*$/, '');
    } else if (type === '0' || type === '7') {
      name = name.replace(/^package\//, '');
      files.push({ path: name, size });
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/** Everything wrong with the tarball, which must hold `required` (paths in the package): none when it may be published. */
function problems(file, required) {
  const found = [];
  const bytes = fs.statSync(file).size;
  if (bytes >= MAX_TARBALL_BYTES) {
    found.push(`${path.basename(file)} is ${bytes} bytes, over the ${MAX_TARBALL_BYTES}-byte limit`);
  }
  const files = listTarball(file).map((f) => f.path);
  for (const name of [...ALWAYS, ...required]) {
    if (!files.includes(name)) found.push(`${name} is not in ${path.basename(file)}`);
  }
  const local = files.filter((name) => name.startsWith('build/'));
  if (local.length) found.push(`a local build is in the tarball: ${local.join(', ')}`);
  return found;
}

if (require.main === module) {
  const [file, ...extra] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node scripts/check-tarball.js <tarball> [another required path in the package ...]');
    process.exit(2);
  }
  const list = listTarball(file).filter((f) => f.path.startsWith('prebuilds/'));
  console.log(`${path.basename(file)}: ${fs.statSync(file).size} bytes (limit ${MAX_TARBALL_BYTES})`);
  for (const f of list) console.log(`  ${f.path}  ${f.size} bytes`);
  const found = problems(file, [...PLATFORMS.map((tuple) => `prebuilds/${tuple}/stridekit.node`), ...extra]);
  if (found.length) {
    for (const problem of found) console.error(`check-tarball: ${problem}`);
    process.exit(1);
  }
  console.log('check-tarball: ok');
}

module.exports = { MAX_TARBALL_BYTES, PLATFORMS, listTarball, problems };
