"""A repository scaffolded by ``gitops init`` runs its pull-request validation with act.

The suite is the session's template (this project's working tree, committed once); the new
repository is scaffolded from it, pinned to its commit, so every ``uses: acme/gitops-suite/
actions/<name>@SHA`` must be fetched as GitHub would fetch it: act maps that remote repository
to the template with ``--local-repository`` (and resolves each action's subdirectory in it),
exactly as it maps actions/checkout to its stand-in. Nothing of the suite is in the new
repository's workspace, so the run proves the scaffold needs only the pinned actions.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.e2e.conftest import check_cache_keys_cover_the_profiles
from tests.e2e.harness import ORIGIN_URL, ScenarioRepo, git, pull_request_event, run_act
from tests.support.actions import parse_output_file

from gitops.operations import scaffolding
from gitops.operations.scaffolding import InitRequest

pytestmark = pytest.mark.e2e

SUITE = "acme/gitops-suite"
VALIDATE_STEPS = (
    "Which environments this pull request would deploy",
    "Validate deploy-control.yaml and every overlay (Kubernetes 1.37 schemas, strict)",
    "Secrets each environment needs (names only; no value is read)",
)


def scaffolded_repository(template: Path, sha: str, path: Path) -> ScenarioRepo:
    """`gitops init` into ``path`` from the template at ``sha``, committed on main and dev."""
    scaffolding.init(InitRequest(path, f"{SUITE}@{sha}", version="v0.1.0", checkout=template))
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "uploadpack.allowAnySHA1InWant", "true")  # the checkout stand-in fetches by SHA
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "GitOps scaffold (gitops init)")
    git(path, "branch", "dev")
    git(path, "remote", "add", "origin", ORIGIN_URL)  # act's github.repository
    return ScenarioRepo(path)


def test_the_pull_request_validation_of_a_scaffolded_repository_passes(
    template: Path, tool_cache: Path, tmp_path: Path
) -> None:
    sha = git(template, "rev-parse", "HEAD")
    repo = scaffolded_repository(template, sha, tmp_path / "platform")
    assert not (repo.path / "actions").exists() and not (repo.path / "scripts").exists()
    git(repo.path, "checkout", "-q", "-b", "feature/dev-labels", "dev")
    overlay = "infra/k8s/hetzner/dev/kustomization.yaml"
    repo.commit("feature/dev-labels", {overlay: repo.read(overlay) + "# reviewed\n"}, "Dev overlay")

    result = run_act(
        repo,
        event_name="pull_request",
        event=pull_request_event(repo, "dev", "feature/dev-labels"),
        workflow="deploy-k8s-resources.yml",
        run_dir=tmp_path / "act",
        tool_cache=tool_cache,
        job="validate",
        local_repositories={f"{SUITE}@{sha}": template},
    )
    assert result.returncode == 0, result.text(last=80)
    assert [(job, res) for job, _, res in result.job_results()] == [("validate", "success")]
    steps = dict(result.step_results("validate"))
    for step in VALIDATE_STEPS:
        assert steps.get(step) == "success", steps
    assert not any("Lint workflows" in name for name in steps), "the suite's own lint is not scaffolded"
    for action in ("detect-changes", "validate", "substitute-secrets"):  # act's own (debug) record of it
        read = f"read cachedir {SUITE} with ref {sha} and subpath 'actions/{action}/action.yml'"
        assert read in result.stdout, f"{action} did not come from the pinned suite"
    outputs = [parse_output_file(o) for o in result.outputs("validate")]
    changes = next(o for o in outputs if "environments" in o)
    assert json.loads(changes["environments"]) == ["dev"]
    validated = next(o for o in outputs if "failure-count" in o)
    assert (validated["ok"], validated["failure-count"]) == ("true", "0")
    needed = next(o for o in outputs if "needed-secrets" in o)
    assert json.loads(needed["needed-secrets"]) == []  # the skeleton's Secrets are yours to add
    check_cache_keys_cover_the_profiles(result)
    assert all(key.endswith(f"-{sha}") for key in result.cache_keys()["validate"])
