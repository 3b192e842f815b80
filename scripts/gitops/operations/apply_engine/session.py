"""One apply run against one cluster: what every concern of the engine shares.

The connection, the settings, the clock (the run's single source of time, see
:mod:`gitops.adapters.clock`), the runner's log, discovery and the rollout waiter. Each concern
module (stages, recreate, volumes, wait, rollback, verify, dry run) is a set of functions that
take the session as their first argument.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gitops.adapters import runner
from gitops.adapters.clock import Clock, poll
from gitops.adapters.kube import ApiResource, Kube, KubeError
from gitops.adapters.runner import Runner
from gitops.core.apply_plan import ObjectRef
from gitops.operations.apply_engine import failures
from gitops.operations.apply_engine.changeset import ObjectResult
from gitops.operations.apply_engine.discovery import Discovery
from gitops.operations.apply_engine.settings import ApplySettings
from gitops.operations.rollout import RolloutWaiter

T = TypeVar("T")


@dataclass
class Session:
    kube: Kube
    settings: ApplySettings
    clock: Clock
    console: Runner
    discovery: Discovery
    waiter: RolloutWaiter
    # The claims of each namespace as verification's last LIST saw them: the volumes' Retain
    # step after the rollouts takes them from here instead of listing them again.
    claims: dict[str | None, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def start(cls, kube: Kube, settings: ApplySettings, clock: Clock) -> Session:
        """A session on ``kube``: discovery and the rollout waiter on the run's clock."""
        return cls(
            kube=kube,
            settings=settings,
            clock=clock,
            console=runner.current(),
            discovery=Discovery(kube, clock, settings.poll_interval),
            waiter=RolloutWaiter(kube, progress_interval=settings.progress_interval, clock=clock),
        )

    def resource(self, ref: ObjectRef) -> ApiResource:
        return self.discovery.resource(ref)

    def fail(self, result: ObjectResult, err: KubeError, prefix: str = "") -> None:
        failures.fail(result, err, self.kube.host, prefix, dry_run=self.settings.dry_run)

    def poll(self, look: Callable[[], T], done: Callable[[T], bool], timeout: float) -> T:
        """Look until ``done``, at most ``timeout`` seconds, pausing ``poll_interval`` between looks."""
        return poll(self.clock, look, done, timeout=timeout, interval=self.settings.poll_interval)
