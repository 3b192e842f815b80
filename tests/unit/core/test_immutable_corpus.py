"""The classifier over the whole corpus of real error bodies (tests/corpus/kubernetes/<minor>/<case>.json).

Every body was written from the upstream function its entry cites; the expected decision is what
the DESIGN's rules say a deploy must do with it (``expect``), not what our code answered. Each
case's live object and manifest (the change that provoked the body) are built below, from the
entry's description.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from gitops.core.admission import denial_of, is_resize_refused
from gitops.core.apply_plan import ObjectRef
from gitops.core.immutable import Evidence, ImmutableVerdict, Remedy, classify
from gitops.core.immutable_fields import normalize
from gitops.core.retry import classify_response, is_being_deleted, is_precondition_failure
from tests.support import corpus
from tests.support import manifests as m

Pair = tuple[dict[str, Any], dict[str, Any]]  # (live, desired)


def _live(obj: dict[str, Any], **status: Any) -> dict[str, Any]:
    """``obj`` as stored: a uid and, where a controller wrote one, a status."""
    stored = m.with_meta(copy.deepcopy(obj), uid="2f0c3a57-live")
    return m.with_status(stored, **status) if status else stored


def _spec(obj: dict[str, Any], **spec: Any) -> dict[str, Any]:
    new = copy.deepcopy(obj)
    new["spec"].update(spec)
    return new


def _sts(**kwargs: Any) -> dict[str, Any]:
    return m.statefulset("postgres", storage_class="hcloud-volumes", retention="Retain", **kwargs)


def _bound(claim: dict[str, Any], capacity: str) -> dict[str, Any]:
    return _live(claim, phase="Bound", capacity={"storage": capacity})


def _lb(klass: str) -> dict[str, Any]:
    return _spec(m.service("ingress", kind="LoadBalancer"), loadBalancerClass=klass)


def _immutable(kind: str, name: str, data: dict[str, str]) -> dict[str, Any]:
    return m.obj("v1", kind, name, immutable=True, data=data)


def _secret(secret_type: str) -> dict[str, Any]:
    return m.obj(
        "v1", "Secret", "postgres-auth", type=secret_type, data={"username": "dQ==", "password": "cA=="}
    )


CASES: dict[str, Callable[[], Pair]] = {
    "statefulset-volumeclaimtemplates": lambda: (_live(_sts(storage="10Gi")), _sts(storage="20Gi")),
    "statefulset-servicename-podmanagementpolicy": lambda: (
        _live(_sts()),
        _spec(_sts(), serviceName="postgres-headless", podManagementPolicy="Parallel"),
    ),
    "statefulset-selector": lambda: (_live(_sts()), _sts(labels={"app.kubernetes.io/name": "postgresql"})),
    "deployment-selector": lambda: (
        _live(m.deployment("web", labels={"app": "web"})),
        m.deployment("web", labels={"app": "web-v2"}),
    ),
    "daemonset-selector": lambda: (
        _live(m.daemonset("web", labels={"app": "web"})),
        m.daemonset("web", labels={"app": "web-v2"}),
    ),
    "replicaset-selector": lambda: (
        _live(m.replicaset("web", labels={"app": "web"})),
        m.replicaset("web", labels={"app": "web-v2"}),
    ),
    "job-template": lambda: (_live(m.job("migrate", image="migrate:1")), m.job("migrate", image="migrate:2")),
    "job-selector": lambda: (
        _live(_spec(m.job("migrate"), manualSelector=True, selector={"matchLabels": {"job": "migrate"}})),
        _spec(m.job("migrate"), manualSelector=True, selector={"matchLabels": {"job": "migrate-v2"}}),
    ),
    "job-completions": lambda: (
        _live(_spec(m.job("migrate"), completions=1)),
        _spec(m.job("migrate"), completions=3),
    ),
    "service-clusterip-to-headless": lambda: (
        _live(m.service("postgres", cluster_ip="10.43.0.10", cluster_ips=["10.43.0.10"])),
        m.service("postgres", cluster_ip="None", cluster_ips=["None"]),
    ),
    "service-loadbalancerclass": lambda: (
        _live(_lb("example.com/public"), loadBalancer={"ingress": [{"ip": "203.0.113.7"}]}),
        _lb("example.com/internal"),
    ),
    "service-nodeport-headless": lambda: (
        _live(m.service("postgres", cluster_ip="None", cluster_ips=["None"])),
        m.service("postgres", cluster_ip="None", cluster_ips=["None"], kind="NodePort"),
    ),
    "pvc-bound-spec": lambda: (
        _bound(m.pvc("data-postgres-0"), "10Gi"),
        m.pvc("data-postgres-0", storage_class="local-path"),
    ),
    "pvc-unbound-grow": lambda: (
        _live(m.pvc("scratch", storage="1Gi", storage_class="local-path"), phase="Pending"),
        m.pvc("scratch", storage="2Gi", storage_class="local-path"),
    ),
    "pvc-shrink": lambda: (
        _bound(m.pvc("data-postgres-0", storage="20Gi"), "20Gi"),
        m.pvc("data-postgres-0"),
    ),
    "configmap-immutable": lambda: (
        _live(_immutable("ConfigMap", "app-config", {"mode": "slow"})),
        _immutable("ConfigMap", "app-config", {"mode": "fast"}),
    ),
    "secret-immutable": lambda: (
        _live(_immutable("Secret", "postgres-auth", {"password": "b2xk"})),
        _immutable("Secret", "postgres-auth", {"password": "bmV3"}),
    ),
    "secret-type": lambda: (_live(_secret("Opaque")), _secret("kubernetes.io/basic-auth")),
    "validatingadmissionpolicy-denial": lambda: (
        _live(m.configmap("app-config")),
        m.with_meta(m.configmap("app-config", {"mode": "fast"}), labels={}),
    ),
    "webhook-denial": lambda: (
        _live(m.deployment("web", image="nginx:1")),
        m.deployment("web", image="evil/nginx"),
    ),
    "webhook-denial-with-causes": lambda: (
        _live(m.deployment("web", labels={"app": "web"})),
        m.deployment("web", labels={"app": "web-v2"}),
    ),
}

REMEDIES = {
    "recreate-orphan": Remedy.RECREATE_ORPHAN,
    "recreate-background": Remedy.RECREATE_BACKGROUND,
    "recreate-service": Remedy.RECREATE_SERVICE,
    "fatal-pvc": Remedy.FATAL_PVC,
    "refuse": Remedy.REFUSE,
    "denied": Remedy.DENIED,
    "not-immutable": Remedy.NOT_IMMUTABLE,
}
EVIDENCE = {"causes": Evidence.CAUSES, "admission": Evidence.ADMISSION}
ANSWERS = {"storage-class-no-expansion", "precondition-failed", "being-deleted", "retry"}  # not 422 verdicts

VERDICTS = [e for e in corpus.entries() if e.expect["decision"] in REMEDIES]
OTHER_ANSWERS = [e for e in corpus.entries() if e.expect["decision"] in ANSWERS]


def ref_of(entry: corpus.Entry) -> ObjectRef:
    group, _, version = entry.obj["apiVersion"].rpartition("/")
    return ObjectRef(group, version, entry.obj["kind"], entry.obj.get("namespace"), entry.obj["name"])


def verdict_for(entry: corpus.Entry, body: dict[str, Any] | None = None) -> ImmutableVerdict:
    live, desired = CASES[entry.case]()
    ref = ref_of(entry)
    resource = f"{ref.kind.lower()}s"
    return classify(body or entry.body, ref=ref, live=live, desired=desired, resource=resource)


def test_every_corpus_entry_is_checked() -> None:
    assert {e.case for e in VERDICTS} == set(CASES)
    assert len(VERDICTS) + len(OTHER_ANSWERS) == len(corpus.entries())
    assert {e.minor for e in corpus.entries()} == set(corpus.MINORS)
    for e in corpus.entries():
        assert {"repo", "tag", "file", "function"} <= set(e.source), f"{e.id} does not cite its source"


@pytest.mark.parametrize("entry", VERDICTS, ids=lambda e: e.id)
def test_the_classifier_decides_every_real_body(entry: corpus.Entry) -> None:
    verdict = verdict_for(entry)
    assert verdict.remedy is REMEDIES[entry.expect["decision"]], verdict.summary
    assert verdict.evidence is EVIDENCE[entry.expect["evidence"]]
    if entry.expect["fields"]:
        assert sorted(c.field for c in verdict.causes) == sorted(entry.expect["fields"])
    if "warns" in entry.expect:
        assert any(entry.expect["warns"] in w for w in verdict.warnings), verdict.warnings
    # What may be deleted never depends on the version's wording: the same case, the same remedy.
    assert verdict.recreate == (entry.expect["decision"].startswith("recreate"))


@pytest.mark.parametrize("entry", VERDICTS, ids=lambda e: e.id)
def test_without_causes_the_message_decides_the_same(entry: corpus.Entry) -> None:
    """A proxy that drops ``details.causes`` leaves the message: parsed, it gives the same decision."""
    body = copy.deepcopy(entry.body)
    (body.get("details") or {}).pop("causes", None)
    verdict = verdict_for(entry, body)
    assert verdict.remedy is REMEDIES[entry.expect["decision"]], verdict.summary
    if verdict.remedy is not Remedy.DENIED and entry.expect["fields"]:
        assert {normalize(c.field) for c in verdict.causes} == {normalize(f) for f in entry.expect["fields"]}


@pytest.mark.parametrize("entry", OTHER_ANSWERS, ids=lambda e: e.id)
def test_the_other_answers_are_recognised(entry: corpus.Entry) -> None:
    decision = classify_response(int(entry.body["code"]), entry.body)
    assert decision.retry is entry.expect["retry"], decision.why
    expected = entry.expect["decision"]
    assert is_resize_refused(entry.body) is (expected == "storage-class-no-expansion")
    assert is_precondition_failure(entry.body) is (expected == "precondition-failed")
    assert is_being_deleted(entry.body) is (expected == "being-deleted")
    assert denial_of(entry.body) is None


def test_the_1_37_statefulset_shape_names_the_fields_and_the_older_one_says_which_changed() -> None:
    new = verdict_for(corpus.entry("1.37", "statefulset-servicename-podmanagementpolicy"))
    old = verdict_for(corpus.entry("1.36", "statefulset-servicename-podmanagementpolicy"))
    assert "spec.podManagementPolicy, spec.serviceName" in new.summary
    assert "spec (spec.serviceName, spec.podManagementPolicy)" in old.summary
    assert new.propagation == old.propagation == "Orphan"


# -- causes missing or unrecognised: the client-side comparison decides, and says so ---------------


def _stripped(entry: corpus.Entry, message: str = "the server rejected the request") -> dict[str, Any]:
    """What a proxy that rewrites errors leaves of a real body: a 422 Invalid without causes or words."""
    body = copy.deepcopy(entry.body)
    body["message"] = message
    body["details"].pop("causes")
    return body


@pytest.mark.parametrize("minor", ["1.36", "1.37"])
def test_without_causes_or_message_the_comparison_decides_and_the_verdict_says_so(minor: str) -> None:
    entry = corpus.entry(minor, "statefulset-volumeclaimtemplates")
    verdict = verdict_for(entry, _stripped(entry))
    assert verdict.remedy is Remedy.RECREATE_ORPHAN
    assert verdict.evidence is Evidence.COMPARISON
    assert [c.field for c in verdict.causes] == ["spec.volumeClaimTemplates"]
    assert "comparison of the live object with the manifest" in verdict.evidence.value


def test_an_unrecognised_cause_on_a_changed_immutable_field_is_confirmed_by_comparison() -> None:
    """A shape no version we know sends (a future one): the fields it names changed, so it is them."""
    entry = corpus.entry("1.37", "statefulset-servicename-podmanagementpolicy")
    body = copy.deepcopy(entry.body)
    for cause in body["details"]["causes"]:
        cause["reason"] = "FieldValueImmutable"
    verdict = verdict_for(entry, body)
    assert verdict.remedy is Remedy.RECREATE_ORPHAN
    assert verdict.evidence is Evidence.COMPARISON
    assert sorted(c.field for c in verdict.causes) == ["spec.podManagementPolicy", "spec.serviceName"]


def test_an_unrecognised_cause_on_a_field_that_did_not_change_deletes_nothing() -> None:
    entry = corpus.entry("1.37", "statefulset-volumeclaimtemplates")
    body = copy.deepcopy(entry.body)
    body["details"]["causes"].append({"reason": "", "field": "metadata.labels", "message": "not allowed"})
    verdict = verdict_for(entry, body)
    assert verdict.remedy is Remedy.NOT_IMMUTABLE and not verdict.recreate
    assert verdict.summary == body["message"]  # the server's own words


@pytest.mark.parametrize(
    "case", ["statefulset-volumeclaimtemplates", "deployment-selector", "service-clusterip-to-headless"]
)
def test_without_causes_and_without_an_immutable_change_nothing_is_deleted(case: str) -> None:
    """The comparison never widens what may be deleted: no changed immutable field, no re-create."""
    entry = corpus.entry("1.37", case)
    live, _ = CASES[case]()
    unchanged = copy.deepcopy(live)
    verdict = classify(_stripped(entry), ref=ref_of(entry), live=live, desired=unchanged)
    assert verdict.remedy is Remedy.NOT_IMMUTABLE and not verdict.recreate
    assert verdict.summary == "the server rejected the request"


def test_a_kind_without_a_table_is_never_recreated_from_a_comparison() -> None:
    ref = ObjectRef("example.com", "v1", "Widget", "default", "w")
    body = {
        "kind": "Status",
        "code": 422,
        "reason": "Invalid",
        "message": "nope",
        "details": {"name": "w", "kind": "Widget", "group": "example.com"},
    }
    widget = m.obj("example.com/v1", "Widget", "w", spec={"size": 1})
    verdict = classify(body, ref=ref, live=_live(widget), desired=_spec(widget, size=2))
    assert verdict.remedy is Remedy.NOT_IMMUTABLE


def test_a_webhook_denial_naming_an_immutable_field_is_a_denial_with_its_message() -> None:
    """Before: 'a webhook or proxy may be rewriting errors', or worse, a re-create from its cause."""
    verdict = verdict_for(corpus.entry("1.37", "webhook-denial-with-causes"))
    assert verdict.remedy is Remedy.DENIED and not verdict.recreate and verdict.propagation is None
    assert verdict.summary.startswith('denied by admission webhook "validate.policy.example.com": ')
    assert "selector must include app.kubernetes.io/name" in verdict.summary
    assert verdict.hint is not None and "rewriting" not in verdict.hint


def test_a_policy_denial_names_policy_binding_and_message() -> None:
    verdict = verdict_for(corpus.entry("1.31", "validatingadmissionpolicy-denial"))
    assert verdict.summary == (
        "denied by ValidatingAdmissionPolicy 'require-team-label' (binding 'require-team-label-binding'): "
        "every ConfigMap needs a team label"
    )
    assert verdict.hint is not None and "rewriting errors" not in verdict.hint


def test_a_422_that_names_the_resource_of_another_object_is_still_refused() -> None:
    entry = corpus.entry("1.37", "configmap-immutable")
    body = copy.deepcopy(entry.body)
    body["details"].update(kind="configmaps", name="other")
    verdict = verdict_for(entry, body)
    assert verdict.remedy is Remedy.REFUSE and "names configmaps 'other'" in verdict.summary


def test_re_creating_a_load_balancer_warns_that_its_address_changes() -> None:
    verdict = verdict_for(corpus.entry("1.37", "service-loadbalancerclass"))
    assert verdict.recreate
    [lb] = [w for w in verdict.warnings if "LoadBalancer" in w]
    assert "203.0.113.7" in lb and "NEW load balancer and external IP" in lb


def test_summaries_do_not_repeat_the_object() -> None:
    """The caller prefixes the object ('StatefulSet default/postgres: failed: ...'); the verdict must not."""
    for entry in VERDICTS:
        assert not verdict_for(entry).summary.startswith(str(ref_of(entry))), entry.id
