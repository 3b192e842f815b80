"""`gitops render` end to end: real kubectl kustomize on the demo tree, values from the environment."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gitops.operations.rendering import load_manifests
from tests.support.actions import GhaEnv
from tests.support.render import PLACEHOLDER, copy_demo, files_containing, forms, values

pytestmark = pytest.mark.integration

DEV = "infra/k8s/demo/dev"
LOCAL = "infra/k8s/demo/local"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = copy_demo(tmp_path / "workspace")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def given(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Every demo variable set in the environment to a unique value."""
    vals = values()
    for name, value in vals.items():
        monkeypatch.setenv(name, value)
    return vals


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def secret_of(objects: list[dict[str, Any]], name: str = "app-credentials") -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == name)


def assert_nowhere(vals: dict[str, str], *texts: str) -> None:
    for value in vals.values():
        for form in forms(value):
            for text in texts:
                assert form not in text


def without_add_mask(stderr: str) -> str:
    return "\n".join(line for line in stderr.splitlines() if not line.startswith("::add-mask::"))


# -- render to stdout ----------------------------------------------------------------------


def test_render_puts_base64_in_data_and_text_in_string_data(
    workspace: Path, given: dict[str, str], cli: Any
) -> None:
    result = cli(["render", "--overlay", DEV])
    assert result.code == 0, result.stderr
    objects = load_manifests(result.stdout, "stdout")
    assert [o["kind"] for o in objects] == ["ConfigMap", "Secret", "Service", "StatefulSet"]
    secret = secret_of(objects)
    assert secret["data"] == {
        "DB_PASSWORD": b64(given["DB_PASSWORD"]),
        "SHARED_KEY": b64(given["SHARED_KEY"]),  # same key in stringData: both carry the value
        "tls.crt": b64(given["TLS_CRT"]),
    }
    assert secret["stringData"] == {
        "API_TOKEN": given["API_TOKEN"],
        "DB_USER": "app",
        "SHARED_KEY": given["SHARED_KEY"],
    }
    assert PLACEHOLDER not in result.stdout
    assert_nowhere(given, result.stderr)
    assert "rendered 4 object(s) from infra/k8s/demo/dev" in result.stderr


def test_render_in_actions_sets_outputs_and_summary_without_values(
    workspace: Path, given: dict[str, str], gha_env: GhaEnv, cli: Any
) -> None:
    result = cli(["render", "--overlay", DEV])
    assert result.code == 0, result.stderr
    outputs = gha_env.outputs()
    assert json.loads(outputs["needed-secrets"]) == ["API_TOKEN", "DB_PASSWORD", "SHARED_KEY", "TLS_CRT"]
    assert json.loads(outputs["missing-secrets"]) == []
    assert outputs["object-count"] == "4"
    summary = gha_env.summary()
    assert "| app-credentials | tls.crt | TLS_CRT | yes |" in summary
    assert "Manifests: stdout" in summary
    masked = [line.removeprefix("::add-mask::") for line in result.stderr.splitlines() if "add-mask" in line]
    for value in given.values():
        assert value in masked and b64(value) in masked  # masked before anything was printed
    assert_nowhere(given, without_add_mask(result.stderr), summary, gha_env.output.read_text())
    assert result.stderr.index("::add-mask::") < result.stderr.index("rendered 4 object(s)")


def test_the_placeholder_written_literally_under_data_is_substituted_as_base64(
    workspace: Path, given: dict[str, str], cli: Any
) -> None:
    """Issue 16: the reference's Secret templates keep `StrongBase64Password` itself under `data:`."""
    secret = workspace / "infra/k8s/base/secret.yaml"
    text = secret.read_text(encoding="utf-8")
    secret.write_text(
        text.replace("DB_PASSWORD: U3Ryb25nQmFzZTY0UGFzc3dvcmQ=", f"DB_PASSWORD: {PLACEHOLDER}")
    )
    check = cli(["render", "--overlay", DEV, "--check", "--format", "json"])
    assert check.code == 0, check.stderr
    [overlay] = json.loads(check.stdout)["overlays"]
    assert {n["variable"]: n["fields"] for n in overlay["secrets"]}["DB_PASSWORD"] == ["data"]
    result = cli(["render", "--overlay", DEV])
    assert result.code == 0, result.stderr
    data = secret_of(load_manifests(result.stdout, "stdout"))["data"]
    assert data["DB_PASSWORD"] == b64(given["DB_PASSWORD"])
    assert PLACEHOLDER not in result.stdout


# -- a missing variable ----------------------------------------------------------------------


@pytest.mark.parametrize("in_actions", [pytest.param(False, id="terminal"), pytest.param(True, id="actions")])
def test_render_without_one_variable_names_it_and_prints_no_value(
    workspace: Path, given: dict[str, str], monkeypatch: pytest.MonkeyPatch, cli: Any, in_actions: bool
) -> None:
    gha = None
    if in_actions:
        gha = GhaEnv.create(workspace.parent / "gha")
        for key, value in gha.variables().items():
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("TLS_CRT")
    result = cli(["render", "--overlay", DEV])
    assert result.code == 1
    assert result.stdout == ""  # nothing rendered, not even part of it
    assert "variable TLS_CRT is not set: Secret app-credentials, key tls.crt (data)" in result.stderr
    texts = [result.stdout, result.stderr]
    if gha is not None:
        assert "::error title=Secrets not substituted::" in result.stderr
        summary = gha.summary()
        assert "variable TLS_CRT is not set" in summary
        texts = [result.stdout, without_add_mask(result.stderr), summary, gha.output.read_text()]
    else:
        assert "::" not in result.stderr
    present = {k: v for k, v in given.items() if k != "TLS_CRT"}
    assert_nowhere(present, *texts)


def test_every_missing_variable_is_listed_in_one_error(workspace: Path, cli: Any) -> None:
    result = cli(["render", "--overlay", DEV])
    assert result.code == 1
    for variable, key in [
        ("DB_PASSWORD", "DB_PASSWORD"),
        ("SHARED_KEY", "SHARED_KEY"),
        ("TLS_CRT", "tls.crt"),
    ]:
        assert f"variable {variable} is not set: Secret app-credentials, key {key}" in result.stderr
    assert result.stderr.count("error:") == 1


def test_an_empty_variable_is_missing_unless_allowed(
    workspace: Path, given: dict[str, str], monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    monkeypatch.setenv("DB_PASSWORD", "")
    result = cli(["render", "--overlay", DEV])
    assert result.code == 1
    assert "variable DB_PASSWORD is set but empty (pass --allow-empty" in result.stderr
    result = cli(["render", "--overlay", DEV, "--allow-empty"])
    assert result.code == 0, result.stderr
    assert secret_of(load_manifests(result.stdout, "stdout"))["data"]["DB_PASSWORD"] == ""


# -- values survive the whole trip, also through Go's YAML parser --------------------------------

EDGE_VALUES = {
    "DB_PASSWORD": "p@ss: word # not a comment 'single' \"double\"",
    "SHARED_KEY": "first line\nsecond: line\n  indented # third\n",
    "TLS_CRT": "ünïcödé ✓ 密码 🔐 \u2028 \x85",
    "API_TOKEN": "  " + "x" * (48 * 1024) + " \t",
}


def test_edge_values_round_trip_through_our_yaml_and_kustomize(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    for name, value in EDGE_VALUES.items():
        monkeypatch.setenv(name, value)
    result = cli(["render", "--overlay", DEV])
    assert result.code == 0, result.stderr
    ours = secret_of(load_manifests(result.stdout, "stdout"))
    # Feed our output to kubectl's own YAML reader (Go) and read its output back.
    check = workspace.parent / "go-roundtrip"
    check.mkdir()
    (check / "rendered.yaml").write_text(result.stdout, encoding="utf-8")
    (check / "kustomization.yaml").write_text("resources: [rendered.yaml]\n", encoding="utf-8")
    go = subprocess.run(
        [str(Path(sys.executable).parent / "kubectl"), "kustomize", str(check)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=True,
    )
    theirs = secret_of(load_manifests(go.stdout, "kustomize"))
    for secret in (ours, theirs):
        assert secret["stringData"]["API_TOKEN"] == EDGE_VALUES["API_TOKEN"]
        assert secret["stringData"]["SHARED_KEY"] == EDGE_VALUES["SHARED_KEY"]
        assert base64.b64decode(secret["data"]["DB_PASSWORD"]).decode() == EDGE_VALUES["DB_PASSWORD"]
        assert base64.b64decode(secret["data"]["tls.crt"]).decode() == EDGE_VALUES["TLS_CRT"]


# -- nothing on disk -------------------------------------------------------------------------


def test_render_to_stdout_leaves_no_value_in_workspace_temp_or_home(tmp_path: Path) -> None:
    workspace = copy_demo(tmp_path / "workspace")
    temp, home = tmp_path / "tmp", tmp_path / "home"
    temp.mkdir()
    home.mkdir()
    vals = values("disk")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "TMPDIR": str(temp),
        "TEMP": str(temp),
        "TMP": str(temp),
        "PYTHONPATH": os.pathsep.join(sys.path),
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(temp / "summary.md"),
        "GITHUB_OUTPUT": str(temp / "output"),
        **vals,
    }
    done = subprocess.run(
        [sys.executable, "-m", "gitops", "render", "--overlay", DEV],
        cwd=workspace,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    rendered = secret_of(load_manifests(done.stdout.decode(), "stdout"))  # the render did happen, on stdout
    assert rendered["stringData"]["API_TOKEN"] == vals["API_TOKEN"]
    assert rendered["data"]["DB_PASSWORD"] == b64(vals["DB_PASSWORD"])
    assert (temp / "summary.md").exists()  # the runner files were written, and are scanned below
    needles = [form for value in vals.values() for form in forms(value)]
    assert files_containing([workspace, temp, home], needles) == []
    canary = tmp_path / "canary"  # the scan itself can find a value (this test can fail)
    canary.mkdir()
    (canary / "leak.bin").write_bytes(b"\x00" + b64(vals["TLS_CRT"]).encode() + b"\xff")
    assert len(files_containing([canary], needles)) == 1


# -- --output ----------------------------------------------------------------------------------


def test_output_file_is_0600_and_stdout_gets_the_report(
    workspace: Path, given: dict[str, str], cli: Any, tmp_path: Path
) -> None:
    target = tmp_path / "out" / "manifests.yaml"
    target.parent.mkdir()
    old = os.umask(0)  # even a permissive umask must not widen the file
    try:
        result = cli(["render", "--overlay", DEV, "--output", str(target), "--format", "json"])
    finally:
        os.umask(old)
    assert result.code == 0, result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert (
        secret_of(load_manifests(target.read_text(encoding="utf-8"), "file"))["stringData"]["API_TOKEN"]
        == given["API_TOKEN"]
    )
    report = json.loads(result.stdout)
    assert report["object_count"] == 4
    assert report["output"] == str(target)
    assert report["needed_secrets"] == ["API_TOKEN", "DB_PASSWORD", "SHARED_KEY", "TLS_CRT"]
    assert_nowhere(given, result.stdout, result.stderr)
    assert [p.name for p in target.parent.iterdir()] == ["manifests.yaml"]  # no temp file left


def test_output_replaces_a_world_readable_file_with_a_0600_one(
    workspace: Path, given: dict[str, str], cli: Any, tmp_path: Path
) -> None:
    target = tmp_path / "manifests.yaml"
    target.write_text("old\n", encoding="utf-8")
    target.chmod(0o644)
    assert cli(["render", "--overlay", DEV, "--output", str(target)]).code == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert given["DB_PASSWORD"] not in target.read_text(encoding="utf-8")  # data holds base64
    assert b64(given["DB_PASSWORD"]) in target.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "dangling", [pytest.param(False, id="symlink"), pytest.param(True, id="dangling-symlink")]
)
def test_output_refuses_to_write_through_a_symlink(
    workspace: Path, given: dict[str, str], cli: Any, tmp_path: Path, dangling: bool
) -> None:
    victim = tmp_path / "victim.txt"
    if not dangling:
        victim.write_text("untouched\n", encoding="utf-8")
    link = tmp_path / "manifests.yaml"
    link.symlink_to(victim)
    result = cli(["render", "--overlay", DEV, "--output", str(link)])
    assert result.code == 1
    assert "is a symbolic link; refusing to write secrets through it" in result.stderr
    assert link.is_symlink()
    if dangling:
        assert not victim.exists()
    else:
        assert victim.read_text(encoding="utf-8") == "untouched\n"
    assert result.stdout == ""


def test_output_refuses_a_directory(workspace: Path, given: dict[str, str], cli: Any, tmp_path: Path) -> None:
    result = cli(["render", "--overlay", DEV, "--output", str(tmp_path)])
    assert result.code == 1
    assert "exists and is not a regular file" in result.stderr


def test_empty_output_verifies_in_memory_and_writes_nothing(
    workspace: Path, given: dict[str, str], gha_env: GhaEnv, cli: Any
) -> None:
    before = sorted(p.name for p in workspace.rglob("*"))
    result = cli(["render", "--overlay", DEV, "--output", ""])
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)  # json is the default in Actions
    assert (report["mode"], report["object_count"], report["output"], report["ok"]) == (
        "render",
        4,
        None,
        True,
    )
    assert sorted(p.name for p in workspace.rglob("*")) == before
    assert "not written (substitution verified in memory)" in gha_env.summary()
    assert_nowhere(given, result.stdout, without_add_mask(result.stderr), gha_env.summary())


# -- --check -----------------------------------------------------------------------------------


def test_check_lists_needed_secrets_of_several_overlays_without_values(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, gha_env: GhaEnv, cli: Any
) -> None:
    monkeypatch.setenv("DB_PASSWORD", "x-not-read")
    monkeypatch.setenv("SHARED_KEY", "")
    result = cli(["render", "--check", "--overlay", f"{DEV}\n{LOCAL}\n"])
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert [o["overlay"] for o in report["overlays"]] == [DEV, LOCAL]
    dev = report["overlays"][0]
    assert [(s["secret"], s["key"], s["variable"], s["state"]) for s in dev["secrets"]] == [
        ("app-credentials", "DB_PASSWORD", "DB_PASSWORD", "set"),
        ("app-credentials", "SHARED_KEY", "SHARED_KEY", "empty"),
        ("app-credentials", "tls.crt", "TLS_CRT", "unset"),
        ("app-credentials", "API_TOKEN", "API_TOKEN", "unset"),
    ]
    assert report["overlays"][1]["secrets"][0]["secret"] == "local-app-credentials"
    outputs = gha_env.outputs()
    assert json.loads(outputs["needed-secrets"]) == ["API_TOKEN", "DB_PASSWORD", "SHARED_KEY", "TLS_CRT"]
    assert json.loads(outputs["missing-secrets"]) == ["API_TOKEN", "SHARED_KEY", "TLS_CRT"]
    assert outputs["object-count"] == "8"
    assert "::warning title=Secrets not set::3 needed variable(s) are not set here" in result.stderr
    assert "| app-credentials | SHARED_KEY | SHARED_KEY | set but empty |" in gha_env.summary()
    assert gha_env.summary().startswith(
        "### :warning: gitops render --check 2 overlays: 3 of 4 needed variable(s) not set: "
        "API_TOKEN, SHARED_KEY, TLS_CRT\n"
    )
    assert "x-not-read" not in result.stderr + result.stdout + gha_env.summary()
    assert "add-mask" not in result.stderr  # check mode reads no value, so masks none


def test_check_require_all_fails_listing_every_missing_variable(workspace: Path, cli: Any) -> None:
    result = cli(
        ["render", "--check", "--require-all", "--overlay", DEV, "--overlay", LOCAL, "--format", "table"]
    )
    assert result.code == 1
    assert (
        "infra/k8s/demo/local: variable TLS_CRT is not set: Secret local-app-credentials, key tls.crt"
        in result.stderr
    )
    assert "8 secret problem(s) found by --check" in result.stderr
    assert "app-credentials  tls.crt      TLS_CRT" in result.stdout  # the table still printed


def test_check_require_all_passes_when_everything_is_set(
    workspace: Path, given: dict[str, str], cli: Any
) -> None:
    result = cli(["render", "--mode", "check", "--require-all=true", "--overlay", DEV, "--format", "table"])
    assert result.code == 0, result.stderr
    assert "warning" not in result.stderr
    assert result.stdout.startswith(f"gitops render --check {DEV}: all 4 needed variable(s) set\n")


def test_check_fails_on_a_placeholder_that_can_never_be_substituted(workspace: Path, cli: Any) -> None:
    configmap = workspace / "infra/k8s/base/configmap.yaml"
    configmap.write_text(
        configmap.read_text() + f"  url: postgres://app:{PLACEHOLDER}@db\n", encoding="utf-8"
    )
    result = cli(["render", "--check", "--overlay", DEV])
    assert result.code == 1
    assert (
        "ConfigMap/app-config data.url: holds the placeholder, but a ConfigMap is not a Secret"
        in result.stderr
    )


# -- the secret map --------------------------------------------------------------------------


def test_secret_map_points_a_key_at_another_variable(
    workspace: Path, given: dict[str, str], monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    monkeypatch.setenv("DEMO_API_TOKEN", "from-the-map")
    result = cli(["render", "--overlay", DEV, "--secret-map", "secret-map.yaml"])
    assert result.code == 0, result.stderr
    assert secret_of(load_manifests(result.stdout, "stdout"))["stringData"]["API_TOKEN"] == "from-the-map"


def test_secret_map_with_a_bad_jsonpath_names_the_file_and_expression(
    workspace: Path, given: dict[str, str], gha_env: GhaEnv, cli: Any
) -> None:
    (workspace / "bad-map.yaml").write_text(
        'app-credentials:\n  "$.stringData[API_TOKEN": X\n', encoding="utf-8"
    )
    result = cli(["render", "--overlay", DEV, "--secret-map", "bad-map.yaml"])
    assert result.code == 1
    assert "::error title=Invalid secret map,file=bad-map.yaml,line=2::" in result.stderr
    assert "invalid JSONPath expression '$.stringData[API_TOKEN'" in result.stderr
    assert "app-credentials.$.stringData[API_TOKEN" in result.stderr
    assert result.stdout == ""


def test_unused_secret_map_entries_are_a_warning(workspace: Path, given: dict[str, str], cli: Any) -> None:
    result = cli(["render", "--check", "--overlay", LOCAL, "--secret-map", "secret-map.yaml"])
    assert result.code == 0
    assert (
        "the secret map names Secret app-credentials, which infra/k8s/demo/local does not render"
        in result.stderr
    )


# -- bad input -------------------------------------------------------------------------------


def test_a_kustomize_error_names_the_overlay_and_carries_kustomize_message(workspace: Path, cli: Any) -> None:
    kustomization = workspace / DEV / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text() + "  - path: patches/missing.yaml\n", encoding="utf-8")
    result = cli(["render", "--check", "--overlay", DEV])
    assert result.code == 1
    assert "kustomize could not build infra/k8s/demo/dev" in result.stderr
    assert "missing.yaml" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(["--overlay", "nope"], "overlay nope does not exist", id="no-overlay"),
        pytest.param(
            ["--overlay", "infra/k8s/demo"],
            "is not a kustomize overlay (no kustomization.yaml",
            id="not-an-overlay",
        ),
        pytest.param(
            ["--overlay", "infra/k8s/demo/dve"],
            "did you mean infra/k8s/demo/dev? overlays here: infra/k8s/demo/dev, infra/k8s/demo/local",
            id="overlay-typo",
        ),
        pytest.param(["--overlay", DEV, "--overlay", LOCAL], "render takes one overlay, got 2", id="two"),
        pytest.param(["--overlay", DEV, "--mode", "apply"], "--mode must be 'render' or 'check'", id="mode"),
        pytest.param(
            ["--overlay", DEV, "--check", "--require-all=yes"], "must be 'true' or 'false'", id="bool"
        ),
        pytest.param(
            ["--overlay", DEV, "--placeholder", ""], "placeholder must not be empty", id="placeholder"
        ),
        pytest.param(
            ["--overlay", DEV, "--check", "--output", "x"], "--output does not apply to --check", id="out"
        ),
    ],
)
def test_bad_arguments_are_configuration_errors(
    workspace: Path, cli: Any, argv: list[str], expected: str
) -> None:
    result = cli(["render", *argv])
    assert result.code == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_help_teaches_with_examples(cli: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from gitops.cli import main

    with pytest.raises(SystemExit) as info:
        main(["render", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for phrase in ("--secret-map", "--check", "0600", "examples:", "gitops render --check --overlay"):
        assert phrase in text
