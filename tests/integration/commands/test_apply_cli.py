"""``gitops apply`` as a user meets it: arguments, kubeconfig sources, secrets, Actions outputs."""

from __future__ import annotations

import base64
import io
import json
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops.adapters.kube_connection import load_connection
from gitops.adapters.kubeconfig_source import KubeconfigSource
from gitops.errors import ConfigurationError
from tests.support.actions import GhaEnv
from tests.support.apply import Cluster, by_name, report_of, write_overlay

pytestmark = pytest.mark.integration

CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"a": "1"}}


def manifests(tmp_path: Path, *objects: dict[str, Any]) -> Path:
    path = tmp_path / "manifests.yaml"
    path.write_text(yaml.safe_dump_all(objects), encoding="utf-8")
    return path


def writes_by_clients(cluster: Cluster) -> list[dict[str, Any]]:
    fake = cluster.need_fake()
    return [e for e in fake.history() if str(e["actor"]).startswith("client")]


def test_help_teaches_with_examples(cli: Callable[[list[str]], Any]) -> None:
    with pytest.raises(SystemExit) as info:
        cli(["apply", "--help"])
    assert info.value.code == 0


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        pytest.param(["--overlay", "x", "-f", "y"], "exactly one of --overlay DIR or -f FILE", id="both"),
        pytest.param([], "exactly one of --overlay DIR or -f FILE", id="neither"),
        pytest.param(["--overlay", "/nonexistent"], "overlay /nonexistent does not exist", id="no-overlay"),
        pytest.param(["--overlay", "/tmp"], "/tmp is not a kustomize overlay", id="not-an-overlay"),
        pytest.param(["-f", "/nonexistent.yaml"], "cannot read /nonexistent.yaml", id="missing-file"),
        pytest.param(
            ["-f", "-", "--timeout", "soon"], "--timeout must be a positive number", id="bad-timeout"
        ),
        pytest.param(["-f", "-", "--dry-run", "yes"], "--dry-run must be 'true' or 'false'", id="bad-bool"),
    ],
)
def test_bad_arguments_exit_1_before_any_request(
    cli: Callable[[list[str]], Any],
    cluster: Cluster,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    fragment: str,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(yaml.safe_dump(CONFIGMAP)))
    result = cli(["apply", "--kubeconfig", str(cluster.kubeconfig), *args])
    assert result.code == 1, result.output
    assert fragment in result.stderr
    assert cluster.fake.requests() == []


def test_unknown_kinds_fail_before_the_first_write(
    cli: Callable[[list[str]], Any], cluster: Cluster, tmp_path: Path
) -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    typo = {"apiVersion": "apps/v1", "kind": "StatefulSett", "metadata": {"name": "s"}}
    result = cli(
        [
            "apply",
            "-f",
            str(manifests(tmp_path, CONFIGMAP, widget, typo)),
            "--kubeconfig",
            str(cluster.kubeconfig),
        ]
    )
    assert result.code == 1
    assert "2 kind(s)" in result.stderr and "nothing was applied" in result.stderr
    assert "kind Widget (apiVersion example.com/v1) is not served" in result.stderr
    assert "kind StatefulSett (apiVersion apps/v1) is not served" in result.stderr
    assert writes_by_clients(cluster) == []


def test_skip_service_leaves_its_objects_out_and_a_typo_is_refused(
    cli: Callable[[list[str]], Any], cluster: Cluster, tmp_path: Path, secrets_env: dict[str, str]
) -> None:
    fake = cluster.need_fake()
    overlay = write_overlay(tmp_path / "prod")
    base = ["apply", "--overlay", str(overlay), "--kubeconfig", str(cluster.kubeconfig), "--format", "json"]
    typo = cli([*base, "--skip-service", "postgress"])
    assert typo.code == 1
    assert "services present: jaeger, postgres, redis" in typo.stderr
    assert writes_by_clients(cluster) == []

    result = cli([*base, "--skip-service", "postgres,jaeger"])
    assert result.code == 0, result.output
    report = report_of(result.stdout)
    assert report["skipped_services"] == ["jaeger", "postgres"]
    skipped = {k for k, o in by_name(report).items() if o["action"] == "skipped"}
    assert "StatefulSet/postgres" in skipped and "Secret/postgres-credentials" in skipped
    assert "StatefulSet/jaeger" in skipped and "StatefulSet/redis" not in skipped
    assert fake.get("apps/v1", "StatefulSet", "default", "postgres") is None
    assert fake.get("apps/v1", "StatefulSet", "default", "redis") is not None
    assert "service postgres is blocked by the gate" in result.stderr


def test_manifests_from_stdin_land_in_the_given_namespace(
    cli: Callable[[list[str]], Any], cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = cluster.need_fake()
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}
    monkeypatch.setattr("sys.stdin", io.StringIO(yaml.safe_dump_all([CONFIGMAP, namespace])))
    args = ["apply", "-f", "-", "--kubeconfig", str(cluster.kubeconfig), "--namespace", "team"]
    result = cli([*args, "--format", "json"])
    assert result.code == 0, result.output
    report = report_of(result.stdout)
    assert [o["kind"] for o in report["objects"]] == ["Namespace", "ConfigMap"]  # the namespace first
    assert report["source"] == "stdin"
    assert fake.get("v1", "ConfigMap", "team", "settings") is not None


def test_a_missing_namespace_is_named_with_the_fix(
    cli: Callable[[list[str]], Any], cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(yaml.safe_dump(CONFIGMAP)))
    args = ["apply", "-f", "-", "--kubeconfig", str(cluster.kubeconfig), "--namespace", "nowhere"]
    result = cli([*args, "--format", "json"])
    assert result.code == 2
    obj = by_name(report_of(result.stdout))["ConfigMap/settings"]
    assert obj["action"] == "failed" and obj["server"]["code"] == 404
    assert obj["hint"] == "namespace nowhere does not exist: add a Namespace manifest or create it first"


@pytest.mark.parametrize("encoding", [pytest.param("plain", id="plain"), pytest.param("base64", id="base64")])
def test_kubeconfig_from_an_environment_variable_is_masked(  # noqa: PLR0917 - fixtures
    cli: Callable[[list[str]], Any],
    cluster: Cluster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    gha_env: GhaEnv,
    encoding: str,
) -> None:
    fake = cluster.need_fake()
    text = cluster.kubeconfig.read_text(encoding="utf-8")
    monkeypatch.setenv("KC_DATA", base64.b64encode(text.encode()).decode() if encoding == "base64" else text)
    result = cli(["apply", "-f", str(manifests(tmp_path, CONFIGMAP)), "--kubeconfig-env", "KC_DATA"])
    assert result.code == 0, result.output
    assert f"::add-mask::{fake.token}" in result.stderr
    printed = [line for line in result.output.splitlines() if not line.startswith("::add-mask::")]
    assert not [line for line in printed if fake.token in line]
    assert fake.get("v1", "ConfigMap", "default", "settings") is not None


def test_missing_kubeconfig_variable_names_it(cli: Callable[[list[str]], Any], tmp_path: Path) -> None:
    result = cli(["apply", "-f", str(manifests(tmp_path, CONFIGMAP)), "--kubeconfig-env", "NOPE_NOT_SET"])
    assert result.code == 1
    assert "--kubeconfig-env NOPE_NOT_SET: the variable is unset or empty" in result.stderr


def test_rejected_credentials_exit_1_with_the_fix(
    cli: Callable[[list[str]], Any], cluster: Cluster, tmp_path: Path
) -> None:
    cluster.need_fake()
    config = yaml.safe_load(cluster.kubeconfig.read_text(encoding="utf-8"))
    config["users"][0]["user"]["token"] = "wrong-token-value"
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = cli(["apply", "-f", str(manifests(tmp_path, CONFIGMAP)), "--kubeconfig", str(wrong)])
    assert result.code == 1
    assert f"rejected the credentials of context 'fakekube' of {wrong}" in result.stderr
    assert "HTTP 401: the token or client certificate is wrong or expired" in result.stderr
    assert "How to fix: get a fresh kubeconfig" in result.stderr
    assert "wrong-token-value" not in result.output


def test_an_unreachable_api_server_exits_2_after_bounded_retries(
    cli: Callable[[list[str]], Any], tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": "t0ken-t0ken"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    path = tmp_path / "kc.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = cli(["apply", "-f", str(manifests(tmp_path, CONFIGMAP)), "--kubeconfig", str(path)])
    assert result.code == 2
    assert f"cannot talk to the API server at http://127.0.0.1:{port}" in result.stderr
    assert "after 6 attempts" in result.stderr
    assert "nothing was applied" in result.stderr
    assert "How to fix: check that the cluster is up and that the kubeconfig's server URL" in result.stderr


def test_actions_outputs_summary_and_no_secret_anywhere(
    cli: Callable[[list[str]], Any],
    cluster: Cluster,
    tmp_path: Path,
    gha_env: GhaEnv,
    secrets_env: dict[str, str],
) -> None:
    overlay = write_overlay(tmp_path / "prod")
    result = cli(["apply", "--overlay", str(overlay), "--kubeconfig", str(cluster.kubeconfig)])
    assert result.code == 0, result.output
    outputs = gha_env.outputs()
    assert outputs["result"] == "applied"
    assert outputs["changed"] == "18"
    assert json.loads(outputs["recreated"]) == [] and json.loads(outputs["failed"]) == []
    report = json.loads(outputs["report"])
    assert report["ok"] is True and len(report["objects"]) == 18
    assert json.loads(result.stdout) == report  # JSON by default inside Actions
    summary = gha_env.summary()
    assert summary.startswith(f"### :white_check_mark: gitops apply `{overlay}`: applied (")
    assert "| StatefulSet default/postgres | created | ready |" in summary
    assert "unchanged object(s)</summary>" not in summary  # nothing to fold: every object was created
    gha_env.summary_file.write_text("", encoding="utf-8")
    again = cli(["apply", "--overlay", str(overlay), "--kubeconfig", str(cluster.kubeconfig)])
    assert again.code == 0, again.output
    summary = gha_env.summary()
    assert summary.startswith(f"### :white_check_mark: gitops apply `{overlay}`: applied (18 unchanged)")
    assert "<details><summary>18 unchanged object(s)</summary>" in summary
    everything = result.output + summary + gha_env.output.read_text(encoding="utf-8")
    for value in secrets_env.values():
        assert f"::add-mask::{value}" in result.stderr
        assert value not in everything.replace(f"::add-mask::{value}", "")


def test_the_table_says_what_was_rolled_back_and_what_was_not(
    cli: Callable[[list[str]], Any], cluster: Cluster, tmp_path: Path
) -> None:
    fake = cluster.need_fake()

    def web(image: str) -> dict[str, Any]:
        labels = {"app": "web"}
        template = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "web", "image": image}]}}
        spec = {"replicas": 1, "selector": {"matchLabels": labels}, "template": template}
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": spec}

    def worker(image: str) -> dict[str, Any]:
        new = web(image)
        new["metadata"]["name"] = "worker"
        new["spec"]["selector"]["matchLabels"] = new["spec"]["template"]["metadata"]["labels"] = {"app": "w"}
        return new

    base = ["apply", "--kubeconfig", str(cluster.kubeconfig), "--format", "table", "--timeout", "30"]
    assert cli([*base, "-f", str(manifests(tmp_path, web("web:1")))]).code == 0
    fake.set_knobs(image_pull_backoff=["image~typo"])
    broken = manifests(tmp_path, web("web:2-typo"), worker("worker:1-typo"))
    result = cli([*base, "-f", str(broken), "--rollback-on-failure"])
    assert result.code == 2
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"gitops apply {broken}: rolled-back (1 configured, 1 created)")
    rolled = next(line for line in lines if line.startswith("ROLLED BACK Deployment default/web: "))
    assert "rolling back from revision 2 to 1; after the rollback: " in rolled
    assert "no rollback for Deployment default/worker: it was created in this run, not changed" in lines
    assert "-> not waited" not in result.stdout


def test_a_secret_in_a_plain_file_is_masked_even_in_a_dry_run_diff(
    cli: Callable[[list[str]], Any], cluster: Cluster, tmp_path: Path
) -> None:
    def secret(value: str) -> dict[str, Any]:
        encoded = base64.b64encode(value.encode()).decode()
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s"},
            "data": {"password": encoded},
        }

    base = ["apply", "--kubeconfig", str(cluster.kubeconfig), "--format", "json"]
    assert cli([*base, "-f", str(manifests(tmp_path, secret("first-Value-123")))]).code == 0
    result = cli([*base, "-f", str(manifests(tmp_path, secret("second-Value-456"))), "--dry-run"])
    assert result.code == 0, result.output
    assert by_name(report_of(result.stdout))["Secret/s"]["diff"] == ["data.password: changed"]
    for text in ("second-Value-456", base64.b64encode(b"second-Value-456").decode()):
        assert text not in result.output


# -- credentials never touch disk -----------------------------------------------------------------------


def kubeconfig_with_client_cert() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "c",
                "cluster": {
                    "server": "https://127.0.0.1:6443",
                    "certificate-authority-data": base64.b64encode(
                        b"-----BEGIN CERTIFICATE-----\nCA\n"
                    ).decode(),
                },
            }
        ],
        "users": [
            {
                "name": "u",
                "user": {
                    "client-certificate-data": base64.b64encode(b"CERT-BYTES-0123").decode(),
                    "client-key-data": base64.b64encode(b"KEY-BYTES-4567").decode(),
                },
            }
        ],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u", "namespace": "apps"}}],
        "current-context": "x",
    }


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every tempfile at an empty directory, so any file written there is seen."""
    import tempfile

    target = tmp_path / "tmp"
    target.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(target))
    monkeypatch.setenv("TMPDIR", str(target))
    return target


def test_client_certificates_live_in_memory_files(monkeypatch: pytest.MonkeyPatch, private_tmp: Path) -> None:
    monkeypatch.setenv("KC", yaml.safe_dump(kubeconfig_with_client_cert()))
    connection = load_connection(KubeconfigSource(env_var="KC"))
    try:
        cfg = connection.configuration
        assert cfg.cert_file.startswith("/proc/self/fd/") and cfg.key_file.startswith("/proc/self/fd/")
        assert Path(cfg.cert_file).read_bytes() == b"CERT-BYTES-0123"
        assert Path(cfg.key_file).read_bytes() == b"KEY-BYTES-4567"
        assert cfg.ca_cert_data.startswith("-----BEGIN CERTIFICATE-----") and cfg.ssl_ca_cert is None
        assert connection.namespace == "apps" and connection.context == "x"
        assert list(private_tmp.iterdir()) == []
    finally:
        connection.secret_files.close()


def test_without_memfd_a_private_directory_is_used_and_removed(
    monkeypatch: pytest.MonkeyPatch, private_tmp: Path, tmp_path: Path
) -> None:
    monkeypatch.delattr(os, "memfd_create", raising=False)
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    monkeypatch.setenv("RUNNER_TEMP", str(runner_temp))
    from gitops.adapters import runner

    runner.reset()
    monkeypatch.setenv("KC", yaml.safe_dump(kubeconfig_with_client_cert()))
    connection = load_connection(KubeconfigSource(env_var="KC"))
    key = Path(connection.configuration.key_file)
    assert key.parent.parent == runner_temp
    assert oct(key.parent.stat().st_mode & 0o777) == "0o700" and oct(key.stat().st_mode & 0o777) == "0o600"
    connection.secret_files.close()
    assert not key.exists() and list(runner_temp.iterdir()) == []
    assert list(private_tmp.iterdir()) == []


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        pytest.param(lambda c: c.pop("current-context"), "has no current-context", id="no-current-context"),
        pytest.param(
            lambda c: c.update({"current-context": "gone"}), "context 'gone' is not defined", id="bad-ctx"
        ),
        pytest.param(
            lambda c: c["users"][0]["user"].update({"client-key-data": "%%%"}),
            "is not valid base64",
            id="bad-b64",
        ),
    ],
)
def test_kubeconfig_mistakes_are_configuration_errors(
    monkeypatch: pytest.MonkeyPatch, mutate: Callable[[dict[str, Any]], Any], fragment: str
) -> None:
    config = kubeconfig_with_client_cert()
    mutate(config)
    monkeypatch.setenv("KC", yaml.safe_dump(config))
    with pytest.raises(ConfigurationError) as info:
        load_connection(KubeconfigSource(env_var="KC"))
    assert fragment in str(info.value)
    assert "KEY-BYTES" not in str(info.value)


def test_invalid_yaml_in_the_variable_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KC", "token: [unclosed secret-material-xyz")
    with pytest.raises(ConfigurationError) as info:
        load_connection(KubeconfigSource(env_var="KC"))
    assert "is not valid YAML" in info.value.message
    assert "secret-material-xyz" not in str(info.value)


def test_a_tab_in_the_kubeconfig_is_named_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KC", "apiVersion: v1\nusers:\n\t- name: secret-material-xyz\n")
    with pytest.raises(ConfigurationError) as info:
        load_connection(KubeconfigSource(env_var="KC"))
    assert "a tab character at line 3" in info.value.message
    assert info.value.hint and "replace the tab" in info.value.hint
    assert "secret-material-xyz" not in str(info.value)
