"""gitops.adapters.deadline: a request's total deadline, and the verb's budget.

A server on 127.0.0.1 that trickles its answer one byte at a time (every read succeeds, so
urllib3's read timeout never fires) is cut off at the deadline; one that answers at once is
not disturbed; urllib3 without an armed deadline behaves as before.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import urllib3

from gitops.adapters import deadline

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


@pytest.fixture
def server() -> Iterator[tuple[str, list[float]]]:
    """A server whose answer is written ``pause[0]`` seconds per byte; yields (url, pause)."""
    pause = [0.0]
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                try:
                    for index in range(len(ANSWER)):
                        conn.sendall(ANSWER[index : index + 1])
                        time.sleep(pause[0])
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/", pause
    stop.set()
    thread.join(5)
    listener.close()


@pytest.fixture(autouse=True)
def _no_budget() -> Iterator[None]:
    deadline.reset()
    yield
    deadline.reset()


def _get(url: str) -> bytes:
    pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=2, read=2))
    return pool.request("GET", url).data


def test_a_trickling_answer_is_cut_off_at_the_deadline(server: tuple[str, list[float]]) -> None:
    url, pause = server
    pause[0] = 0.05  # 62 bytes: ~3 s to send, each read well within the 2 s read timeout
    start = time.monotonic()
    with pytest.raises(urllib3.exceptions.HTTPError), deadline.request(0.5) as armed:
        _get(url)
    assert armed.expired
    assert time.monotonic() - start < 2


def test_a_prompt_answer_is_not_disturbed(server: tuple[str, list[float]]) -> None:
    url, _ = server
    with deadline.request(5) as armed:
        assert _get(url) == b"ok"
    assert not armed.expired


def test_without_an_armed_deadline_urllib3_is_unchanged(server: tuple[str, list[float]]) -> None:
    url, _ = server
    deadline.install()
    assert _get(url) == b"ok"


def test_the_verb_budget_bounds_each_request_and_then_refuses() -> None:
    deadline.limit_verb(0.2, "--timeout 0.2")
    with deadline.request(30) as armed:
        assert armed.seconds <= 0.2
    assert deadline.verb_has(0.01)
    assert not deadline.verb_has(1)
    time.sleep(0.25)
    used_up = r"time limit of 0.2s \(--timeout 0.2\) is used up"
    with pytest.raises(deadline.VerbDeadlineExceeded, match=used_up), deadline.request(30):
        pass


def test_limit_verb_to_names_what_the_budget_is_made_of() -> None:
    deadline.limit_verb_to({"--timeout": 600}, 30, requests=2)
    assert deadline.verb_exhausted_message() == (
        "the command's time limit of 660s (--timeout 600 + 2 x --request-timeout 30) is used up"
    )


def test_one_watchdog_thread_serves_every_request(server: tuple[str, list[float]]) -> None:
    url, _ = server
    for _ in range(20):
        with deadline.request(5) as armed:
            assert _get(url) == b"ok"
        assert not armed.expired
    watchdogs = [t for t in threading.enumerate() if t.name == "gitops-deadline"]
    assert len(watchdogs) == 1
    assert not [t for t in threading.enumerate() if isinstance(t, threading.Timer)]


def test_an_earlier_deadline_fires_before_a_later_one_already_waiting(
    server: tuple[str, list[float]],
) -> None:
    url, pause = server
    pause[0] = 0.05
    results: dict[str, bool] = {}

    def slow(name: str, seconds: float) -> None:
        with contextlib.suppress(urllib3.exceptions.HTTPError), deadline.request(seconds) as armed:
            _get(url)
        results[name] = armed.expired

    late = threading.Thread(target=slow, args=("late", 30))
    late.start()
    time.sleep(0.2)  # the 30 s deadline is armed first; the 0.3 s one must not wait behind it
    start = time.monotonic()
    slow("early", 0.3)
    assert results["early"] and time.monotonic() - start < 2
    late.join(10)
    assert results["late"] is False  # the whole answer arrived (~3 s) well before its 30 s
