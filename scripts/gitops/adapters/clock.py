"""Time for the apply engine and the rollout waiter: the one thing to replace to make waits instant.

Every deadline and every pause between polls of one apply run reads this clock. It is handed
to :class:`gitops.operations.apply_engine.Engine` once, and the engine passes it on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, TypeVar

T = TypeVar("T")


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock: ``time.monotonic`` and ``time.sleep``."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


def poll(
    clock: Clock, look: Callable[[], T], done: Callable[[T], bool], *, timeout: float, interval: float
) -> T:
    """Call ``look`` until ``done`` accepts its answer or ``timeout`` seconds passed; the last answer.

    For what cannot be watched (an object's disappearance by uid, a claim's phase after its
    pod is ready, discovery after a CRD): bounded, with a pause of ``interval`` between looks.
    """
    deadline = clock.monotonic() + timeout
    while True:
        answer = look()
        if done(answer) or clock.monotonic() >= deadline:
            return answer
        clock.sleep(interval)
