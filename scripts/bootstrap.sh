# shellcheck shell=bash
# Sourced by every composite action (and usable on a laptop):
#
#   source "$GITHUB_ACTION_PATH/../../scripts/bootstrap.sh"
#
# Creates, or reuses, ONE virtualenv keyed by the hash of requirements/runtime.txt, installs it
# with --require-hashes, and puts it and the `gitops` package on PATH/PYTHONPATH for this step.
# The venv lives under $RUNNER_TOOL_CACHE on runners (survives between steps and, on
# self-hosted runners, between jobs), else under ${XDG_CACHE_HOME:-~/.cache}/gitops.
# A second call with the same lock only checks a marker file: well under a second.

gitops_bootstrap() {
  local root lock py version hash cache venv lockdir
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" || return 1
  lock="$root/requirements/runtime.txt"
  py="${GITOPS_PYTHON:-python3}"

  if ! command -v "$py" >/dev/null 2>&1; then
    echo "::error title=gitops bootstrap::$py not found. Install Python >= 3.11 (e.g. actions/setup-python) or set GITOPS_PYTHON." >&2
    return 1
  fi
  version="$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" || return 1
  if ! "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
    echo "::error title=gitops bootstrap::Python >= 3.11 is required, found $version at $(command -v "$py"). Use actions/setup-python or set GITOPS_PYTHON." >&2
    return 1
  fi

  if command -v sha256sum >/dev/null 2>&1; then
    hash="$(sha256sum "$lock" | cut -c1-16)"
  else
    hash="$(shasum -a 256 "$lock" | cut -c1-16)"
  fi
  cache="${GITOPS_CACHE_DIR:-${RUNNER_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}}/gitops}"
  venv="$cache/venv-py$version-$hash"

  if [ ! -f "$venv/.gitops-complete" ]; then
    mkdir -p "$cache" || return 1
    lockdir="$venv.lock"
    # mkdir is atomic: one job builds, concurrent ones on the same runner wait for it.
    local waited=0
    until mkdir "$lockdir" 2>/dev/null; do
      if [ -f "$venv/.gitops-complete" ]; then break; fi
      if [ "$waited" -ge 600 ]; then
        echo "::error title=gitops bootstrap::timed out waiting for $lockdir; remove it if no other job is building the venv" >&2
        return 1
      fi
      sleep 1; waited=$((waited + 1))
    done
    if [ ! -f "$venv/.gitops-complete" ]; then
      echo "::group::gitops: creating the hash-locked venv ($venv)" >&2
      rm -rf "$venv"
      if ! "$py" -m venv "$venv" >&2 \
        || ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
              --require-hashes --no-deps -r "$lock" >&2; then
        echo "::endgroup::" >&2
        rmdir "$lockdir" 2>/dev/null
        echo "::error title=gitops bootstrap::installing $lock failed (see the log group above)" >&2
        return 1
      fi
      touch "$venv/.gitops-complete"
      echo "::endgroup::" >&2
    fi
    rmdir "$lockdir" 2>/dev/null || true
  fi

  export GITOPS_VENV="$venv"
  export GITOPS_ROOT="$root"
  case ":$PATH:" in *":$venv/bin:"*) ;; *) export PATH="$root/scripts/bin:$venv/bin:$PATH" ;; esac
  case ":${PYTHONPATH:-}:" in *":$root/scripts:"*) ;; *) export PYTHONPATH="$root/scripts${PYTHONPATH:+:$PYTHONPATH}" ;; esac
}

gitops_bootstrap
