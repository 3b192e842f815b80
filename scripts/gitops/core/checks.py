"""One named check of a decision: its name, whether it passed, and why, in words.

The deploy gate (:mod:`gitops.core.gate`) and cluster readiness
(:mod:`gitops.core.cluster_readiness`) both decide by running every check and reporting each
one, so a user reads exactly which rule held or failed. Their JSON shape is the same
(``{"name", "passed", "detail"}``, DESIGN.md's ``gitops gate`` contract), so it is one type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail}
