"""A throwaway redis-server 7 on 127.0.0.1, and a minimal RESP2 client to talk to it.

Debian's ``redis-server`` package stands in for Valkey 9, which keeps Redis 7's configuration
file and ACL syntax. :class:`RedisServer` starts the server with a given configuration text
in a private temporary directory on a free port and stops it afterwards. :class:`RespClient`
speaks the real wire protocol (RESP2, https://redis.io/docs/latest/develop/reference/protocol-spec/)
over a plain socket, so tests see exactly the replies an application would: values, and
errors such as ``NOPERM`` or ``WRONGPASS`` as :class:`RespError`.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.pg import free_port

INSTALL_HINT = (
    "install Debian's redis-server package (`bash scripts/dev.sh setup` does it as root); "
    "these tests never skip"
)
TIMEOUT = 10.0

RespValue = bytes | int | str | list["RespValue"] | None


def require_redis() -> tuple[str, str]:
    """Paths of redis-server and redis-cli; fails the test loudly when either is missing."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        pytest.fail(f"redis-server/redis-cli not found; {INSTALL_HINT}")
    version = subprocess.run([server, "--version"], capture_output=True, text=True, check=True).stdout
    if "v=7." not in version:
        pytest.fail(f"redis-server 7 is required (Valkey 9 keeps its syntax), found: {version.strip()}")
    return server, cli


class RespError(Exception):
    """An error reply, e.g. ``NOPERM User cache_user has no permissions ...``."""

    @property
    def code(self) -> str:
        """The error's first word (NOPERM, WRONGPASS, NOAUTH, ERR, ...)."""
        return str(self).split(" ", 1)[0]


class RespClient:
    """One connection. :meth:`call` sends a command and returns its decoded reply, raising
    :class:`RespError` for an error reply; :meth:`read` waits for a pushed message (pub/sub)."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self._sock = socket.create_connection((host, port), timeout=TIMEOUT)
        self._buffer = b""

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> RespClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, *args: str | bytes | int) -> None:
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self._sock.sendall(b"".join(parts))

    def call(self, *args: str | bytes | int) -> RespValue:
        self.send(*args)
        return self.read()

    def auth(self, user: str, password: str) -> None:
        self.call("AUTH", user, password)

    def read(self) -> RespValue:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = self._exactly(size + 2)
            return data[:-2]
        if kind == b"*":
            count = int(rest)
            if count < 0:
                return None
            items: list[RespValue] = []
            for _ in range(count):
                try:
                    items.append(self.read())
                except RespError as error:  # an error inside EXEC's reply array
                    items.append(str(error))
            return items
        raise AssertionError(f"unexpected RESP line {line!r}")

    def _line(self) -> bytes:
        while b"\r\n" not in self._buffer:
            self._fill()
        line, self._buffer = self._buffer.split(b"\r\n", 1)
        return line

    def _exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._fill()
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def _fill(self) -> None:
        chunk = self._sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self._buffer += chunk


@dataclass
class RedisServer:
    """redis-server with ``config`` (the configuration file's text) plus ``args`` on its
    command line, in a temporary directory; ``port`` is free on 127.0.0.1."""

    config: str
    args: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="gitops-redis-")))
    process: subprocess.Popen[bytes] | None = None

    @property
    def config_file(self) -> Path:
        return self.root / "redis.conf"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def start(self) -> RedisServer:
        server, _ = require_redis()
        self.config_file.write_text(self.config, encoding="utf-8")
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [server, str(self.config_file), *self.args],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
            )
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"redis-server exited {self.process.returncode}:\n{self.log_text()}")
            try:
                with RespClient(self.port) as client:
                    client.call("PING")
            except RespError:
                return self  # NOAUTH and the like: it answers
            except OSError:
                time.sleep(0.02)
                continue
            return self
        raise AssertionError(f"redis-server did not answer on port {self.port}:\n{self.log_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def client(self, user: str | None = None, password: str | None = None) -> RespClient:
        """A new connection, authenticated when ``user`` is given."""
        client = RespClient(self.port)
        if user is not None:
            client.auth(user, password or "")
        return client
