#!/usr/bin/env bash
# actions/checkout stand-in for the e2e tests; see action.yml.
set -euo pipefail
src="${E2E_CHECKOUT_SOURCE:?the e2e harness sets E2E_CHECKOUT_SOURCE to the scenario repository}"
if [ "$STUB_PERSIST_CREDENTIALS" != "false" ]; then
  echo "::error title=checkout stand-in::persist-credentials is '$STUB_PERSIST_CREDENTIALS'; this suite's workflows must pass persist-credentials: false" >&2
  exit 1
fi
if [ -n "$STUB_REPOSITORY" ] && [ "$STUB_REPOSITORY" != "$GITHUB_REPOSITORY" ]; then
  echo "::error title=checkout stand-in::only $GITHUB_REPOSITORY can be checked out here, not $STUB_REPOSITORY" >&2
  exit 1
fi
dest="$GITHUB_WORKSPACE"
[ -n "$STUB_PATH" ] && dest="$GITHUB_WORKSPACE/$STUB_PATH"
ref="${STUB_REF:-$GITHUB_SHA}"
mkdir -p "$dest"
cd "$dest"
git init -q
git remote add origin "file://$src"
sha="$(git ls-remote origin "$ref" "refs/heads/$ref" "refs/tags/$ref" | head -n1 | cut -f1)"
[ -z "$sha" ] && sha="$ref"
if [ "$STUB_FETCH_DEPTH" = "0" ]; then
  git fetch -q --no-tags origin '+refs/heads/*:refs/remotes/origin/*' '+refs/tags/*:refs/tags/*'
else
  git fetch -q --no-tags --depth "$STUB_FETCH_DEPTH" origin "$sha"
fi
git checkout -q --detach "$sha"
echo "checkout stand-in: $(git rev-parse HEAD) into $dest (fetch-depth $STUB_FETCH_DEPTH)"
