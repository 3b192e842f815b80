"""Total deadlines for HTTP requests and for a whole verb, which urllib3 does not have.

urllib3's timeouts bound each *socket operation*: a server that sends one byte per second never
lets a read time out, so a request (and the verb waiting on it) could last forever whatever
``--request-timeout`` says. Two limits fix that, for the Kubernetes client and PyGithub alike
(both send through urllib3):

* **per request** (:func:`request`): from the first byte sent to the last byte of the answer
  read. A watchdog timer shuts the request's socket down when the time is up, which ends
  whatever read or TLS handshake is blocked on it; the adapter then reports "no complete answer
  within N s" instead of the transport error that follows;
* **per verb** (:func:`limit_verb`): the budget of the whole command (its waits plus time for its
  requests). Each request gets at most what is left of it, and a request asked for after it is
  used up fails at once (:class:`VerbDeadlineExceeded`), naming the budget and the flags it
  comes from.

The watchdog needs the connection a request uses: :func:`install` gives urllib3's connection
pools a connection class that, when the sending thread has armed a deadline, attaches itself to
it on ``connect()`` and ``request()``; without an armed deadline it is urllib3's own class,
unchanged. The verb's deadline is process-wide, like the runner. No ``dataclasses`` here: the CLI
imports this module for every verb, and `gitops changes` must start without it (issue 12).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

_local = threading.local()


class VerbDeadlineExceeded(Exception):  # noqa: N818 - the name says what happened
    """The verb's overall time budget is used up; no further request is sent."""


class _Watchdog:
    """One thread that fires every armed request's deadline, in order of time.

    A ``threading.Timer`` per request started a thread per request: ~0.3 ms of a run's CPU each,
    most of what an unchanged apply of 200 objects spends beyond the requests themselves. Entries
    are cancelled by flag and dropped when they come due; the thread sleeps until the earliest.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: list[tuple[float, int, _Entry]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, when: float, fire: Any, connection: Any) -> _Entry:
        entry = _Entry(fire, connection)
        with self._cond:
            heapq.heappush(self._due, (when, next(self._order), entry))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="gitops-deadline", daemon=True)
                self._thread.start()
            self._cond.notify()
        return entry

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._due or self._due[0][2].cancelled:
                    if self._due:
                        heapq.heappop(self._due)  # cancelled: nothing to fire
                    else:
                        self._cond.wait()
                left = self._due[0][0] - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                entry = heapq.heappop(self._due)[2]
            if not entry.cancelled:
                entry.fire(entry.connection)


class _Entry:
    __slots__ = ("cancelled", "connection", "fire")

    def __init__(self, fire: Any, connection: Any) -> None:
        self.fire = fire
        self.connection = connection
        self.cancelled = False


_watchdog = _Watchdog()


def _new_watchdog_after_fork() -> None:
    """A forked child (the hostile suite's zygote forks) has no watchdog thread and perhaps a lock
    held by it at the fork: it starts afresh."""
    global _watchdog  # noqa: PLW0603 - one per process
    _watchdog = _Watchdog()


os.register_at_fork(after_in_child=_new_watchdog_after_fork)


class Armed:
    """One request's deadline: the connection it uses and whether the watchdog fired."""

    def __init__(self, seconds: float, deadline: float) -> None:
        self.seconds = seconds
        self.deadline = deadline
        self.connection: Any = None
        self.expired = False
        self._entry: _Entry | None = None

    def _watch(self, connection: Any) -> None:
        if self._entry is not None:
            self._entry.cancelled = True
        self.connection = connection
        self._entry = _watchdog.arm(self.deadline, self._expire, connection)

    def _expire(self, connection: Any) -> None:
        self.expired = True
        sock = getattr(connection, "sock", None)
        if isinstance(sock, socket.socket):
            # socket.socket's shutdown, also on an SSLSocket: the blocked TLS read sees EOF, and
            # the SSL object stays intact for the thread still inside it.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def cancel(self) -> None:
        if self._entry is not None:
            self._entry.cancelled = True


class VerbBudget:
    def __init__(self, seconds: float, why: str, deadline: float) -> None:
        self.seconds = seconds
        self.why = why  # what the budget is made of, e.g. "--timeout 600 + --request-timeout 30"
        self.deadline = deadline


_verb: VerbBudget | None = None


def limit_verb(seconds: float, why: str) -> None:
    """Give the running verb ``seconds`` in total, from now (``why``: the flags it comes from)."""
    global _verb  # noqa: PLW0603 - one verb per process, like the runner
    _verb = VerbBudget(seconds, why, time.monotonic() + seconds)


def limit_verb_to(waits: Mapping[str, float], request_timeout: float, requests: int) -> None:
    """The verb's budget: what it may wait (``{"--timeout": 600}``) plus time for ``requests``
    requests of ``request_timeout`` each; the message names both when it is used up."""
    parts = [f"{name} {seconds:g}" for name, seconds in waits.items()]
    parts.append(f"{requests} x --request-timeout {request_timeout:g}")
    limit_verb(sum(waits.values()) + requests * request_timeout, " + ".join(parts))


def reset() -> None:
    """Forget the verb's budget (tests, and the next verb of an in-process test run)."""
    global _verb  # noqa: PLW0603
    _verb = None


def verb_remaining() -> float | None:
    """Seconds left of the verb's budget (None: no budget set)."""
    return None if _verb is None else _verb.deadline - time.monotonic()


def verb_has(seconds: float) -> bool:
    """Is there time left in the verb's budget to wait ``seconds`` and then send a request?"""
    left = verb_remaining()
    return left is None or seconds < left


def verb_exhausted_message(*, before_retry: bool = False) -> str:
    used = "leaves no time to retry" if before_retry else "is used up"
    if _verb is None:
        return f"the command's time limit {used}"
    return f"the command's time limit of {_verb.seconds:g}s ({_verb.why}) {used}"


@contextlib.contextmanager
def request(seconds: float) -> Iterator[Armed]:
    """Bound one request (send, answer, body) to ``seconds``, and to what is left of the verb's."""
    left = verb_remaining()
    if left is not None:
        if left <= 0:
            raise VerbDeadlineExceeded(verb_exhausted_message())
        seconds = min(seconds, left)
    install()
    armed = Armed(seconds, time.monotonic() + seconds)
    previous = getattr(_local, "armed", None)
    _local.armed = armed
    try:
        yield armed
    finally:
        _local.armed = previous
        armed.cancel()


def _attach(connection: Any) -> None:
    armed: Armed | None = getattr(_local, "armed", None)
    if armed is not None and armed.connection is not connection:
        armed._watch(connection)


_installed = False
_install_lock = threading.Lock()


def install() -> None:
    """Make urllib3's connection pools use watched connections (idempotent; see the module doc)."""
    global _installed  # noqa: PLW0603
    if _installed:
        return
    from urllib3 import connection, connectionpool

    class WatchedHTTPConnection(connection.HTTPConnection):
        def connect(self) -> None:
            _attach(self)
            super().connect()

        def request(self, *args: Any, **kwargs: Any) -> None:
            _attach(self)
            super().request(*args, **kwargs)

    # The same two methods over TLS: HTTPSConnection is an HTTPConnection, so super() above reaches
    # HTTPSConnection's connect (the handshake) first.
    class WatchedHTTPSConnection(WatchedHTTPConnection, connection.HTTPSConnection):
        pass

    with _install_lock:
        if not _installed:
            connectionpool.HTTPConnectionPool.ConnectionCls = WatchedHTTPConnection
            connectionpool.HTTPSConnectionPool.ConnectionCls = WatchedHTTPSConnection
            _installed = True
