"""Fault injection and knobs of the fake API server, also driven from another process's point of view."""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Callable
from typing import Any

import pytest

from tests.fakekube import FakeKube
from tests.fakekube.wire import Wire
from tests.support import manifests as s

pytestmark = pytest.mark.integration

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


def test_429_is_plain_text_with_retry_after_like_the_real_priority_and_fairness_answer(
    fake_kube_factory: Callable[..., FakeKube],
) -> None:
    fake = fake_kube_factory(fault_rate=1.0, fault_kinds=["429"], retry_after=2)

    answer = Wire(fake).call("GET", CONFIGMAPS)

    assert answer.status == 429
    assert answer.headers["retry-after"] == "2"
    # apiserver server/filters/maxinflight.go tooManyRequests: Retry-After, then Go's http.Error
    # (net/http: text/plain; charset=utf-8, X-Content-Type-Options: nosniff, the text and "\n").
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.body == "Too many requests, please try again later.\n"
    assert fake.request_log[-1]["fault"] == "429"


@pytest.mark.parametrize(
    ("kind", "status", "reason"),
    [
        pytest.param("500", 500, "InternalError", id="500"),
        pytest.param("503", 503, "ServiceUnavailable", id="503"),
        pytest.param("504", 504, "Timeout", id="504"),
    ],
)
def test_server_errors_are_status_bodies(
    fake_kube_factory: Callable[..., FakeKube], kind: str, status: int, reason: str
) -> None:
    fake = fake_kube_factory(fault_rate=1.0, fault_kinds=[kind])

    answer = Wire(fake).call("GET", CONFIGMAPS)

    assert (answer.status, answer.body["reason"], answer.body["code"]) == (status, reason, status)


def test_dropped_connections_close_without_an_answer(fake_kube_factory: Callable[..., FakeKube]) -> None:
    fake = fake_kube_factory(fault_rate=1.0, fault_kinds=["drop"])

    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError, ssl.SSLError)):
        Wire(fake).call("GET", CONFIGMAPS)

    assert fake.request_log[-1]["status"] == -1


def test_verb_filter_and_after_phase_lose_the_answer_but_keep_the_write(
    fake_kube_factory: Callable[..., FakeKube],
) -> None:
    fake = fake_kube_factory(fault_rate=1.0, fault_kinds=["500"], fault_verbs=["patch"], fault_phase="after")
    wire = Wire(fake)

    applied = wire.apply(s.configmap())
    read = wire.call("GET", f"{CONFIGMAPS}/settings")

    assert applied.status == 500
    assert read.status == 200 and read.body["data"] == {"a": "1"}
    assert fake.request_log[-2]["fault"] == "500 (after processing)"


def test_seeded_faults_repeat_and_fault_limit_caps_them(fake_kube_factory: Callable[..., FakeKube]) -> None:
    def statuses(fake: FakeKube) -> list[int]:
        wire = Wire(fake)
        return [wire.call("GET", CONFIGMAPS).status for _ in range(30)]

    first = statuses(fake_kube_factory(fault_rate=0.3, fault_kinds=["500"], fault_seed=42))
    second = statuses(fake_kube_factory(fault_rate=0.3, fault_kinds=["500"], fault_seed=42))
    capped = statuses(fake_kube_factory(fault_rate=1.0, fault_kinds=["500"], fault_limit=3))

    assert first == second
    assert 0 < first.count(500) < 30
    assert capped == [500] * 3 + [200] * 27


def test_the_control_endpoint_drives_knobs_and_reads_logs_without_a_token(fake_kube: FakeKube) -> None:
    anonymous = Wire(fake_kube, token="")

    def control(method: str, action: str, body: Any = None) -> Any:
        answer = anonymous.call(method, f"/__fake__/{action}", body)
        if answer.status != 200:
            raise AssertionError(answer.status)
        return answer.body

    knobs = control("POST", "knobs", {"never_ready": ["statefulset/redis"], "readiness_delay": 0.5})
    seeded = control("POST", "objects", [s.configmap("seeded")])
    Wire(fake_kube).call("GET", f"{CONFIGMAPS}/seeded")
    requests = control("GET", "requests")
    history = control("GET", "history?kind=ConfigMap")

    assert knobs["never_ready"] == ["statefulset/redis"] and knobs["readiness_delay"] == 0.5
    assert fake_kube.knobs.never_ready == ["statefulset/redis"]
    assert seeded[0]["metadata"]["name"] == "seeded"
    assert [r["path"] for r in requests] == [f"{CONFIGMAPS}/seeded"]
    assert [(h["action"], h["name"], h["actor"]) for h in history] == [("created", "seeded", "seed")]
    refused = anonymous.call("POST", "/__fake__/knobs", {"no_such_knob": 1})
    assert refused.status == 400
    assert anonymous.call("GET", CONFIGMAPS).status == 401


def test_pods_follow_the_readiness_knobs(fake_kube: FakeKube) -> None:
    wire = Wire(fake_kube)
    fake_kube.set_knobs(
        crashloop=["image~broken"],
        image_pull_backoff=["statefulset/pull"],
        never_ready=["app.kubernetes.io/name=lazy"],
    )
    for name, image in (("crash", "app:broken"), ("pull", "app:1"), ("lazy", "app:1"), ("fine", "app:1")):
        wire.apply(s.statefulset(name, image=image))

    def waiting(name: str) -> str | None:
        pod = fake_kube.get("v1", "Pod", "default", f"{name}-0") or {}
        statuses = pod.get("status", {}).get("containerStatuses") or [{}]
        return (statuses[0].get("state") or {}).get("waiting", {}).get("reason")

    fake_kube.wait_for(
        lambda: waiting("crash") == "CrashLoopBackOff" and waiting("pull") == "ImagePullBackOff"
    )
    lazy = fake_kube.wait_for(
        lambda: _phase(fake_kube, "lazy-0") == "Running" and fake_kube.get("v1", "Pod", "default", "lazy-0")
    )
    fake_kube.wait_for(lambda: _ready(fake_kube, "fine-0"))

    assert not _ready(fake_kube, "lazy-0")
    assert lazy["status"]["containerStatuses"][0]["state"]["running"]
    assert _phase(fake_kube, "pull-0") == "Pending"
    crash = fake_kube.get("v1", "Pod", "default", "crash-0")
    assert crash is not None and crash["status"]["containerStatuses"][0]["restartCount"] >= 1
    fake_kube.set_knobs(crashloop=[])
    fake_kube.wait_for(lambda: _ready(fake_kube, "crash-0"))


def _phase(fake: FakeKube, name: str) -> str | None:
    return ((fake.get("v1", "Pod", "default", name) or {}).get("status") or {}).get("phase")


def _ready(fake: FakeKube, name: str) -> bool:
    conditions = ((fake.get("v1", "Pod", "default", name) or {}).get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def test_fault_max_streak_lets_the_next_try_of_a_request_through(
    fake_kube_factory: Callable[..., FakeKube],
) -> None:
    fake = fake_kube_factory(fault_rate=1.0, fault_kinds=["500"], fault_max_streak=2)
    wire = Wire(fake)

    same = [wire.call("GET", CONFIGMAPS).status for _ in range(6)]
    other = wire.call("GET", "/api/v1/namespaces/default/secrets").status
    fake.set_knobs(fault_max_streak="3")  # as the control endpoint and --knob pass it

    assert same == [500, 500, 200, 500, 500, 200]
    assert other == 500  # streaks are per verb and path
    assert [wire.call("GET", CONFIGMAPS).status for _ in range(4)] == [500, 500, 500, 200]


def test_trickle_writes_the_whole_answer_one_byte_at_a_time(
    fake_kube_factory: Callable[..., FakeKube],
) -> None:
    fake = fake_kube_factory(tls=False, trickle=0.01, trickle_path="^/version$")
    connection = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    connection.request("GET", "/version")
    sock = connection.sock
    assert sock is not None
    chunks = []
    while True:  # each read returns about one byte: a read timeout never fires, only a total deadline
        chunk = sock.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
        if b"\r\n\r\n" in b"".join(chunks) and b"}" in chunks[-1]:
            break
    answer = b"".join(chunks)
    assert answer.startswith(b"HTTP/1.1 200")
    assert len(chunks) > len(answer) / 4
    connection.close()
    assert Wire(fake).call("GET", CONFIGMAPS).status == 200  # other paths answer at once


def test_answer_edits_remove_and_set_fields_of_matching_answers(
    fake_kube_factory: Callable[..., FakeKube],
) -> None:
    fake = fake_kube_factory(
        answer_edits=["^/api/v1/nodes$ /items/0/metadata", '^/api/v1/nodes$ /items/0/status/phase="odd"']
    )

    nodes = Wire(fake).call("GET", "/api/v1/nodes").body

    assert "metadata" not in nodes["items"][0]
    assert nodes["items"][0]["status"]["phase"] == "odd"
    one = Wire(fake).call("GET", "/api/v1/nodes/fakekube-node-1").body  # another path: untouched
    assert one["metadata"]["name"] == "fakekube-node-1"
