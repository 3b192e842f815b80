"""The fake cluster's state: objects, the global resourceVersion, watch fan-out and the assertion logs."""

from __future__ import annotations

import collections
import copy
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Key = tuple[str, str, str, str]  # group, kind, namespace ('' for cluster-scoped), name

WATCH_WINDOW = 20000  # how many events a watch can resume from before 410 Gone


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def group_of(api_version: str) -> str:
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def key_of(obj: dict[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return (
        group_of(str(obj.get("apiVersion", ""))),
        str(obj.get("kind", "")),
        meta.get("namespace") or "",
        str(meta.get("name", "")),
    )


@dataclass
class WatchEvent:
    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    key: Key
    obj: dict[str, Any]
    prev: dict[str, Any] | None


@dataclass
class Watcher:
    group: str
    kind: str
    namespace: str | None
    matches: Callable[[dict[str, Any]], bool]
    events: collections.deque[WatchEvent] = field(default_factory=collections.deque)
    cond: threading.Condition = field(default_factory=threading.Condition)
    closed: bool = False

    def wants(self, event: WatchEvent) -> bool:
        """Is ``event`` about the resource type (and namespace) this watch is on?"""
        group, kind, namespace, _ = event.key
        if group != self.group or kind != self.kind:
            return False
        return not self.namespace or namespace == self.namespace

    def offer(self, event: WatchEvent) -> None:
        if not self.wants(event):
            return
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()


class Store:
    """Thread-safe object storage with the global resourceVersion counter of an etcd-backed apiserver."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.rv = 1
        self.objects: dict[Key, dict[str, Any]] = {}
        self.by_type: dict[tuple[str, str], dict[tuple[str, str], dict[str, Any]]] = {}
        self.uids: dict[str, Key] = {}
        self.log: collections.deque[WatchEvent] = collections.deque(maxlen=WATCH_WINDOW)
        self.compacted_rv = 0
        self.watchers: list[Watcher] = []
        self.history: list[dict[str, Any]] = []
        self.delete_log: list[dict[str, Any]] = []
        self.dirty = False

    # --- reads -------------------------------------------------------------------------------

    def get(self, key: Key) -> dict[str, Any] | None:
        with self.lock:
            found = self.objects.get(key)
            return copy.deepcopy(found) if found is not None else None

    def peek(self, key: Key) -> dict[str, Any] | None:
        """The stored object itself (no copy): callers must hold the lock and not mutate it."""
        return self.objects.get(key)

    def list_objects(self, group: str, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            items = self.by_type.get((group, kind), {})
            keys = sorted(k for k in items if namespace is None or k[0] == namespace)
            return [copy.deepcopy(items[k]) for k in keys]

    def iter_type(self, group: str, kind: str, namespace: str | None = None) -> Iterator[dict[str, Any]]:
        """Stored objects (no copies; hold the lock)."""
        items = self.by_type.get((group, kind), {})
        for (ns, _name), obj in sorted(items.items(), key=lambda kv: kv[0]):
            if namespace is None or ns == namespace:
                yield obj

    def by_uid(self, uid: str) -> dict[str, Any] | None:
        key = self.uids.get(uid)
        return self.objects.get(key) if key else None

    # --- writes --------------------------------------------------------------------------------

    def next_rv(self) -> int:
        self.rv += 1
        return self.rv

    def put(self, obj: dict[str, Any], *, actor: str, action: str | None = None) -> dict[str, Any]:
        """Store ``obj`` with a new resourceVersion (creating uid/creationTimestamp when new)."""
        with self.lock:
            key = key_of(obj)
            prev = self.objects.get(key)
            meta = obj.setdefault("metadata", {})
            if prev is None:
                meta.setdefault("uid", str(uuid.uuid4()))
                meta.setdefault("creationTimestamp", now_rfc3339())
            rv = self.next_rv()
            meta["resourceVersion"] = str(rv)
            stored = copy.deepcopy(obj)
            self.objects[key] = stored
            self.by_type.setdefault(key[:2], {})[(key[2], key[3])] = stored
            self.uids[meta["uid"]] = key
            self._emit(WatchEvent(rv, "ADDED" if prev is None else "MODIFIED", key, stored, prev))
            self._record(action or ("created" if prev is None else "updated"), stored, actor, rv)
            return copy.deepcopy(stored)

    def remove(self, key: Key, *, actor: str) -> dict[str, Any] | None:
        with self.lock:
            prev = self.objects.pop(key, None)
            if prev is None:
                return None
            self.by_type.get(key[:2], {}).pop((key[2], key[3]), None)
            uid = (prev.get("metadata") or {}).get("uid")
            if uid:
                self.uids.pop(uid, None)
            rv = self.next_rv()
            final = copy.deepcopy(prev)
            final["metadata"]["resourceVersion"] = str(rv)
            self._emit(WatchEvent(rv, "DELETED", key, final, prev))
            self._record("deleted", final, actor, rv)
            return copy.deepcopy(final)

    def _emit(self, event: WatchEvent) -> None:
        self.log.append(event)
        self.dirty = True
        for watcher in list(self.watchers):
            watcher.offer(event)

    def _record(self, action: str, obj: dict[str, Any], actor: str, rv: int) -> None:
        meta = obj.get("metadata") or {}
        self.history.append(
            {
                "seq": len(self.history) + 1,
                "time": time.time(),
                "action": action,
                "apiVersion": obj.get("apiVersion"),
                "kind": obj.get("kind"),
                "namespace": meta.get("namespace"),
                "name": meta.get("name"),
                "uid": meta.get("uid"),
                "resourceVersion": str(rv),
                "actor": actor,
            }
        )

    # --- watches -----------------------------------------------------------------------------

    def subscribe(self, watcher: Watcher, since: int | None) -> list[WatchEvent] | None:
        """Register ``watcher``; returns the events after ``since`` to replay, or None when too old (410)."""
        with self.lock:
            replay: list[WatchEvent] = []
            if since is not None and since < self.rv:
                oldest = self.log[0].rv if self.log else self.rv + 1
                if since < max(self.compacted_rv, oldest - 1):
                    return None
                replay = [e for e in self.log if e.rv > since and watcher.wants(e)]
            self.watchers.append(watcher)
            return replay

    def unsubscribe(self, watcher: Watcher) -> None:
        with self.lock:
            if watcher in self.watchers:
                self.watchers.remove(watcher)

    def oldest_rv(self) -> int:
        with self.lock:
            return max(self.compacted_rv, self.log[0].rv if self.log else self.rv)

    def compact(self) -> None:
        """Forget the watch window, as etcd compaction does: older resourceVersions now answer 410."""
        with self.lock:
            self.log.clear()
            self.compacted_rv = self.rv

    def close_watchers(self) -> None:
        with self.lock:
            for watcher in self.watchers:
                watcher.close()
            self.watchers.clear()

    # --- persistence -------------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        with self.lock:
            return {
                "resourceVersion": self.rv,
                "objects": [copy.deepcopy(o) for _, o in sorted(self.objects.items())],
                "history": list(self.history),
                "deletes": list(self.delete_log),
            }

    def load(self, data: dict[str, Any]) -> None:
        with self.lock:
            self.rv = int(data.get("resourceVersion", 1))
            self.compacted_rv = self.rv
            for obj in data.get("objects", []):
                key = key_of(obj)
                self.objects[key] = obj
                self.by_type.setdefault(key[:2], {})[(key[2], key[3])] = obj
                uid = (obj.get("metadata") or {}).get("uid")
                if uid:
                    self.uids[uid] = key
            self.history = list(data.get("history", []))
            self.delete_log = list(data.get("deletes", []))

    def save(self, path: Path) -> None:
        data = self.dump()
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
        tmp.replace(path)
        with self.lock:
            self.dirty = False
