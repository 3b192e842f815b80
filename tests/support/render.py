"""The demo Kustomize tree of tests/fixtures/render, copied into a temporary directory per test."""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "render"
PLACEHOLDER = "StrongBase64Password"

# The variables the demo overlays need (tls.crt -> TLS_CRT by convention).
VARIABLES = ("DB_PASSWORD", "SHARED_KEY", "TLS_CRT", "API_TOKEN")


def copy_demo(dest: Path) -> Path:
    """Copy the fixture tree to ``dest`` and return it (holds ``infra/`` and ``secret-map.yaml``)."""
    shutil.copytree(FIXTURE, dest, dirs_exist_ok=True)
    return dest


def values(tag: str = "") -> dict[str, str]:
    """Distinct, recognisable, never-real values for every demo variable."""
    token = base64.b32encode(os.urandom(10)).decode().rstrip("=")
    return {name: f"{name.lower()}-{tag}{token}" for name in VARIABLES}


def forms(value: str) -> list[str]:
    """Every form in which a value must never leak: as is, each line, base64."""
    pieces = [value, base64.b64encode(value.encode()).decode()]
    pieces += [line for line in value.splitlines() if line.strip()]
    return pieces


def files_containing(roots: list[Path], needles: list[str]) -> list[str]:
    """Every file under ``roots`` whose bytes contain one of ``needles`` (as UTF-8)."""
    encoded = [n.encode() for n in needles if n]
    hits = []
    for root in roots:
        for path in root.rglob("*"):
            if path.is_symlink() or not path.is_file():
                continue
            data = path.read_bytes()
            hits += [f"{path}: {n.decode()[:20]}..." for n in encoded if n in data]
    return hits
