"""gitops.operations.apply_engine.parallel.each: at most ``width`` at once, exactly ``width`` when
there is work for them, results in input order whatever order the work finishes in.

No clocks: a barrier of ``width`` parties only opens when ``width`` calls run at the same time, and
a counter records the most that ever ran at once.
"""

from __future__ import annotations

import threading

import pytest

from gitops.operations.apply_engine.parallel import each


class Gauge:
    def __init__(self, width: int) -> None:
        self.barrier = threading.Barrier(width, timeout=30)  # broken (an error) if never width together
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0

    def work(self, item: int) -> int:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            self.barrier.wait()  # width calls together, or a BrokenBarrierError after 30 s
        finally:
            with self.lock:
                self.running -= 1
        return item * item


@pytest.mark.parametrize("width", [2, 5, 16])
def test_width_calls_run_together_never_more_and_results_keep_the_input_order(width: int) -> None:
    gauge = Gauge(width)
    items = list(range(width * 3))
    assert each(items, gauge.work, width) == [i * i for i in items]
    assert gauge.most == width


def test_one_item_or_width_one_runs_in_the_calling_thread() -> None:
    seen: list[str] = []
    assert each([1, 2, 3], lambda i: seen.append(threading.current_thread().name) or i, 1) == [1, 2, 3]
    assert set(seen) == {threading.current_thread().name}


def test_an_exception_is_raised_once_the_calls_running_with_it_have_finished() -> None:
    """The engine never leaves a request in flight behind it; calls not started yet are not made."""
    together = threading.Barrier(3, timeout=30)
    failed = threading.Event()
    finished: list[int] = []

    def work(item: int) -> int:
        if item < 3:
            together.wait()  # items 0, 1 and 2 run at the same time
        if item == 0:
            failed.set()
            raise ValueError("the first item fails")
        if item < 3:
            failed.wait(timeout=30)  # still running when item 0 fails
        finished.append(item)
        return item

    with pytest.raises(ValueError, match="the first item fails"):
        each([0, 1, 2, 3, 4], work, 3)
    assert {1, 2} <= set(finished)
