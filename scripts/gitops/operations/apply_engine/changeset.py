"""What an apply run did, per object and as a whole, and its JSON (fluxcd ssa ``changeset.go``).

Three vocabularies, three enums: what was done to an object (:class:`Action`), how its rollout
ended (:class:`gitops.core.readiness.RolloutState`), and the run's verdict (:class:`Result`).
Their values are the strings of the JSON report, which other tools read: ``to_json`` keeps its
keys and values stable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from gitops.core.apply_plan import ObjectRef, PlannedObject
from gitops.core.drift import Change
from gitops.core.readiness import RolloutState
from gitops.errors import EXIT_DEPLOY_FAILED, EXIT_OK


class Action(StrEnum):
    """What apply did to one object (a dry run: what it would do)."""

    PENDING = "pending"
    CREATED = "created"
    CONFIGURED = "configured"
    UNCHANGED = "unchanged"
    RECREATED = "recreated"
    FAILED = "failed"
    SKIPPED = "skipped"
    WOULD_CREATE = "would-create"
    WOULD_CONFIGURE = "would-configure"
    WOULD_RECREATE = "would-recreate"
    WOULD_FAIL = "would-fail"

    @classmethod
    def of(cls, change: Change, *, dry_run: bool) -> Action:
        """The action reporting ``change``: done in a real run, foreseen in a dry run."""
        return (_FORESEEN if dry_run else _DONE)[change]

    @property
    def failed(self) -> bool:
        return self in (Action.FAILED, Action.WOULD_FAIL)


_DONE = {
    Change.CREATE: Action.CREATED,
    Change.CONFIGURE: Action.CONFIGURED,
    Change.UNCHANGED: Action.UNCHANGED,
    Change.RECREATE: Action.RECREATED,
    Change.REFUSE: Action.FAILED,
}
_FORESEEN = {
    Change.CREATE: Action.WOULD_CREATE,
    Change.CONFIGURE: Action.WOULD_CONFIGURE,
    Change.UNCHANGED: Action.UNCHANGED,
    Change.RECREATE: Action.WOULD_RECREATE,
    Change.REFUSE: Action.WOULD_FAIL,
}
# Objects that exist as the manifests say after the run: their rollout is waited for, they are verified.
APPLIED = frozenset({Action.CREATED, Action.CONFIGURED, Action.UNCHANGED, Action.RECREATED})


class Result(StrEnum):
    """The verdict of a whole run."""

    APPLIED = "applied"
    DRY_RUN = "dry-run"
    FAILED = "failed"
    ROLLED_BACK = "rolled-back"


def _value(state: StrEnum | None) -> str | None:
    return None if state is None else state.value


@dataclass
class ObjectResult:
    item: PlannedObject
    action: Action = Action.PENDING
    message: str | None = None
    hint: str | None = None
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    diff: list[str] = field(default_factory=list)
    server: dict[str, Any] | None = None
    rollout: RolloutState | None = None
    rollout_message: str | None = None
    rollout_seconds: float | None = None
    pods: list[str] = field(default_factory=list)
    observed: Mapping[str, Any] | None = None  # as the rollout watch last saw it: verify reads it no more
    volumes: dict[str, Any] | None = None
    seconds: float = 0.0
    uid: str | None = None
    evidence: str | None = None  # what an immutable-field or denial verdict was decided from

    @property
    def ref(self) -> ObjectRef:
        return self.item.ref

    @property
    def ok(self) -> bool:
        return not self.action.failed and not self.errors and (self.rollout is None or self.rollout.ok)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            **self.ref.to_json(),
            "service": self.item.service,
            "stage": self.item.stage.label,
            "action": self.action.value,
            "rollout": _value(self.rollout),
            "rollout_message": self.rollout_message,
            "duration_seconds": round(self.seconds, 3),
            "rollout_seconds": None if self.rollout_seconds is None else round(self.rollout_seconds, 3),
            "message": self.message,
            "hint": self.hint,
            "warnings": self.warnings,
            "errors": self.errors,
        }
        if self.diff:
            data["diff"] = self.diff
        if self.server:
            data["server"] = self.server
        if self.evidence:
            data["evidence"] = self.evidence
        if self.pods:
            data["pods"] = self.pods
        if self.volumes:
            data["volumes"] = self.volumes
        return data


@dataclass
class RollbackRecord:
    ref: ObjectRef
    performed: bool
    message: str
    from_revision: int | None = None
    to_revision: int | None = None
    deleted_pods: list[str] = field(default_factory=list)
    rollout: RolloutState | None = None
    rollout_message: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "object": str(self.ref),
            **self.ref.to_json(),
            "performed": self.performed,
            "message": self.message,
            "from_revision": self.from_revision,
            "to_revision": self.to_revision,
            "deleted_pods": self.deleted_pods,
            "rollout": _value(self.rollout),
            "rollout_message": self.rollout_message,
        }


@dataclass
class Check:
    ref: ObjectRef
    name: str
    passed: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"object": str(self.ref), "check": self.name, "passed": self.passed, "detail": self.detail}


@dataclass
class ApplyReport:
    source: str
    cluster: dict[str, str]
    field_manager: str
    dry_run: bool
    objects: list[ObjectResult] = field(default_factory=list)
    skipped: list[ObjectResult] = field(default_factory=list)
    skipped_services: list[str] = field(default_factory=list)
    rollbacks: list[RollbackRecord] = field(default_factory=list)
    verify: list[Check] = field(default_factory=list)
    seconds: float = 0.0
    requests: int = 0
    retries: int = 0

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.objects) and all(c.passed for c in self.verify)

    @property
    def result(self) -> Result:
        if self.rollbacks and any(r.performed for r in self.rollbacks):
            return Result.ROLLED_BACK
        if not self.ok:
            return Result.FAILED
        return Result.DRY_RUN if self.dry_run else Result.APPLIED

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.ok else EXIT_DEPLOY_FAILED

    def counts(self) -> dict[str, int]:
        """Objects per action, in the order they first appear (skipped ones last)."""
        counts: dict[str, int] = {}
        for o in self.objects:
            counts[o.action.value] = counts.get(o.action.value, 0) + 1
        if self.skipped:
            counts[Action.SKIPPED.value] = counts.get(Action.SKIPPED.value, 0) + len(self.skipped)
        return counts

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "result": self.result.value,
            "exit_code": self.exit_code,
            "dry_run": self.dry_run,
            "source": self.source,
            "cluster": self.cluster,
            "field_manager": self.field_manager,
            "summary": self.counts(),
            "skipped_services": self.skipped_services,
            "objects": [o.to_json() for o in (*self.objects, *self.skipped)],
            "rollbacks": [r.to_json() for r in self.rollbacks],
            "verify": [c.to_json() for c in self.verify],
            "requests": self.requests,
            "retries": self.retries,
            "duration_seconds": round(self.seconds, 3),
        }
