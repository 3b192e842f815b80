"""Hostile and broken input across the verbs: no secret out, no traceback, no hang, the place named.

One test per row of :data:`tests.hostile.cases.CASES`; the harness (tests/hostile/harness.py)
runs each as a separate ``gitops`` process inside a simulated Actions job and lists every way
it fell short. ``pytest tests/hostile -k 13.1`` runs the rows of one issue item.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakekube import FakeKube
from tests.hostile.cases import CASES
from tests.hostile.harness import Case, judge, run_case

pytestmark = pytest.mark.integration


def test_case_ids_are_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))


@pytest.fixture
def fake_for(request: pytest.FixtureRequest) -> Iterator[FakeKube | None]:
    case: Case = request.param
    if case.fake is None:
        yield None
        return
    fake = FakeKube(**case.fake).start()
    try:
        yield fake
    finally:
        fake.stop()
    assert not fake.bugs, "the fake API server hit a bug:\n" + "\n".join(fake.bugs)


@pytest.mark.parametrize(
    ("case", "fake_for"),
    [(c, c) for c in CASES],
    ids=[f"{c.issue}-{c.id}" for c in CASES],
    indirect=["fake_for"],
)
def test_hostile_case(case: Case, fake_for: FakeKube | None, tmp_path: Path) -> None:
    result = run_case(case, tmp_path, fake_for)
    problems = judge(result)
    assert not problems, (
        f"{case.id} ({case.issue}): " + "; ".join(problems) + f"\n--- exit {result.code}, "
        f"{result.seconds:.1f}s, {result.rss_mb:.0f} MB\n--- stderr (last 40 lines):\n"
        + "\n".join(result.stderr.splitlines()[-40:])
    )
