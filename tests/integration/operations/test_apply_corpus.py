"""The corpus against whatever API server ``kube_target`` is: the fake, or a REAL one.

With ``GITOPS_TEST_KUBECONFIG`` set (CI's kind job, one job per node image: 1.33, 1.35, 1.37 ...),
the changes below go to a real kube-apiserver, and its answers must be the bodies that
tests/corpus/kubernetes/<its minor>/ records and the classifier is tested on. This is where a real
API server settles what the corpus claims. Without it they run against the fake (1.37).

Compared as :func:`tests.support.corpus.shape` says: everything but printed values and uids.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gitops.adapters.kube import ApiResource, Kube, KubeError
from gitops.adapters.kubeconfig_source import KubeconfigSource
from gitops.core.retry import RetryPolicy
from tests.fakekube.plugin import KubeTarget
from tests.support import corpus
from tests.support import manifests as m

pytestmark = pytest.mark.integration

PAUSE = "registry.k8s.io/pause:3.10"
MANAGER = "gitops-corpus-test"


@pytest.fixture
def kube(kube_target: KubeTarget) -> Iterator[Kube]:
    # One attempt: the raw answers, not what retries make of them (a 409 Conflict would be retried).
    client = Kube.connect(KubeconfigSource(path=kube_target.kubeconfig), retry=RetryPolicy(attempts=1))
    try:
        yield client
    finally:
        client.close()


def minor_of(kube: Kube) -> str:
    version = kube.server_version()
    minor = re.match(r"\d+", str(version.get("minor") or ""))
    found = f"{version.get('major')}.{minor.group(0) if minor else '?'}"
    if found not in corpus.MINORS:
        pytest.fail(
            f"the API server is {found}; the corpus covers {', '.join(corpus.MINORS)}: add its bodies"
        )
    return found


def resource(kube: Kube, api_version: str, kind: str) -> ApiResource:
    found = kube.resource(api_version, kind)
    assert found is not None, f"{api_version} {kind} is not served"
    return found


def refused(kube: Kube, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    res = resource(kube, before["apiVersion"], before["kind"])
    kube.apply(res, before, field_manager=MANAGER)
    with pytest.raises(KubeError) as answer:
        kube.apply(res, after, field_manager=MANAGER)
    return answer.value.body


def sts(ns: str, **spec: Any) -> dict[str, Any]:
    made = m.statefulset("postgres", image=PAUSE, storage="1Gi", namespace=ns)
    made["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 0
    made["spec"].update(spec)
    return made


def grown(ns: str) -> dict[str, Any]:
    made = sts(ns)
    made["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] = "2Gi"
    return made


def deployment(ns: str, app: str) -> dict[str, Any]:
    return m.deployment("web", image=PAUSE, labels={"app": app}, namespace=ns)


def secret(ns: str, secret_type: str) -> dict[str, Any]:
    return m.obj(
        "v1", "Secret", "postgres-auth", ns, type=secret_type, data={"username": "dQ==", "password": "cA=="}
    )


def configmap(ns: str, mode: str) -> dict[str, Any]:
    return m.obj("v1", "ConfigMap", "app-config", ns, immutable=True, data={"mode": mode})


def delete_with_uid(kube: Kube, ns: str) -> dict[str, Any]:
    res = resource(kube, "apps/v1", "StatefulSet")
    kube.apply(res, sts(ns), field_manager=MANAGER)
    with pytest.raises(KubeError) as answer:
        kube.delete(res, ns, "postgres", propagation="Orphan", uid="8b0b7c6e-5a1d-4d8e-9f1e-2c4a8e0d1f11")
    return answer.value.body


def create_while_deleting(kube: Kube, ns: str) -> dict[str, Any]:
    res = resource(kube, "apps/v1", "StatefulSet")
    held = m.with_meta(sts(ns), finalizers=["example.com/hold"])
    kube.apply(res, held, field_manager=MANAGER)
    kube.delete(res, ns, "postgres", propagation="Orphan")
    try:
        with pytest.raises(KubeError) as answer:
            kube.create(res, sts(ns), field_manager=MANAGER)
    finally:  # let the namespace go
        kube.patch(
            res, ns, "postgres", {"metadata": {"finalizers": None}}, patch_type="merge", field_manager=MANAGER
        )
    return answer.value.body


def update_with_stale_version(kube: Kube, ns: str) -> dict[str, Any]:
    res = resource(kube, "apps/v1", "StatefulSet")
    stale = kube.apply(res, sts(ns), field_manager=MANAGER)
    kube.apply(res, sts(ns, replicas=2), field_manager=MANAGER)
    stale = copy.deepcopy(stale)
    stale["spec"]["replicas"] = 3
    with pytest.raises(KubeError) as answer:
        kube.request("PUT", res.path(ns, "postgres"), body=stale)
    return answer.value.body


SCENARIOS: dict[str, Callable[[Kube, str], dict[str, Any]]] = {
    "statefulset-volumeclaimtemplates": lambda kube, ns: refused(kube, sts(ns), grown(ns)),
    "statefulset-servicename-podmanagementpolicy": lambda kube, ns: refused(
        kube, sts(ns), sts(ns, serviceName="postgres-headless", podManagementPolicy="Parallel")
    ),
    "deployment-selector": lambda kube, ns: refused(kube, deployment(ns, "web"), deployment(ns, "web-v2")),
    "service-clusterip-to-headless": lambda kube, ns: refused(
        kube,
        m.service("postgres", namespace=ns),
        m.service("postgres", cluster_ip="None", cluster_ips=["None"], namespace=ns),
    ),
    "configmap-immutable": lambda kube, ns: refused(kube, configmap(ns, "slow"), configmap(ns, "fast")),
    "secret-type": lambda kube, ns: refused(
        kube, secret(ns, "Opaque"), secret(ns, "kubernetes.io/basic-auth")
    ),
    "delete-uid-precondition": delete_with_uid,
    "create-being-deleted": create_while_deleting,
    "update-conflict": update_with_stale_version,
}


@pytest.mark.parametrize("case", sorted(SCENARIOS))
def test_the_api_server_answers_what_the_corpus_says(kube: Kube, kube_target: KubeTarget, case: str) -> None:
    expected = corpus.entry(minor_of(kube), case)
    body = SCENARIOS[case](kube, kube_target.namespace)
    assert corpus.shape(body) == corpus.shape(expected.body), (
        f"{expected.id} ({expected.source['file']} {expected.source['function']})"
    )
