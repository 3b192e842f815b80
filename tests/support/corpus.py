"""The corpus of real API server error bodies, per supported minor version (tests/corpus/kubernetes/).

One JSON file per case and minor version, written from the upstream validation or admission
function its ``source`` names (file, function, tag). The classifier's unit tests run over every
entry (tests/unit/core/test_immutable_corpus.py) and the fake API server must answer exactly
these bodies (tests/fakekube/test_corpus.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "kubernetes"
MINORS = ("1.31", "1.32", "1.33", "1.34", "1.35", "1.36", "1.37")


@dataclass(frozen=True)
class Entry:
    case: str
    minor: str
    body: dict[str, Any]
    expect: dict[str, Any]
    source: dict[str, Any]
    obj: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.minor}/{self.case}"


@cache
def entries() -> tuple[Entry, ...]:
    found = []
    for minor in MINORS:
        for path in sorted((CORPUS / minor).glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            assert data["minor"] == minor and data["case"] == path.stem, (
                f"{path}: case/minor do not match the path"
            )
            found.append(
                Entry(data["case"], minor, data["body"], data["expect"], data["source"], data["object"])
            )
    return tuple(found)


def entry(minor: str, case: str) -> Entry:
    return next(e for e in entries() if e.minor == minor and e.case == case)


def cases() -> tuple[str, ...]:
    return tuple(sorted({e.case for e in entries()}))


_VALUE = re.compile(r"Invalid value: .*?: ")
_UID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _text(message: Any) -> str:
    first = str(message or "").split("\n", 1)[0]
    return _UID.sub("UID", _VALUE.sub("Invalid value: VALUE: ", first))


def shape(body: dict[str, Any]) -> dict[str, Any]:
    """What two answers to the same request share, whoever sent them: every key of the Status, every
    cause's reason and field; messages up to their first line (a PVC's goes on with a ``cmp.Diff`` of
    Go structs), with the printed value of ``Invalid value: ...`` and object uids left out (they
    depend on the objects)."""
    details = dict(body.get("details") or {})
    causes = [
        (c.get("reason"), c.get("field"), _text(c.get("message"))) for c in details.pop("causes", None) or []
    ]
    rest = {k: v for k, v in body.items() if k not in ("message", "details")}
    return {**rest, "message": _text(body.get("message")), "details": details, "causes": causes}
