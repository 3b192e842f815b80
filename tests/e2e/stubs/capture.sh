# shellcheck shell=bash
# Sourced by bash at the start of EVERY `run:` step of an e2e act run (act is given
# --env BASH_ENV=<this file>). On the step's exit it snapshots what the step left behind,
# because act truncates the per-step files and deletes the workspace and temp dir at job end:
#   files/     copies of $GITHUB_OUTPUT, $GITHUB_STEP_SUMMARY, $GITHUB_ENV, $GITHUB_STATE, $GITHUB_PATH
#   workspace/ hard-link copy of $GITHUB_WORKSPACE (cheap; the harness scans the last one per job)
#   temp/      hard-link copy of $RUNNER_TEMP
#   meta.json  job, action, and the bootstrap profile and venv the step sourced ($GITOPS_PROFILE, $GITOPS_VENV)
# Child bash processes inherit _E2E_IN_STEP and do not snapshot again. The step's exit
# status is untouched (an EXIT trap that does not call `exit` keeps it).
if [ -z "${_E2E_IN_STEP:-}" ] && [ -n "${E2E_CAPTURE_DIR:-}" ]; then
  export _E2E_IN_STEP=1
  _e2e_capture() {
    local dir seq
    seq="$(date +%s%N)"
    dir="$E2E_CAPTURE_DIR/$seq-$$"
    mkdir -p "$dir/files" || return 0
    [ -f "${GITHUB_OUTPUT:-}" ] && cp "$GITHUB_OUTPUT" "$dir/files/output"
    [ -f "${GITHUB_STEP_SUMMARY:-}" ] && cp "$GITHUB_STEP_SUMMARY" "$dir/files/summary"
    [ -f "${GITHUB_ENV:-}" ] && cp "$GITHUB_ENV" "$dir/files/env"
    [ -f "${GITHUB_STATE:-}" ] && cp "$GITHUB_STATE" "$dir/files/state"
    [ -f "${GITHUB_PATH:-}" ] && cp "$GITHUB_PATH" "$dir/files/path"
    [ -d "${GITHUB_WORKSPACE:-}" ] && cp -al "$GITHUB_WORKSPACE" "$dir/workspace" 2>/dev/null
    [ -d "${RUNNER_TEMP:-}" ] && cp -al "$RUNNER_TEMP" "$dir/temp" 2>/dev/null
    printf '{"job": "%s", "action": "%s", "workspace": "%s", "seq": %s, "profile": "%s", "venv": "%s"}\n' \
      "${GITHUB_JOB:-}" "${GITHUB_ACTION:-}" "${GITHUB_WORKSPACE:-}" "$seq" \
      "${GITOPS_PROFILE:-}" "${GITOPS_VENV:-}" > "$dir/meta.json"
    return 0
  }
  trap _e2e_capture EXIT
fi
