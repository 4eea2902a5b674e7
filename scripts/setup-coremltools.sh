#!/usr/bin/env bash
# Sets up the test-only Python environment in which test/coreml-model.test.js reads the Core ML models
# that the coreml backend builds, with Apple's coremltools:
#   a venv .venv-coremltools/ (gitignored by `.venv*/`) with a pinned `coremltools` wheel from PyPI.
# Nothing of it is used at run time: the plugin writes its models with its own protobuf writer.
# Idempotent: nothing is downloaded when the pinned version is already installed.
#
#   scripts/setup-coremltools.sh
#   COREMLTOOLS_VERSION=9.0 PYTHON=python3.11 scripts/setup-coremltools.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="${COREMLTOOLS_VERSION:-9.0}"
venv="$root/.venv-coremltools"

source "$root/scripts/pinned-venv.sh"
pinned_venv coremltools "$venv" -- "coremltools==$version"
# The import prints "Failed to load _MLModelProxy" on Linux: Core ML itself exists on macOS only.
"$venv_python" -c 'import coremltools, sys; sys.stderr.write("[setup-coremltools] coremltools %s ready\n" % coremltools.__version__)' 2>&1 |
  grep '^\[setup-coremltools\]' >&2
