"""Wait for objects to become ready by WATCHING them (and their pods), never by sleeping and polling.

One watch per (resource, namespace) of the objects, plus one pod watch per namespace of the
workloads (for fail-fast on CrashLoopBackOff & co). Each watch runs in a daemon thread that
lists, watches from the list's resourceVersion and reconnects on drops and ``410 Gone``
(:meth:`gitops.adapters.kube.Kube.watch`); events arrive on one queue, and the main thread
recomputes :func:`gitops.core.readiness.assess` for the objects an event touches. Readiness
is therefore detected within one event's latency of the API server recording it.

Every wait has a deadline. On expiry each object's state is reported, with its pods. The
verdict per object is a :class:`gitops.core.readiness.RolloutState`, derived from the last
:class:`gitops.core.readiness.State` seen (:func:`gitops.core.readiness.wait_verdict`).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitops.adapters import runner
from gitops.adapters.clock import SYSTEM_CLOCK, Clock
from gitops.adapters.kube import ApiResource, Kube, KubeError, WatchEvent
from gitops.core.apply_plan import ObjectRef
from gitops.core.readiness import Readiness, RolloutState, State, assess, pod_summary, selects, wait_verdict

_POD_KINDS = frozenset({"StatefulSet", "Deployment", "DaemonSet", "Job"})
_POD = ApiResource("", "v1", "Pod", "pods", True, ("list", "watch"))
_RS = ApiResource("apps", "v1", "ReplicaSet", "replicasets", True, ("list", "watch"))
Cache = dict[tuple[str, str], dict[str, dict[str, Any]]]  # ("pod"|"rs", namespace) -> uid -> object


@dataclass(frozen=True)
class Outcome:
    """How a wait ended for one object: ready, failed, timeout, or not waited for."""

    state: RolloutState
    message: str
    seconds: float
    pods: tuple[str, ...] = ()
    last_seen: Mapping[str, Any] | None = None  # the object as its watch last delivered it


@dataclass
class _Target:
    ref: ObjectRef
    res: ApiResource
    obj: dict[str, Any] | None = None
    readiness: Readiness = field(
        default_factory=lambda: Readiness(State.PROGRESSING, "waiting for its first event")
    )
    deleted: bool = False
    done_at: float | None = None


def _pods_of(obj: Mapping[str, Any] | None, pods: Mapping[str, Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    if not obj or obj.get("kind") not in _POD_KINDS:
        return []
    selector = (obj.get("spec") or {}).get("selector")
    if obj.get("kind") == "Job" and not selector:
        uid = (obj.get("metadata") or {}).get("uid")
        return [
            p
            for p in pods.values()
            if ((p.get("metadata") or {}).get("labels") or {}).get("controller-uid") == uid
        ]
    return [p for p in pods.values() if selects(selector, (p.get("metadata") or {}).get("labels"))]


def _watches(kind: str, target_kind: str) -> bool:
    """Does an event of the pod ("pod") or ReplicaSet ("rs") watch concern a target of this kind?"""
    return (kind == "pod" and target_kind in _POD_KINDS) or (kind == "rs" and target_kind == "Deployment")


class RolloutWaiter:
    def __init__(self, kube: Kube, *, progress_interval: float = 10.0, clock: Clock = SYSTEM_CLOCK) -> None:
        self.kube = kube
        self.progress_interval = progress_interval
        self.clock = clock

    def wait(
        self,
        targets: Sequence[tuple[ObjectRef, ApiResource]],
        timeout: float,
        *,
        what: str = "rollout",
        stop_on_failure: bool = False,
    ) -> dict[ObjectRef, Outcome]:
        """Block until every target is ready or failed, or ``timeout`` expired.

        A failure is reported the moment it is seen (a crash loop does not wait for the
        timeout), and the others are still waited for, so every object gets a verdict and
        every failed one can be rolled back. ``stop_on_failure`` ends the wait at the first one.
        """
        run = runner.current()
        if not targets:
            return {}
        start = self.clock.monotonic()
        deadline = start + timeout
        state = {ref: _Target(ref, res) for ref, res in targets}
        caches: Cache = {}
        events: queue.Queue[tuple[str, tuple[ApiResource, str | None], WatchEvent | Exception]] = (
            queue.Queue()
        )
        stop = threading.Event()
        keys = sorted(
            {(t.res, t.ref.namespace) for t in state.values()}, key=lambda k: (k[0].plural, k[1] or "")
        )
        pod_namespaces = sorted(
            {t.ref.namespace for t in state.values() if t.ref.kind in _POD_KINDS and t.ref.namespace}
        )
        threads = [self._start(events, stop, "obj", res, ns) for res, ns in keys]
        threads += [self._start(events, stop, "pod", _POD, ns) for ns in pod_namespaces]
        rs_namespaces = sorted(
            {t.ref.namespace for t in state.values() if t.ref.kind == "Deployment" and t.ref.namespace}
        )
        threads += [self._start(events, stop, "rs", _RS, ns) for ns in rs_namespaces]
        names = ", ".join(str(r) for r, _ in targets)
        run.log(f"waiting up to {timeout:.0f}s for the {what} of {names}")
        next_progress = start + self.progress_interval
        try:
            while True:
                now = self.clock.monotonic()
                pending = [t for t in state.values() if not t.readiness.done]
                failed = [t for t in state.values() if t.readiness.state is State.FAILED]
                if not pending or (stop_on_failure and failed):
                    break
                if now >= deadline:
                    break
                try:
                    kind, key, item = events.get(timeout=max(0.01, min(deadline, next_progress) - now))
                except queue.Empty:
                    if self.clock.monotonic() >= next_progress:
                        self._progress(pending, start, timeout)
                        next_progress = self.clock.monotonic() + self.progress_interval
                    continue
                if isinstance(item, Exception):
                    self._watch_failed(state, key, kind, item)
                    continue
                touched = self._absorb(state, caches, kind, key, item)
                for target in touched:
                    self._reassess(target, caches, start)
        finally:
            stop.set()
            self.kube.interrupt(stop)
        return self._outcomes(state, caches, start, timeout)

    # -- threads ---------------------------------------------------------------------------

    def _start(
        self,
        events: queue.Queue[tuple[str, tuple[ApiResource, str | None], WatchEvent | Exception]],
        stop: threading.Event,
        kind: str,
        res: ApiResource,
        namespace: str | None,
    ) -> threading.Thread:
        def pump() -> None:
            try:
                for event in self.kube.watch(res, namespace, stop=stop):
                    if stop.is_set():
                        return
                    events.put((kind, (res, namespace), event))
            except Exception as exc:  # handed to the main thread, which reports it
                events.put((kind, (res, namespace), exc))

        thread = threading.Thread(target=pump, name=f"watch-{res.plural}-{namespace}", daemon=True)
        thread.start()
        return thread

    # -- state -----------------------------------------------------------------------------

    def _absorb(
        self,
        state: dict[ObjectRef, _Target],
        caches: Cache,
        kind: str,
        key: tuple[ApiResource, str | None],
        event: WatchEvent,
    ) -> list[_Target]:
        res, namespace = key
        if kind in ("pod", "rs"):
            cache = caches.setdefault((kind, namespace or ""), {})
            if event.type == "RELISTED":
                cache.clear()
                for item in event.object.get("items") or []:
                    cache[str(item["metadata"].get("uid") or item["metadata"]["name"])] = item
            else:
                uid = str(event.object["metadata"].get("uid") or event.object["metadata"]["name"])
                if event.type == "DELETED":
                    cache.pop(uid, None)
                else:
                    cache[uid] = event.object
            return [t for t in state.values() if t.ref.namespace == namespace and _watches(kind, t.ref.kind)]
        mine = {t.ref.name: t for t in state.values() if t.res == res and t.ref.namespace == namespace}
        if event.type == "RELISTED":
            listed = {i["metadata"]["name"]: i for i in event.object.get("items") or []}
            for name, target in mine.items():
                target.obj = listed.get(name)
                target.deleted = name not in listed
            return list(mine.values())
        found = mine.get(str((event.object.get("metadata") or {}).get("name")))
        if found is None:
            return []
        if event.type == "DELETED":
            found.obj, found.deleted = None, True
        else:
            found.obj, found.deleted = event.object, False
        return [found]

    def _reassess(self, target: _Target, caches: Cache, start: float) -> None:
        if target.readiness.state is State.FAILED:
            return  # a verdict; a ready object, by contrast, may regress (a pod crashes) and is re-assessed
        if target.obj is None and not target.deleted:
            return  # no event about it yet (a pod event came first)
        if target.deleted or target.obj is None:
            new = Readiness(State.PROGRESSING, "does not exist (yet)")
        else:
            namespace = target.ref.namespace or ""
            pods = _pods_of(target.obj, caches.get(("pod", namespace), {}))
            new = assess(target.obj, pods, list(caches.get(("rs", namespace), {}).values()))
        if new != target.readiness:
            if new.message != target.readiness.message or new.state is not target.readiness.state:
                runner.current().log(f"  {target.ref}: {new.state.value}: {new.message}")
            target.readiness = new
            target.done_at = self.clock.monotonic() - start if new.done else None

    def _watch_failed(
        self, state: dict[ObjectRef, _Target], key: tuple[ApiResource, str | None], kind: str, exc: Exception
    ) -> None:
        res, namespace = key
        text = exc.describe() if isinstance(exc, KubeError) else f"{type(exc).__name__}: {exc}"
        hint = ""
        if isinstance(exc, KubeError) and exc.status == 403:
            hint = f" (the kubeconfig's user needs list+watch on {res.plural} in {namespace})"
        affected = [
            t
            for t in state.values()
            if t.ref.namespace == namespace
            and (_watches(kind, t.ref.kind) or (kind == "obj" and t.res == res))
        ]
        for target in affected:
            target.readiness = Readiness(State.FAILED, f"cannot watch {res.plural}: {text}{hint}")

    def _progress(self, pending: Sequence[_Target], start: float, timeout: float) -> None:
        elapsed = self.clock.monotonic() - start
        states = "; ".join(f"{t.ref}: {t.readiness.message}" for t in pending)
        runner.current().log(f"  still waiting ({elapsed:.0f}s of {timeout:.0f}s): {states}")

    def _outcomes(
        self,
        state: Mapping[ObjectRef, _Target],
        caches: Cache,
        start: float,
        timeout: float,
    ) -> dict[ObjectRef, Outcome]:
        result: dict[ObjectRef, Outcome] = {}
        elapsed = self.clock.monotonic() - start
        for ref, target in state.items():
            selected = _pods_of(target.obj, caches.get(("pod", ref.namespace or ""), {}))
            its_pods = tuple(pod_summary(p) for p in selected)
            verdict = wait_verdict(target.readiness, expired=elapsed >= timeout)
            last = target.readiness.message
            message = {
                RolloutState.TIMEOUT: f"not ready after {timeout:.0f}s: {last}",
                RolloutState.NOT_WAITED: f"stopped waiting (another object failed): {last}",
            }.get(verdict, last)
            seconds = elapsed if not target.readiness.done else target.done_at or elapsed
            result[ref] = Outcome(verdict, message, seconds, its_pods, target.obj)
        return result
