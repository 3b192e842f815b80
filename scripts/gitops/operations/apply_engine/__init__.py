"""The apply engine: staged server-side apply, immutable-field re-create, rollout wait, rollback, verify.

One module per concern, split as fluxcd/pkg ``ssa/`` splits its resource manager:

========================  ===================================================================
:mod:`.engine`            :class:`Engine`: the order of one run
:mod:`.settings`          :class:`ApplySettings`, :class:`RollbackSetting`
:mod:`.changeset`         what the run did: :class:`Action`, :class:`Result`, the report and its JSON
:mod:`.session`           what the concerns share: connection, settings, clock, log, discovery
:mod:`.discovery`         every kind served (or defined by a CRD in the input) before any write
:mod:`.stages`            staged server-side apply
:mod:`.invalid`           a 422: classify (:mod:`gitops.core.immutable`), refuse or hand on
:mod:`.recreate`          immutable re-create: dry-run create, delete (uid, Orphan), wait, re-apply
:mod:`.volumes`           grow a StatefulSet's existing claims
:mod:`.wait`              rollout waits (:mod:`gitops.operations.rollout`)
:mod:`.rollback`          ``kubectl rollout undo`` for failed rollouts
:mod:`.verify`            every applied object still there, StatefulSet volumes Bound
:mod:`.dry_run`           ``--dry-run``: the same decisions, nothing written
:mod:`.failures`          the server's refusal and the fix hint, per object
:mod:`.kinds`             built-in kinds the engine reads besides the manifests' own
========================  ===================================================================

Every decision about what may be deleted, what grows and what to roll back to is pure and
lives in ``gitops.core``; these modules read, write and report. Every message names the
object, says what the server said and what to do.
"""

from __future__ import annotations

from gitops.core.readiness import RolloutState
from gitops.operations.apply_engine.changeset import (
    APPLIED,
    Action,
    ApplyReport,
    Check,
    ObjectResult,
    Result,
    RollbackRecord,
)
from gitops.operations.apply_engine.engine import Engine
from gitops.operations.apply_engine.settings import ApplySettings, RollbackSetting

__all__ = [
    "APPLIED",
    "Action",
    "ApplyReport",
    "ApplySettings",
    "Check",
    "Engine",
    "ObjectResult",
    "Result",
    "RollbackRecord",
    "RollbackSetting",
    "RolloutState",
]
