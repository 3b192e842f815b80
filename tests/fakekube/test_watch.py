"""Watch streams of the fake API server: resume, initial events, bookmarks, 410 Gone, selectors, timeouts."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from tests.fakekube import FakeKube
from tests.fakekube.wire import Wire, watch_events
from tests.support import manifests as s

pytestmark = pytest.mark.integration

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["type"], e["object"]["metadata"].get("name", "")) for e in events]


def test_watch_from_a_resource_version_replays_later_changes_only(fake_kube: FakeKube) -> None:
    wire = Wire(fake_kube)
    wire.apply(s.configmap("before"))
    rv = fake_kube.store.rv
    wire.apply(s.configmap("after"))
    wire.apply(s.configmap("after", {"a": "2"}))
    wire.call("DELETE", f"{CONFIGMAPS}/after")

    events = watch_events(wire, CONFIGMAPS, {"resourceVersion": str(rv), "timeoutSeconds": "1"})

    assert summary(events) == [("ADDED", "after"), ("MODIFIED", "after"), ("DELETED", "after")]
    assert [e["object"]["kind"] for e in events] == ["ConfigMap"] * 3
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions) and versions[0] > rv


def test_watch_without_resource_version_starts_with_synthetic_added_events(fake_kube: FakeKube) -> None:
    wire = Wire(fake_kube)
    wire.apply(s.configmap("one"))
    wire.apply(s.configmap("two"))

    events = watch_events(wire, CONFIGMAPS, {"timeoutSeconds": "1"})

    assert summary(events) == [("ADDED", "one"), ("ADDED", "two")]


def test_send_initial_events_ends_with_the_initial_events_end_bookmark(fake_kube: FakeKube) -> None:
    wire = Wire(fake_kube)
    wire.apply(s.configmap("one"))
    query = {
        "sendInitialEvents": "true",
        "resourceVersionMatch": "NotOlderThan",
        "allowWatchBookmarks": "true",
        "timeoutSeconds": "1",
    }

    events = watch_events(wire, CONFIGMAPS, query, limit=2)

    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    bookmark = events[1]["object"]
    assert bookmark["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert int(bookmark["metadata"]["resourceVersion"]) >= int(
        events[0]["object"]["metadata"]["resourceVersion"]
    )
    refused = wire.call("GET", CONFIGMAPS, query={"watch": "true", "sendInitialEvents": "true"})
    assert refused.status == 422


def test_a_compacted_resource_version_answers_410_expired_in_the_stream(fake_kube: FakeKube) -> None:
    wire = Wire(fake_kube)
    wire.apply(s.configmap("one"))
    old = fake_kube.store.rv - 1
    fake_kube.compact()
    wire.apply(s.configmap("two"))

    events = watch_events(wire, CONFIGMAPS, {"resourceVersion": str(old), "timeoutSeconds": "1"})

    assert len(events) == 1 and events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")
    assert status["message"].startswith(f"too old resource version: {old} (")


def test_label_and_field_selectors_filter_and_translate_events(fake_kube: FakeKube) -> None:
    wire = Wire(fake_kube)
    rv = fake_kube.store.rv
    labelled = s.configmap("x")
    labelled["metadata"]["labels"] = {"team": "db"}
    wire.apply(labelled)
    wire.apply(s.configmap("y"))
    wire.apply(s.configmap("x"))  # the label is dropped: the object leaves the selection

    by_label = watch_events(
        wire, CONFIGMAPS, {"resourceVersion": str(rv), "labelSelector": "team=db", "timeoutSeconds": "1"}
    )
    by_name = watch_events(
        wire,
        CONFIGMAPS,
        {"resourceVersion": str(rv), "fieldSelector": "metadata.name=y", "timeoutSeconds": "1"},
    )

    assert summary(by_label) == [("ADDED", "x"), ("DELETED", "x")]
    assert summary(by_name) == [("ADDED", "y")]


def test_live_events_reach_an_open_watch_and_dropped_watches_end(fake_kube: FakeKube) -> None:
    wire = Wire(fake_kube)
    received: list[dict[str, Any]] = []
    rv = fake_kube.store.rv

    def watch() -> None:
        received.extend(watch_events(wire, CONFIGMAPS, {"resourceVersion": str(rv), "timeoutSeconds": "30"}))

    thread = threading.Thread(target=watch)
    thread.start()
    fake_kube.wait_for(lambda: fake_kube.store.watchers)
    wire.apply(s.configmap("live"))
    fake_kube.wait_for(lambda: fake_kube.store.rv > rv)
    time.sleep(0.05)
    fake_kube.drop_watches()
    thread.join(timeout=10)

    assert not thread.is_alive()
    assert summary(received) == [("ADDED", "live")]


def test_python_client_watch_sees_a_statefulset_become_ready(fake_kube: FakeKube) -> None:
    from kubernetes import client, config, watch

    assert fake_kube.kubeconfig_path is not None
    apps = client.AppsV1Api(config.new_client_from_config(str(fake_kube.kubeconfig_path)))
    Wire(fake_kube).apply(s.statefulset())
    seen: list[int] = []

    for event in watch.Watch().stream(
        apps.list_namespaced_stateful_set,
        "default",
        field_selector="metadata.name=postgres",
        timeout_seconds=10,
    ):
        seen.append(event["object"].status.ready_replicas or 0)
        if seen[-1] == 1:
            break

    assert seen[-1] == 1


def test_a_resumed_watch_replays_only_its_own_kind_and_namespace(fake_kube_factory: Any) -> None:
    fake = fake_kube_factory(tick=None)
    wire = Wire(fake)
    wire.call(
        "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "b"}}
    )
    rv = fake.store.rv
    budget = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "redis", "namespace": "default"},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "redis"}}},
    }
    assert wire.apply(budget).status == 201
    assert wire.apply(s.statefulset("redis")).status == 201
    assert wire.apply(s.statefulset("redis", namespace="b")).status == 201
    assert wire.apply(s.configmap("redis")).status == 201
    fake.step()  # the controllers write pods, claims, revisions and the status

    events = watch_events(
        wire,
        "/apis/apps/v1/namespaces/default/statefulsets",
        {"resourceVersion": str(rv), "timeoutSeconds": "1"},
    )

    assert {(e["object"]["kind"], e["object"]["metadata"]["namespace"]) for e in events} == {
        ("StatefulSet", "default")
    }
    assert summary(events)[0] == ("ADDED", "redis")
    everywhere = watch_events(
        wire, "/apis/apps/v1/statefulsets", {"resourceVersion": str(rv), "timeoutSeconds": "1"}
    )
    assert {e["object"]["metadata"]["namespace"] for e in everywhere} == {"default", "b"}
    assert {e["object"]["kind"] for e in everywhere} == {"StatefulSet"}
