"""The fake API server answers what real API servers answer, minor version by minor version.

Each case of the corpus (tests/corpus/kubernetes/<minor>/<case>.json, every body written from the
upstream function its ``source`` names) is played against a fake started with that
``server_version``: the same change, the same refusal. Bodies are compared whole: status, code,
reason, details and every cause's reason and field, and the messages (:func:`tests.support.corpus.shape`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.fakekube import FakeKube
from tests.fakekube.wire import Answer, Wire
from tests.support import corpus
from tests.support import manifests as m

pytestmark = pytest.mark.integration

Scenario = Callable[[FakeKube, Wire], Answer]

# Cases the fake does not play: a webhook's own 422 with causes, a Job with manualSelector.
# The delete race (the object replaced between BeforeDelete's check and the storage delete) cannot
# be timed from outside.
NOT_PLAYED = frozenset({"webhook-denial-with-causes", "job-selector", "delete-uid-precondition-race"})


def _refused(wire: Wire, before: dict[str, Any], after: dict[str, Any]) -> Answer:
    created = wire.apply(before)
    assert created.status in (200, 201), created.body
    return wire.apply(after, force=True)


def _bound_claim(fake: FakeKube, wire: Wire, claim: dict[str, Any]) -> None:
    assert wire.apply(claim).status == 201
    name = claim["metadata"]["name"]
    fake.wait_for(
        lambda: (
            ((fake.get("v1", "PersistentVolumeClaim", "default", name) or {}).get("status") or {}).get(
                "phase"
            )
            == "Bound"
        )
    )


def _changed(obj: dict[str, Any], **spec: Any) -> dict[str, Any]:
    new = copy.deepcopy(obj)
    new["spec"].update(spec)
    return new


def _statefulset() -> dict[str, Any]:
    return m.statefulset("postgres", storage="10Gi", storage_class="hcloud-volumes")


def sts_volumes(fake: FakeKube, wire: Wire) -> Answer:
    grown = m.statefulset("postgres", storage="20Gi", storage_class="hcloud-volumes")
    return _refused(wire, _statefulset(), grown)


def sts_service_name(fake: FakeKube, wire: Wire) -> Answer:
    return _refused(
        wire,
        _statefulset(),
        _changed(_statefulset(), serviceName="postgres-headless", podManagementPolicy="Parallel"),
    )


def sts_selector(fake: FakeKube, wire: Wire) -> Answer:
    relabelled = m.statefulset(
        "postgres",
        storage="10Gi",
        storage_class="hcloud-volumes",
        labels={"app.kubernetes.io/name": "postgresql"},
    )
    return _refused(wire, _statefulset(), relabelled)


def selector_of(builder: Callable[..., dict[str, Any]]) -> Scenario:
    def play(fake: FakeKube, wire: Wire) -> Answer:
        return _refused(wire, builder("web", labels={"app": "web"}), builder("web", labels={"app": "web-v2"}))

    return play


def job_template(fake: FakeKube, wire: Wire) -> Answer:
    return _refused(wire, m.job("migrate", image="migrate:1"), m.job("migrate", image="migrate:2"))


def job_completions(fake: FakeKube, wire: Wire) -> Answer:
    job = m.job("migrate", image="migrate:1")
    return _refused(wire, _changed(job, completions=1), _changed(job, completions=3))


def service_headless(fake: FakeKube, wire: Wire) -> Answer:
    return _refused(
        wire, m.service("postgres"), m.service("postgres", cluster_ip="None", cluster_ips=["None"])
    )


def service_load_balancer_class(fake: FakeKube, wire: Wire) -> Answer:
    lb = _changed(m.service("ingress"), type="LoadBalancer", loadBalancerClass="example.com/public")
    return _refused(wire, lb, _changed(lb, loadBalancerClass="example.com/internal"))


def service_nodeport_headless(fake: FakeKube, wire: Wire) -> Answer:
    headless = m.service("postgres", cluster_ip="None", cluster_ips=["None"])
    return _refused(wire, headless, _changed(headless, type="NodePort"))


def pvc_bound_spec(fake: FakeKube, wire: Wire) -> Answer:
    _bound_claim(fake, wire, m.pvc("data-postgres-0"))
    return wire.apply(m.pvc("data-postgres-0", storage_class="local-path"), force=True)


def pvc_shrink(fake: FakeKube, wire: Wire) -> Answer:
    _bound_claim(fake, wire, m.pvc("data-postgres-0", storage="20Gi"))
    return wire.apply(m.pvc("data-postgres-0", storage="10Gi"), force=True)


def pvc_unbound_grow(fake: FakeKube, wire: Wire) -> Answer:
    return _refused(
        wire,
        m.pvc("scratch", storage="1Gi", storage_class="local-path"),
        m.pvc("scratch", storage="2Gi", storage_class="local-path"),
    )


def pvc_resize_admission(fake: FakeKube, wire: Wire) -> Answer:
    _bound_claim(fake, wire, m.pvc("data-postgres-0", storage_class="local-path"))
    return wire.apply(m.pvc("data-postgres-0", storage="20Gi", storage_class="local-path"), force=True)


def _immutable(kind: str, name: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "default"},
        "immutable": True,
        "data": data,
    }


def configmap_immutable(fake: FakeKube, wire: Wire) -> Answer:
    return _refused(
        wire,
        _immutable("ConfigMap", "app-config", {"mode": "slow"}),
        _immutable("ConfigMap", "app-config", {"mode": "fast"}),
    )


def secret_immutable(fake: FakeKube, wire: Wire) -> Answer:
    return _refused(
        wire,
        _immutable("Secret", "postgres-auth", {"password": "b2xk"}),
        _immutable("Secret", "postgres-auth", {"password": "bmV3"}),
    )


def secret_type(fake: FakeKube, wire: Wire) -> Answer:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "postgres-auth", "namespace": "default"},
    }
    return _refused(
        wire,
        {**secret, "type": "Opaque", "data": {"username": "dQ==", "password": "cA=="}},
        {**secret, "type": "kubernetes.io/basic-auth", "data": {"username": "dQ==", "password": "cA=="}},
    )


def delete_uid_precondition(fake: FakeKube, wire: Wire) -> Answer:
    sts = _statefulset()
    assert wire.apply(sts).status == 201
    options = {
        "kind": "DeleteOptions",
        "apiVersion": "v1",
        "preconditions": {"uid": "8b0b7c6e-5a1d-4d8e-9f1e-2c4a8e0d1f11"},
    }
    return wire.call("DELETE", wire.path_of(sts), options)


def create_being_deleted(fake: FakeKube, wire: Wire) -> Answer:
    held = m.with_meta(_statefulset(), finalizers=["example.com/hold"])
    assert wire.apply(held).status == 201
    assert wire.call("DELETE", wire.path_of(held), {"propagationPolicy": "Orphan"}).status in (200, 202)
    collection = wire.path_of(held).rsplit("/", 1)[0]
    return wire.call("POST", collection, _statefulset())


def update_conflict(fake: FakeKube, wire: Wire) -> Answer:
    created = wire.apply(_statefulset())
    assert created.status == 201
    stale = copy.deepcopy(created.body)
    assert wire.apply(_changed(_statefulset(), replicas=2), force=True).status == 200
    stale["spec"]["replicas"] = 3
    return wire.call("PUT", wire.path_of(stale), stale)


def policy_denial(fake: FakeKube, wire: Wire) -> Answer:
    rule = "configmap/app-config=policy/require-team-label:every ConfigMap needs a team label"
    fake.set_knobs(deny=[rule])
    return wire.apply(m.configmap("app-config"))


def webhook_denial(fake: FakeKube, wire: Wire) -> Answer:
    rule = "deployment/web=webhook/validate.policy.example.com:images must come from registry.example.com"
    fake.set_knobs(deny=[rule])
    return wire.apply(m.deployment("web"))


SCENARIOS: dict[str, Scenario] = {
    "validatingadmissionpolicy-denial": policy_denial,
    "webhook-denial": webhook_denial,
    "statefulset-volumeclaimtemplates": sts_volumes,
    "statefulset-servicename-podmanagementpolicy": sts_service_name,
    "statefulset-selector": sts_selector,
    "deployment-selector": selector_of(m.deployment),
    "daemonset-selector": selector_of(m.daemonset),
    "replicaset-selector": selector_of(m.replicaset),
    "job-template": job_template,
    "job-completions": job_completions,
    "service-clusterip-to-headless": service_headless,
    "service-loadbalancerclass": service_load_balancer_class,
    "service-nodeport-headless": service_nodeport_headless,
    "pvc-bound-spec": pvc_bound_spec,
    "pvc-shrink": pvc_shrink,
    "pvc-unbound-grow": pvc_unbound_grow,
    "pvc-resize-admission": pvc_resize_admission,
    "configmap-immutable": configmap_immutable,
    "secret-immutable": secret_immutable,
    "secret-type": secret_type,
    "delete-uid-precondition": delete_uid_precondition,
    "create-being-deleted": create_being_deleted,
    "update-conflict": update_conflict,
}


def test_every_case_is_played_or_named_as_not_played() -> None:
    assert set(corpus.cases()) == set(SCENARIOS) | NOT_PLAYED


@pytest.mark.parametrize("entry", [e for e in corpus.entries() if e.case in SCENARIOS], ids=lambda e: e.id)
def test_the_fake_answers_what_the_corpus_says(
    fake_kube_factory: Callable[..., FakeKube], entry: corpus.Entry
) -> None:
    controllers = None if entry.case == "pvc-unbound-grow" else 0.05  # a claim nobody binds stays Pending
    fake = fake_kube_factory(server_version=entry.minor, tick=controllers)
    answer = SCENARIOS[entry.case](fake, Wire(fake))
    assert answer.status == entry.body["code"], answer.body
    assert corpus.shape(answer.body) == corpus.shape(entry.body)
