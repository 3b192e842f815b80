"""The deploy workflows pass exactly the secrets the overlays need: one source, five written copies.

The source is the Hetzner overlays: each placeholder Secret value needs its variable, read the
way ``gitops render --check`` reads it (tests/support/workflow_secrets.py), plus KUBECONFIG and
the preview's KUBECONFIG_READONLY. The five places GitHub Actions makes us spell the names out
are generated from it; this test fails when they drift (a secret added to an overlay, a block
edited by hand).
"""

from __future__ import annotations

from typing import Any

import yaml

from tests.support import workflow_secrets
from tests.support.infra import SECRET_VARIABLES

DEPLOY, ENVIRONMENT = workflow_secrets.WORKFLOWS


def load(path: Any) -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def test_the_generated_blocks_are_current() -> None:
    stale = [str(p.relative_to(workflow_secrets.ROOT)) for p in workflow_secrets.stale()]
    assert not stale, f"{stale}: run python -m tests.support.workflow_secrets --write"
    assert workflow_secrets.blocks(DEPLOY.read_text(encoding="utf-8")) == ["declare", "pass"]
    assert workflow_secrets.blocks(ENVIRONMENT.read_text(encoding="utf-8")) == [
        "declare",
        "substituted",  # the deploy job's diff step
        "substituted",  # its deploy step
    ]


def test_every_place_names_exactly_what_the_overlays_need() -> None:
    substituted = set(workflow_secrets.substituted())
    assert substituted == set(SECRET_VARIABLES)  # the tests' own list is the same contract
    every = {"KUBECONFIG", "KUBECONFIG_READONLY", *substituted}
    deploy, environment = load(DEPLOY), load(ENVIRONMENT)
    # PyYAML reads the `on:` key as True (YAML 1.1)
    assert set(deploy[True]["workflow_call"]["secrets"]) == every
    assert set(deploy["jobs"]["deploy"]["secrets"]) == every
    assert set(environment[True]["workflow_call"]["secrets"]) == every
    for step in environment["jobs"]["deploy"]["steps"][-2:]:  # the diff, then the deploy
        step_env = dict(step["env"])
        assert step_env.pop("GITOPS_KUBECONFIG") == "${{ secrets.KUBECONFIG }}"
        assert step_env == {name: f"${{{{ secrets.{name} }}}}" for name in substituted}
    # The read-only preview job gets the read-only kubeconfig and nothing else.
    preview = environment["jobs"]["preview"]
    assert preview["env"] == {"GITOPS_KUBECONFIG_READONLY": "${{ secrets.KUBECONFIG_READONLY }}"}
    assert "secrets." not in yaml.safe_dump(preview["steps"])
