"""``gitops init``: a new repository from this suite's real files, that validates and plans.

Each scaffold is checked with the product's own verbs (`gitops validate`, `gitops plan`) and with
actionlint, in a real git repository; the act run of its pull-request validation is
tests/e2e/test_init_workflow.py.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops.core.scaffold import SUITE_ONLY_WORKFLOWS

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
SHA = "0123456789abcdef0123456789abcdef01234567"
SUITE = f"acme/gitops-suite@{SHA}"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Init Test",
    "GIT_AUTHOR_EMAIL": "init@example.com",
    "GIT_COMMITTER_NAME": "Init Test",
    "GIT_COMMITTER_EMAIL": "init@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}
OVERLAYS = sorted(
    p.parent.relative_to(ROOT).as_posix()
    for p in (ROOT / "infra" / "k8s").glob("*/*/kustomization.yaml")
    if p.parent.parent.name != "base"
)
WORKFLOWS = sorted(
    f".github/workflows/{p.name}"
    for p in (ROOT / ".github" / "workflows").glob("*.yml")
    if p.name not in SUITE_ONLY_WORKFLOWS
)


def git(repo: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | GIT_ENV | {"HOME": str(repo)}
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout


def tracked(prefix: str) -> list[str]:
    return sorted(git(ROOT, "ls-files", "--", prefix).split())


def init(cli: Any, directory: Path, *args: str) -> dict[str, Any]:
    result = cli(["init", str(directory), "--suite", SUITE, "--version", "v1.4.2", "--format", "json", *args])
    assert result.code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def commit_all(repo: Path) -> None:
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "GitOps scaffold")


def validate_and_plan(
    cli: Any, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], dict[str, Any]]:
    monkeypatch.chdir(repo)
    validated = cli(["validate", "--format", "json"])
    report = json.loads(validated.stdout)
    assert validated.code == 0, json.dumps(report["failures"], indent=2)
    planned = cli(["plan", "--format", "json"])
    assert planned.code == 0, planned.stderr
    return report, json.loads(planned.stdout)


def actionlint(repo: Path) -> subprocess.CompletedProcess[str]:
    binary = ROOT / ".venv" / "bin" / "actionlint"
    assert binary.exists(), f"{binary} is missing; run `bash scripts/dev.sh setup` (never skipped)"
    return subprocess.run([str(binary), "-no-color"], cwd=repo, capture_output=True, text=True, check=False)


def test_the_skeleton_validates_plans_and_lints(
    tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch, require_binary: Any
) -> None:
    repo = tmp_path / "platform"
    data = init(cli, repo)
    assert data["suite"] == {
        "repository": "acme/gitops-suite",
        "sha": SHA,
        "version": "v1.4.2",
        "uses": f"acme/gitops-suite/actions/<action>@{SHA} # v1.4.2",
    }
    paths = [f["path"] for f in data["files"]]
    assert {f["action"] for f in data["files"]} == {"created"}
    expected = {"infra/deploy-control.yaml", "infra/k8s/base/kustomization.yaml", *WORKFLOWS}
    expected |= {f"{overlay}/kustomization.yaml" for overlay in OVERLAYS}
    expected |= {
        p for overlay in OVERLAYS for p in tracked(overlay) if p.endswith(".gitignore") or "/cluster/" in p
    }
    assert set(paths) == expected
    assert not (repo / ".github" / "workflows" / "ci.yml").exists()
    for rel in paths:
        assert (repo / rel).read_bytes(), rel

    commit_all(repo)
    report, plan = validate_and_plan(cli, repo, monkeypatch)
    assert report["policy"] == {"file": "infra/deploy-control.yaml", "ok": True, "problems": 0}
    assert sorted(o["overlay"] for o in report["overlays"]) == OVERLAYS
    rows = {r["environment"]: r for r in plan["environments"]}
    assert set(rows) == {"dev", "test", "prod", "local"}
    assert rows["dev"]["push"]["allowed"] is True  # dev deploys on push to dev
    assert rows["prod"]["push"]["allowed"] is False and rows["prod"]["requires_approval"] is True

    require_binary("shellcheck")
    linted = actionlint(repo)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    workflow = (repo / ".github" / "workflows" / "deploy-environment.yml").read_text(encoding="utf-8")
    assert f"uses: acme/gitops-suite@{SHA} # v1.4.2" in workflow
    assert f"uses: acme/gitops-suite/actions/policy-gate@{SHA} # v1.4.2" in workflow
    assert "POSTGRES_SA_PASSWORD" not in workflow, "the skeleton's overlays need no app secrets"
    assert "KUBECONFIG: ${{ secrets.KUBECONFIG }}" in (repo / WORKFLOWS[WORKFLOWS.index(
        ".github/workflows/deploy-k8s-resources.yml")]).read_text(encoding="utf-8")  # fmt: skip


def test_with_examples_infra_is_this_repository_s_own(
    tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "platform"
    data = init(cli, repo, "--with-examples")
    infra = tracked("infra")
    assert sorted(f["path"] for f in data["files"] if f["path"].startswith("infra/")) == infra
    for rel in infra:
        assert (repo / rel).read_bytes() == (ROOT / rel).read_bytes(), rel
    workflow = (repo / ".github" / "workflows" / "deploy-environment.yml").read_text(encoding="utf-8")
    assert "POSTGRES_SA_PASSWORD: ${{ secrets.POSTGRES_SA_PASSWORD }}" in workflow
    commit_all(repo)
    report, _ = validate_and_plan(cli, repo, monkeypatch)
    assert sum(o["objects"] for o in report["overlays"]) > 0 and report["failures"] == []


def test_a_file_that_differs_is_never_overwritten_without_force(tmp_path: Path, cli: Any) -> None:
    repo = tmp_path / "platform"
    init(cli, repo)
    mine = repo / "infra" / "deploy-control.yaml"
    mine.write_text("# my own policy\n", encoding="utf-8")
    gone = repo / ".github" / "workflows" / "hetzner-k8s.yml"
    gone.unlink()

    refused = cli(["init", str(repo), "--suite", SUITE, "--version", "v1.4.2"])
    assert refused.code == 1
    assert f"{mine}: exists with other content (--force overwrites it)" in refused.stderr
    assert "nothing was written" in refused.stderr
    assert mine.read_text(encoding="utf-8") == "# my own policy\n"
    assert not gone.exists(), "nothing is written while any file is in the way"

    forced = init(cli, repo, "--force")
    actions = {f["path"]: f["action"] for f in forced["files"]}
    assert actions["infra/deploy-control.yaml"] == "overwritten"
    assert actions[".github/workflows/hetzner-k8s.yml"] == "created"
    assert actions["infra/k8s/base/kustomization.yaml"] == "unchanged"
    assert yaml.safe_load(mine.read_text(encoding="utf-8"))["environments"]["prod"]["branch"] == "main"


def test_running_it_again_changes_nothing(tmp_path: Path, cli: Any) -> None:
    repo = tmp_path / "platform"
    init(cli, repo)
    before = {p: p.stat().st_mtime_ns for p in repo.rglob("*") if p.is_file()}
    again = init(cli, repo)
    assert {f["action"] for f in again["files"]} == {"unchanged"}
    assert {p: p.stat().st_mtime_ns for p in repo.rglob("*") if p.is_file()} == before


def test_a_symbolic_link_is_never_written_through_even_with_force(tmp_path: Path, cli: Any) -> None:
    repo = tmp_path / "platform"
    outside = tmp_path / "outside.yaml"
    outside.write_text("precious\n", encoding="utf-8")
    (repo / "infra").mkdir(parents=True)
    (repo / "infra" / "deploy-control.yaml").symlink_to(outside)
    result = cli(["init", str(repo), "--suite", SUITE, "--version", "v1.4.2", "--force"])
    assert result.code == 1
    assert "is a symbolic link (never written through)" in result.stderr
    assert outside.read_text(encoding="utf-8") == "precious\n"


def test_a_symbolic_link_to_a_directory_on_the_way_is_refused_too(tmp_path: Path, cli: Any) -> None:
    repo = tmp_path / "platform"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (repo / ".github").mkdir(parents=True)
    (repo / ".github" / "workflows").symlink_to(elsewhere, target_is_directory=True)
    result = cli(["init", str(repo), "--suite", SUITE, "--version", "v1.4.2", "--force"])
    assert result.code == 1
    assert f"{repo.resolve() / '.github' / 'workflows'} is a symbolic link" in result.stderr
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["--suite", "acme/gitops-suite@v1.4.2"], "not a full 40-character commit SHA", id="tag"),
        pytest.param(["--suite", "gitops-suite"], "is not OWNER/REPO@SHA", id="no-owner"),
        pytest.param(["--suite", SUITE, "--version", "latest"], "is not a release version", id="version"),
    ],
)
def test_bad_flags_exit_1_and_write_nothing(tmp_path: Path, cli: Any, argv: list[str], message: str) -> None:
    result = cli(["init", str(tmp_path / "platform"), *argv])
    assert result.code == 1
    assert message in result.stderr
    assert not (tmp_path / "platform").exists()


def test_without_suite_it_says_the_flag_is_required(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gitops.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["init", str(tmp_path / "platform")])
    assert exc.value.code == 1
    assert "the following arguments are required: --suite" in capsys.readouterr().err
    assert not (tmp_path / "platform").exists()


def test_the_suite_s_own_checkout_is_refused(cli: Any) -> None:
    result = cli(["init", str(ROOT / "sub"), "--suite", SUITE, "--version", "v1.4.2"])
    assert result.code == 1
    assert "is inside the suite's own checkout" in result.stderr
    assert not (ROOT / "sub").exists()


def test_a_file_as_directory_is_refused(tmp_path: Path, cli: Any) -> None:
    target = tmp_path / "file"
    target.write_text("x", encoding="utf-8")
    result = cli(["init", str(target), "--suite", SUITE, "--version", "v1.4.2"])
    assert result.code == 1 and "exists and is not a directory" in result.stderr


def test_help_teaches(cli: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from gitops.cli import main

    with pytest.raises(SystemExit):
        main(["init", "--help"])
    text = capsys.readouterr().out
    for phrase in ("--suite OWNER/REPO@SHA", "--with-examples", "--force", "examples:", "gitops validate"):
        assert phrase in text


def test_the_table_and_the_summary_read_at_a_glance(tmp_path: Path, cli: Any, gha_env: Any) -> None:
    result = cli(
        ["init", str(tmp_path / "platform"), "--suite", SUITE, "--version", "v1.4.2", "--format", "table"]
    )
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"gitops init: scaffolded {(tmp_path / 'platform').resolve()} (skeleton; ")
    assert lines[0].endswith(f"created), pinned to acme/gitops-suite@{SHA[:12]} v1.4.2")
    assert any(line.split() == ["created", "infra/deploy-control.yaml"] for line in lines)
    assert "next, in that directory:" in lines
    summary = gha_env.summary()
    assert summary.startswith("### gitops init: scaffolded ")
    workflow = "`.github/workflows/deploy-environment.yml`"
    assert f"| {workflow} | created | {workflow} |" in summary
