#!/usr/bin/env bash
# Developer entry point; the README's Quick start and .ci/run call it.
#
#   bash scripts/dev.sh setup   install system packages (as root, via apt-get) and the
#                               hash-locked dev venv in .venv, with `gitops` on its PATH
#   bash scripts/dev.sh test    setup, then ruff, mypy (strict) and the whole pytest suite
#   bash scripts/dev.sh lint    ruff + mypy only
#   bash scripts/dev.sh venv    only the hash-locked Python environment (no system packages)
#
# Test services (PostgreSQL, Redis, the fake Kubernetes and GitHub API servers) are started
# by the tests themselves on 127.0.0.1 and stopped afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV="$ROOT/.venv"
SYSTEM_PACKAGES=(git nodejs postgresql-15 postgresql-15-postgis-3 redis-server shellcheck)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

need_python() {
  PY=${GITOPS_PYTHON:-python3}
  if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
    echo "error: Python >= 3.11 is required (found: $("$PY" --version 2>&1 || echo none)); set GITOPS_PYTHON" >&2
    exit 1
  fi
}

system_packages() {
  local missing=()
  for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "error: missing system packages: ${missing[*]}; install them (Debian/Ubuntu: apt-get install ${missing[*]})" >&2
    exit 1
  fi
  say "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  # The Debian packages start a cluster/server as a system service where systemd runs; the
  # tests start their own on random ports, so a stopped or absent system service is fine.
}

python_env() {
  need_python
  local stamp="$VENV/.dev-lock-sha256" want uv
  want=$(sha256sum requirements/dev.txt pyproject.toml | sha256sum | cut -c1-64)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  # uv (scripts/uv.sh: the hash-pinned wheel of requirements/uv.txt, installed by this Python's
  # pip) installs the same hash-locked file in seconds; pip does it where uv cannot run (~30 s).
  # --no-deps: the lock is complete; it leaves out what requirements/excludes.txt names.
  if uv=$(GITOPS_PYTHON="$PY" bash scripts/uv.sh); then
    say "creating the dev venv from requirements/dev.txt (hash-locked, uv)"
    export UV_SYSTEM_CERTS=${UV_SYSTEM_CERTS:-1} # the platform's trust store, as pip and curl use it
    [ -x "$VENV/bin/python" ] || "$uv" venv --no-config --quiet --python "$PY" "$VENV"
    # sync: exactly the lock, so a package dropped from it does not linger in an older .venv
    "$uv" pip sync --no-config --quiet --python "$VENV/bin/python" --require-hashes requirements/dev.txt
    "$uv" pip install --no-config --quiet --python "$VENV/bin/python" \
      --no-deps --no-build-isolation -e .
  else
    say "creating the dev venv from requirements/dev.txt (hash-locked, pip: uv cannot run here)"
    [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
      --require-hashes --no-deps -r requirements/dev.txt
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
      --no-deps --no-build-isolation -e .
  fi
  echo "$want" > "$stamp"
}

setup() {
  system_packages
  python_env
}

lint() {
  say "ruff"
  "$VENV/bin/ruff" check scripts tests benchmarks
  "$VENV/bin/ruff" format --check scripts tests benchmarks
  say "mypy --strict (package)"
  "$VENV/bin/mypy"
}

test_all() {
  setup
  lint
  say "pytest"
  PATH="$VENV/bin:$PATH" "$VENV/bin/pytest" "$@"
}

cmd=${1:-}
shift || true
case "$cmd" in
  setup) setup ;;
  lint) python_env; lint ;;
  venv) python_env ;;
  test) test_all "$@" ;;
  *) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2; exit 2 ;;
esac
