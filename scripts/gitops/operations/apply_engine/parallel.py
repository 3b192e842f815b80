"""Bounded, ordered parallelism for the engine's independent requests (one object each)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def each(items: Sequence[T], work: Callable[[T], R], width: int) -> list[R]:
    """``work`` on every item, at most ``width`` at once; the results in the order of ``items``.

    The first exception ``work`` raises is raised here once the calls already running have
    finished; items not started yet are left (callers that must go on catch inside ``work``).
    """
    workers = max(1, min(width, len(items)))
    if workers == 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gitops") as pool:
        return list(pool.map(work, items))
