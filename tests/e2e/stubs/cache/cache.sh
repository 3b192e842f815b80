#!/usr/bin/env bash
# The actions/cache stand-in's one step (see action.yml).
set -euo pipefail
if [ -z "${STUB_PATH:-}" ]; then
  echo "::error title=actions/cache stand-in::no path given" >&2
  exit 1
fi
case "${STUB_KEY:-}" in
  "" | *-)
    echo "::error title=actions/cache stand-in::the key '${STUB_KEY:-}' is empty or ends with '-': its hashFiles(...) matched no file" >&2
    exit 1
    ;;
esac
# scripts/bootstrap.sh keeps its downloads in $RUNNER_TOOL_CACHE/gitops/packages when no
# GITOPS_CACHE_DIR is set (on GitHub's runners): the cached path must be exactly that.
if [ "$STUB_PATH" != "${RUNNER_TOOL_CACHE:-}/gitops/packages" ]; then
  echo "::error title=actions/cache stand-in::path '$STUB_PATH' is not where scripts/bootstrap.sh keeps its downloads (\$RUNNER_TOOL_CACHE/gitops/packages = ${RUNNER_TOOL_CACHE:-}/gitops/packages)" >&2
  exit 1
fi
python3 -c 'import json, sys; print(json.dumps({"job": sys.argv[1], "path": sys.argv[2], "key": sys.argv[3]}))' \
  "${GITHUB_JOB:-}" "$STUB_PATH" "$STUB_KEY" >>"$E2E_CAPTURE_DIR/cache-steps.jsonl"
