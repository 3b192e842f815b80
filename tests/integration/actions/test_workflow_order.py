"""The workflow facts that keep deploys in order and checks honest (issue 14), read from the files.

Sources for what each fact guards against:
* concurrency ``queue: max`` and "a job waiting for approval holds its group":
  https://docs.github.com/en/actions/how-tos/write-workflows/choose-when-workflows-run/control-workflow-concurrency
  (``queue``: ``single`` by default replaces a pending run; ``max`` keeps up to 100 waiting);
* a required check whose workflow is skipped by ``paths:`` filtering stays pending ("Handling
  skipped but required checks"), while a job skipped by ``if:`` reports success:
  https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/defining-the-mergeability-of-pull-requests/troubleshooting-required-status-checks
* ``github.triggering_actor`` is who started a re-run; ``github.actor`` stays the first run's user:
  https://docs.github.com/en/actions/reference/workflows-and-actions/contexts#github-context
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = ROOT / ".github" / "workflows"
TOP_LEVEL = ("deploy-k8s-resources.yml", "hetzner-k8s.yml", "ci.yml")  # the rest are only called


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def triggers(doc: dict[str, Any]) -> dict[str, Any]:
    found = doc.get("on", doc.get(True))  # PyYAML reads the bare key `on` as True
    assert isinstance(found, dict)
    return found


def test_deploys_and_cluster_changes_of_one_environment_share_one_queue() -> None:
    deploy = load("deploy-environment.yml")["jobs"]["deploy"]["concurrency"]
    cluster = load("hetzner-cluster-environment.yml")["jobs"]["cluster"]["concurrency"]
    assert deploy["group"] == cluster["group"] == "gitops-${{ inputs.environment }}"
    for group in (deploy, cluster):
        assert group["cancel-in-progress"] is False  # never stop an apply or hetzner-k3s half-way
        assert group["queue"] == "max"  # no pending deploy or cluster change is cancelled


def test_the_pull_request_check_always_runs_and_the_merge_queue_gets_it_too() -> None:
    doc = load("deploy-k8s-resources.yml")
    on = triggers(doc)
    assert on["pull_request"] is None or "paths" not in on["pull_request"]
    assert "merge_group" in on
    validate = doc["jobs"]["validate"]
    assert "merge_group" in validate["if"] and "pull_request" in validate["if"]
    # a merge queue run validates, it never deploys
    assert "github.event_name != 'merge_group'" in doc["jobs"]["changes"]["if"]
    steps = {s.get("name", ""): s for s in validate["steps"]}
    detect = next(s for s in steps.values() if s.get("uses") == "./actions/detect-changes")
    assert "validation:" in detect["with"]["filters"]
    gated = [s for s in validate["steps"] if "validation" in str(s.get("if", ""))]
    assert len(gated) >= 3, "validation, the secret check and the lint follow change detection"


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_every_run_says_what_by_whom(name: str) -> None:
    run_name = load(name).get("run-name", "")
    assert "github.event_name" in run_name and "github.triggering_actor" in run_name, run_name


def test_the_override_is_checked_for_who_started_this_attempt() -> None:
    jobs = load("deploy-environment.yml")["jobs"]
    gate = next(s for s in jobs["gate"]["steps"] if s.get("uses") == "./actions/policy-gate")
    deploy = next(s for s in jobs["deploy"]["steps"] if s.get("uses") == "./")
    assert gate["with"]["actor"] == deploy["with"]["actor"] == "${{ github.triggering_actor }}"


def test_the_deploy_job_has_the_history_to_order_commits() -> None:
    steps = load("deploy-environment.yml")["jobs"]["deploy"]["steps"]
    checkout = next(s for s in steps if str(s.get("uses", "")).startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0


def test_the_cluster_run_binds_before_storing_the_kubeconfig_and_dispatches_only_what_deploys() -> None:
    steps = load("hetzner-cluster-environment.yml")["jobs"]["cluster"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    claim, upload = uses.index("./actions/claim-cluster"), uses.index("./actions/upload-kubeconfig")
    assert claim < upload
    assert steps[claim]["with"]["handover"] == "deploy-k8s-resources.yml"
    dispatch = steps[uses.index("./actions/dispatch-workflow")]
    assert dispatch["if"] == "steps.claim.outputs.deploy-allowed == 'true'"


def test_ci_runs_in_an_image_pinned_by_digest() -> None:
    image = load("ci.yml")["jobs"]["test"]["container"]["image"]
    name, _, digest = image.partition("@sha256:")
    assert name == "python:3.11-bookworm" and len(digest) == 64 and int(digest, 16) >= 0


def test_callers_are_told_to_pass_secrets_by_name() -> None:
    text = (WORKFLOWS / "deploy-k8s-resources.yml").read_text(encoding="utf-8")
    assert "(pass `secrets: inherit`)" not in text
    assert "`secrets: inherit` would hand the called workflow" in text
    for name in ("deploy-k8s-resources.yml", "hetzner-k8s.yml"):
        jobs = load(name)["jobs"]
        assert all(job.get("secrets") != "inherit" for job in jobs.values()), name
