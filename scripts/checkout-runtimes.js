// For the tools that run in this checkout (jest, the demo, the bench, `npm run info`): points the vendor
// plugins at the checkout's own runtimes, .venv-openvino/ and .venv-cuda/ (npm run setup:openvino /
// setup:cuda), unless the variables are set already. The plugins themselves look only where a user has a
// runtime (README, Backends), never into a checkout, so without this a checkout would need its venv
// activated. Sets process.env of the process that loads the native core (so its getenv sees the values)
// and of every child it starts. Not part of the npm package.
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

/** A folder inside a checkout venv's site-packages, or null when that venv or folder is not there. */
function sitePackagesDir(venv, sub) {
  const lib = path.join(root, venv, 'lib');
  if (!fs.existsSync(lib)) return null;
  for (const python of fs.readdirSync(lib).sort().reverse()) {
    const dir = path.join(lib, python, 'site-packages', sub);
    if (fs.existsSync(dir)) return dir;
  }
  return null;
}

for (const [variable, venv, sub] of [
  ['STRIDEKIT_OPENVINO_DIR', '.venv-openvino', 'openvino/libs'],
  ['STRIDEKIT_CUDA_DIR', '.venv-cuda', 'nvidia/cu13/lib'],
  ['STRIDEKIT_CUDNN_DIR', '.venv-cuda', 'nvidia/cudnn/lib'],
]) {
  if (process.env[variable] !== undefined) continue;
  const dir = sitePackagesDir(venv, sub);
  if (dir) process.env[variable] = dir;
}

module.exports = { sitePackagesDir };
