"""A pre-loaded ``gitops`` that forks one process per hostile case (run as a script, not imported).

Starting Python and importing ``kubernetes`` and ``github`` costs ~0.9 s on a CI runner; over
hundreds of cases that is most of the suite's time. This process imports them once, then for
every job line it reads forks a *monitor*, which forks the *case*: a process in its own session,
with the case's address-space limit, directory, environment and stdin/stdout/stderr files, that
runs ``gitops.cli.main`` exactly as ``python -m gitops`` would and ends with ``os._exit`` after
the interpreter's exit handlers. The monitor kills the case's process group at its deadline,
reaps it with ``wait4`` (exit status, peak memory), writes the result file and reports
``done <id>`` on stdout. Nothing of a case survives into the next one: every case is a fresh fork
of a process that never ran a verb.

Protocol: one JSON object per line on stdin (``id``, ``argv``, ``env``, ``cwd``, ``stdin``,
``stdout``, ``stderr``, ``result``, ``max_seconds``, ``address_space``); one ``done <id>`` line
per finished job on stdout. EOF on stdin ends the zygote.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import resource
import signal
import sys
import time
from pathlib import Path
from typing import Any

# What the verbs import lazily; pre-loaded so a case pays nothing for them. A module an older
# checkout lacks (HOSTILE_GITOPS_SCRIPTS) is skipped: the case then imports what it has.
PRELOAD = (
    "gitops.cli",
    "gitops.commands.options",
    "gitops.commands.output",
    "kubernetes.client",
    "kubernetes.config.kube_config",
    "github",
    "nacl.public",
    "yaml",
    "jsonpath_ng.ext",
    "urllib3",
    "requests",
)


def _preload() -> None:
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    with contextlib.suppress(ImportError):
        cli = importlib.import_module("gitops.cli")
        for module in getattr(cli, "VERBS", {}).values():
            with contextlib.suppress(ImportError):
                importlib.import_module(f"gitops.commands.{module}")


def _stream(fd: int, mode: str, template: Any) -> io.TextIOWrapper:
    raw: Any = io.FileIO(fd, mode, closefd=False)
    buffered: Any = io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)
    return io.TextIOWrapper(
        buffered, encoding=template.encoding, errors=template.errors, line_buffering=False
    )


def _case(job: dict[str, Any]) -> None:
    """In the case process: become ``python -m gitops ARGV`` and never return."""
    code = 1
    try:
        os.setsid()
        limit = int(job["address_space"])
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.chdir(job["cwd"])
        os.environ.clear()
        os.environ.update(job["env"])
        for fd, path, flags in (
            (0, job["stdin"], os.O_RDONLY),
            (1, job["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
            (2, job["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        ):
            opened = os.open(path, flags, 0o600)
            os.dup2(opened, fd)
            os.close(opened)
        sys.stdin = _stream(0, "r", sys.__stdin__)
        sys.stdout = _stream(1, "w", sys.__stdout__)
        sys.stderr = _stream(2, "w", sys.__stderr__)
        sys.argv = [str(Path(sys.argv[0]).with_name("gitops")), *job["argv"]]
        import tempfile

        tempfile.tempdir = None  # read $TMPDIR again, as a new process would
        from gitops import cli

        try:
            code = cli.main(job["argv"])
        except SystemExit as exc:  # argparse, and anything that exits like a script would
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if exc.code is not None and not isinstance(exc.code, int):
                print(exc.code, file=sys.stderr)
        except BaseException:  # what the interpreter would print for an uncaught exception
            import traceback

            traceback.print_exc()
            code = 1
    finally:
        with contextlib.suppress(BaseException):
            import atexit

            atexit._run_exitfuncs()
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
        with contextlib.suppress(BaseException):
            sys.stderr.flush()
        os._exit(code & 0xFF)


def _monitor(job: dict[str, Any]) -> None:
    """In the monitor process: run the case, time and reap it, report; never return."""
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _case(job)
        killed: list[bool] = []

        def deadline(_signum: int, _frame: Any) -> None:
            killed.append(True)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)

        signal.signal(signal.SIGALRM, deadline)
        signal.setitimer(signal.ITIMER_REAL, float(job["max_seconds"]))
        _, status, usage = os.wait4(pid, 0)
        seconds = time.monotonic() - start
        signal.setitimer(signal.ITIMER_REAL, 0)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)  # whatever the case started and left behind
        result = {
            "code": None if killed else os.waitstatus_to_exitcode(status),
            "seconds": seconds,
            "rss_kb": usage.ru_maxrss,
        }
        temporary = Path(job["result"] + ".part")
        temporary.write_text(json.dumps(result), encoding="utf-8")
        temporary.replace(job["result"])
    finally:
        with contextlib.suppress(BaseException):
            os.write(1, f"done {job['id']}\n".encode())
        os._exit(0)


def main() -> None:
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        sys.path.pop(0)  # `python -m gitops` has the case's directory there, not this one
    _preload()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # monitors are reaped by the kernel
    os.write(1, b"ready\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        if os.fork() == 0:
            _monitor(job)


if __name__ == "__main__":
    main()
