"""What ``gitops init`` writes (gitops.core.scaffold), from this repository's real files.

The rewritten workflows are compared with the originals structurally: every job and step is
kept with its inputs, conditions and environment, except what the module docstring says goes,
and each local ``uses:`` becomes the remote form GitHub documents for an action in a
subdirectory of a repository, ``{owner}/{repo}/{path}@{ref}``
(https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#jobsjob_idstepsuses).
So a change to a workflow reaches the scaffold, and a construct the rewrite does not know fails here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops.core import scaffold
from gitops.core.policy_schema import parse_policy
from gitops.core.scaffold import SuitePin
from gitops.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = {
    p.name: p.read_text(encoding="utf-8")
    for p in sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    if p.name not in scaffold.SUITE_ONLY_WORKFLOWS
}
SHA = "0123456789abcdef0123456789abcdef01234567"
PIN = SuitePin("acme", "gitops-suite", SHA, "v1.4.2")
APP_SECRETS = scaffold.substituted_secrets(WORKFLOWS.values())


# -- the pin ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(f"acme/gitops-suite@{SHA}", ("acme", "gitops-suite", SHA), id="plain"),
        pytest.param(f"Acme-Corp/suite.v2_x@{SHA.upper()}", ("Acme-Corp", "suite.v2_x", SHA), id="upper-hex"),
    ],
)
def test_a_suite_is_owner_repo_and_a_full_sha(text: str, expected: tuple[str, str, str]) -> None:
    assert scaffold.parse_suite(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("acme/gitops-suite@v1.4.2", "is not a full 40-character commit SHA", id="tag"),
        pytest.param(
            f"acme/gitops-suite@{SHA[:12]}", "is not a full 40-character commit SHA", id="short-sha"
        ),
        pytest.param(f"gitops-suite@{SHA}", "is not OWNER/REPO@SHA", id="no-owner"),
        pytest.param("acme/gitops-suite", "is not OWNER/REPO@SHA", id="no-ref"),
        pytest.param(f"-acme/gitops-suite@{SHA}", "is not OWNER/REPO@SHA", id="owner-starts-with-dash"),
    ],
)
def test_a_bad_suite_is_refused_naming_the_flag(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        scaffold.parse_suite(text)
    assert info.value.key == "--suite" and message in info.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("v1.4.2", "v1.4.2", id="v"),
        pytest.param("1.4.2", "v1.4.2", id="bare"),
        pytest.param("v2.0.0-rc.1", "v2.0.0-rc.1", id="pre-release"),
    ],
)
def test_versions(text: str, expected: str) -> None:
    assert scaffold.parse_version(text) == expected


@pytest.mark.parametrize("text", ["latest", "v1.4", "main"])
def test_a_version_that_is_no_release_is_refused(text: str) -> None:
    with pytest.raises(ConfigurationError, match="is not a release version"):
        scaffold.parse_version(text)


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        pytest.param(["v1.4.2"], "v1.4.2", id="one-release"),
        pytest.param(["latest", "v1.4.2", "stable"], "v1.4.2", id="among-moving-tags"),
        pytest.param(["v1.4.2", "v1.5.0"], None, id="ambiguous"),
        pytest.param([], None, id="none"),
    ],
)
def test_the_version_of_the_tags_at_the_commit(tags: list[str], expected: str | None) -> None:
    assert scaffold.version_of_tags(tags) == expected


# -- workflows: small cases ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param(
            "        uses: ./actions/policy-gate",
            f"        uses: acme/gitops-suite/actions/policy-gate@{SHA} # v1.4.2",
            id="action",
        ),
        pytest.param(
            "      - uses: ./actions/apply/  # trailing slash and a comment",
            f"      - uses: acme/gitops-suite/actions/apply@{SHA} # v1.4.2",
            id="list-item",
        ),
        pytest.param("        uses: ./", f"        uses: acme/gitops-suite@{SHA} # v1.4.2", id="root-action"),
        pytest.param(
            "    uses: ./.github/workflows/deploy-environment.yml",
            "    uses: ./.github/workflows/deploy-environment.yml",
            id="reusable-workflow-is-copied",
        ),
        pytest.param(
            "        uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1",
            "        uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1",
            id="third-party-untouched",
        ),
        pytest.param(
            "          key: gitops-packages-${{ runner.os }}-core-${{ hashFiles('requirements/uv.txt', "
            "'requirements/core.txt') }}",
            f"          key: gitops-packages-${{{{ runner.os }}}}-core-{SHA}",
            id="cache-key-over-the-suite-locks",
        ),
    ],
)
def test_each_line_rule(line: str, expected: str) -> None:
    assert scaffold.rewrite_workflow(line + "\n", PIN) == expected + "\n"


SMALL = """\
on:
  pull_request:
    paths:
      - infra/**
      - actions/**
      - "action.yml"
      - scripts/**
      - requirements/**
jobs:
  validate:
    steps:
      - name: Validate
        uses: ./actions/validate
      - name: Lint
        if: ${{ !cancelled() }}
        run: bash scripts/lint-workflows.sh

  deploy:
    secrets:
      # BEGIN GENERATED SECRETS: declare (python -m tests.support.workflow_secrets --write)
      KUBECONFIG:
        description: the cluster
        required: false
      APP_PASSWORD:
        description: substituted
        required: false
      # END GENERATED SECRETS
    env:
      # BEGIN GENERATED SECRETS: substituted (python -m tests.support.workflow_secrets --write)
      APP_PASSWORD: ${{ secrets.APP_PASSWORD }}
      # END GENERATED SECRETS
"""


def test_the_suite_s_own_development_goes_and_secrets_follow_the_overlays() -> None:
    assert scaffold.substituted_secrets([SMALL]) == {"APP_PASSWORD"}
    out = scaffold.rewrite_workflow(SMALL, PIN, drop_secrets={"APP_PASSWORD"})
    assert out == (
        "on:\n  pull_request:\n    paths:\n      - infra/**\n"
        "jobs:\n  validate:\n    steps:\n      - name: Validate\n"
        f"        uses: acme/gitops-suite/actions/validate@{SHA} # v1.4.2\n"
        "\n"
        "  deploy:\n    secrets:\n"
        "      # One line per secret: KUBECONFIG and each variable your placeholders need "
        "(gitops render --check)\n"
        "      KUBECONFIG:\n        description: the cluster\n        required: false\n"
        "    env:\n"
        "      # One line per secret: each variable your placeholders need (gitops render --check)\n"
    )
    kept = scaffold.rewrite_workflow(SMALL, PIN)
    assert "APP_PASSWORD: ${{ secrets.APP_PASSWORD }}" in kept and "      APP_PASSWORD:\n" in kept
    assert scaffold.leftovers(kept) == []


@pytest.mark.parametrize(
    ("text", "what"),
    [
        pytest.param(
            "      - uses: ./tools/local-action\n", "a local action (./tools/local-action)", id="other-local"
        ),
        pytest.param("        run: source scripts/bootstrap.sh kube\n", "the suite's scripts/", id="scripts"),
        pytest.param(
            "          files: requirements/kube.txt\n", "the suite's requirements/", id="requirements"
        ),
    ],
)
def test_leftovers_name_line_and_what(text: str, what: str) -> None:
    assert scaffold.leftovers("on: push\n" + text) == [(2, what)]


def test_leftovers_ignore_comments_third_party_and_pinned_references() -> None:
    text = (
        "# scripts/bootstrap.sh builds the venv\n"
        "      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1\n"
        f"      - uses: acme/gitops-suite/actions/apply@{SHA} # v1.4.2\n"
    )
    assert scaffold.leftovers(text) == []


# -- workflows: this repository's own --------------------------------------------------------------


BOOTSTRAP = re.compile(r"(^|\s)(source|\.)\s+scripts/bootstrap\.sh")
SUITE_CHECKOUT = "Check out the gitops suite at the pinned commit (its bootstrap, for what follows)"


def sources_bootstrap(step: dict[str, Any]) -> bool:
    """A step that runs a verb from the suite's bootstrap in the workspace (not through an action)."""
    return bool(BOOTSTRAP.search(step.get("run", "")))


def suite_only(step: dict[str, Any]) -> bool:
    """A step of the suite's own development: it runs the suite's scripts, but not a verb."""
    return "scripts/" in step.get("run", "") and not sources_bootstrap(step)


def steps(workflow: dict[str, Any]) -> dict[tuple[str, int], dict[str, Any]]:
    return {
        (job, i): step
        for job, spec in workflow["jobs"].items()
        for i, step in enumerate(spec.get("steps", []))
    }


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
@pytest.mark.parametrize("with_examples", [False, True], ids=["skeleton", "examples"])
def test_the_real_workflows_keep_every_job_and_step_but_the_suite_s_own(
    name: str, with_examples: bool
) -> None:
    text = WORKFLOWS[name]
    out = scaffold.rewrite_workflow(text, PIN, drop_secrets=() if with_examples else APP_SECRETS)
    assert scaffold.leftovers(out) == []
    before, after = yaml.safe_load(text), yaml.safe_load(out)
    assert set(after["jobs"]) == set(before["jobs"])
    assert after["permissions"] == before["permissions"] == {}
    for job, spec in before["jobs"].items():
        new = after["jobs"][job]
        assert {k: v for k, v in new.items() if k not in ("steps", "secrets")} == {
            k: v for k, v in spec.items() if k not in ("steps", "secrets")
        }, job
        old_steps = [s for s in spec.get("steps", []) if not suite_only(s)]
        new_steps = [s for s in new.get("steps", []) if s.get("name") != SUITE_CHECKOUT]
        inserted = [s for s in new.get("steps", []) if s.get("name") == SUITE_CHECKOUT]
        bootstrapping = [s for s in old_steps if sources_bootstrap(s)]
        assert len(inserted) == (1 if bootstrapping else 0), job
        for checkout in inserted:  # like the workflow's own checkouts, under the step's conditions
            own = next(s["uses"] for s in old_steps if s.get("uses", "").startswith("actions/checkout@"))
            assert checkout["uses"] == own
            assert checkout["with"] == {
                "repository": "acme/gitops-suite",
                "ref": SHA,
                "path": scaffold.SUITE_PATH,
                "persist-credentials": False,
            }
            first = bootstrapping[0]
            assert {k: checkout.get(k) for k in ("if", "continue-on-error")} == {
                k: first.get(k) for k in ("if", "continue-on-error")
            }
            position = new["steps"].index(checkout)
            follows = new["steps"][position + 1]
            assert f"{scaffold.SUITE_PATH}/scripts/bootstrap.sh" in follows.get("run", "")
        assert len(new_steps) == len(old_steps), job
        for old, step in zip(old_steps, new_steps, strict=True):
            if sources_bootstrap(old):
                assert step["run"] == BOOTSTRAP.sub(
                    rf"\1\2 {scaffold.SUITE_PATH}/scripts/bootstrap.sh", old["run"]
                )
            assert {k: v for k, v in step.items() if k not in ("uses", "env", "with", "run")} == {
                k: v for k, v in old.items() if k not in ("uses", "env", "with", "run")
            }
            old_with = dict(old.get("with") or {})
            if "key" in old_with:  # actions/cache: keyed by the pinned commit instead of its lock files
                old_with["key"] = re.sub(
                    r"\$\{\{ hashFiles\('requirements/[^)]*\) \}\}", SHA, old_with["key"]
                )
            if "filters" in old_with:  # dorny/paths-filter syntax: the suite's own code is not there
                old_with["filters"] = "".join(
                    line
                    for line in old_with["filters"].splitlines(keepends=True)
                    if line.strip()
                    not in ("- actions/**", "- action.yml", "- scripts/**", "- requirements/**")
                )
            assert (step.get("with") or {}) == old_with
            assert set(step.get("env") or {}) == set(old.get("env") or {}) - (
                set() if with_examples else APP_SECRETS
            )
            ref = old.get("uses", "")
            if ref == "./":
                assert step["uses"] == f"acme/gitops-suite@{SHA}"
            elif ref.startswith("./actions/"):
                assert step["uses"] == f"acme/gitops-suite/actions/{ref[len('./actions/') :]}@{SHA}"
            else:
                assert step.get("uses", "") == ref
    drop = set() if with_examples else APP_SECRETS
    on_before, on_after = before[True], after[True]  # YAML 1.1 reads the key `on` as true
    for event, trigger in on_before.items():
        if not isinstance(trigger, dict | None):  # schedule: a list of crons
            assert on_after[event] == trigger
            continue
        expected = dict(trigger or {})
        if "paths" in expected:
            expected["paths"] = [p for p in expected["paths"] if p.split("/")[0] not in scaffold.SUITE_CODE]
        if "secrets" in expected:
            expected["secrets"] = {k: v for k, v in expected["secrets"].items() if k not in drop}
        assert (on_after[event] or {}) == expected, event
    for job, spec in before["jobs"].items():
        passed = {k: v for k, v in (spec.get("secrets") or {}).items() if k not in drop}
        assert (after["jobs"][job].get("secrets") or {}) == passed
    for line in out.splitlines():
        if re.match(r"\s*(-\s+)?uses: (?!\./\.github/workflows/)", line):
            assert re.search(r"@[0-9a-f]{40} # v[0-9]+\.[0-9]+\.[0-9]+$", line), line


def test_only_the_suite_s_lint_step_is_dropped() -> None:
    """Today exactly one step runs the suite's scripts for itself: the workflow linters of the PR job."""
    dropped = [
        step["name"]
        for name, text in WORKFLOWS.items()
        for step in steps(yaml.safe_load(text)).values()
        if suite_only(step)
    ]
    assert dropped == ["Lint workflows and actions (actionlint + shellcheck, zizmor)"]


BOOTSTRAPPING = """jobs:
  first:
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
      - name: Best effort
        if: inputs.environment != ''
        continue-on-error: true
        run: |
          source scripts/bootstrap.sh all
          gitops preview-access --format json
      - name: Again
        run: . "scripts/bootstrap.sh" core && gitops plan
  second:
    steps:
      - run: source scripts/bootstrap.sh core
"""


def test_a_verb_run_from_the_suite_s_bootstrap_gets_the_suite_checked_out_once_per_job() -> None:
    checkout = "uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1"
    suite = (
        f"        {checkout}\n        with:\n          repository: acme/gitops-suite\n"
        f"          ref: {SHA} # v1.4.2\n"
        "          path: .gitops-suite\n          persist-credentials: false\n"
    )
    assert scaffold.rewrite_workflow(BOOTSTRAPPING, PIN) == (
        "jobs:\n  first:\n    steps:\n"
        f"      - {checkout}\n"
        f"      - name: {SUITE_CHECKOUT}\n"
        "        if: inputs.environment != ''\n        continue-on-error: true\n"
        f"{suite}"
        "      - name: Best effort\n        if: inputs.environment != ''\n        continue-on-error: true\n"
        "        run: |\n          source .gitops-suite/scripts/bootstrap.sh all\n"
        "          gitops preview-access --format json\n"
        '      - name: Again\n        run: . ".gitops-suite/scripts/bootstrap.sh" core && gitops plan\n'
        "  second:\n    steps:\n"
        f"      - name: {SUITE_CHECKOUT}\n"
        f"{suite}"
        "      - run: source .gitops-suite/scripts/bootstrap.sh core\n"
    )


# -- overlays and the policy -----------------------------------------------------------------------

OVERLAYS = sorted(
    p.parent
    for p in (ROOT / "infra" / "k8s").glob("*/*/kustomization.yaml")
    if p.parent.parent.name != "base"
)


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.relative_to(ROOT / "infra" / "k8s").as_posix())
def test_an_overlay_skeleton_is_the_suite_s_overlay_without_its_own_content(overlay: Path) -> None:
    source = overlay / "kustomization.yaml"
    suite = yaml.safe_load(source.read_text(encoding="utf-8"))
    skeleton = scaffold.overlay_skeleton(
        source.read_text(encoding="utf-8"), "k.yaml", "acme/gitops-suite@0123"
    )
    assert yaml.safe_load(skeleton) == {
        "apiVersion": suite["apiVersion"],
        "kind": suite["kind"],
        "resources": ["../../base"],
        "labels": suite["labels"],
    }
    assert all(not p["includeSelectors"] for p in suite["labels"]), "never in selectors (immutable)"


def test_the_skeleton_policy_is_the_suite_s_header_and_every_key_with_its_default_marked() -> None:
    suite = (ROOT / "infra" / "deploy-control.yaml").read_text(encoding="utf-8")
    text = scaffold.skeleton_policy(suite)
    assert text.startswith(scaffold.policy_header(suite))
    assert scaffold.policy_header(suite).startswith("# Deploy control: WHEN and HOW")
    policy = parse_policy(text, "scaffold.yaml")
    assert policy.defaults == {}, "every key is written out"
    written = parse_policy(scaffold.SKELETON_POLICY, "skeleton.yaml")
    assert policy.environments == written.environments
    assert text.count("  # default: ") == len(written.defaults)
    prod = policy.environments["prod"]
    assert (prod.branch, prod.auto_deploy, prod.require_manual_approval) == ("main", False, True)


def test_the_base_skeleton_is_the_suite_s_base_without_its_services() -> None:
    suite = yaml.safe_load(
        (ROOT / "infra" / "k8s" / "base" / "kustomization.yaml").read_text(encoding="utf-8")
    )
    skeleton = yaml.safe_load(scaffold.base_skeleton("acme/gitops-suite@0123"))
    assert skeleton == {"apiVersion": suite["apiVersion"], "kind": suite["kind"], "resources": []}
