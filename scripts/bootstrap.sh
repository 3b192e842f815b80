# shellcheck shell=bash
# Sourced by every composite action (and usable in a workflow step or on a laptop):
#
#   source "$GITHUB_ACTION_PATH/../../scripts/bootstrap.sh" PROFILE
#
# PROFILE is the smallest set of packages the step's verbs need, one hash-locked file each
# (requirements/PROFILE.txt, compiled by scripts/lock.sh):
#
#   core      changes, gate, plan                                  PyYAML, tzdata
#   kube      render, apply, deploy, cluster-ready, cluster, diff,   core + kubernetes, jsonpath-ng,
#             status                                                 kubectl
#   github    upload-kubeconfig, dispatch                          core + PyGithub, PyNaCl
#   validate  validate                                             core + kubectl, kubernetes-validate
#   all       every verb (the default when no PROFILE is given)
#
# It creates, or reuses, one virtualenv per profile, keyed by the Python version and the hash of
# the profile's lock, installs it with --require-hashes --no-deps --only-binary :all: using uv
# (scripts/uv.sh: a hash-pinned wheel installed by the interpreter's pip), or pip where uv
# cannot run (with a notice), and puts the venv and the `gitops` package of this checkout on
# PATH/PYTHONPATH for this step. A verb run without its profile says which one to source.
#
# Where: $GITOPS_CACHE_DIR, else $RUNNER_TOOL_CACHE/gitops on runners (survives between steps
# and, on self-hosted runners, between jobs), else ${XDG_CACHE_HOME:-~/.cache}/gitops.
# Downloads are cached in <that>/packages (uv's cache, and the uv wheel; $UV_CACHE_DIR
# wins when set); the workflows keep that directory between jobs with actions/cache.
# A second call for the same profile only checks a marker file (~15 ms).
#
# Settings: GITOPS_PYTHON (the interpreter, default python3), GITOPS_CACHE_DIR (see above),
# GITOPS_UV (a uv binary to use instead of the pinned one, e.g. from astral-sh/setup-uv),
# UV_CACHE_DIR, and UV_SYSTEM_CERTS (default 1: the platform's certificate store).
#
# Runners: Linux (x86_64, arm64) and macOS (arm64; on Intel x86_64 every profile but github and
# all, because cryptography publishes no macOS x86_64 wheel). Anything else, Windows included,
# fails at once with an error that says so.
#
# One build per venv at a time: a `mkdir` lock beside the venv records the builder's pid and
# host. The builder releases it however it ends (a cancelled job gets SIGINT/SIGTERM: the
# install is stopped and the lock removed); a lock whose owner is gone (its pid no longer runs
# on this host) or that is older than 5 minutes (no build takes that long) is stale, and the
# next caller removes it instead of waiting.

_gitops_error() {
  echo "::error title=gitops bootstrap::$*" >&2
  return 1
}

# -- platform and Python ----------------------------------------------------------------------------
_gitops_check_platform() { # PROFILE
  local os arch
  case "${RUNNER_OS:-}:${OSTYPE:-}" in
    Windows:* | *:msys* | *:cygwin* | *:win32*)
      _gitops_error "Windows runners are not supported (this runner: ${RUNNER_OS:-${OSTYPE:-}}). The gitops actions run on Linux (x86_64, arm64) and macOS (arm64) runners: use runs-on: ubuntu-latest (or macos-latest) for this job."
      return 1
      ;;
  esac
  case "${OSTYPE:-}" in
    linux*) os=Linux ;;
    darwin*) os=macOS ;;
    *)
      _gitops_error "unsupported operating system '${OSTYPE:-unknown}': the gitops actions run on Linux (x86_64, arm64) and macOS (arm64) runners"
      return 1
      ;;
  esac
  case "${HOSTTYPE:-}" in
    x86_64 | amd64) arch=x86_64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *)
      _gitops_error "unsupported processor '${HOSTTYPE:-unknown}' on $os: the gitops actions run on x86_64 and arm64 (the locked wheels, kubectl among them, exist only for those)"
      return 1
      ;;
  esac
  if [ "$os" = macOS ] && [ "$arch" = x86_64 ] && { [ "$1" = github ] || [ "$1" = all ]; }; then
    _gitops_error "profile '$1' cannot be installed on macOS x86_64 (Intel): it needs cryptography (for PyGithub), which publishes no macOS x86_64 wheel. Run this step on an arm64 macOS runner (macos-latest) or on Linux."
    return 1
  fi
}

# -- the build lock ---------------------------------------------------------------------------------
_gitops_host() {
  hostname 2>/dev/null || uname -n
}

_gitops_running() { # PID: is it a live process on this host (whoever owns it)?
  if [ -d /proc/self ]; then
    [ -d "/proc/$1" ]
  elif command -v ps >/dev/null 2>&1; then
    ps -p "$1" >/dev/null 2>&1
  else
    kill -0 "$1" 2>/dev/null
  fi
}

_gitops_stale_reason() { # LOCKDIR: prints why the lock is stale; fails when it is not
  local lockdir=$1 key value pid="" host=""
  if [ -f "$lockdir/owner" ]; then
    while IFS='=' read -r key value; do
      case $key in
        pid) pid=$value ;;
        host) host=$value ;;
      esac
    done <"$lockdir/owner"
  fi
  case $pid in *[!0-9]*) pid="" ;; esac
  if [ -n "$pid" ] && [ "$host" = "$(_gitops_host)" ] && ! _gitops_running "$pid"; then
    echo "its owner, process $pid on $host, is gone"
    return 0
  fi
  if [ -n "$(find "$lockdir" -maxdepth 0 -mmin +5 2>/dev/null)" ]; then
    echo "it is older than 5 minutes (owner: ${pid:-unknown} on ${host:-unknown})"
    return 0
  fi
  return 1
}

_gitops_acquire() { # LOCKDIR MARKER: 0 = locked by us, 2 = MARKER appeared meanwhile, 1 = error
  local lockdir=$1 marker=$2 waited=0 reason
  until mkdir "$lockdir" 2>/dev/null; do
    if [ -f "$marker" ]; then
      return 2
    fi
    if reason="$(_gitops_stale_reason "$lockdir")"; then
      echo "::notice title=gitops bootstrap::removing the stale lock $lockdir: $reason" >&2
      rm -rf "$lockdir"
      continue
    fi
    if [ "$waited" -ge 360 ]; then
      _gitops_error "timed out after ${waited}s waiting for $lockdir (another job is building the same venv); remove the directory if no job is running"
      return 1
    fi
    if [ $((waited % 30)) -eq 0 ]; then
      echo "gitops bootstrap: another job is building this venv ($lockdir); waiting for it" >&2
    fi
    sleep 1
    waited=$((waited + 1))
  done
  printf 'pid=%s\nhost=%s\n' "$$" "$(_gitops_host)" >"$lockdir/owner"
  _gitops_lockdir=$lockdir
  _gitops_saved_traps="$(trap -p INT TERM HUP)"
  trap '_gitops_interrupted 130' INT
  trap '_gitops_interrupted 143' TERM
  trap '_gitops_interrupted 129' HUP
}

_gitops_release() {
  if [ -n "${_gitops_lockdir:-}" ]; then
    rm -rf "$_gitops_lockdir"
    _gitops_lockdir=""
    trap - INT TERM HUP
    eval "${_gitops_saved_traps:-}"
  fi
}

_gitops_interrupted() { # EXIT-STATUS: a cancelled job: stop the install, free the lock, exit
  if [ -n "${_gitops_child:-}" ]; then
    kill "$_gitops_child" 2>/dev/null
    wait "$_gitops_child" 2>/dev/null
  fi
  _gitops_release
  echo "::endgroup::" >&2
  echo "gitops bootstrap: interrupted; the venv was not built and its lock is released" >&2
  exit "$1"
}

_gitops_run() { # COMMAND...: run in the background and wait, so a signal's trap runs at once
  "$@" >&2 &
  _gitops_child=$!
  wait "$_gitops_child"
  local status=$?
  _gitops_child=""
  return "$status"
}

# -- the build --------------------------------------------------------------------------------------
_gitops_uv() { # CACHE PYTHON: print a uv binary that runs, or fail
  if [ -n "${GITOPS_UV:-}" ]; then
    if "$GITOPS_UV" --version >/dev/null 2>&1; then
      echo "$GITOPS_UV"
      return 0
    fi
    echo "GITOPS_UV=$GITOPS_UV does not run" >&2
    return 1
  fi
  GITOPS_CACHE_DIR="$1" GITOPS_PYTHON="$2" bash "$_gitops_root/scripts/uv.sh"
}

_gitops_build() { # PROFILE LOCK VENV CACHE PYTHON
  local profile=$1 lock=$2 venv=$3 cache=$4 python=$5 uv=""
  echo "::group::gitops: creating the $profile venv from requirements/$profile.txt (hash-locked): $venv" >&2
  rm -rf "$venv"
  if uv="$(_gitops_uv "$cache" "$python")"; then
    # uv's cache is what the workflows keep between jobs; the platform's certificate store, as
    # pip >= 24.2 and curl use it, so a runner behind a TLS-inspecting proxy works for both.
    set -- env UV_CACHE_DIR="${UV_CACHE_DIR:-$cache/packages/uv}" UV_SYSTEM_CERTS="${UV_SYSTEM_CERTS:-1}" "$uv"
    if ! _gitops_run "$@" venv --no-config --quiet --python "$python" "$venv" \
      || ! _gitops_run "$@" pip install --no-config --python "$venv/bin/python" \
        --require-hashes --no-deps --only-binary :all: -r "$lock"; then
      echo "::notice title=gitops bootstrap::uv could not install $lock (see the log group); installing with pip instead, which is slower. Behind a package mirror, set UV_DEFAULT_INDEX as you set PIP_INDEX_URL." >&2
      rm -rf "$venv"
      uv=""
    fi
  else
    echo "::notice title=gitops bootstrap::uv is not available here (see the log group); installing with pip instead, which is slower" >&2
    uv=""
  fi
  if [ -z "$uv" ]; then
    if ! _gitops_run "$python" -m venv "$venv" \
      || ! _gitops_run "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
        --require-hashes --no-deps --only-binary :all: -r "$lock"; then
      echo "::endgroup::" >&2
      rm -rf "$venv"
      _gitops_error "installing $lock failed (see the log group above)"
      return 1
    fi
  fi
  touch "$venv/.gitops-complete"
  echo "::endgroup::" >&2
}

# -- the entry point ------------------------------------------------------------------------------
gitops_bootstrap() { # [PROFILE]
  local profile=${1:-all} py info version major minor python lock hash cache venv status p
  case $profile in
    core | kube | github | validate | all) ;;
    *)
      _gitops_error "unknown profile '$profile': use one of core, kube, github, validate, all (e.g. source scripts/bootstrap.sh kube)"
      return 1
      ;;
  esac
  _gitops_check_platform "$profile" || return 1
  _gitops_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" || return 1
  lock="$_gitops_root/requirements/$profile.txt"

  py="${GITOPS_PYTHON:-python3}"
  if ! command -v "$py" >/dev/null 2>&1; then
    _gitops_error "$py not found. Install Python >= 3.11 (e.g. actions/setup-python) or set GITOPS_PYTHON."
    return 1
  fi
  # One interpreter start (-S: no site, ~10 ms): its version and its real path.
  info="$("$py" -S -c 'import sys; print("%d.%d" % sys.version_info[:2]); print(sys.executable)' 2>/dev/null)"
  version=${info%%$'\n'*}
  python=${info#*$'\n'}
  major=${version%%.*}
  minor=${version#*.}
  case "$major.$minor" in
    *[!0-9.]* | .* | *.) version="" ;;
  esac
  if [ -z "$version" ] || [ "$major" -lt 3 ] || { [ "$major" -eq 3 ] && [ "$minor" -lt 11 ]; }; then
    _gitops_error "Python >= 3.11 is required, found ${version:-an interpreter that did not answer} at $(command -v "$py"). Use actions/setup-python or set GITOPS_PYTHON."
    return 1
  fi

  if command -v sha256sum >/dev/null 2>&1; then
    hash="$(sha256sum "$lock" | cut -c1-16)"
  else
    hash="$(shasum -a 256 "$lock" | cut -c1-16)"
  fi
  cache="${GITOPS_CACHE_DIR:-${RUNNER_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}}/gitops}"
  venv="$cache/venv-$profile-py$version-$hash"

  if [ ! -f "$venv/.gitops-complete" ]; then
    mkdir -p "$cache" || return 1
    _gitops_acquire "$venv.lock" "$venv/.gitops-complete"
    status=$?
    if [ "$status" -eq 1 ]; then
      return 1
    fi
    if [ "$status" -eq 0 ]; then
      status=0
      if [ ! -f "$venv/.gitops-complete" ]; then
        _gitops_build "$profile" "$lock" "$venv" "$cache" "$python" || status=1
      fi
      _gitops_release
      [ "$status" -eq 0 ] || return 1
    fi
  fi

  export GITOPS_VENV="$venv"
  export GITOPS_PROFILE="$profile"
  export GITOPS_ROOT="$_gitops_root"
  # This profile's venv first (a later profile sourced in the same shell wins), then the
  # `gitops` wrapper of this checkout, which runs `python -m gitops` with the venv's python.
  p=":$PATH:"
  p=${p//":$venv/bin:"/:}
  p=${p//":$_gitops_root/scripts/bin:"/:}
  p=${p#:}
  p=${p%:}
  export PATH="$_gitops_root/scripts/bin:$venv/bin${p:+:$p}"
  case ":${PYTHONPATH:-}:" in
    *":$_gitops_root/scripts:"*) ;;
    *) export PYTHONPATH="$_gitops_root/scripts${PYTHONPATH:+:$PYTHONPATH}" ;;
  esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  echo "scripts/bootstrap.sh is sourced, not run: source scripts/bootstrap.sh [core|kube|github|validate|all]" >&2
  exit 2
fi
# `||`: the caller's `set -e` (GitHub runs `bash -e`) must not end the step half-way through,
# with the lock held and no message; a failure returns 1 from `source` instead.
gitops_bootstrap "$@" || return 1
