"""The deploy record: what was deployed onto a cluster, when, by whom, and how it ended.

Kept in the cluster it describes, as the ConfigMap ``gitops-system/gitops-deploy-record`` (next
to the identity record, :mod:`gitops.core.cluster_identity`), so it travels with the cluster and
needs no other store: ``gitops status`` and the stale-deploy check read it with one ``GET``.

Its ``data`` holds JSON values:

* ``deploy-<seq, 000042>-<id>``: one key per deploy, the last :data:`KEEP`. ``seq`` counts the
  cluster's deploys (one more than the highest recorded), so the keys sort in the order the
  deploys started whatever the clocks of the machines that wrote them. A deploy is recorded as
  ``running`` before its first write and updated with its result when it ends, so a run
  cancelled half-way stays visible as ``running`` (no result).
* ``last-successful``: the newest deploy whose result was ``applied``, kept apart because twenty
  failed deploys in a row would otherwise push it out, and with it the commit every later deploy
  is compared with (:mod:`gitops.core.deploy_order`).

One key per deploy lets every write be a JSON merge patch (RFC 7386) of its own key (older keys
beyond :data:`KEEP` set to ``null``): two writers never overwrite each other's entry, so no
read-modify-write race needs a retry loop.

A deploy that was skipped as stale, refused (wrong cluster) or blocked by the gate wrote
nothing, so it is not in the record; dry runs are not recorded either.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from gitops.core import documents
from gitops.core.cluster_identity import MANAGED_BY, NAMESPACE, RecordUnreadable

RECORD = "gitops-deploy-record"
KEEP = 20
ENTRY_PREFIX = "deploy-"
LAST_SUCCESSFUL_KEY = "last-successful"
RUNNING = "running"
SUCCESS = "applied"
RESULTS = (RUNNING, SUCCESS, "failed", "rolled-back")
REQUIRED = ("id", "environment", "commit", "started_at", "result")  # keys every entry has
# One entry is a few hundred bytes; a ConfigMap holds at most 1 MiB in all.
ENTRY = documents.DocumentKind(
    title="Deploy record unreadable",
    message="{problem}",
    limits=documents.Limits(max_bytes=64 * documents.KiB),
)


@dataclass(frozen=True)
class DeployEntry:
    """One deploy. ``actor`` is ``github.actor`` (who started the run; a re-run keeps it),
    ``triggering_actor`` who started THIS attempt (``github.triggering_actor``): the override check
    is made for the triggering actor."""

    id: str
    seq: int  # the cluster's deploy number: orders the record (see the module docstring)
    environment: str
    commit: str
    ref: str
    event: str
    actor: str
    triggering_actor: str
    started_at: str  # ISO 8601, UTC
    result: str = RUNNING
    finished_at: str | None = None
    automatic: bool = False
    override: Mapping[str, Any] | None = None  # {"actor","reason","bypassed_window"}
    older_than: str | None = None  # a deliberate rollback (--allow-older): the newer commit it replaced
    gate: Mapping[str, Any] = field(default_factory=dict)  # the gate's decision, condensed
    run_url: str | None = None
    changed: int | None = None

    @property
    def succeeded(self) -> bool:
        return self.result == SUCCESS

    def finish(self, result: str, finished_at: str, changed: int | None) -> DeployEntry:
        return replace(self, result=result, finished_at=finished_at, changed=changed)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "seq": self.seq,
            "environment": self.environment,
            "commit": self.commit,
            "ref": self.ref,
            "event": self.event,
            "actor": self.actor,
            "triggering_actor": self.triggering_actor,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "result": self.result,
            "automatic": self.automatic,
            "override": dict(self.override) if self.override else None,
            "older_than": self.older_than,
            "gate": dict(self.gate),
            "run_url": self.run_url,
            "changed": self.changed,
        }

    @classmethod
    def from_json(cls, data: Any) -> DeployEntry:
        """An entry as :meth:`to_json` wrote it; ``id``, ``environment``, ``commit``, ``started_at``
        and ``result`` are required, everything else falls back to "not known"."""
        if not isinstance(data, Mapping):
            raise RecordUnreadable("an entry is not a JSON object")
        missing = [k for k in REQUIRED if not isinstance(data.get(k), str) or not data[k]]
        if missing:
            raise RecordUnreadable(f"an entry has no {', '.join(missing)}")

        def text(key: str) -> str:
            value = data.get(key)
            return value if isinstance(value, str) else ""

        def mapping(key: str) -> dict[str, Any] | None:
            value = data.get(key)
            return dict(value) if isinstance(value, Mapping) else None

        changed, seq = data.get("changed"), data.get("seq")
        return cls(
            **{key: text(key) for key in (*REQUIRED, "ref", "event", "actor", "triggering_actor")},
            seq=seq if isinstance(seq, int) and not isinstance(seq, bool) else 0,
            finished_at=text("finished_at") or None,
            automatic=data.get("automatic") is True,
            override=mapping("override"),
            older_than=text("older_than") or None,
            gate=mapping("gate") or {},
            run_url=text("run_url") or None,
            changed=changed if isinstance(changed, int) and not isinstance(changed, bool) else None,
        )


def entry_key(entry: DeployEntry) -> str:
    """``deploy-000042-<id>``: sorts in deploy order, unique per deploy (a valid ConfigMap key)."""
    return f"{ENTRY_PREFIX}{entry.seq:06d}-{entry.id}"


@dataclass(frozen=True)
class DeployHistory:
    """The record's content: the last deploys (oldest first, by key) and the last successful one."""

    entries: Mapping[str, DeployEntry] = field(default_factory=dict)  # key -> entry
    last_successful: DeployEntry | None = None

    @property
    def deploys(self) -> list[DeployEntry]:
        """Oldest first."""
        return [self.entries[key] for key in sorted(self.entries)]

    @property
    def latest(self) -> DeployEntry | None:
        deploys = self.deploys
        return deploys[-1] if deploys else None

    def next_seq(self) -> int:
        """The number of the next deploy: one more than any recorded (kept or last successful)."""
        numbers = [e.seq for e in self.entries.values()]
        if self.last_successful is not None:
            numbers.append(self.last_successful.seq)
        return max(numbers, default=0) + 1

    def recent(self, count: int) -> list[DeployEntry]:
        """The newest ``count`` deploys, newest first."""
        return list(reversed(self.deploys))[: max(count, 0)]

    def record(self, entry: DeployEntry) -> tuple[DeployHistory, dict[str, Any]]:
        """The history with ``entry`` written (added, or replacing the entry of the same key), and
        the JSON merge patch of the ConfigMap that writes it: its own key, ``last-successful`` when
        it succeeded, and ``null`` for the keys beyond the newest :data:`KEEP`."""
        key = entry_key(entry)
        entries = {**self.entries, key: entry}
        dropped = sorted(entries)[:-KEEP]
        data: dict[str, Any] = {key: _json(entry)}
        last = self.last_successful
        if entry.succeeded:
            last = entry
            data[LAST_SUCCESSFUL_KEY] = _json(entry)
        for old in dropped:
            entries.pop(old)
            data[old] = None
        return DeployHistory(entries, last), {"data": data}

    def to_data(self) -> dict[str, str]:
        """The ConfigMap's whole ``data`` (to create it)."""
        data = {key: _json(entry) for key, entry in self.entries.items()}
        if self.last_successful is not None:
            data[LAST_SUCCESSFUL_KEY] = _json(self.last_successful)
        return data


def _json(entry: DeployEntry) -> str:
    return json.dumps(entry.to_json(), separators=(",", ":"), sort_keys=True)


def parse(configmap: Mapping[str, Any] | None) -> DeployHistory:
    """The history in the record ConfigMap as the API returns it; empty when there is none.

    Keys that are not ours are ignored; a value of ours that is not an entry is an error (the
    caller says which ConfigMap and key to repair)."""
    if configmap is None:
        return DeployHistory()
    data = configmap.get("data") or {}
    if not isinstance(data, Mapping):
        raise RecordUnreadable(f"{NAMESPACE}/{RECORD} has no data")
    entries: dict[str, DeployEntry] = {}
    for key in sorted(k for k in data if str(k).startswith(ENTRY_PREFIX))[-KEEP:]:
        entries[key] = _entry(data[key], key)
    raw_last = data.get(LAST_SUCCESSFUL_KEY)
    last = _entry(raw_last, LAST_SUCCESSFUL_KEY) if raw_last else None
    return DeployHistory(entries, last)


def _entry(raw: Any, key: str) -> DeployEntry:
    try:
        return DeployEntry.from_json(json.loads(str(raw)))
    except ValueError as exc:  # json.JSONDecodeError and RecordUnreadable are both ValueErrors
        raise RecordUnreadable(f"{NAMESPACE}/{RECORD} data.{key}: {exc}") from None


def configmap_body(history: DeployHistory) -> dict[str, Any]:
    """The record ConfigMap, to create it with its first entry."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": RECORD,
            "namespace": NAMESPACE,
            "labels": dict(MANAGED_BY),
            "annotations": {
                "gitops/purpose": "The last deploys onto this cluster (gitops status) and the last "
                "successful one, which no older commit may replace without --allow-older."
            },
        },
        "data": history.to_data(),
    }


def condensed_gate(decision: Mapping[str, Any], skipped_services: Sequence[str]) -> dict[str, Any]:
    """What the record keeps of the gate's decision (the ``gitops gate`` JSON): enough to say why
    the deploy was allowed, without the whole policy."""
    checks = decision.get("checks") or []
    return {
        "allowed": bool(decision.get("allowed")),
        "automatic": bool(decision.get("automatic")),
        "requires_approval": bool(decision.get("requires_approval")),
        "checks": {str(c.get("name")): bool(c.get("passed")) for c in checks if isinstance(c, Mapping)},
        "skipped_services": list(skipped_services),
    }
