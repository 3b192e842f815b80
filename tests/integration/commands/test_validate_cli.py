"""`gitops validate`: every overlay of a tree rendered with kustomize and validated strictly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.actions import GhaEnv
from tests.support.render import FIXTURE, PLACEHOLDER, ROOT, copy_demo

pytestmark = pytest.mark.integration

DEV_PATCH = "infra/k8s/demo/dev/patches/statefulset.yaml"
BASE_STS = "infra/k8s/base/statefulset.yaml"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = copy_demo(tmp_path / "workspace")
    monkeypatch.chdir(root)
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_a_valid_tree_passes(workspace: Path, cli: Any) -> None:
    result = cli(["validate", "--format", "json"])
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["kubernetes_version"] == "1.37.0"
    assert report["failures"] == []
    assert report["policy"] is None  # no deploy-control.yaml in this tree
    assert [(o["overlay"], o["environment"], o["objects"], o["valid"]) for o in report["overlays"]] == [
        ("infra/k8s/demo/dev", "dev", 4, 4),
        ("infra/k8s/demo/local", "local", 4, 4),
    ]


def test_replicas_three_fails_with_file_line_kind_and_name(
    workspace: Path, gha_env: GhaEnv, cli: Any
) -> None:
    edit(workspace / DEV_PATCH, "replicas: 1", 'replicas: "three"')
    result = cli(["validate"])
    assert result.code == 1
    report = json.loads(result.stdout)
    (failure,) = report["failures"]
    line = line_of(workspace / DEV_PATCH, "replicas:")
    assert failure == {
        "overlay": "infra/k8s/demo/dev",
        "file": DEV_PATCH,
        "line": line,
        "kind": "StatefulSet",
        "name": "db",
        "field": "spec.replicas",
        "error": "'three' is not of type 'integer', 'null'",
        "origin": BASE_STS,
    }
    assert [(o["overlay"], o["failed"]) for o in report["overlays"]] == [
        ("infra/k8s/demo/dev", 1),
        ("infra/k8s/demo/local", 0),  # every overlay is still checked
    ]
    assert (
        f"::error title=Validation failed,file={DEV_PATCH},line={line}::"
        "StatefulSet/db in infra/k8s/demo/dev: spec.replicas: 'three' is not of type 'integer', 'null'"
    ) in result.stderr.splitlines()
    summary = gha_env.summary()
    # the verdict first, then the problems, then the per-overlay counts
    assert summary.startswith(
        "### :x: gitops validate: FAILED: 1 problem(s) in 2 overlay(s), Kubernetes 1.37.0"
    )
    problem_row = f"| `{DEV_PATCH}:{line}` | StatefulSet/db | spec.replicas |"
    assert problem_row in summary
    assert summary.index(problem_row) < summary.index("| `infra/k8s/demo/dev` | 4 | 3 | 1 | 0 |")
    assert gha_env.outputs() == {"ok": "false", "failure-count": "1"}


def test_every_failure_is_reported_through_name_prefixes_and_lists(workspace: Path, cli: Any) -> None:
    # An unknown field in the base's container: both overlays fail, local one under its prefixed name.
    edit(
        workspace / BASE_STS,
        "          image: postgres:18",
        "          image: postgres:18\n          imagePullPolice: Always",
    )
    edit(workspace / "infra/k8s/base/service.yaml", "port: 5432", "port: five")
    result = cli(["validate", "--format", "json"])
    assert result.code == 1
    failures = {(f["overlay"], f["kind"], f["name"]): f for f in json.loads(result.stdout)["failures"]}
    assert set(failures) == {
        ("infra/k8s/demo/dev", "StatefulSet", "db"),
        ("infra/k8s/demo/dev", "Service", "db"),
        ("infra/k8s/demo/local", "StatefulSet", "local-db"),
        ("infra/k8s/demo/local", "Service", "local-db"),
    }
    sts = failures["infra/k8s/demo/local", "StatefulSet", "local-db"]
    assert sts["file"] == BASE_STS
    assert sts["line"] == line_of(workspace / BASE_STS, "imagePullPolice")
    assert sts["field"] == "spec.template.spec.containers[0].imagePullPolice"
    assert "'imagePullPolice' was unexpected" in sts["error"]
    svc = failures["infra/k8s/demo/dev", "Service", "db"]
    assert (svc["file"], svc["field"]) == ("infra/k8s/base/service.yaml", "spec.ports[0].port")


def test_a_broken_overlay_is_a_failure_and_the_others_are_still_validated(workspace: Path, cli: Any) -> None:
    edit(
        workspace / "infra/k8s/demo/dev/kustomization.yaml",
        "patches/statefulset.yaml",
        "patches/missing.yaml",
    )
    result = cli(["validate", "--format", "json"])
    assert result.code == 1
    report = json.loads(result.stdout)
    (failure,) = report["failures"]
    assert failure["overlay"] == "infra/k8s/demo/dev"
    assert failure["kind"] == "Kustomization"
    assert "kustomize could not build infra/k8s/demo/dev" in failure["error"]
    assert "missing.yaml" in failure["error"]
    assert report["overlays"][1]["valid"] == 4


def test_a_placeholder_outside_a_secret_fails(workspace: Path, cli: Any) -> None:
    edit(
        workspace / "infra/k8s/base/configmap.yaml",
        'mode: "on"',
        f'mode: "on"\n  dsn: "db://u:{PLACEHOLDER}@db"',
    )
    result = cli(["validate", "--format", "json"])
    assert result.code == 1
    failures = json.loads(result.stdout)["failures"]
    assert {(f["overlay"], f["kind"], f["name"], f["field"], f["file"]) for f in failures} == {
        ("infra/k8s/demo/dev", "ConfigMap", "app-config", "data.dsn", "infra/k8s/base/configmap.yaml"),
        (
            "infra/k8s/demo/local",
            "ConfigMap",
            "local-app-config",
            "data.dsn",
            "infra/k8s/base/configmap.yaml",
        ),
    }
    assert all("cannot be substituted" in f["error"] for f in failures)


def test_the_placeholder_written_literally_under_data_is_valid(workspace: Path, cli: Any) -> None:
    """Issue 16: `StrongBase64Password` itself under `data:` (the reference's templates) is a placeholder,
    not a stray, and passes the strict schema (it is valid base64 text)."""
    edit(
        workspace / "infra/k8s/base/secret.yaml",
        "tls.crt: U3Ryb25nQmFzZTY0UGFzc3dvcmQ=",
        f"tls.crt: {PLACEHOLDER}",
    )
    result = cli(["validate", "--format", "json"])
    assert result.code == 0, result.stdout
    assert json.loads(result.stdout)["failures"] == []


def test_custom_resources_are_skipped_but_unknown_core_kinds_fail(workspace: Path, cli: Any) -> None:
    extra = workspace / "infra/k8s/demo/dev/extra.yaml"
    extra.write_text(
        "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: db\nspec: {}\n"
        "---\napiVersion: apps/v2\nkind: Deployment\nmetadata:\n  name: web\nspec: {}\n",
        encoding="utf-8",
    )
    edit(
        workspace / "infra/k8s/demo/dev/kustomization.yaml",
        "  - ../../base",
        "  - ../../base\n  - extra.yaml",
    )
    result = cli(["validate", "--format", "json"])
    assert result.code == 1
    report = json.loads(result.stdout)
    assert report["overlays"][0]["skipped"] == [
        {"kind": "ServiceMonitor", "name": "db", "reason": "no schema for monitoring.coreos.com/v1"}
    ]
    (failure,) = report["failures"]
    assert (failure["kind"], failure["name"], failure["file"], failure["line"]) == (
        "Deployment",
        "web",
        "infra/k8s/demo/dev/extra.yaml",
        7,
    )
    assert "has no kind Deployment in apps/v2" in failure["error"]


def test_deploy_control_problems_are_failures_with_file_and_line(workspace: Path, cli: Any) -> None:
    (workspace / "infra/deploy-control.yaml").write_text(
        "version: 3\nglobal:\n  auto_deploy: yes\n", encoding="utf-8"
    )
    result = cli(["validate", "--format", "json"])
    assert result.code == 1
    report = json.loads(result.stdout)
    assert report["policy"]["ok"] is False
    policy_failures = [f for f in report["failures"] if f["kind"] == "deploy-control"]
    assert policy_failures
    assert all(f["file"] == "infra/deploy-control.yaml" for f in policy_failures)
    assert any(f["line"] == 3 and f["name"] == "global.auto_deploy" for f in policy_failures), policy_failures


def test_deploy_control_problems_in_the_table_read_as_file_line_key(workspace: Path, cli: Any) -> None:
    (workspace / "infra/deploy-control.yaml").write_text(
        "version: 3\nglobal:\n  auto_deploy: yes\n", encoding="utf-8"
    )
    result = cli(["validate", "--format", "table"])
    assert result.code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("gitops validate: FAILED: ")  # the verdict first
    assert any(line.startswith("  infra/deploy-control.yaml:3: global.auto_deploy: ") for line in lines)
    assert "deploy-control/" not in result.stdout + result.stderr


def test_deploy_control_must_match_the_overlays(workspace: Path, cli: Any) -> None:
    policy = workspace / "infra/deploy-control.yaml"
    shutil.copy(FIXTURE / "deploy-control.yaml", policy)
    result = cli(["validate", "--format", "json"])
    assert result.code == 0, result.stdout + result.stderr  # dev governed, local ungoverned, db labelled
    assert json.loads(result.stdout)["policy"] == {
        "file": "infra/deploy-control.yaml",
        "ok": True,
        "problems": 0,
    }

    edit(policy, "      db:\n", "      cache:\n")
    edit(policy, "environments:\n  dev:\n", "environments:\n  dev:\n")
    result = cli(["validate", "--format", "json"])
    assert result.code == 1
    (failure,) = json.loads(result.stdout)["failures"]
    assert failure["name"] == "environments.dev.services.cache"
    assert failure["line"] == line_of(policy, "cache:")
    assert (
        "no object in overlay infra/k8s/demo/dev has the label app.kubernetes.io/name: cache"
        in failure["error"]
    )

    shutil.copytree(workspace / "infra/k8s/demo/dev", workspace / "infra/k8s/demo/qa")
    edit(policy, "      cache:\n", "      db:\n")
    result = cli(["validate", "--format", "json"])
    assert result.code == 1
    (failure,) = json.loads(result.stdout)["failures"]
    assert failure["error"] == "overlay infra/k8s/demo/qa has no environment qa in deploy-control.yaml"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(
            ["--kubernetes-version", "9.99.0"], "Kubernetes version '9.99.0' has no bundled schema", id="ver"
        ),
        pytest.param(["--kubernetes-version", "latest"], "has no bundled schema", id="ver-word"),
        pytest.param(["--infra", "nowhere"], "nowhere/k8s does not exist", id="no-infra"),
    ],
)
def test_bad_arguments(workspace: Path, cli: Any, argv: list[str], expected: str) -> None:
    result = cli(["validate", *argv])
    assert result.code == 1
    assert expected in result.stderr


def test_no_overlays(workspace: Path, cli: Any) -> None:
    shutil.rmtree(workspace / "infra/k8s/demo")
    result = cli(["validate"])
    assert result.code == 1
    assert "no overlays under infra/k8s" in result.stderr


def test_an_older_kubernetes_version_can_be_chosen(workspace: Path, cli: Any) -> None:
    result = cli(["validate", "--kubernetes-version", "1.34.0", "--format", "json"])
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["kubernetes_version"] == "1.34.0"


def test_help_teaches(cli: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from gitops.cli import main

    with pytest.raises(SystemExit):
        main(["validate", "--help"])
    text = capsys.readouterr().out
    for phrase in ("--infra", "--kubernetes-version", "examples:", "deploy-control.yaml", "strict"):
        assert phrase in text


# -- the repository's own infra/ -------------------------------------------------------------


def test_the_real_infra_validates(monkeypatch: pytest.MonkeyPatch, cli: Any) -> None:
    monkeypatch.chdir(ROOT)
    result = cli(["validate", "--format", "json"])
    report = json.loads(result.stdout)
    assert result.code == 0, json.dumps(report["failures"], indent=2)
    assert {o["overlay"] for o in report["overlays"]} == {
        "infra/k8s/hetzner/dev",
        "infra/k8s/hetzner/test",
        "infra/k8s/hetzner/prod",
        "infra/k8s/podman/local",
    }
    assert report["policy"]["ok"] is True


def test_the_real_infra_needs_its_nine_secrets(monkeypatch: pytest.MonkeyPatch, cli: Any) -> None:
    monkeypatch.chdir(ROOT)
    for name in ("POSTGRES_SA_PASSWORD", "REDIS_ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    overlays = "\n".join(
        f"infra/k8s/{o}" for o in ("hetzner/dev", "hetzner/test", "hetzner/prod", "podman/local")
    )
    result = cli(["render", "--check", "--overlay", overlays, "--format", "json"])
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    nine = [
        "ACCOUNT_SERVICE_DB_USER_PASSWORD",
        "MESSAGING_SERVICE_DB_USER_PASSWORD",
        "POSTGRES_SA_PASSWORD",
        "PROPERTY_SERVICE_DB_USER_PASSWORD",
        "REDIS_ADMIN_PASSWORD",
        "REDIS_CACHE_PASSWORD",
        "REDIS_MONITOR_PASSWORD",
        "REDIS_PUBSUB_PASSWORD",
        "REDIS_RATELIMIT_PASSWORD",
    ]
    assert report["needed_secrets"] == nine
    for overlay in report["overlays"]:
        assert sorted(overlay["needed_secrets"]) == nine, overlay["overlay"]
        assert overlay["unsubstitutable"] == []


# -- issue 16: the reference's own policy file, and --explain --------------------------------------

REFERENCE_POLICY = ROOT / "tests" / "fixtures" / "policies" / "reference" / "deploy-control.yaml"


@pytest.fixture
def reference_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This repository's overlays with the reference's own deploy-control.yaml (v3.0.0, verbatim)."""
    root = tmp_path / "migrating"
    shutil.copytree(ROOT / "infra" / "k8s", root / "infra" / "k8s")
    shutil.copy(REFERENCE_POLICY, root / "infra" / "deploy-control.yaml")
    monkeypatch.chdir(root)
    return root


def test_the_reference_policy_validates_and_explain_marks_every_default(
    reference_tree: Path, cli: Any, gha_env: GhaEnv
) -> None:
    result = cli(["validate", "--explain", "--format", "json"])
    report = json.loads(result.stdout)
    assert result.code == 0, json.dumps(report["failures"], indent=2)
    assert report["policy"] == {"file": "infra/deploy-control.yaml", "ok": True, "problems": 0}
    explained = report["explain"]
    prod = explained["policy"]["environments"]["prod"]
    assert (prod["branch"], prod["rollout_timeout_seconds"], prod["cluster"]) == (
        "main",
        300,
        {"enabled": True, "auto_deploy": False},
    )
    assert prod["deployment_windows"]["timezone"] == "UTC"
    assert prod["deployment_windows"]["emergency_override"]["enabled"] is False
    assert explained["defaults"]["environments.prod.branch"].startswith(
        "dev -> dev, test -> test, prod -> main"
    )
    assert "environments.prod.require_manual_approval" not in explained["defaults"]  # the file sets it
    text = explained["text"].splitlines()
    assert "    branch: main  # default: dev -> dev, test -> test, prod -> main, any other environment -> " \
           "its own name" in text  # fmt: skip
    assert "    require_manual_approval: true" in text  # written in the file: no mark
    assert "      timezone: UTC  # default: UTC" in text
    assert "```yaml" in gha_env.summary() and "# default: UTC" in gha_env.summary()


def test_explain_in_the_table_comes_before_the_verdict(reference_tree: Path, cli: Any) -> None:
    result = cli(["validate", "--explain", "--format", "table"])
    assert result.code == 0, result.stderr
    head, _, tail = result.stdout.partition("gitops validate: valid: ")
    assert head.startswith("Effective policy of infra/deploy-control.yaml (31 value(s) from defaults")
    assert "version: 3  # default: 3" in head and "rollout_timeout_seconds: 300  # default: 300" in head
    assert "infra/deploy-control.yaml: valid" in tail


def test_explain_of_an_invalid_policy_says_why_there_is_nothing_to_show(
    reference_tree: Path, cli: Any
) -> None:
    policy = reference_tree / "infra" / "deploy-control.yaml"
    edit(policy, "    enabled: true\n", "    enabled: true\n    brnach: dev\n")  # dev only: a typo
    result = cli(["validate", "--explain", "--format", "table"])
    assert result.code == 1
    assert result.stdout.startswith("--explain: no effective policy to show: it has problems (listed below)")
    assert (
        "infra/deploy-control.yaml:7: environments.dev.brnach: unknown key 'brnach'; did you mean 'branch'?"
        in (result.stdout)
    )
