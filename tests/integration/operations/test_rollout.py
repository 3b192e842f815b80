"""Rollout waits and rollbacks beyond StatefulSets: watch reconnects, Deployments, Jobs, CRDs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops.adapters.kube import Kube
from gitops.adapters.kubeconfig_source import KubeconfigSource
from gitops.core.apply_plan import ObjectRef
from gitops.operations.rollout import Outcome, RolloutWaiter
from tests.support import manifests as m
from tests.support.apply import Cluster, by_name, file_applier, report_of

pytestmark = pytest.mark.integration


@pytest.fixture
def apply(cli: Callable[[list[str]], Any], cluster: Cluster, tmp_path: Path) -> Callable[..., Any]:
    return file_applier(cli, cluster.kubeconfig, tmp_path, "--timeout", "60", "--progress-interval", "2")


def statefulset(name: str = "cache") -> dict[str, Any]:
    return m.statefulset(name, image="valkey:9", storage=None, labels={"app": name})


def deployment(image: str) -> dict[str, Any]:
    return m.deployment("web", image=image, replicas=2, namespace=None)


def test_the_wait_survives_dropped_watches_and_an_expired_resource_version(cluster: Cluster) -> None:
    fake = cluster.need_fake()
    fake.set_knobs(never_ready=["statefulset/cache"])
    fake.put(statefulset())
    kube = Kube.connect(KubeconfigSource(path=cluster.kubeconfig))
    res = kube.resource("apps/v1", "StatefulSet")
    assert res is not None
    ref = ObjectRef("apps", "v1", "StatefulSet", "default", "cache")
    outcome: dict[str, Outcome] = {}

    def wait() -> None:
        outcome.update({"result": RolloutWaiter(kube, progress_interval=60).wait([(ref, res)], 30)[ref]})

    assert not [t for t in threading.enumerate() if t.name.startswith("watch-")]
    thread = threading.Thread(target=wait)
    thread.start()
    try:
        fake.wait_for(lambda: any(w.kind == "StatefulSet" for w in list(fake.store.watchers)))
        fake.put(m.obj("v1", "ConfigMap", "moves-the-rv", None))
        # Under the store's lock no event can reach the stream between the two (a status write
        # would carry a resourceVersion newer than the compaction and spare the watch its 410).
        with fake.store.lock:
            fake.compact()  # the resourceVersion the watch started from is gone...
            fake.drop_watches()  # ...and its stream is cut without the final chunk: reconnect, 410, relist
        fake.wait_for(lambda: len(fake.requests(verb="list", path="/statefulsets")) >= 2)
        fake.set_knobs(never_ready=[])
        thread.join(timeout=30)
    finally:
        kube.close()
    assert outcome["result"].state == "ready", outcome
    assert len(fake.requests(verb="list", path="/statefulsets")) >= 2  # relisted after the 410
    # the watch threads do not linger on their open streams once the wait is over
    fake.wait_for(lambda: not [t for t in threading.enumerate() if t.name.startswith("watch-")], timeout=5)


def test_a_failed_deployment_rolls_back_through_its_replicaset_history(
    apply: Callable[..., Any], cluster: Cluster
) -> None:
    fake = cluster.need_fake()
    assert apply([deployment("web:1")]).code == 0
    fake.set_knobs(image_pull_backoff=["image=web:2-typo"])
    result = apply([deployment("web:2-typo")], "--rollback-on-failure")
    assert result.code == 2
    report = report_of(result.stdout)
    web = by_name(report)["Deployment/web"]
    assert web["rollout"] == "rolled-back"
    [rollback] = report["rollbacks"]
    assert (rollback["from_revision"], rollback["to_revision"]) == (2, 1)
    assert "ImagePullBackOff" in result.stderr
    live = fake.get("apps/v1", "Deployment", "default", "web")
    assert live is not None and live["spec"]["template"]["spec"]["containers"][0]["image"] == "web:1"


def test_a_job_is_waited_for_until_complete(apply: Callable[..., Any]) -> None:
    result = apply([m.job("migrate", image="m:1", command=None, labels={}, namespace=None)])
    assert result.code == 0, result.output
    obj = by_name(report_of(result.stdout))["Job/migrate"]
    assert obj["rollout"] == "ready" and obj["rollout_message"] == "complete"


def test_a_crd_and_its_objects_in_one_apply(apply: Callable[..., Any], cluster: Cluster) -> None:
    fake = cluster.need_fake()
    crd = m.crd("example.com", "Widget", "widgets")
    widget = m.obj("example.com/v1", "Widget", "w1", None, spec={"size": 3})
    result = apply([widget, crd])
    assert result.code == 0, result.output
    report = report_of(result.stdout)
    assert [o["kind"] for o in report["objects"]] == ["CustomResourceDefinition", "Widget"]
    assert {o["action"] for o in report["objects"]} == {"created"}
    assert "waiting up to" in result.stderr and "establishment" in result.stderr
    assert fake.get("example.com/v1", "Widget", "default", "w1") is not None
    assert apply([widget, crd], "--dry-run").code == 0


def test_watch_events_of_other_kinds_are_ignored(tmp_path: Path) -> None:
    """A stream that carries an object of another kind (seen from a buggy server) must not be trusted."""
    import json
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    def event(kind: str, name: str) -> bytes:
        meta = {"name": name, "namespace": "default", "resourceVersion": "2"}
        return json.dumps({"type": "ADDED", "object": {"kind": kind, "metadata": meta}}).encode() + b"\n"

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if "watch=true" in self.path:
                body = event("PodDisruptionBudget", "redis") + event("StatefulSet", "redis")
            else:
                body = json.dumps(
                    {"kind": "StatefulSetList", "metadata": {"resourceVersion": "1"}, "items": []}
                ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = {
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{server.server_address[1]}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    path = tmp_path / "kc.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    kube = Kube.connect(KubeconfigSource(path=path))
    stop = threading.Event()
    try:
        from gitops.adapters.kube import ApiResource

        res = ApiResource("apps", "v1", "StatefulSet", "statefulsets", True)
        events = kube.watch(res, "default", stop=stop)
        assert next(events).type == "RELISTED"
        first = next(events)
        assert (first.type, first.object["kind"]) == ("ADDED", "StatefulSet")
    finally:
        stop.set()
        kube.close()
        server.shutdown()
