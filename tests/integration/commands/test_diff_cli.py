"""``gitops diff`` end to end against the fake API server: every action, in both modes, writing nothing.

Each scenario deploys a first version with ``gitops apply`` (the real engine), then asks
``gitops diff`` about a second version, and checks:

* what the diff says per object, against what happens when the second version is applied for
  real (``gitops apply``) where that can be checked: the diff foresees the engine's own decisions;
* that it wrote nothing: every request other than a read is a ``dryRun=All`` PATCH (or the
  re-create's ``dryRun=All`` POST), and the fake's storage history shows no client write;
* that no Secret value is in stdout, stderr or any ``$GITHUB_*`` file.

The client mode runs with the real read-only identity (scripts/gitops/data/preview-access.yaml,
applied as a user would) whose token the fake authorizes by RBAC: no Secret reads, no writes,
so no dry run. Its predictions are compared side by side with the server mode's answers (the
fake's server-side apply after structured-merge-diff, tests/fakekube/ssa.py).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import CliResult
from tests.fakekube import FakeKube
from tests.support.actions import GhaEnv
from tests.support.apply import Cluster, client_deletes, start_fake, write_overlay
from tests.support.cluster_records import bind_cluster
from tests.support.manifests import configmap, service, statefulset

pytestmark = pytest.mark.integration

PASSWORD = "diff-Pa55-w0rd-Zq9"  # distinctive, so a leak is easy to find
NEW_PASSWORD = "diff-N3w-Pa55-Zq9"
LABELS = {"environment": "demo", "app.kubernetes.io/part-of": "infra"}

Cli = Callable[[list[str]], CliResult]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A fake bound to `demo` (its identity record), the environment these diffs are for."""
    for found in start_fake(tmp_path):
        bind_cluster(found.fake, "demo")
        yield found


def labelled(obj: dict[str, Any]) -> dict[str, Any]:
    obj["metadata"].setdefault("labels", {}).update(LABELS)
    return obj


def credentials() -> dict[str, Any]:
    return labelled(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds", "namespace": "default"},
            "type": "Opaque",
            "stringData": {"PASSWORD": "StrongBase64Password"},  # filled from $PASSWORD in memory
        }
    )


def overlay(directory: Path, objects: list[dict[str, Any]]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "objects.yaml").write_text(yaml.safe_dump_all(objects), encoding="utf-8")
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
    kustomization["resources"] = ["objects.yaml"]
    (directory / "kustomization.yaml").write_text(yaml.safe_dump(kustomization), encoding="utf-8")
    return directory


def first_version() -> list[dict[str, Any]]:
    return [
        credentials(),
        labelled(configmap("settings", {"mode": "a"})),
        labelled(configmap("old", {"x": "1"})),
        labelled(service("web", port=80, port_name="http")),
        labelled(statefulset("db", storage="1Gi")),
        labelled(statefulset("cache", storage=None, image="redis:8")),
    ]


def second_version() -> list[dict[str, Any]]:
    cache = labelled(statefulset("cache", storage=None, image="redis:8", labels={"app": "cache-v2"}))
    return [
        credentials(),
        labelled(configmap("settings", {"mode": "b"})),  # update
        labelled(configmap("new", {"y": "2"})),  # create
        labelled(service("web", port=80, port_name="http")),  # unchanged
        labelled(statefulset("db", storage="2Gi")),  # recreate: volumeClaimTemplates, claims grow
        cache,  # refuse: a StatefulSet's selector changes
        # "old" is gone from Git: left-behind
    ]


def run_diff(cli: Cli, overlay_dir: Path, kubeconfig: Path, *extra: str) -> CliResult:
    args = ["diff", "--environment", "demo", "--overlay", str(overlay_dir), "--kubeconfig", str(kubeconfig)]
    return cli([*args, "--format", "json", *extra])


def objects_of(result: CliResult) -> dict[str, dict[str, Any]]:
    data = json.loads(result.stdout)
    return {f"{o['kind']}/{o['name']}": o for o in data["objects"]}


def writes(fake: FakeKube) -> list[dict[str, Any]]:
    """Every request that is not a read, and whether it was a dry run."""
    return [r for r in fake.requests() if r["method"] not in ("GET", "HEAD")]


def assert_wrote_nothing(fake: FakeKube) -> None:
    sent = writes(fake)
    assert all(r["method"] in ("PATCH", "POST") and r["query"].get("dryRun") == "All" for r in sent), sent
    assert not [e for e in fake.history() if str(e.get("actor", "")).startswith("client")], (
        "a write was stored"
    )
    assert not client_deletes(fake)


def assert_no_secret_anywhere(
    result: CliResult, gha: GhaEnv, values: Iterable[str] = (PASSWORD, NEW_PASSWORD)
) -> None:
    """No value (plain or base64) in stdout, stderr or any $GITHUB_* file. The ``::add-mask::``
    registrations are left out, as tests/e2e/harness.py does: they are how a value is hidden,
    the runner consumes them and never shows them."""
    texts = [(result.stdout, "stdout"), (result.stderr, "stderr")]
    texts += [(path.read_text(encoding="utf-8"), path.name) for path in gha.root.iterdir() if path.is_file()]
    for value in values:
        encoded = base64.b64encode(value.encode()).decode()
        for text, where in texts:
            shown = "\n".join(line for line in text.splitlines() if not line.startswith("::add-mask::"))
            assert value not in shown and encoded not in shown, f"a Secret value is in {where}"


@pytest.fixture
def deployed(cli: Cli, cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cluster:
    """The first version applied for real, then the request log cleared."""
    monkeypatch.setenv("PASSWORD", PASSWORD)
    first = overlay(tmp_path / "v1", first_version())
    applied = cli(
        ["apply", "--overlay", str(first), "--kubeconfig", str(cluster.kubeconfig), "--format", "json"]
    )
    assert applied.code == 0, applied.output
    cluster.fake.wait_for(lambda: cluster.fake.get("v1", "PersistentVolumeClaim", "default", "data-db-0"))
    cluster.fake.reset_logs()
    return cluster


def test_every_action_by_server_side_dry_run(
    cli: Cli, deployed: Cluster, tmp_path: Path, gha_env: GhaEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASSWORD", NEW_PASSWORD)
    result = run_diff(cli, overlay(tmp_path / "v2", second_version()), deployed.kubeconfig, "--exit-code")
    assert result.code == 2, result.output  # --exit-code: something would change
    data = json.loads(result.stdout)
    assert data["environment"] == "demo" and data["mode"] == "server-dry-run"
    found = objects_of(result)
    assert {k: o["action"] for k, o in found.items()} == {
        "Secret/creds": "update",
        "ConfigMap/settings": "update",
        "ConfigMap/new": "create",
        "Service/web": "unchanged",
        "StatefulSet/db": "recreate",
        "StatefulSet/cache": "refuse",
        "ConfigMap/old": "left-behind",
    }
    assert data["counts"] == {
        "create": 1,
        "update": 2,
        "unchanged": 1,
        "recreate": 1,
        "refuse": 1,
        "left-behind": 1,
        "unknown": 0,
        "skipped": 0,  # no gate inputs: the gate is not evaluated, nothing is skipped
    }
    assert data["gate"] == {"evaluated": False}
    settings = found["ConfigMap/settings"]
    assert settings["fields"] == ["data.mode"]
    assert "-  mode: a" in settings["diff"] and "+  mode: b" in settings["diff"]
    assert found["Secret/creds"]["secret_keys"] == {"PASSWORD": "changed"}
    assert found["Secret/creds"]["fields"] == ["data.PASSWORD"]
    assert "+  PASSWORD: (changed)" in found["Secret/creds"]["diff"]
    db = found["StatefulSet/db"]
    assert db["recreate"]["propagation"] == "Orphan"
    assert db["recreate"]["dependents"] == {"kind": "Pod", "names": ["db-0"], "fate": "kept"}
    assert db["recreate"]["volumes"]["grow"] == ["data-db-0: 1Gi -> 2Gi"]
    assert db["recreate"]["create_checked"] is True
    cache = found["StatefulSet/cache"]
    assert "selector changes" in cache["message"] and cache["hint"]
    assert "does not prune" in found["ConfigMap/old"]["message"]
    assert any("does not prune" in n for n in data["notes"])
    assert_wrote_nothing(deployed.fake)
    assert_no_secret_anywhere(result, gha_env)
    outputs = gha_env.outputs()
    assert outputs["mode"] == "server-dry-run" and outputs["changed"] == "5"
    summary = gha_env.summary()
    assert "Deploy gate: not evaluated (no gate inputs)" in summary
    assert "recreate StatefulSet default/db with orphan cascade" in summary
    assert "keep its pods (db-0)" in summary


def test_what_the_diff_foresees_is_what_apply_then_does(
    cli: Cli, deployed: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The diff calls the engine's decisions; applying the same version must do exactly that."""
    monkeypatch.setenv("PASSWORD", NEW_PASSWORD)
    second = [*second_version()[:-2], second_version()[4]]  # without the refused StatefulSet
    v2 = overlay(tmp_path / "v2", second)
    foreseen = objects_of(run_diff(cli, v2, deployed.kubeconfig))
    applied = cli(
        ["apply", "--overlay", str(v2), "--kubeconfig", str(deployed.kubeconfig), "--format", "json"]
    )
    assert applied.code == 0, applied.output
    done = {f"{o['kind']}/{o['name']}": o for o in json.loads(applied.stdout)["objects"]}
    words = {"update": "configured", "create": "created", "unchanged": "unchanged", "recreate": "recreated"}
    assert {k: words[o["action"]] for k, o in foreseen.items() if o["action"] != "left-behind"} == {
        k: o["action"] for k, o in done.items()
    }
    assert (
        done["StatefulSet/db"]["volumes"]["expanded"]
        == foreseen["StatefulSet/db"]["recreate"]["volumes"]["grow"]
    )
    pod = deployed.fake.get("v1", "Pod", "default", "db-0")
    assert pod is not None and not deployed.fake.history(kind="Pod", action="deleted"), "its pod was kept"


def test_a_change_made_in_the_cluster_is_drift(cli: Cli, deployed: Cluster, tmp_path: Path) -> None:
    """Someone scaled the StatefulSet by hand (an Update by another manager takes the field, [SSA-own])."""
    kube = deployed.fake
    from tests.fakekube.wire import Wire

    answer = Wire(kube).call(
        "PATCH",
        "/apis/apps/v1/namespaces/default/statefulsets/db",
        {"spec": {"replicas": 3}},
        content_type="application/merge-patch+json",
        query={"fieldManager": "kubectl-scale"},
    )
    assert answer.status == 200
    kube.reset_logs()
    same = overlay(tmp_path / "same", first_version())
    result = run_diff(cli, same, deployed.kubeconfig, "--exit-code")
    assert result.code == 2, result.output
    found = objects_of(result)
    assert found["StatefulSet/db"]["action"] == "update"
    assert found["StatefulSet/db"]["fields"] == ["spec.replicas"]
    assert {k for k, o in found.items() if o["action"] != "unchanged"} == {"StatefulSet/db"}
    assert_wrote_nothing(kube)
    unchanged = run_diff(cli, same, deployed.kubeconfig, "--exit-code", "--mode", "client")
    assert objects_of(unchanged)["StatefulSet/db"]["fields"] == ["spec.replicas"], "client mode sees it too"


def read_only_kubeconfig(fake: FakeKube, path: Path) -> Path:
    text = resources.files("gitops").joinpath("data/preview-access.yaml").read_text(encoding="utf-8")
    for obj in yaml.safe_load_all(text):
        fake.put(obj)
    token = fake.service_account_token("kube-system", "gitops-preview-token")
    return fake.write_kubeconfig(path, token=token)


def test_read_only_credentials_compare_client_side_and_say_so(
    cli: Cli, deployed: Cluster, tmp_path: Path, gha_env: GhaEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    kube = deployed.fake
    reader = read_only_kubeconfig(kube, tmp_path / "readonly.yaml")
    v2 = overlay(tmp_path / "v2", second_version())
    monkeypatch.delenv("PASSWORD")  # a preview job has no Secret values either
    kube.reset_logs()
    result = run_diff(cli, v2, reader)
    assert result.code == 0, result.output
    data = json.loads(result.stdout)
    assert data["mode"] == "client"
    found = objects_of(result)
    assert {k: o["action"] for k, o in found.items()} == {
        "Secret/creds": "unknown",
        "ConfigMap/settings": "update",
        "ConfigMap/new": "create",
        "Service/web": "unchanged",
        "StatefulSet/db": "recreate",
        "StatefulSet/cache": "refuse",
        "ConfigMap/old": "left-behind",
    }
    assert "may not read Secrets" in found["Secret/creds"]["message"]
    assert found["StatefulSet/db"]["recreate"]["volumes"]["grow"] == ["data-db-0: 1Gi -> 2Gi"]
    assert found["StatefulSet/db"]["recreate"]["create_checked"] is False
    notes = " ".join(data["notes"])
    assert "may not dry-run" in notes and "Secret values are not available here" in notes
    assert "Secrets in default" in notes  # could not look for left-behind Secrets
    # Nothing was written: the one dry run the server refused (403) is the only non-read.
    refused = writes(kube)
    assert [(r["method"], r["status"], r["query"].get("dryRun")) for r in refused] == [("PATCH", 403, "All")]
    assert_wrote_nothing(kube)
    assert_no_secret_anywhere(result, gha_env)


def test_client_predictions_match_the_servers_answers(
    cli: Cli, deployed: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Side by side: the fake's server-side apply (server mode) and our prediction (client mode)."""
    monkeypatch.setenv("PASSWORD", PASSWORD)
    v2 = overlay(tmp_path / "v2", second_version())
    server = objects_of(run_diff(cli, v2, deployed.kubeconfig, "--mode", "server-dry-run"))
    client = objects_of(run_diff(cli, v2, deployed.kubeconfig, "--mode", "client"))
    for name in server:
        assert (client[name]["action"], client[name]["fields"]) == (
            server[name]["action"],
            server[name]["fields"],
        ), name
        if server[name]["action"] in ("update", "create"):
            assert client[name]["diff"] == server[name]["diff"], name


def test_secret_values_not_here_make_their_keys_unknown(
    cli: Cli, deployed: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PASSWORD")
    result = run_diff(cli, overlay(tmp_path / "same", first_version()), deployed.kubeconfig, "--exit-code")
    assert result.code == 0, result.output  # unknown is said, not counted as a change
    creds = objects_of(result)["Secret/creds"]
    assert creds["action"] == "unknown" and creds["secret_keys"] == {"PASSWORD": "unknown"}
    assert any("PASSWORD not set" in n for n in json.loads(result.stdout)["notes"])


def test_nothing_to_change_exits_zero_even_with_exit_code(
    cli: Cli, deployed: Cluster, tmp_path: Path
) -> None:
    result = run_diff(cli, overlay(tmp_path / "same", first_version()), deployed.kubeconfig, "--exit-code")
    assert result.code == 0, result.output
    assert {o["action"] for o in objects_of(result).values()} == {"unchanged"}
    assert json.loads(result.stdout)["counts"]["unchanged"] == 6


def test_the_seed_scenario_is_foreseen_before_any_write(
    cli: Cli, cluster: Cluster, tmp_path: Path, secrets_env: dict[str, str], gha_env: GhaEnv
) -> None:
    """prod's PostgreSQL storage 10Gi -> 20Gi: recreate with orphan cascade, grow its PVCs, keep its pods."""
    v10 = write_overlay(tmp_path / "prod-10Gi", postgres_storage="10Gi")
    v20 = write_overlay(tmp_path / "prod-20Gi", postgres_storage="20Gi")
    applied = cli(
        ["apply", "--overlay", str(v10), "--kubeconfig", str(cluster.kubeconfig), "--format", "json"]
    )
    assert applied.code == 0, applied.output
    bind_cluster(cluster.fake, "prod")
    cluster.fake.reset_logs()
    args = ["diff", "--environment", "prod", "--overlay", str(v20), "--kubeconfig", str(cluster.kubeconfig)]
    result = cli([*args, "--format", "table"])
    assert result.code == 0, result.output
    assert (
        "recreate StatefulSet default/postgres with orphan cascade, grow its PVCs "
        "(data-postgres-0: 10Gi -> 20Gi), keep its pods (postgres-0)"
    ) in result.stdout
    lines = [
        line for line in result.stdout.splitlines() if line.startswith(("StatefulSet", "Secret", "ConfigMap"))
    ]
    assert [line.split()[:3] for line in lines if "recreate" in line] == [
        ["StatefulSet", "default/postgres", "recreate"]
    ]
    assert_wrote_nothing(cluster.fake)
    assert_no_secret_anywhere(result, gha_env, secrets_env.values())


def test_another_environments_cluster_gets_no_request_carrying_the_manifests(
    cli: Cli, cluster: Cluster, tmp_path: Path, secrets_env: dict[str, str]
) -> None:
    """A server-side dry run carries the rendered Secrets: prod's never reach dev's cluster."""
    bind_cluster(cluster.fake, "dev")
    cluster.fake.reset_logs()
    prod = write_overlay(tmp_path / "prod", postgres_storage="20Gi")
    args = ["diff", "--environment", "prod", "--overlay", str(prod), "--kubeconfig", str(cluster.kubeconfig)]
    result = cli([*args, "--format", "json"])
    assert result.code == 1, result.output
    assert "belongs to environment 'dev'" in result.stderr
    assert "refusing to compare prod's manifests with it; nothing was sent to it" in result.stderr
    assert [r["method"] for r in cluster.fake.requests()] == ["GET"]  # the identity record, nothing else


def test_bad_input_is_exit_1(cli: Cli, cluster: Cluster, tmp_path: Path) -> None:
    same = overlay(tmp_path / "same", [labelled(configmap("settings"))])
    bad = run_diff(cli, same, cluster.kubeconfig, "--mode", "guess")
    assert bad.code == 1 and "--mode must be one of auto, server-dry-run, client" in bad.stderr
    missing = cli(["diff", "--environment", "nowhere", "--kubeconfig", str(cluster.kubeconfig)])
    assert missing.code == 1 and "infra/k8s/hetzner/nowhere" in missing.stderr


def test_an_unreachable_cluster_is_said_and_is_not_a_change(cli: Cli, tmp_path: Path) -> None:
    fake = FakeKube().start()
    kubeconfig = fake.write_kubeconfig(tmp_path / "kc.yaml")
    fake.stop()
    same = overlay(tmp_path / "same", [labelled(configmap("settings"))])
    result = run_diff(cli, same, kubeconfig, "--exit-code", "--request-timeout", "2")
    assert result.code == 1, result.output
    assert "cannot talk to the API server" in result.stderr
    assert os.environ.get("PASSWORD") is None
