#!/usr/bin/env bash
# Print the path of the hash-locked uv, installing it on first use:
#
#   uv="$(bash scripts/uv.sh)"      # exit 1 (with the reason on stderr) when it cannot
#
# uv comes from requirements/uv.txt: one pinned version with the sha256 of every platform's
# wheel, installed by the interpreter's own pip with --require-hashes --only-binary :all: (no
# build, nothing unpinned) into $GITOPS_CACHE_DIR/uv-<hash of uv.txt>-<os>-<machine>. Used by bootstrap.sh (to
# build the action venvs), dev.sh (the dev venv) and lock.sh (to compile the locks).
#
# Concurrent callers (two jobs on one self-hosted runner) each install into a private temporary
# directory and rename it into place; a rename onto an existing install fails, and the loser
# keeps the winner's copy. A cancelled install leaves at most a temporary directory, never a
# half-installed uv at the final path, so nothing ever waits for it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lock="$root/requirements/uv.txt"
py="${GITOPS_PYTHON:-python3}"
cache="${GITOPS_CACHE_DIR:-${RUNNER_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}}/gitops}"

if command -v sha256sum >/dev/null 2>&1; then
  hash="$(sha256sum "$lock" | cut -c1-16)"
else
  hash="$(shasum -a 256 "$lock" | cut -c1-16)"
fi
# The platform is part of the name: a cache directory shared between machines never hands an
# arm64 uv to an x86_64 runner.
target="$cache/uv-$hash-$(uname -s)-$(uname -m)"
if [ -x "$target/bin/uv" ] && "$target/bin/uv" --version >/dev/null 2>&1; then
  echo "$target/bin/uv"
  exit 0
fi

mkdir -p "$cache"
# Leftovers of installs that were killed an hour or more ago (a cancelled job on a self-hosted runner).
find "$cache" -maxdepth 1 -name '.uv-*' -mmin +60 -exec rm -rf {} + 2>/dev/null || true
rm -rf "$target" # not a working uv (checked above): never trust it
tmp="$(mktemp -d "$cache/.uv-$hash.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# The interpreter's pip; an interpreter without one (a venv made without pip, a distribution
# that ships pip separately) gets a throwaway venv with the pip bundled in Python (ensurepip).
pip="$py"
if ! "$py" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("pip") is None)' 2>/dev/null; then
  pipvenv="$(mktemp -d "$cache/.uv-pip-venv.XXXXXX")"
  trap 'rm -rf "$tmp" "$pipvenv"' EXIT
  if ! "$py" -m venv "$pipvenv" >&2; then
    echo "uv.sh: $py has no pip, and \`$py -m venv\` could not make a venv with one" >&2
    exit 1
  fi
  pip="$pipvenv/bin/python"
fi
# --target: a private directory, so neither the interpreter's site-packages nor an externally
# managed (PEP 668) system Python is touched. The wheel is kept in $cache/packages/wheels (the
# directory the workflows keep between jobs with uv's cache): with it there, pip installs without
# asking any index, and still checks its sha256 against the lock.
wheels="$cache/packages/wheels"
pip_install() { # [pip options...]
  PIP_ROOT_USER_ACTION=ignore "$pip" -m pip install --quiet --disable-pip-version-check --no-input \
    --no-compile --require-hashes --no-deps --only-binary :all: --target "$tmp" -r "$lock" "$@"
}
if ! { compgen -G "$wheels/uv-*.whl" >/dev/null && pip_install --no-index --find-links "$wheels" 2>/dev/null; }; then
  # Download into a private directory, then rename into the shared one: a concurrent caller
  # never sees half a wheel.
  rm -rf "$tmp" && mkdir -p "$tmp" "$wheels"
  download="$tmp.download"
  trap 'rm -rf "$tmp" "$download" ${pipvenv:+"$pipvenv"}' EXIT
  if ! "$pip" -m pip download --quiet --disable-pip-version-check --no-input --require-hashes --no-deps \
    --only-binary :all: --dest "$download" -r "$lock" >&2 \
    || ! mv -f "$download"/uv-*.whl "$wheels/" \
    || ! pip_install --no-index --find-links "$wheels" >&2; then
    echo "uv.sh: pip could not install uv from $lock with $py (is there a uv wheel for this platform, and can pip reach the package index?)" >&2
    exit 1
  fi
fi
if ! "$tmp/bin/uv" --version >/dev/null 2>&1; then
  echo "uv.sh: the uv installed from $lock does not run on this machine" >&2
  exit 1
fi
chmod 755 "$tmp" # mktemp's 0700 would hide uv from other users of a shared tool cache
# Atomic publish: rename(2) refuses to replace a non-empty directory, so exactly one caller wins.
"$py" -c 'import os, sys; os.rename(sys.argv[1], sys.argv[2])' "$tmp" "$target" 2>/dev/null || true
if [ -x "$target/bin/uv" ]; then
  echo "$target/bin/uv"
else
  echo "uv.sh: could not place uv at $target" >&2
  exit 1
fi
