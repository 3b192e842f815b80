"""The Quick start from a clone in a private directory: the PostgreSQL tests still run.

Root's home is 0700 on Debian, so a clone there is closed to the ``postgres`` user that
PostgreSQL runs as (it refuses root). Every file that user runs or reads must be copied to a
place it can reach first (tests/support/pg.py, ``PgCluster.stage``); before that fix the init
tests failed with "pg_entrypoint.sh: Permission denied".

This test makes such a clone (the working tree, as the e2e harness copies it) under a 0700
directory, checks that the server user really cannot read it, and runs two of the PostgreSQL
tests from there: they share one initialised cluster, which is what every test of
tests/infra/test_postgres.py needs, so two prove the path and keep the run short (~10 s).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.harness import project_files
from tests.support.pg import SERVER_USER, require_postgres

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TESTS = (
    "tests/infra/test_postgres.py::test_every_database_exists_with_its_owner",
    "tests/infra/test_postgres.py::test_service_roles_can_log_in_and_nothing_more",
)


def private_clone(parent: Path) -> Path:
    """The working tree (tracked + new, minus ignored) copied to ``parent/checkout``; parent 0700."""
    parent.mkdir(mode=0o700)
    parent.chmod(0o700)  # whatever the umask said
    clone = parent / "checkout"
    for name in project_files(ROOT):
        target = clone / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    return clone


def server_user_can_read(path: Path) -> bool:
    runuser = shutil.which("runuser", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin") or "runuser"
    done = subprocess.run(
        [runuser, "-u", SERVER_USER, "--", "test", "-r", str(path)],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return done.returncode == 0


def test_the_postgresql_tests_pass_from_a_clone_under_a_0700_directory(tmp_path: Path) -> None:
    require_postgres()
    home = tmp_path / "home"  # like /root: drwx------
    clone = private_clone(home)
    if os.geteuid() == 0:
        # The situation of the report: the server user is locked out of the checkout.
        assert not server_user_can_read(clone / "tests" / "support" / "pg_entrypoint.sh")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "GITOPS_"))}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--basetemp",
            str(home / "pytest"),  # never pytest's shared /tmp/pytest-of-<user>, whose old runs it prunes
            *TESTS,
        ],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert "2 passed" in output, output[-2000:]
    assert "Permission denied" not in output
