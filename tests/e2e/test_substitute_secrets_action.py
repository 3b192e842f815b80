"""actions/substitute-secrets run by act: check mode, render mode with secrets from the caller's env:,
and a missing secret failing the step, with no value anywhere afterwards."""

from __future__ import annotations

import json

import pytest
from tests.e2e.conftest import APP_SECRET_NAMES, ActRunner, assert_no_leaks
from tests.e2e.harness import CHECKOUT, ScenarioRepo, push_event

pytestmark = pytest.mark.e2e

SECRET_ENV = "\n".join(f"          {name}: ${{{{ secrets.{name} }}}}" for name in APP_SECRET_NAMES)

WORKFLOW = f"""\
name: substitute-secrets e2e
on: push
permissions: {{}}
jobs:
  secrets:
    runs-on: ubuntu-latest
    timeout-minutes: 10
    steps:
      - uses: {CHECKOUT}
        with:
          persist-credentials: false
      - id: check
        uses: ./actions/substitute-secrets
        with:
          mode: check
          overlay: |
            infra/k8s/hetzner/dev
            infra/k8s/podman/local
      - id: render
        uses: ./actions/substitute-secrets
        with:
          mode: render
          overlay: infra/k8s/hetzner/dev
        env:
{SECRET_ENV}
      - name: report the outputs
        env:
          NEEDED: ${{{{ steps.check.outputs.needed-secrets }}}}
          MISSING: ${{{{ steps.check.outputs.missing-secrets }}}}
          CHECK_COUNT: ${{{{ steps.check.outputs.object-count }}}}
          RENDER_COUNT: ${{{{ steps.render.outputs.object-count }}}}
          RENDER_MISSING: ${{{{ steps.render.outputs.missing-secrets }}}}
        run: |
          {{
            echo "needed=$NEEDED"
            echo "missing=$MISSING"
            echo "check-count=$CHECK_COUNT"
            echo "render-count=$RENDER_COUNT"
            echo "render-missing=$RENDER_MISSING"
          }} >> "$GITHUB_OUTPUT"
  missing:
    runs-on: ubuntu-latest
    timeout-minutes: 10
    steps:
      - uses: {CHECKOUT}
        with:
          persist-credentials: false
      - uses: ./actions/substitute-secrets
        with:
          mode: render
          overlay: infra/k8s/hetzner/dev
        env:
{SECRET_ENV.replace("${{ secrets.REDIS_CACHE_PASSWORD }}", "${{ secrets.NOT_DEFINED_ANYWHERE }}")}
"""


@pytest.fixture
def event(scenario: ScenarioRepo) -> dict[str, object]:
    before, after = scenario.commit(
        "main", {".github/workflows/e2e-substitute.yml": WORKFLOW}, "Add the substitute-secrets check"
    )
    return push_event(scenario, "main", before, after)


def test_check_then_render_in_memory_with_secrets_from_env(
    act: ActRunner, event: dict[str, object], app_secrets: dict[str, str]
) -> None:
    result = act(
        event_name="push", event=event, workflow="e2e-substitute.yml", job="secrets", secrets=app_secrets
    )
    assert result.job_result("secrets") == "success", result.text(last=60)
    reported = dict(
        line.split("=", 1)
        for line in result.outputs("secrets")[-1].splitlines()
        if "=" in line and "<<" not in line
    )
    assert json.loads(reported["needed"]) == sorted(APP_SECRET_NAMES)
    assert json.loads(reported["missing"]) == sorted(APP_SECRET_NAMES)  # check mode sees no env: secrets
    assert int(reported["render-count"]) > 0
    assert int(reported["check-count"]) > int(reported["render-count"])  # two overlays vs one
    assert json.loads(reported["render-missing"]) == []
    summaries = result.summaries("secrets")
    assert "### :warning: gitops render --check 2 overlays: 9 of 9 needed variable(s) not set" in summaries
    assert "### :white_check_mark: gitops render " in summaries  # the render step: every value was there
    assert "Manifests: not written (substitution verified in memory)" in summaries
    assert_no_leaks(result, app_secrets)  # only these values were given to the run


def test_a_secret_that_does_not_exist_fails_the_step_naming_it(
    act: ActRunner, event: dict[str, object], app_secrets: dict[str, str]
) -> None:
    result = act(
        event_name="push", event=event, workflow="e2e-substitute.yml", job="missing", secrets=app_secrets
    )
    assert result.job_result("missing") == "failure"
    text = result.text()
    # ${{ secrets.X }} of an unknown secret is "", which counts as missing (not an empty password)
    assert "variable REDIS_CACHE_PASSWORD is set but empty" in text
    assert "Secret redis-credentials, key REDIS_CACHE_PASSWORD" in text
    assert_no_leaks(result, app_secrets)  # only these values were given to the run
