"""Hostile and broken input across the verbs: no secret out, no traceback, no hang, the place named.

One test per row of :data:`tests.hostile.cases.CASES`; the harness (tests/hostile/harness.py)
runs each as its own ``gitops`` process inside a simulated Actions job and lists every way it
fell short. ``pytest tests/hostile -k 13.1`` runs the rows of one issue item.

Speed: the cases are independent processes, so the first test starts every selected case at
once on a pool of ``HOSTILE_WORKERS`` threads (default: CPUs + 1), each forking its process
from one pre-loaded zygote (no interpreter start-up, no import of the clients per case); each
test then waits for its own run and judges it. ``HOSTILE_SPAWN=1`` starts every case as a
fresh ``python -m gitops`` instead (slower; the zygote is what CI runs).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.fakegithub import FakeGitHub
from tests.fakekube import FakeKube
from tests.hostile.cases import CASES
from tests.hostile.harness import Case, Result, Zygote, judge, run_case, spawn

pytestmark = pytest.mark.integration


def test_case_ids_are_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))


def test_every_verb_has_cases() -> None:
    from gitops.cli import VERBS

    verbs = {case.argv[0] for case in CASES}
    assert set(VERBS) <= verbs, f"verbs without a hostile case: {sorted(set(VERBS) - verbs)}"


def _run_one(case: Case, directory: Path, execute: Any) -> tuple[Result, list[str]]:
    """Run ``case`` with its fake servers; return the result and the fakes' own bugs."""
    bugs: list[str] = []
    with contextlib.ExitStack() as stack:
        fake = github = None
        if case.fake is not None:
            fake = FakeKube(**case.fake).start()
            stack.callback(fake.stop)
        if case.github is not None:
            github = stack.enter_context(FakeGitHub(**case.github))
        result = run_case(case, directory, fake, github, execute=execute)
    if fake is not None:
        bugs.extend(fake.bugs)
    return result, bugs


class Runs:
    """Every selected case, started at once on a pool; each test collects its own."""

    def __init__(self, cases: list[Case], root: Path) -> None:
        from tests.fakekube.tls import certs

        certs()  # the fakes' CA, made once before threads race to make (and cache) two different ones
        self._zygote = None if os.environ.get("HOSTILE_SPAWN") else Zygote()
        execute = spawn if self._zygote is None else self._zygote.run
        workers = int(os.environ.get("HOSTILE_WORKERS") or (os.cpu_count() or 1) + 1)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hostile")
        self._futures: dict[str, Future[tuple[Result, list[str]]]] = {
            case.id: self._pool.submit(_run_one, case, root / case.id, execute) for case in cases
        }

    def result(self, case: Case) -> tuple[Result, list[str]]:
        return self._futures[case.id].result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._zygote is not None:
            self._zygote.close()


@pytest.fixture(scope="session")
def hostile_runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    selected: list[Case] = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and isinstance(callspec.params.get("case"), Case):
            selected.append(callspec.params["case"])
    runs = Runs(selected, tmp_path_factory.mktemp("hostile"))
    yield runs
    runs.close()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.issue}-{c.id}" for c in CASES])
def test_hostile_case(case: Case, hostile_runs: Runs) -> None:
    result, bugs = hostile_runs.result(case)
    problems = judge(result)
    assert not bugs, "the fake API server hit a bug:\n" + "\n".join(bugs)
    assert not problems, (
        f"{case.id} ({case.issue}): " + "; ".join(problems) + f"\n--- exit {result.code}, "
        f"{result.seconds:.1f}s, {result.rss_mb:.0f} MB\n--- stderr (last 40 lines):\n"
        + "\n".join(result.stderr.splitlines()[-40:])
    )
