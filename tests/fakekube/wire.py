"""A tiny raw HTTPS client for tests that assert exact wire-level answers (status, headers, JSON body)."""

from __future__ import annotations

import http.client
import json
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tests.fakekube.fake import FakeKube

USER_AGENT = "fakekube-wire/1.0"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def causes(self) -> list[dict[str, Any]]:
        return list(((self.body or {}).get("details") or {}).get("causes") or [])


class Wire:
    """``Wire(fake).call("PATCH", path, body, content_type=..., query={...})`` -> :class:`Answer`."""

    def __init__(self, fake: FakeKube, *, token: str | None = None) -> None:
        self.fake = fake
        self.token = fake.token if token is None else token

    def connection(self) -> http.client.HTTPConnection:
        if not self.fake.tls:
            return http.client.HTTPConnection(self.fake.host, self.fake.port, timeout=30)
        context = ssl.create_default_context(cadata=self.fake.ca_pem.decode())
        return http.client.HTTPSConnection(self.fake.host, self.fake.port, timeout=30, context=context)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        conn = self.connection()
        try:
            data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
            sent = {
                "Content-Type": content_type,
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
                **(headers or {}),
            }
            if self.token:
                sent["Authorization"] = f"Bearer {self.token}"
            target = path + ("?" + urlencode(query) if query else "")
            conn.request(method, target, body=data, headers=sent)
            response = conn.getresponse()
            raw = response.read()
            plain = response.getheader("Content-Type", "").startswith("text/plain")
            parsed: Any = raw.decode() if plain else json.loads(raw) if raw.strip() else None
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, parsed)
        finally:
            conn.close()

    def apply(
        self, obj: dict[str, Any], *, manager: str = "gitops", force: bool = False, dry_run: bool = False
    ) -> Answer:
        path = self.path_of(obj)
        query = {"fieldManager": manager}
        if force:
            query["force"] = "true"
        if dry_run:
            query["dryRun"] = "All"
        return self.call("PATCH", path, obj, content_type="application/apply-patch+yaml", query=query)

    def path_of(self, obj: dict[str, Any]) -> str:
        res = self.fake.resource(obj["apiVersion"], obj["kind"])
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace", "default") if res.namespaced else None
        return f"{res.base_path(namespace)}/{meta['name']}"


def watch_events(
    wire: Wire, path: str, query: dict[str, str], *, limit: int | None = None
) -> list[dict[str, Any]]:
    """Open a watch (``watch=true`` is added), read events until the stream ends or ``limit`` arrived."""
    conn = wire.connection()
    try:
        headers = {
            "Accept": "application/json",
            "Authorization": f"Bearer {wire.token}",
            "User-Agent": USER_AGENT,
        }
        conn.request("GET", path + "?" + urlencode({**query, "watch": "true"}), headers=headers)
        response = conn.getresponse()
        if response.status != 200:
            raise AssertionError(f"watch answered {response.status}: {response.read()!r}")
        events: list[dict[str, Any]] = []
        while limit is None or len(events) < limit:
            line = response.readline()
            if not line:
                break
            if line.strip():
                events.append(json.loads(line))
        return events
    finally:
        conn.close()
