"""gitops.adapters.kube on the wire: what each request carries, and how TLS and auth failures end.

The adapter sends on the kubernetes client's urllib3 pool without the client's ``ApiClient``; these
tests pin what ``ApiClient.call_api`` used to put on the wire (and what the fake API server, like
a real one, requires): the bearer token, our User-Agent, percent-encoded query values, JSON bodies
under the apply-patch content type, and connections kept alive across requests. A certificate
that does not verify fails at once (no retry: it will not verify on the next attempt either).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops import __version__
from gitops.adapters import runner
from gitops.adapters.kube import ApiResource, Kube, KubeError
from gitops.adapters.kubeconfig_source import KubeconfigSource
from tests.fakekube import FakeKube

CONFIGMAPS = ApiResource("", "v1", "ConfigMap", "configmaps", True, ("get", "list", "patch"))


@pytest.fixture
def fake() -> Iterator[FakeKube]:
    server = FakeKube().start()
    try:
        yield server
    finally:
        server.stop()
    assert not server.bugs, server.bugs


def _kubeconfig(fake: FakeKube, tmp_path: Path, **changes: Any) -> Path:
    doc = fake.kubeconfig()
    doc["clusters"][0]["cluster"].update(changes.get("cluster", {}))
    for key in changes.get("drop_cluster", ()):
        doc["clusters"][0]["cluster"].pop(key, None)
    doc["users"][0]["user"].update(changes.get("user", {}))
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def _connect(path: Path) -> Kube:
    runner.reset()
    return Kube.connect(KubeconfigSource(path=path))


def test_requests_carry_the_token_our_user_agent_and_encoded_queries(fake: FakeKube, tmp_path: Path) -> None:
    with _connect(_kubeconfig(fake, tmp_path)) as kube:
        manifest = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "wire", "namespace": "default", "labels": {"tier": "db"}},
            "data": {"note": "ünïcode & spaces"},
        }
        applied = kube.apply(CONFIGMAPS, manifest, field_manager="gitops")
        listed = kube.list(CONFIGMAPS, "default", label_selector="tier in (db,cache),!legacy")
    assert applied["data"] == manifest["data"]  # the body arrived as JSON, intact
    assert [i["metadata"]["name"] for i in listed.items] == ["wire"]
    patch, selected = fake.request_log[-2:]
    assert patch["content_type"] == "application/apply-patch+yaml"
    assert patch["query"] == {"fieldManager": "gitops", "force": "true"}
    assert selected["query"] == {"labelSelector": "tier in (db,cache),!legacy"}  # decoded as sent
    assert all(e["authorization"] for e in (patch, selected))
    assert {e["user_agent"] for e in (patch, selected)} == {f"gitops/{__version__}"}


def test_one_connection_serves_a_run_of_requests(fake: FakeKube, tmp_path: Path) -> None:
    with _connect(_kubeconfig(fake, tmp_path)) as kube:
        for _ in range(5):
            kube.get(CONFIGMAPS, "default", "none")
        pool = kube._pool.connection_from_url(kube.host)  # the pool is what is under test
        assert pool.num_connections == 1  # kept alive, not one TLS handshake per request


def test_a_certificate_the_kubeconfig_does_not_trust_fails_at_once(fake: FakeKube, tmp_path: Path) -> None:
    """Without the fake's CA its certificate is checked against the system's: it fails, not retried."""
    untrusted = _kubeconfig(fake, tmp_path, drop_cluster=["certificate-authority-data"])
    with _connect(untrusted) as kube, pytest.raises(KubeError) as info:
        kube.server_version()
    assert info.value.status is None and info.value.attempts == 1
    assert "CERTIFICATE_VERIFY_FAILED" in info.value.message
    assert fake.request_log == []  # no request got past the handshake


def test_the_tls_server_name_is_what_the_certificate_is_checked_against(
    fake: FakeKube, tmp_path: Path
) -> None:
    """tls-server-name goes to the pool as the name to verify (the fake's certificate names
    127.0.0.1, localhost and kubernetes)."""
    good = _kubeconfig(fake, tmp_path, cluster={"tls-server-name": "kubernetes"})
    with _connect(good) as kube:
        assert kube.server_version()["major"] == "1"
    bad = _kubeconfig(fake, tmp_path, cluster={"tls-server-name": "elsewhere.example"})
    with _connect(bad) as kube, pytest.raises(KubeError) as info:
        kube.server_version()
    assert "elsewhere.example" in info.value.message and info.value.attempts == 1


def test_a_wrong_token_is_the_servers_401_not_retried(fake: FakeKube, tmp_path: Path) -> None:
    wrong = _kubeconfig(fake, tmp_path, user={"token": "not-the-token"})
    with _connect(wrong) as kube, pytest.raises(KubeError) as info:
        kube.get(CONFIGMAPS, "default", "x")
    assert info.value.status == 401 and info.value.attempts == 1
    assert len(fake.request_log) == 1


def test_a_plain_text_429_is_retried_after_its_retry_after(fake: FakeKube, tmp_path: Path) -> None:
    # The apiserver's 429 is not a Status: server/filters/maxinflight.go tooManyRequests sets
    # Retry-After and answers with Go's http.Error (text/plain). The wait comes from the header.
    fake.set_knobs(fault_rate=1.0, fault_kinds=["429"], retry_after=3, fault_max_streak=1)
    slept: list[float] = []
    runner.reset()
    with Kube.connect(KubeconfigSource(path=_kubeconfig(fake, tmp_path)), sleep=slept.append) as kube:
        assert kube.get(CONFIGMAPS, "default", "absent") is None
    assert slept == [3.0]
    assert [entry.get("fault") for entry in fake.request_log] == ["429", None]
