"""The latency knob (``delay``): each matching request waits in its own connection's thread, so a
slow answer never holds up the fake's other connections, and ``stop()`` ends the wait.

These tests wait on conditions (the request log, an answer), never on the clock: a request held
for a minute must not be answered, and one on another path must be answered meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from tests.fakekube import FakeKube
from tests.fakekube.wire import Answer, Wire

HELD = 60.0  # far longer than any test here runs: a held request is never answered by the clock
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


def _in_background(call: Callable[[], Answer]) -> tuple[threading.Thread, list[Any]]:
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(call())
        except Exception as exc:  # the connection the stopping fake closed, however that shows
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def _held(fake: FakeKube) -> list[dict[str, Any]]:
    return [e for e in fake.request_log if e["path"] == CONFIGMAPS]


def test_delayed_requests_wait_side_by_side_while_other_connections_are_answered(
    fake_kube_factory: Callable[..., FakeKube],
) -> None:
    fake = fake_kube_factory(delay=HELD, delay_path="/configmaps$")
    wire = Wire(fake)
    slow = [_in_background(lambda: wire.call("GET", CONFIGMAPS)) for _ in range(3)]

    # All three arrived and wait at the same time: one waiting request does not queue the others.
    fake.wait_for(lambda: len(_held(fake)) == 3, timeout=30)
    other = wire.call("GET", "/api/v1/namespaces/default/secrets")  # a fourth connection, not delayed
    assert other.status == 200
    assert [e["status"] for e in _held(fake)] == [None, None, None]  # still unanswered
    assert all(thread.is_alive() for thread, _ in slow)

    fake.stop()  # ends the wait: no answer to what was held
    for thread, outcome in slow:
        thread.join(timeout=30)
        assert not thread.is_alive()
        assert outcome and not isinstance(outcome[0], Answer)
    fake.wait_for(lambda: [e["status"] for e in _held(fake)] == [-1, -1, -1], timeout=30)  # logged: dropped


def test_the_delay_applies_to_matching_verbs_and_paths_and_can_be_changed_at_runtime(
    fake_kube_factory: Callable[..., FakeKube],
) -> None:
    fake = fake_kube_factory()
    wire = Wire(fake)
    assert wire.call("GET", CONFIGMAPS).status == 200  # no delay by default

    fake.set_knobs(delay=HELD, delay_verbs=["create"])
    assert wire.call("GET", CONFIGMAPS).status == 200  # a list is not a create
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held"}}
    thread, outcome = _in_background(lambda: wire.call("POST", CONFIGMAPS, body))
    fake.wait_for(lambda: any(e["verb"] == "create" for e in fake.request_log), timeout=30)
    assert thread.is_alive() and not outcome
    assert fake.get("v1", "ConfigMap", "default", "held") is None  # not written while it waits
    fake.stop()
    thread.join(timeout=30)
    assert not thread.is_alive()
