"""HTTP/1.1 (TLS) front end: routing, auth, faults, request log, watch streaming, control endpoints."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import ssl
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakekube import discovery, errors, protobuf
from tests.fakekube.api import Request
from tests.fakekube.errors import ApiError
from tests.fakekube.store import Watcher, WatchEvent

if TYPE_CHECKING:
    from tests.fakekube.fake import FakeKube

INITIAL_EVENTS_END = "k8s.io/initial-events-end"


class Dropped(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Close the connection without a response (fault injection)."""


# How a client that goes away shows up on the server's side of the socket: a reset, a broken pipe,
# or - over TLS - an alert or a truncated record (an SSLError) when it shuts a kept-alive or
# watch connection down without close_notify, as urllib3 does to end a watch. Expected, not bugs.
DISCONNECTS = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError, ssl.SSLError)


class FakeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], fake: FakeKube, tls: ssl.SSLContext | None) -> None:
        self.fake = fake
        self.tls = tls
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(address, Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        sock = request
        # One segment per answer and no Nagle delay: otherwise every response waits ~40 ms for the
        # client's delayed ACK (headers and body would be two small writes).
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is not None:
            try:
                sock.settimeout(10)
                sock = self.tls.wrap_socket(request, server_side=True)
                sock.settimeout(None)
            except (OSError, ssl.SSLError):
                with contextlib.suppress(OSError):
                    request.close()
                return
        with self.conn_lock:
            self.connections.add(sock)
        try:
            self.RequestHandlerClass(sock, client_address, self)  # type: ignore[arg-type]
        except DISCONNECTS:
            pass  # the client went away between requests: nothing to answer, nothing to report
        except (OSError, ValueError):
            if not self.fake.stopping:
                raise  # -> handle_error: a bug
            # stop() closed the connection under the handler (EBADF, or "I/O on a closed file")
        finally:
            with self.conn_lock:
                self.connections.discard(sock)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """socketserver prints every exception that escapes a handler; a client's disconnect is
        expected, anything else is a bug of the fake: recorded in ``fake.bugs`` (the fixtures fail
        the test on it) and printed."""
        exc = sys.exc_info()[1]
        if isinstance(exc, DISCONNECTS) or (isinstance(exc, OSError | ValueError) and self.fake.stopping):
            return
        self.fake.bugs.append(f"unhandled error serving {client_address}:\n{traceback.format_exc()}")
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self.conn_lock:
            conns = list(self.connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                conn.close()


_RESOURCE = re.compile(
    r"^/(?:api/(?P<cv>v1)|apis/(?P<g>[^/]+)/(?P<v>[^/]+))"
    r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<plural>[^/]+)(?:/(?P<name>[^/]+))?(?:/(?P<sub>[^/]+))?/?$"
)


def _verb(method: str, name: str | None, query: dict[str, str]) -> str:
    watch = query.get("watch", "").lower() in ("1", "true")
    if method == "GET":
        if watch:
            return "watch"
        return "get" if name else "list"
    return {
        "POST": "create",
        "PUT": "update",
        "PATCH": "patch",
        "DELETE": "delete" if name else "deletecollection",
    }.get(method, method.lower())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeHTTPServer
    server_version = "fakekube"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        return

    # --- plumbing ------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send_json(
        self,
        code: int,
        body: Any,
        *,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        data = json.dumps(body, separators=(",", ":")).encode() + b"\n"
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache, private")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self._finish(data)

    def _finish(self, data: bytes) -> None:
        """End the headers and write them together with the body in a single send (or trickle them)."""
        buffer: list[bytes] = self._headers_buffer  # type: ignore[attr-defined]  # set by send_response
        buffer.append(b"\r\n")
        buffer.append(data)
        pause = getattr(self, "trickle", 0.0)
        if pause <= 0:
            self.flush_headers()
            return
        answer = b"".join(buffer)
        self._headers_buffer = []  # type: ignore[attr-defined]
        fake = self.server.fake
        for index in range(len(answer)):
            try:
                if fake.stopping:
                    raise BrokenPipeError("the fake is stopping")
                self.wfile.write(answer[index : index + 1])
                self.wfile.flush()
            except (OSError, ValueError):  # the client gave up (the point), or stop() closed the socket
                raise BrokenPipeError("the answer was cut off") from None
            time.sleep(pause)

    def _send_text(self, code: int, text: str, headers: dict[str, str] | None = None) -> None:
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self._finish(data)

    def _send_error(self, exc: ApiError) -> None:
        if exc.plain:  # Go's http.Error: the text, a line break, and nosniff
            self._send_text(
                exc.code, exc.message + "\n", {**exc.headers, "X-Content-Type-Options": "nosniff"}
            )
            return
        body = exc.status()
        if not exc.reason:
            body.pop("reason", None)
        self._send_json(exc.code, body, headers=exc.headers)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # --- dispatch ------------------------------------------------------------------------------

    def _handle(self, method: str) -> None:
        fake = self.server.fake
        self.trickle = 0.0
        started = time.monotonic()
        split = urlsplit(self.path)
        path = split.path
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        body = self._read_body()
        if path.startswith("/__fake__/"):
            try:
                code, payload = fake.control(method, path, query, body)
                self._send_json(code, payload)
            except ApiError as exc:
                self._send_error(exc)
            return
        match = _RESOURCE.match(path)
        name = match.group("name") if match else None
        verb = _verb(method, name, query)
        entry: dict[str, Any] = {
            "time": time.time(),
            "method": method,
            "verb": verb,
            "path": path,
            "query": query,
            "content_type": self.headers.get("Content-Type", ""),
            "accept": self.headers.get("Accept", ""),
            "user_agent": self.headers.get("User-Agent", ""),
            "authorization": bool(self.headers.get("Authorization")),
            "status": None,
            "fault": None,
        }
        fake.log_request(entry)
        self.trickle = fake.trickles(verb, path)
        # The status goes into the log BEFORE the answer leaves: a test reads the log as soon as its
        # client has the answer (or saw the connection drop), while this thread may not have run on.
        try:
            if not fake.authorized(self.headers.get("Authorization", "")):
                raise errors.unauthorized()
            entry["user"] = fake.user_name(self.headers.get("Authorization", ""))
            fake.authorize_request(self.headers.get("Authorization", ""), verb, match)
            fake.maybe_delay(verb, path)
            fault, phase = fake.pick_fault(verb, path)
            if fault and phase == "before":
                entry["fault"] = fault
                fake.raise_fault(fault)
            if verb == "watch":
                entry["status"] = 200
                self._watch(path, query)
                return
            code, payload, headers, content_type = self._route(method, path, query, body, verb)
            if content_type == "text/plain":
                entry["status"] = code
                self._send_text(code, str(payload))
                return
            if fault:
                entry["fault"] = f"{fault} (after processing)"
                fake.raise_fault(fault)
            entry["status"] = code
            payload = fake.edit_answer(method, path, payload)
            self._send_json(code, payload, headers=headers, content_type=content_type)
        except Dropped:
            entry["status"] = -1
            self._drop()
        except ApiError as exc:
            entry["status"] = exc.code
            self._send_error(exc)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            entry["status"] = -1
            self.close_connection = True
        except Exception as exc:
            entry["status"] = 500
            fake.bugs.append(traceback.format_exc())
            with contextlib.suppress(OSError):
                self._send_error(errors.internal_error(f"fakekube bug: {exc!r}"))
        finally:
            entry["duration"] = time.monotonic() - started

    def _route(
        self, method: str, path: str, query: dict[str, str], body: bytes, verb: str
    ) -> tuple[int, Any, dict[str, str], str]:
        fake = self.server.fake
        registry = fake.registry
        accept = self.headers.get("Accept", "")
        if method == "GET":
            if path in ("/version", "/version/"):
                return 200, discovery.version_info(fake.server_version), {}, "application/json"
            if path in ("/healthz", "/readyz", "/livez"):
                return 200, "ok", {}, "text/plain"
            if path in ("/api", "/api/"):
                if "as=APIGroupDiscoveryList" in accept and "v=v2" in accept:
                    return 200, discovery.aggregated(registry, core=True), {}, discovery.AGGREGATED_V2
                return 200, discovery.api_versions(fake.address), {}, "application/json"
            if path in ("/apis", "/apis/"):
                if "as=APIGroupDiscoveryList" in accept and "v=v2" in accept:
                    return 200, discovery.aggregated(registry, core=False), {}, discovery.AGGREGATED_V2
                return 200, discovery.api_group_list(registry), {}, "application/json"
            if path == "/api/v1":
                return 200, discovery.resource_list(registry, "", "v1"), {}, "application/json"
            parts = path.strip("/").split("/")
            if len(parts) == 2 and parts[0] == "apis":
                group = discovery.api_group(registry, parts[1])
                if group is None:
                    raise errors.path_not_found()
                return 200, group, {}, "application/json"
            if len(parts) == 3 and parts[0] == "apis":
                if parts[2] not in registry.groups().get(parts[1], []):
                    raise errors.path_not_found()
                return 200, discovery.resource_list(registry, parts[1], parts[2]), {}, "application/json"
            if path.startswith("/openapi/"):
                doc = fake.openapi(path, query)
                if doc is None:
                    raise errors.path_not_found()
                return 200, doc, {}, "application/json"
        req = self._request(method, path, query, body)
        sent_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if body and sent_type == "application/vnd.kubernetes.protobuf":
            # kubectl's typed `create` generators send protobuf and never retry as JSON.
            decoded = protobuf.decode(body) if body.startswith(protobuf.MAGIC) else None
            if decoded is None:
                raise errors.unsupported_media_type(sent_type, ["application/json", "application/yaml"])
            req.body = json.dumps(decoded).encode()
            req.content_type = "application/json"
        elif body and sent_type == "application/cbor":
            raise errors.unsupported_media_type(sent_type, ["application/json", "application/yaml"])
        table = "as=Table" in accept and verb in ("get", "list")
        response = fake.dispatch(req, verb)
        payload: Any = response.body
        if table and not req.subresource:
            payload = fake.table(req, response.body, verb)
        headers = {}
        if response.warnings:
            headers["Warning"] = ", ".join(_warning(w) for w in response.warnings)
        return response.code, payload, headers, "application/json"

    def _request(self, method: str, path: str, query: dict[str, str], body: bytes) -> Request:
        fake = self.server.fake
        match = _RESOURCE.match(path)
        if not match:
            raise errors.path_not_found()
        group = match.group("g") or ""
        version = match.group("cv") or match.group("v")
        namespace, plural, name, sub = (
            match.group("ns"),
            match.group("plural"),
            match.group("name"),
            match.group("sub"),
        )
        # /api/v1/namespaces/<name>[/status|/finalize] addresses the Namespace itself.
        if not group and namespace and plural in ("status", "finalize") and name is None:
            namespace, plural, name, sub = None, "namespaces", namespace, plural
        res = fake.registry.by_path(group, version, plural)
        if res is None:
            raise errors.path_not_found()
        if namespace and not res.namespaced:
            raise errors.path_not_found()
        if sub and sub not in res.subresources:
            raise errors.path_not_found()
        if res.namespaced and name and not namespace:
            raise errors.path_not_found()
        return Request(
            method,
            res,
            namespace,
            name,
            sub or "",
            query,
            body,
            self.headers.get("Content-Type", ""),
            self.headers.get("User-Agent", ""),
        )

    # --- watch ---------------------------------------------------------------------------------

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _event_bytes(self, event_type: str, obj: dict[str, Any]) -> bytes:
        return json.dumps({"type": event_type, "object": obj}, separators=(",", ":")).encode() + b"\n"

    def _watch(self, path: str, query: dict[str, str]) -> None:
        fake = self.server.fake
        req = self._request("GET", path, query, b"")
        res = req.res
        if req.name:
            # A watch on a single object URL: the legacy form of fieldSelector=metadata.name.
            query = {**query, "fieldSelector": f"metadata.name={req.name}"}
            req.query = query
        matches = fake.api.list_filter(req)
        rv_param = query.get("resourceVersion", "")
        send_initial = query.get("sendInitialEvents", "").lower() == "true"
        bookmarks = query.get("allowWatchBookmarks", "").lower() in ("true", "1")
        if send_initial and (not bookmarks or query.get("resourceVersionMatch") != "NotOlderThan"):
            raise ApiError(
                422,
                "Invalid",
                'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: '
                "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled "
                "and resourceVersionMatch is NotOlderThan with allowWatchBookmarks",
                {"kind": "ListOptions", "group": "meta.k8s.io", "causes": []},
            )
        timeout = float(query.get("timeoutSeconds") or 1800)
        deadline = time.monotonic() + timeout
        namespace = req.namespace if res.namespaced else None
        watcher = Watcher(res.group, res.kind, namespace, matches)
        epoch = fake.watch_epoch
        store = fake.store
        initial: list[tuple[str, dict[str, Any]]] = []
        gone: ApiError | None = None
        with store.lock:
            current_rv = store.rv
            since: int | None
            if send_initial or rv_param in ("", "0"):
                since = None
                for obj in store.list_objects(res.group, res.kind, namespace):
                    if matches(obj):
                        initial.append(("ADDED", obj))
            else:
                try:
                    since = int(rv_param)
                except ValueError:
                    raise errors.bad_request(f'invalid resource version "{rv_param}"') from None
            found = store.subscribe(watcher, since)
            if found is None:
                gone = errors.gone(rv_param, store.oldest_rv())
            for event in found or []:
                translated = _translate(event, matches)
                if translated:
                    initial.append(translated)
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-cache, private")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            if gone is not None:
                self._write_chunk(self._event_bytes("ERROR", gone.status()))
                self._write_chunk(b"")
                return
            for event_type, obj in initial:
                self._write_chunk(self._event_bytes(event_type, obj))
            if send_initial:
                bookmark = {
                    "kind": res.kind,
                    "apiVersion": res.api_version,
                    "metadata": {
                        "resourceVersion": str(current_rv),
                        "annotations": {INITIAL_EVENTS_END: "true"},
                    },
                }
                self._write_chunk(self._event_bytes("BOOKMARK", bookmark))
            while True:
                with watcher.cond:
                    while not watcher.events and not watcher.closed:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            break
                        watcher.cond.wait(min(remaining, 1.0))
                    events = list(watcher.events)
                    watcher.events.clear()
                    closed = watcher.closed
                for event in events:
                    translated = _translate(event, matches)
                    if translated:
                        self._write_chunk(self._event_bytes(*translated))
                if closed and fake.watch_epoch != epoch:
                    raise Dropped
                if closed or time.monotonic() >= deadline:
                    break
            self._write_chunk(b"")
        except Dropped:
            self._drop()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        finally:
            store.unsubscribe(watcher)


def _warning(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{escaped}"'


def _translate(event: WatchEvent, matches: Any) -> tuple[str, dict[str, Any]] | None:
    now = matches(event.obj)
    if event.type == "DELETED":
        return ("DELETED", event.obj) if now else None
    before = event.prev is not None and matches(event.prev)
    if now and before:
        return ("MODIFIED", event.obj)
    if now:
        return ("ADDED", event.obj)
    if before:
        return ("DELETED", event.obj)
    return None
