"""Helpers for the GitHub API tests (``responses`` + PyGithub): URLs, keys, a fake clock, a leak scan.

PyGithub sends to ``https://api.github.com:443/...``, so every URL registered here carries
``:443``. Tests register each expected call with ``responses`` and
``assert_all_requests_are_fired=True``: an unexpected call fails (responses refuses it), and
an expected one that never happened fails too.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import responses

API = "https://api.github.com:443"
OWNER, NAME = "acme", "platform"
REPO = f"{OWNER}/{NAME}"
PAT = "github_pat_11TESTTOKEN0000000000000_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
CLASSIC = "ghp_TESTclassic0000000000000000000000000"
WORKFLOW_TOKEN = "ghs_TESTworkflowtoken000000000000000000"
START = 1_800_000_000.0  # 2027-01-15T08:00:00Z: the fake clock's epoch


def repo_url(path: str = "") -> str:
    return f"{API}/repos/{REPO}{path}"


def env_url(environment: str, path: str = "") -> str:
    return repo_url(f"/environments/{environment}{path}")


@dataclass
class FakeClock:
    """Replaces ``gitops.adapters.github.clock``: sleeping advances time instantly, and is recorded."""

    now: float = START
    mono: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.mono += seconds


@dataclass
class Api:
    """What a GitHub API test needs: the responses mock and the fake clock the adapter uses."""

    rsps: responses.RequestsMock
    clock: FakeClock


@dataclass
class EnvironmentKey:
    """A real libsodium key pair standing in for one environment's secrets key."""

    key_id: str
    private: Any
    public_b64: str

    @classmethod
    def generate(cls, key_id: str = "568250167242549743") -> EnvironmentKey:
        from nacl.public import PrivateKey

        private = PrivateKey.generate()
        return cls(key_id, private, base64.b64encode(bytes(private.public_key)).decode())

    def body(self) -> dict[str, str]:
        return {"key_id": self.key_id, "key": self.public_b64}

    def decrypt(self, encrypted_value: str) -> str:
        from nacl.public import SealedBox

        return SealedBox(self.private).decrypt(base64.b64decode(encrypted_value)).decode("utf-8")


def json_body(call: Any) -> Any:
    body = call.request.body
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    return json.loads(body) if body else None


def calls(rsps: responses.RequestsMock, method: str | None = None, contains: str = "") -> list[Any]:
    return [
        c
        for c in rsps.calls
        if (method is None or c.request.method == method) and contains in str(c.request.url)
    ]


# A YAML line that carries no data ("users:", "- cluster:", "apiVersion: v1"): ordinary words that
# would make the scan fail on innocent text such as "cluster hetzner-dev-cluster: created".
_STRUCTURE = re.compile(r"^-?\s*[A-Za-z0-9_.-]+:\s*(\{\})?$|^apiVersion: v1$|^kind: Config$")


def secret_pieces(*values: str) -> list[str]:
    """Every line of each secret value that carries data (stripped), and the values themselves."""
    pieces: set[str] = set()
    for value in values:
        pieces.add(value)
        pieces.update(
            line.strip() for line in value.splitlines() if line.strip() and not _STRUCTURE.match(line.strip())
        )
    return sorted(pieces, key=len, reverse=True)


def assert_no_leak(texts: Mapping[str, str], *secrets: str) -> None:
    """No line of any secret appears in any of ``texts`` (name -> text): stdout, stderr, logs, files."""
    for piece in secret_pieces(*secrets):
        for name, text in texts.items():
            assert piece not in text, f"{name} leaks a secret line: {piece[:12]}..."


def gha_texts(gha: Any) -> dict[str, str]:
    """The runner files a step wrote (outputs, summary, env) for :func:`assert_no_leak`."""
    return {
        "GITHUB_OUTPUT": Path(gha.output).read_text(encoding="utf-8"),
        "GITHUB_STEP_SUMMARY": Path(gha.summary_file).read_text(encoding="utf-8"),
        "GITHUB_ENV": Path(gha.env_file).read_text(encoding="utf-8"),
    }


def without_mask_commands(text: str) -> str:
    """``text`` minus ``::add-mask::`` lines: the runner consumes them and never shows them."""
    return "\n".join(line for line in text.splitlines() if not line.startswith("::add-mask::"))


def all_text(result: Any, gha: Any = None, extra: Iterable[tuple[str, str]] = ()) -> dict[str, str]:
    """stdout, stderr (minus mask commands), the runner's files and ``extra``: for :func:`assert_no_leak`."""
    texts = {"stdout": result.stdout, "stderr": without_mask_commands(result.stderr), **dict(extra)}
    if gha is not None:
        texts.update(gha_texts(gha))
    return texts
