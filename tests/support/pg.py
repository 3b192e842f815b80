"""A throwaway PostgreSQL 15 (+ PostGIS) cluster for integration tests.

Debian's ``postgresql-15`` and ``postgresql-15-postgis-3`` packages provide the binaries in
``/usr/lib/postgresql/15/bin``. PostgreSQL refuses to run as root, so when the tests run as
root every server-side command runs as the ``postgres`` system user (``runuser``), in a
private directory under ``/tmp`` that this user owns. The server listens on 127.0.0.1 on a
free port (or on its Unix socket only) and is stopped by :meth:`PgCluster.stop`.

The server user cannot be assumed to reach the checkout: a clone under a 0700 directory (root's
home is 0700 on Debian) is closed to it. So nothing it runs or reads is taken from the checkout
or from pytest's temporary directories (``/tmp/pytest-of-root`` is 0700 too): such a file is
copied into the cluster directory first (:meth:`PgCluster.stage`), which the server user owns.

:func:`run_entrypoint_init` reproduces what the ``postgres`` image's ``docker-entrypoint.sh``
does on an empty data directory (``tests/support/pg_entrypoint.sh``), so an init script from
``/docker-entrypoint-initdb.d`` is run here the way the image runs it.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PG_BIN = Path("/usr/lib/postgresql/15/bin")
POSTGIS_CONTROL = Path("/usr/share/postgresql/15/extension/postgis.control")
ENTRYPOINT = Path(__file__).with_name("pg_entrypoint.sh")
INSTALL_HINT = (
    "install Debian's postgresql-15 and postgresql-15-postgis-3 packages "
    "(`bash scripts/dev.sh setup` does it as root); these tests never skip"
)
SERVER_USER = "postgres"
TIMEOUT = 60


def require_postgres() -> Path:
    """The PostgreSQL 15 bin directory; fails the test loudly when anything is missing."""
    missing = [
        str(PG_BIN / tool)
        for tool in ("initdb", "pg_ctl", "postgres", "psql")
        if not (PG_BIN / tool).is_file()
    ]
    if not POSTGIS_CONTROL.is_file():
        missing.append(str(POSTGIS_CONTROL))
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            missing.append(f"system user {SERVER_USER!r}")
        if shutil.which("runuser", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin") is None:
            missing.append("runuser (util-linux)")
    if missing:
        pytest.fail(f"PostgreSQL test server unavailable, missing: {', '.join(missing)}; {INSTALL_HINT}")
    return PG_BIN


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def as_server_user(argv: Sequence[str]) -> list[str]:
    """``argv`` run as the ``postgres`` user when we are root (PostgreSQL refuses root)."""
    if os.geteuid() == 0:
        runuser = shutil.which("runuser", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin") or "runuser"
        return [runuser, "-u", SERVER_USER, "--", *argv]
    return list(argv)


def _chown_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam(SERVER_USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


@dataclass
class PgCluster:
    """One PostgreSQL cluster in its own directory: data, socket directory and server log."""

    root: Path
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @classmethod
    def create(cls) -> PgCluster:
        """A new, empty cluster directory under /tmp owned by the server user (mode 0700)."""
        require_postgres()
        root = Path(tempfile.mkdtemp(prefix="gitops-pg-", dir="/tmp"))
        cluster = cls(root)
        cluster.socket_dir.mkdir()
        for path in (root, cluster.socket_dir):
            _chown_to_server_user(path)
        return cluster

    def stage(self, source: Path, mode: int = 0o755) -> Path:
        """A copy of ``source`` in the cluster directory, for the server user to read or run.

        The checkout may sit where that user cannot go (see the module docstring).
        """
        target = self.root / "staged" / source.name
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(source, target)
        target.chmod(mode)
        return target

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Environment for server-user commands: PATH with the PostgreSQL 15 tools first, the
        cluster's socket and port as libpq defaults, and ``extra``."""
        env = {
            "PATH": f"{PG_BIN}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "PGDATA": str(self.data),
            "PGHOST": str(self.socket_dir),
            "PGPORT": str(self.port),
        }
        env.update(extra or {})
        return env

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        input_text: str | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` as the server user in the cluster directory."""
        done = subprocess.run(
            as_server_user(argv),
            env=self.env(env),
            cwd=self.root,
            input=input_text,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"{shlex.join(argv)} exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
            )
        return done

    def start(self, settings: Mapping[str, str] | None = None, *, tcp: bool = True) -> None:
        """Start the server (waiting until it accepts connections): on 127.0.0.1:port when
        ``tcp``, otherwise on the Unix socket only; ``settings`` become ``-c name=value``."""
        options = {
            "listen_addresses": "127.0.0.1" if tcp else "",
            "port": str(self.port),
            "unix_socket_directories": str(self.socket_dir),
            **(settings or {}),
        }
        opts = " ".join(shlex.quote(f"-c{name}={value}") for name, value in options.items())
        self.run(
            [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w", "start"]
        )

    def stop(self) -> None:
        """Stop the server if it runs (fast shutdown)."""
        if (self.data / "postmaster.pid").exists():
            self.run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"], check=False)

    def destroy(self) -> None:
        """Stop the server and remove the cluster directory."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def psql(self, sql: str, *, database: str = "postgres", user: str) -> str:
        """Run ``sql`` over the Unix socket as ``user`` (trust) and return psql's unaligned output."""
        done = self.run(
            [
                str(PG_BIN / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-U",
                user,
                "-d",
                database,
            ],
            input_text=sql,
        )
        return done.stdout.strip()

    def connect_tcp(
        self, *, user: str, password: str, database: str, sql: str = "SELECT current_user"
    ) -> subprocess.CompletedProcess[str]:
        """Log in over TCP on 127.0.0.1 with a password (what an application does) and run ``sql``."""
        conninfo = f"host=127.0.0.1 port={self.port} dbname={database} user={user} connect_timeout=10"
        return subprocess.run(
            [str(PG_BIN / "psql"), "-X", "-q", "-A", "-t", "-w", "-v", "ON_ERROR_STOP=1", "-d", conninfo],
            input=sql,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "PGPASSWORD": password},
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )


def run_entrypoint_init(
    cluster: PgCluster,
    initdb_dir: Path,
    container_env: Mapping[str, str],
    server_settings: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Initialise ``cluster`` the way the postgres image's entrypoint does on first start.

    ``container_env`` is the container's environment (POSTGRES_USER, POSTGRES_PASSWORD,
    POSTGRES_DB, POSTGRES_INITDB_ARGS, the init scripts' variables); ``initdb_dir`` holds the
    files the image would find in /docker-entrypoint-initdb.d, with their modes. The temporary
    server gets ``server_settings`` (e.g. ``log_statement=all``) and logs to ``cluster.log``.
    Deviations from the image, all about where things live: the data directory, the socket
    directory (PGHOST) and the port (PGPORT) are the cluster's, and the tools are PostgreSQL 15's.
    """
    settings = " ".join(f"-c{name}={value}" for name, value in (server_settings or {}).items())
    env = {
        **container_env,
        "GITOPS_TEST_INITDB_DIR": str(initdb_dir),
        "GITOPS_TEST_SERVER_LOG": str(cluster.log),
        "GITOPS_TEST_SERVER_OPTIONS": f"-c unix_socket_directories={cluster.socket_dir} {settings}".strip(),
    }
    return cluster.run(["bash", str(cluster.stage(ENTRYPOINT))], env=env, check=False)
