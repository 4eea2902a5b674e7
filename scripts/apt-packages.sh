# Sourced by the test-only setup-*-checks.sh scripts: the Debian / Ubuntu packages a check needs, with
# apt-get.
#
#   apt_packages TAG UNTIL [PACKAGE...]
#
# With no PACKAGE (the caller found everything there already), does nothing. As root with apt-get,
# installs the packages quietly and without their recommended packages, and sets apt_installed=yes.
# Otherwise it only logs, as [setup-TAG] on stderr, what to install by hand and UNTIL (what the tests
# do until then: skip those checks, with that reason), and sets apt_installed=no; that is not a
# failure. Returns non-zero when apt-get fails.
apt_packages() {
  local tag="$1" until="$2"
  shift 2
  apt_installed=no
  [[ $# -gt 0 ]] || return 0
  if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
    printf '[setup-%s] not root or no apt-get: install %s yourself; until then %s\n' "$tag" "$*" "$until" >&2
    return 0
  fi
  printf '[setup-%s] installing %s with apt-get\n' "$tag" "$*" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null || return 1
  printf '[setup-%s] installed %s\n' "$tag" "$*" >&2
  apt_installed=yes
}
