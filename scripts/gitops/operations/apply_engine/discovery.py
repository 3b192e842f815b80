"""Which kinds the cluster serves: checked for every manifest BEFORE the first write.

A kind must be served by the cluster (``/api``, ``/apis/<group>/<version>`` discovery), or
be defined by a CustomResourceDefinition among the same manifests; anything else fails the
run with nothing applied. A kind from such a CRD appears in discovery shortly after the CRD
is ``Established``; :meth:`Discovery.resource` waits (bounded) for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gitops.adapters.clock import Clock, poll
from gitops.adapters.kube import ApiResource, Kube, KubeError
from gitops.core.apply_plan import ObjectRef
from gitops.errors import ConfigurationError, Problem
from gitops.operations.apply_engine.parallel import each

CRD_DISCOVERY_TIMEOUT = 30.0  # seconds a freshly established CRD's kind may take to be served
DISCOVERY_PARALLELISM = 8  # group versions asked at once


class Discovery:
    def __init__(self, kube: Kube, clock: Clock, poll_interval: float) -> None:
        self.kube = kube
        self.clock = clock
        self.poll_interval = poll_interval
        self._resources: dict[tuple[str, str], ApiResource] = {}
        self._crd_kinds: dict[tuple[str, str], bool] = {}  # (apiVersion, kind) -> namespaced, from CRDs

    def check(self, manifests: Sequence[Mapping[str, Any]], source: str) -> None:
        """Learn every kind of ``manifests``; a ConfigurationError names those nobody serves."""
        self._learn_crds(manifests)
        problems = [
            Problem(
                f"kind {kind} (apiVersion {api_version}) is not served by the cluster at {self.kube.host}",
                file=source,
            )
            for api_version, kind in self._unserved(manifests)
        ]
        if problems:
            raise ConfigurationError(
                f"{len(problems)} kind(s) in {source} are unknown to the cluster; nothing was applied",
                file=source,
                title="Unknown kinds",
                problems=problems,
                hint="fix the apiVersion/kind, or install the CRD that defines it "
                "(or add the CRD to the manifests)",
            )

    def _learn_crds(self, manifests: Sequence[Mapping[str, Any]]) -> None:
        for obj in manifests:
            if obj.get("kind") == "CustomResourceDefinition" and isinstance(obj.get("spec"), Mapping):
                spec = obj["spec"]
                kind = (spec.get("names") or {}).get("kind")
                for version in spec.get("versions") or []:
                    if kind and version.get("name"):
                        key = (f"{spec.get('group')}/{version['name']}", str(kind))
                        self._crd_kinds[key] = spec.get("scope") == "Namespaced"

    def _unserved(self, manifests: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
        """(apiVersion, kind) of the manifests neither the cluster nor their CRDs serve."""
        unserved = []
        keys = sorted({(str(o.get("apiVersion", "")), str(o.get("kind", ""))) for o in manifests})
        keys = [key for key in keys if key[0] and key[1]]  # else build_plan reports the document
        # One discovery request per group version answers all its kinds: those first, at once.
        each(sorted({av for av, _ in keys}), self.kube.served_kinds, DISCOVERY_PARALLELISM)
        for key in keys:
            res = self.kube.resource(*key)
            if res is not None:
                self._resources[key] = res
            elif key not in self._crd_kinds:
                unserved.append(key)
        return unserved

    def namespaced(self, api_version: str, kind: str) -> bool:
        res = self._resources.get((api_version, kind))
        if res is not None:
            return res.namespaced
        return self._crd_kinds.get((api_version, kind), True)

    def served(self, ref: ObjectRef) -> bool:
        """Was the kind served when the run began (False for kinds of this run's own CRDs)?"""
        return (ref.api_version, ref.kind) in self._resources

    @property
    def crd_group_kinds(self) -> set[tuple[str, str]]:
        """(group, kind) of every kind the manifests' CRDs define."""
        return {(av.rpartition("/")[0], kind) for av, kind in self._crd_kinds}

    def resource(self, ref: ObjectRef) -> ApiResource:
        key = (ref.api_version, ref.kind)
        if key in self._resources:
            return self._resources[key]

        def look() -> ApiResource | None:
            self.kube.forget_discovery(ref.api_version)
            return self.kube.resource(ref.api_version, ref.kind)

        res = poll(self.clock, look, _found, timeout=CRD_DISCOVERY_TIMEOUT, interval=self.poll_interval)
        if res is None:
            raise KubeError("GET", f"discovery of {ref.api_version}", 404, f"{ref.kind} is still not served")
        self._resources[key] = res
        return res


def _found(res: ApiResource | None) -> bool:
    return res is not None
