"""gitops.operations.scaffolding against a real git checkout of the suite: the version comes from
the release tag at the pinned commit, and the scaffold says when the files it read are not that
commit's. The checkout is this repository's working tree committed once (as the e2e harness
copies it)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitops.errors import ConfigurationError
from gitops.operations import scaffolding
from gitops.operations.scaffolding import InitRequest
from tests.e2e.harness import build_template, git

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A git checkout of the suite whose HEAD is tagged v9.8.7; yields (checkout, HEAD)."""
    checkout = build_template(tmp_path_factory.mktemp("suite") / "gitops-suite")
    git(checkout, "tag", "v9.8.7")
    git(checkout, "tag", "stable")  # a moving tag next to the release does not confuse it
    yield checkout, git(checkout, "rev-parse", "HEAD")


def test_the_version_is_the_release_tag_at_the_pinned_commit(suite: tuple[Path, str], tmp_path: Path) -> None:
    checkout, head = suite
    result = scaffolding.init(
        InitRequest(tmp_path / "platform", f"acme/gitops-suite@{head}", checkout=checkout)
    )
    assert result.pin.version == "v9.8.7"
    assert result.warnings == []
    gate = (tmp_path / "platform" / ".github" / "workflows" / "deploy-environment.yml").read_text()
    assert f"uses: acme/gitops-suite/actions/policy-gate@{head} # v9.8.7" in gate


def test_a_commit_without_a_release_tag_needs_version(suite: tuple[Path, str], tmp_path: Path) -> None:
    checkout, _ = suite
    other = "f" * 40
    with pytest.raises(ConfigurationError) as info:
        scaffolding.init(InitRequest(tmp_path / "platform", f"acme/gitops-suite@{other}", checkout=checkout))
    assert info.value.key == "--version"
    assert "No release tag (vX.Y.Z) of the suite's checkout points at it" in info.value.message
    assert not (tmp_path / "platform").exists()


def test_files_read_from_another_commit_or_a_changed_tree_are_warned_about(
    suite: tuple[Path, str], tmp_path: Path
) -> None:
    checkout, head = suite
    other = "f" * 40
    result = scaffolding.init(
        InitRequest(tmp_path / "a", f"acme/gitops-suite@{other}", version="v9.9.0", checkout=checkout)
    )
    [warning] = result.warnings
    assert f"come from the suite's checkout at {head[:12]}, but --suite pins {other[:12]}" in warning

    workflow = checkout / ".github" / "workflows" / "hetzner-k8s.yml"
    original = workflow.read_text(encoding="utf-8")
    try:
        workflow.write_text(original + "# local edit\n", encoding="utf-8")
        result = scaffolding.init(InitRequest(tmp_path / "b", f"acme/gitops-suite@{head}", checkout=checkout))
    finally:
        workflow.write_text(original, encoding="utf-8")
    assert result.warnings == [
        "the suite's checkout has uncommitted changes under .github/workflows and infra"
    ]


def test_without_git_the_infra_is_read_minus_what_its_gitignore_excludes(
    suite: tuple[Path, str], tmp_path: Path
) -> None:
    """A suite unpacked from an archive (no .git): rendered manifests and kubeconfigs left next to an
    overlay (the overlay's .gitignore patterns) are never copied into the new repository."""
    checkout, head = suite
    unpacked = tmp_path / "suite"
    shutil.copytree(checkout, unpacked, ignore=shutil.ignore_patterns(".git"))
    dev = unpacked / "infra" / "k8s" / "hetzner" / "dev"
    (dev / "dev.rendered.yaml").write_text("kind: Secret  # with real values\n", encoding="utf-8")
    (dev / "kubeconfig").write_text("token: secret\n", encoding="utf-8")
    result = scaffolding.init(
        InitRequest(
            tmp_path / "platform",
            f"acme/gitops-suite@{head}",
            version="v9.8.7",
            with_examples=True,
            checkout=unpacked,
        )
    )
    copied = {f.path for f in result.files}
    assert "infra/k8s/hetzner/dev/kustomization.yaml" in copied
    assert not {p for p in copied if p.endswith(("rendered.yaml", "kubeconfig"))}
    assert result.warnings == [
        f"{unpacked.resolve()} is not a git checkout: its files may not be those of {head[:12]}"
    ]


def test_a_gitops_that_does_not_run_from_a_checkout_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    installed = tmp_path / "site-packages" / "gitops" / "__init__.py"
    monkeypatch.setattr(scaffolding.gitops, "__file__", str(installed))
    with pytest.raises(ConfigurationError) as info:
        scaffolding.suite_checkout()
    assert "does not run from one" in info.value.message
    assert info.value.hint is not None and "pip install -e" in info.value.hint


def test_the_real_checkout_is_found() -> None:
    root = scaffolding.suite_checkout()
    assert (root / "scripts" / "gitops" / "__init__.py").is_file()
    assert root.samefile(Path(__file__).resolve().parents[3])
