#!/usr/bin/env node
'use strict';
/*
 * Installs a packed stridekit tarball into a new, empty project the way a user's `npm install` does,
 * but with install scripts off, so nothing can be compiled: the core that loads is one the tarball
 * ships. Checks that it is (the loaded core is the installed package's prebuilds/<platform>-<arch>/
 * binary), then prints the installed package's folder, for STRIDEKIT_TEST_PACKAGE
 * (test/helpers/target.js), which points the suite at it instead of this checkout.
 *
 *   node scripts/install-tarball.js <tarball> <new project folder>
 *
 * The release workflow (.github/workflows/release.yml) runs the suite this way on each platform.
 * Progress goes to stderr; stdout is the folder alone.
 */
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

function fail(message) {
  console.error(`[install-tarball] ${message}`);
  process.exit(1);
}

const [tarballArg, projectArg] = process.argv.slice(2);
if (!tarballArg || !projectArg) fail('usage: node scripts/install-tarball.js <tarball> <new project folder>');
const tarball = path.resolve(tarballArg);
const project = path.resolve(projectArg);
if (!fs.existsSync(tarball)) fail(`no tarball ${tarball}`);
if (fs.existsSync(project) && fs.readdirSync(project).length) fail(`${project} is not empty`);

fs.mkdirSync(project, { recursive: true });
fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'stridekit-consumer', private: true }));
// npm is a .cmd file on Windows, which only a shell starts; the paths are quoted for it.
const args = ['install', '--ignore-scripts', '--no-audit', '--no-fund', tarball];
const npm = spawnSync('npm', args.map((a) => `"${a}"`), { cwd: project, stdio: ['ignore', 2, 2], shell: true });
if (npm.status !== 0) fail(`npm ${args.join(' ')} exited with ${npm.status}`);

const installed = path.join(project, 'node_modules', 'stridekit');
// The facade's loader by its file, past the exports map, for the path of the core it loaded.
delete process.env.STRIDEKIT_BACKEND; // which backend runs is the suite's business, not the loader's
let core;
try {
  core = require(path.join(installed, 'dist', 'loader.js')).bindingPath();
} catch (error) {
  fail(`the installed package's core does not load:\n${error.message}`);
}
// Real paths on both sides: require resolves symbolic links (macOS's /var is /private/var).
const shipped = path.join(fs.realpathSync(installed), 'prebuilds', `${process.platform}-${process.arch}`) + path.sep;
if (!fs.realpathSync(core).startsWith(shipped)) fail(`the core that loaded is ${core}, not one the tarball ships in ${shipped}`);
console.error(`[install-tarball] ${path.basename(tarball)} installed with scripts off; its core loads: ${core}`);
console.log(installed);
