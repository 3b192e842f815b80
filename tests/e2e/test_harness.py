"""The act harness itself: the checkout stand-in, per-step capture, and a secret scan that can fail.

These runs use a tiny workflow committed only into the scenario clone (no venv, ~1 s each), so
a broken harness shows up here and not as a confusing failure in a real scenario.
"""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import pytest
from tests.e2e.conftest import ActRunner
from tests.e2e.harness import CHECKOUT, ScenarioRepo, push_event, scan_for_secrets

pytestmark = pytest.mark.e2e

HARNESS_WORKFLOW = f"""\
name: e2e harness check
on: push
permissions: {{}}
jobs:
  leaky:
    runs-on: ubuntu-latest
    timeout-minutes: 5
    steps:
      - uses: {CHECKOUT}
        with:
          persist-credentials: false
          fetch-depth: 0
      - name: show what the checkout produced
        run: |
          test -f scripts/bootstrap.sh
          echo "commits=$(git rev-list --count HEAD)" >> "$GITHUB_OUTPUT"
          echo "repository=$GITHUB_REPOSITORY api=$GITHUB_API_URL" >> "$GITHUB_STEP_SUMMARY"
      - name: leak on purpose, in every place the scan reads
        env:
          SECRET_FILE: ${{{{ secrets.FILE_SECRET }}}}
          SECRET_SUMMARY: ${{{{ secrets.SUMMARY_SECRET }}}}
          SECRET_LOG: ${{{{ secrets.LOG_SECRET }}}}
          SECRET_MASKED: ${{{{ secrets.MASKED_SECRET }}}}
          SECRET_REGISTERED: ${{{{ secrets.REGISTERED_SECRET }}}}
        run: |
          printf '%s' "$SECRET_FILE" > "$RUNNER_TEMP/leak.txt"
          printf '%s' "$SECRET_SUMMARY" | base64 -w0 >> "$GITHUB_STEP_SUMMARY"
          echo "::add-mask::$SECRET_MASKED"
          echo "::add-mask::$SECRET_REGISTERED"
          echo "log line with $SECRET_LOG"
          echo "masked: $SECRET_MASKED"
  clean:
    runs-on: ubuntu-latest
    timeout-minutes: 5
    steps:
      - uses: {CHECKOUT}
        with:
          persist-credentials: false
      - name: use a secret without showing it
        env:
          SECRET_FILE: ${{{{ secrets.FILE_SECRET }}}}
        run: |
          test -n "$SECRET_FILE"
          echo "depth=$(git rev-list --count HEAD)" >> "$GITHUB_OUTPUT"
  credentials:
    runs-on: ubuntu-latest
    timeout-minutes: 5
    steps:
      - uses: {CHECKOUT}
"""

# Random per session: the workspace holds this very file, so literal values would "leak".
SECRETS = {
    name: f"{name.lower()}-{secrets.token_hex(8)}"
    for name in ("FILE_SECRET", "SUMMARY_SECRET", "LOG_SECRET", "MASKED_SECRET", "REGISTERED_SECRET")
}


@pytest.fixture
def harness_repo(scenario: ScenarioRepo) -> tuple[ScenarioRepo, dict[str, object]]:
    before, after = scenario.commit(
        "main", {".github/workflows/e2e-harness.yml": HARNESS_WORKFLOW}, "Add the harness check workflow"
    )
    return scenario, push_event(scenario, "main", before, after)


def test_scan_finds_each_kind_of_leak_and_only_those(
    act: ActRunner, harness_repo: tuple[ScenarioRepo, dict[str, object]], tmp_path: Path
) -> None:
    _, event = harness_repo
    result = act(
        event_name="push",
        event=event,
        workflow="e2e-harness.yml",
        job="leaky",
        secrets=SECRETS,
        env={"GITHUB_API_URL": "http://127.0.0.1:9"},
        tool_cache=tmp_path / "unused-tool-cache",
    )
    assert result.returncode == 0, result.text(last=40)
    assert result.job_result("leaky") == "success"
    # the checkout stand-in cloned full history at the pushed commit, and act saw our settings
    assert any(out.startswith("commits=2") for out in result.outputs("leaky")), result.outputs("leaky")
    assert "repository=acme/platform api=http://127.0.0.1:9" in result.summaries("leaky")

    where = {leak.secret: leak for leak in scan_for_secrets(result, SECRETS)}
    assert set(where) == {"FILE_SECRET", "SUMMARY_SECRET", "LOG_SECRET", "MASKED_SECRET"}, where
    assert where["FILE_SECRET"].where.startswith("leaky temp/leak.txt")
    assert where["SUMMARY_SECRET"].form == "base64"
    assert "summary" in where["SUMMARY_SECRET"].where
    assert where["LOG_SECRET"].where == "act output"
    # act runs with --insecure-secrets, so it masks nothing: a value printed after
    # ::add-mask:: still counts (the scan checks that OUR code never prints a secret), while
    # the ::add-mask:: registration alone is not a finding.
    assert where["MASKED_SECRET"].where == "act output"
    assert "REGISTERED_SECRET" not in where
    assert base64.b64encode(SECRETS["SUMMARY_SECRET"].encode()).decode() in result.summaries("leaky")


def test_clean_run_has_no_findings_and_default_checkout_is_shallow(
    act: ActRunner, harness_repo: tuple[ScenarioRepo, dict[str, object]], tmp_path: Path
) -> None:
    _, event = harness_repo
    result = act(
        event_name="push",
        event=event,
        workflow="e2e-harness.yml",
        job="clean",
        secrets=SECRETS,
        tool_cache=tmp_path / "unused-tool-cache",
    )
    assert result.job_result("clean") == "success", result.text(last=40)
    assert "depth=1\n" in result.outputs("clean")[-1]
    assert scan_for_secrets(result, SECRETS) == []


def test_checkout_stand_in_refuses_persisted_credentials(
    act: ActRunner, harness_repo: tuple[ScenarioRepo, dict[str, object]], tmp_path: Path
) -> None:
    _, event = harness_repo
    result = act(
        event_name="push",
        event=event,
        workflow="e2e-harness.yml",
        job="credentials",
        tool_cache=tmp_path / "unused-tool-cache",
    )
    assert result.returncode != 0
    assert result.job_result("credentials") == "failure"
    assert "must pass persist-credentials: false" in result.text()


def test_only_the_queue_lines_act_cannot_read_are_dropped_from_the_workflows() -> None:
    """GitHub's `queue: max` stays in the real workflows; the template's copies lose exactly those
    lines (act's schema refuses them, see harness.py), nothing else."""
    from tests.e2e.harness import ROOT, act_compatible

    dropped = 0
    for path in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        text = path.read_text(encoding="utf-8")
        kept = act_compatible(text)
        removed = [line for line in text.splitlines() if line not in kept.splitlines()]
        assert all(line.strip().startswith("queue: max") for line in removed), (path.name, removed)
        assert len(kept.splitlines()) == len(text.splitlines()) - len(removed)
        dropped += len(removed)
    assert dropped >= 2, "the deploy and the cluster jobs queue in their environment's group"
