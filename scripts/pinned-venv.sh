# Sourced by the setup-*.sh scripts: a project-local Python venv holding pinned wheels from PyPI.
#
#   pinned_venv TAG VENV [PIP_OPTION...] -- NAME==VERSION...
#
# Creates VENV with $PYTHON (default python3) when it is missing, installs only the pins that are not
# already installed at their version (so a second run downloads nothing), and sets venv_python to the
# venv's interpreter. Logs as [setup-TAG] on stderr; returns non-zero when Python or pip fails.
pinned_venv() {
  local tag="$1" venv="$2"
  shift 2
  local pip_options=()
  while [[ $# -gt 0 && "$1" != "--" ]]; do
    pip_options+=("$1")
    shift
  done
  shift
  local python="${PYTHON:-python3}"
  venv_python="$venv/bin/python"
  [[ -x "$venv/Scripts/python.exe" ]] && venv_python="$venv/Scripts/python.exe"  # a Windows venv
  if [[ ! -x "$venv_python" ]]; then
    command -v "$python" >/dev/null || { printf '[setup-%s] no %s on PATH (set PYTHON=...)\n' "$tag" "$python" >&2; return 1; }
    printf '[setup-%s] creating %s with %s\n' "$tag" "$venv" "$("$python" --version 2>&1)" >&2
    "$python" -m venv "$venv" || return 1
    [[ -x "$venv/Scripts/python.exe" ]] && venv_python="$venv/Scripts/python.exe"
  fi
  local wanted=() pin current
  for pin in "$@"; do
    current="$("$venv_python" -c "import importlib.metadata as m; print(m.version('${pin%%==*}'))" 2>/dev/null || true)"
    [[ "$current" == "${pin#*==}" ]] || wanted+=("$pin")
  done
  if [[ ${#wanted[@]} -eq 0 ]]; then
    printf '[setup-%s] %s already installed in %s\n' "$tag" "$*" "$venv" >&2
  else
    printf '[setup-%s] installing %s into %s\n' "$tag" "${wanted[*]}" "$venv" >&2
    "$venv_python" -m pip install --quiet --disable-pip-version-check "${pip_options[@]}" "${wanted[@]}" || return 1
  fi
}
