"""The Kubernetes API, through the urllib3 pool of the ``kubernetes`` client (imported lazily).

We use the client for what it does well (auth incl. exec plugins, TLS, proxies, the urllib3
pool) and send raw REST requests on its pool, because we need things its typed API hides: the
structured 422 ``Status``, ``Retry-After``, ``application/apply-patch+yaml`` with ``force``,
``DeleteOptions`` with ``propagationPolicy`` and a uid precondition, and watch streams we can
reconnect ourselves. Only the client's settings, pool and exceptions modules are imported
(:mod:`gitops.adapters.kube_modules`): importing the whole package would be most of a small
run's start-up. The connection :class:`Kube` sends on - the kubeconfig's context, its
credentials (never written to disk by our hand), TLS - is :mod:`gitops.adapters.kube_connection`.

Requests: every one has a total deadline, ``--request-timeout`` from the first byte sent to the
last byte of the answer (:mod:`gitops.adapters.deadline`: a server that trickles one byte a
second is cut off, not waited for), within what is left of the verb's own budget; failures are
retried per :mod:`gitops.core.retry` (bounded attempts, backoff with jitter, ``Retry-After``);
the client's own urllib3 retries are switched off so a retry is always a decision we made and
logged. The server's answers are read by :mod:`gitops.core.documents` (bounded: a
100,000-deep answer is refused, not walked).

Why one module of ~650 lines: :class:`Kube` is ONE connection of one run - one pool, one
discovery cache, one retry policy, one set of request counters and open watch streams - and
every part of it (the raw request with its deadline and retries, discovery, the verbs, the
watch) sends through the same ``_open``. Split, the other modules would reach into the class's
pool and counters; the module is the class, its value types and the few helpers of its wire.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import quote

from gitops import __version__
from gitops.adapters import deadline, kube_modules, runner
from gitops.adapters.kube_connection import Connection, load_connection
from gitops.adapters.kubeconfig_source import KubeconfigSource
from gitops.core import documents
from gitops.core.retry import (
    RetryDecision,
    RetryPolicy,
    classify_response,
    classify_transport,
    delay_for,
    is_being_deleted,
)

DEFAULT_REQUEST_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0
USER_AGENT = f"gitops/{__version__}"
# Connections kept open per API server: the apply workers of the widest stage, the watches of a
# rollout wait, and spare; above it urllib3 would close (and reopen, with a TLS handshake) the extra.
POOL_CONNECTIONS = 32
# The API server's answers: any size it sends (bounded by PAYLOAD), never nested past its depth.
_ANSWER = documents.DocumentKind(title="Invalid API answer", limits=documents.PAYLOAD)


# -- errors --------------------------------------------------------------------------------------


class KubeError(Exception):
    """An API request that failed for good (after any retries). ``body`` is the ``Status``, if any."""

    def __init__(  # noqa: PLR0917 - mirrors the fields of the HTTP exchange
        self,
        method: str,
        path: str,
        status: int | None,
        message: str,
        body: Mapping[str, Any] | None = None,
        attempts: int = 1,
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.message = message
        self.body: dict[str, Any] = dict(body or {})
        self.attempts = attempts
        super().__init__(self.describe())

    @property
    def reason(self) -> str:
        return str(self.body.get("reason") or "")

    def describe(self) -> str:
        code = f"HTTP {self.status}" if self.status else "no response"
        tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        reason = f" {self.reason}" if self.reason else ""
        return f"{self.method} {self.path}: {code}{reason}{tries}: {self.message}"


# -- discovery -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiResource:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    verbs: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(
        self, namespace: str | None = None, name: str | None = None, subresource: str | None = None
    ) -> str:
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        parts = [root]
        if self.namespaced and namespace:
            parts.append(f"namespaces/{quote(namespace, safe='')}")
        parts.append(self.plural)
        if name:
            parts.append(quote(name, safe=""))
        if subresource:
            parts.append(subresource)
        return "/".join(parts)


@dataclass
class ListResult:
    items: list[dict[str, Any]]
    resource_version: str


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED | MODIFIED | DELETED | BOOKMARK | RELISTED (ours: a fresh list after reconnect)
    object: dict[str, Any]


# -- the client ------------------------------------------------------------------------------------


class Kube:
    """One API server connection for one run. Discovery is fetched lazily and cached for the run."""

    def __init__(
        self,
        connection: Connection,
        *,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.connection = connection
        self.request_timeout = request_timeout
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._rand = rand
        self._pool = _pool(connection.configuration)
        self._discovery: dict[str, dict[str, ApiResource] | None] = {}
        self._discovery_lock = threading.Lock()
        self.requests_sent = 0
        self.retries_done = 0
        self._stats_lock = threading.Lock()
        self._streams: dict[int, set[Any]] = {}

    @classmethod
    def connect(cls, source: KubeconfigSource, **kwargs: Any) -> Kube:
        return cls(load_connection(source), **kwargs)

    @property
    def host(self) -> str:
        return self.connection.host

    @property
    def default_namespace(self) -> str:
        return self.connection.namespace

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._pool.clear()
        self.connection.secret_files.close()

    def __enter__(self) -> Kube:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- raw requests ----------------------------------------------------------------------------

    def _open(self, call: _Call, read_timeout: float | None = None) -> Any:
        """Send one request (no retries); return the urllib3 response, body unread.

        As the client's ``ApiClient.call_api`` sends it: the URL under ``configuration.host``
        with each query value percent-encoded, the ``Authorization`` the configuration gives
        (which refreshes an exec plugin's expired token first), the body as JSON (JSON is YAML,
        so also for apply patches), and a TLS failure raised as ``ApiException(status=0)``.
        """
        import urllib3

        configuration = self.connection.configuration
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if call.content_type:
            headers["Content-Type"] = call.content_type
        elif call.body is not None:
            headers["Content-Type"] = "application/json"
        auth = configuration.auth_settings().get("BearerToken")
        if auth:
            headers[auth["key"]] = auth["value"]
        url = configuration.host + call.path
        if call.query:
            url += "?" + "&".join(f"{key}={quote(str(value))}" for key, value in call.query)
        payload = None if call.body is None else json.dumps(call.body, default=_json_value)
        with self._stats_lock:
            self.requests_sent += 1
        read = read_timeout or self.request_timeout
        try:
            return self._pool.request(
                call.method,
                url,
                body=payload,
                headers=headers,
                timeout=urllib3.Timeout(connect=min(CONNECT_TIMEOUT, read), read=read),
                preload_content=False,
            )
        except urllib3.exceptions.SSLError as exc:
            tls_failure: Any = _api_exception()
            raise tls_failure(status=0, reason=f"{type(exc).__name__}\n{exc}") from None

    def _exchange(self, call: _Call) -> tuple[int, Any, bytes]:
        """One request and its whole answer within ``request_timeout`` (and the verb's budget):
        (status, headers, body). A server too slow to finish raises :class:`_TooSlow`."""
        with self._on_time() as armed:
            response = self._open(call, read_timeout=armed.seconds)
            try:
                raw = response.read()
            finally:
                response.release_conn()
            if armed.expired:  # the body ended when the watchdog cut it: not the whole answer
                raise _TooSlow(armed.seconds)
        return int(response.status), response.headers, raw

    @contextlib.contextmanager
    def _on_time(self) -> Iterator[deadline.Armed]:
        """Armed with ``request_timeout`` (within the verb's budget): whatever fails once the
        deadline has cut the request off is :class:`_TooSlow`, not the transport error it caused."""
        with deadline.request(self.request_timeout) as armed:
            try:
                yield armed
            except Exception:
                if armed.expired:
                    raise _TooSlow(armed.seconds) from None
                raise

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        body: Any = None,
        content_type: str | None = None,
        not_found_ok: bool = False,
    ) -> dict[str, Any] | None:
        """Send with bounded retries; the parsed JSON answer, None for a 404 when ``not_found_ok``."""
        import urllib3

        call = _Call(method, path, query, body, content_type)
        attempt = 0
        while True:
            attempt += 1
            decision: RetryDecision
            last_status: int | None = None
            try:
                status, headers, raw = self._exchange(call)
                parsed = _json(raw)
                if status < 400:
                    return parsed if isinstance(parsed, dict) else {}
                if status == 404 and not_found_ok:
                    return None
                status_body = parsed if isinstance(parsed, dict) else {}
                decision = classify_response(status, status_body, headers.get("Retry-After"))
                last_status = status
                last_error = _message(status_body, raw)
                if not decision.retry or attempt >= self.retry.attempts:
                    raise KubeError(method, path, status, last_error, status_body, attempt)
            except deadline.VerbDeadlineExceeded as exc:
                raise KubeError(method, path, None, str(exc), None, attempt) from None
            except _TooSlow as exc:
                decision, last_error = classify_transport("ReadTimeoutError"), exc.message
                if attempt >= self.retry.attempts:
                    raise KubeError(method, path, None, last_error, None, attempt) from None
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                decision, last_error = classify_transport(type(exc).__name__), f"{type(exc).__name__}: {exc}"
                if attempt >= self.retry.attempts:
                    raise KubeError(method, path, None, last_error, None, attempt) from None
            except _api_exception() as exc:  # TLS failures come back as ApiException(status=0)
                raise KubeError(method, path, None, str(getattr(exc, "reason", exc)), None, attempt) from None
            delay = delay_for(self.retry, decision, attempt, self._rand())
            if not deadline.verb_has(delay):
                message = f"{last_error}; {deadline.verb_exhausted_message(before_retry=True)}"
                raise KubeError(method, path, last_status, message, None, attempt)
            with self._stats_lock:
                self.retries_done += 1
            runner.current().log(
                f"  retrying {method} {path}: {decision.why} (attempt {attempt + 1}/{self.retry.attempts} "
                f"in {delay:.1f}s)"
            )
            self._sleep(delay)

    # -- discovery -------------------------------------------------------------------------------

    def _group_version(self, api_version: str) -> dict[str, ApiResource] | None:
        with self._discovery_lock:
            if api_version in self._discovery:
                return self._discovery[api_version]
        path = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
        found = self.request("GET", path, not_found_ok=True)
        resources: dict[str, ApiResource] | None = None
        if found is not None:
            group, _, version = api_version.rpartition("/")
            resources = {}
            for item in found.get("resources") or []:
                if "/" in str(item.get("name", "")):
                    continue  # a subresource (statefulsets/status)
                resources[str(item["kind"])] = ApiResource(
                    group, version, str(item["kind"]), str(item["name"]), bool(item.get("namespaced")),
                    tuple(item.get("verbs") or ()),
                )  # fmt: skip
        with self._discovery_lock:
            self._discovery[api_version] = resources
        return resources

    def served_kinds(self, api_version: str) -> Mapping[str, ApiResource] | None:
        """Every kind the cluster serves in ``apiVersion`` (one request, cached); None: not served."""
        return self._group_version(api_version)

    def resource(self, api_version: str, kind: str) -> ApiResource | None:
        """The served resource for ``apiVersion``/``kind``; None when the cluster does not serve it."""
        resources = self._group_version(api_version)
        return None if resources is None else resources.get(kind)

    def _track(self, stop: threading.Event, response: Any) -> None:
        with self._stats_lock:
            self._streams.setdefault(id(stop), set()).add(response)
        if stop.is_set():
            self.interrupt(stop)

    def _untrack(self, stop: threading.Event, response: Any) -> None:
        with self._stats_lock:
            self._streams.get(id(stop), set()).discard(response)

    def interrupt(self, stop: threading.Event) -> None:
        """Unblock every watch stream started with ``stop`` (call after setting it)."""
        with self._stats_lock:
            responses = list(self._streams.pop(id(stop), set()))
        for response in responses:
            with contextlib.suppress(Exception):
                response.shutdown()

    def forget_discovery(self, api_version: str | None = None) -> None:
        """Drop cached discovery (after CRDs were established, new kinds appear)."""
        with self._discovery_lock:
            if api_version is None:
                self._discovery.clear()
            else:
                self._discovery.pop(api_version, None)

    def server_version(self) -> dict[str, Any]:
        return self.request("GET", "/version") or {}

    # -- verbs -------------------------------------------------------------------------------------

    def get(self, res: ApiResource, namespace: str | None, name: str) -> dict[str, Any] | None:
        return self.request("GET", res.path(namespace, name), not_found_ok=True)

    def list(
        self,
        res: ApiResource,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> ListResult:
        query = []
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        body = self.request("GET", res.path(namespace), query=query) or {}
        listed = body.get("items") or []
        if not isinstance(listed, list) or not all(isinstance(i, dict) for i in listed):
            raise KubeError("GET", res.path(namespace), 200, "the answer's items are not a list of objects")
        items = [dict(i) for i in listed]
        for item in items:  # LIST items carry no apiVersion/kind
            item.setdefault("apiVersion", res.api_version)
            item.setdefault("kind", res.kind)
        return ListResult(items, str((body.get("metadata") or {}).get("resourceVersion") or ""))

    def apply(
        self,
        res: ApiResource,
        obj: Mapping[str, Any],
        *,
        field_manager: str,
        force: bool = True,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Server-side apply (PATCH application/apply-patch+yaml; JSON is YAML)."""
        meta = obj.get("metadata") or {}
        query = [("fieldManager", field_manager)]
        if force:
            query.append(("force", "true"))
        if dry_run:
            query.append(("dryRun", "All"))
        return (
            self.request(
                "PATCH",
                res.path(meta.get("namespace"), meta["name"]),
                query=query,
                body=dict(obj),
                content_type="application/apply-patch+yaml",
            )
            or {}
        )

    def create(
        self, res: ApiResource, obj: Mapping[str, Any], *, field_manager: str, dry_run: bool = False
    ) -> dict[str, Any]:
        query = [("fieldManager", field_manager)]
        if dry_run:
            query.append(("dryRun", "All"))
        meta = obj.get("metadata") or {}
        try:
            return self.request("POST", res.path(meta.get("namespace")), query=query, body=dict(obj)) or {}
        except KubeError as err:
            # A retried POST whose first answer was lost finds its own object: that is success.
            # Not when the name belongs to an object still being deleted: that one is not ours.
            if (
                not dry_run
                and err.status == 409
                and err.reason == "AlreadyExists"
                and err.attempts > 1
                and not is_being_deleted(err.body)
            ):
                existing = self.get(res, meta.get("namespace"), meta["name"])
                if existing is not None:
                    return existing
            raise

    def delete(
        self,
        res: ApiResource,
        namespace: str | None,
        name: str,
        *,
        propagation: str,
        uid: str | None = None,
    ) -> dict[str, Any] | None:
        """DELETE with ``propagationPolicy`` and, if given, a uid precondition; None if already gone."""
        body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation}
        if uid:
            body["preconditions"] = {"uid": uid}
        return self.request("DELETE", res.path(namespace, name), body=body, not_found_ok=True)

    def patch(
        self,
        res: ApiResource,
        namespace: str | None,
        name: str,
        patch: Mapping[str, Any],
        *,
        patch_type: str = "strategic",
        field_manager: str | None = None,
    ) -> dict[str, Any]:
        content_type = {
            "strategic": "application/strategic-merge-patch+json",
            "merge": "application/merge-patch+json",
        }[patch_type]
        query = [("fieldManager", field_manager)] if field_manager else []
        return (
            self.request(
                "PATCH", res.path(namespace, name), query=query, body=dict(patch), content_type=content_type
            )
            or {}
        )

    # -- watch -------------------------------------------------------------------------------------

    def watch(
        self,
        res: ApiResource,
        namespace: str | None,
        *,
        stop: threading.Event,
        field_selector: str | None = None,
        server_timeout: int = 50,
        read_timeout: float = 65.0,
    ) -> Iterator[WatchEvent]:
        """LIST, then WATCH from its resourceVersion, reconnecting until ``stop`` is set.

        After every (re)list a ``RELISTED`` event carries ``{"items": [...]}`` so the caller can
        recompute its state from scratch; ``410 Gone`` (an expired resourceVersion) relists.
        The server ends a quiet stream after ``server_timeout`` (we reconnect at once); transport
        failures and 429/5xx reconnect with backoff; the caller bounds the wait. Set ``stop`` and
        call :meth:`interrupt` to end a stream that is waiting for data.
        """
        import urllib3

        at = _WatchPosition()
        while not stop.is_set():
            try:
                if at.version is None:
                    listed = self.list(res, namespace, field_selector=field_selector)
                    at.version = listed.resource_version
                    yield WatchEvent("RELISTED", {"items": listed.items})
                query = [
                    ("watch", "true"),
                    ("resourceVersion", at.version),
                    ("allowWatchBookmarks", "true"),
                    ("timeoutSeconds", str(server_timeout)),
                ]
                if field_selector:
                    query.append(("fieldSelector", field_selector))
                with self._on_time():  # the stream's head; then reads wait up to read_timeout each
                    response = self._open(_Call("GET", res.path(namespace), query), read_timeout=read_timeout)
                yield from self._stream(res, namespace, response, stop, at)
            except deadline.VerbDeadlineExceeded as exc:
                raise KubeError("WATCH", res.path(namespace), None, str(exc)) from None
            except (urllib3.exceptions.HTTPError, OSError, ValueError, _TooSlow, KubeError) as exc:
                delay = self._reconnect_delay(exc, at, stop)
                if delay is None:
                    return
                self._sleep(delay)

    def _stream(
        self,
        res: ApiResource,
        namespace: str | None,
        response: Any,
        stop: threading.Event,
        at: _WatchPosition,
    ) -> Iterator[WatchEvent]:
        """The events of one watch stream, ``at`` moved to each resourceVersion seen; ends when the
        server ends the stream (``410 Gone`` or an ``ERROR`` event of it: relist next) or backs off."""
        self._track(stop, response)
        try:
            if response.status == 410:
                at.version = None
                return
            if response.status >= 400:
                raw = response.read()
                status = _json_dict(raw)
                decision = classify_response(response.status, status, response.headers.get("Retry-After"))
                if not decision.retry:
                    raise KubeError(
                        "WATCH", res.path(namespace), response.status, _message(status, raw), status
                    )
                at.failures += 1
                self._sleep(delay_for(self.retry, decision, at.failures, self._rand()))
                return
            for event in _stream_events(response, stop):
                at.failures = 0
                etype = str(event.get("type"))
                obj = event.get("object") or {}
                if etype == "ERROR":
                    if int(obj.get("code") or 0) == 410:
                        at.version = None
                    return
                meta_version = (obj.get("metadata") or {}).get("resourceVersion")
                if meta_version:
                    at.version = str(meta_version)
                if etype == "BOOKMARK":
                    continue
                if obj.get("kind", res.kind) != res.kind or (
                    namespace and (obj.get("metadata") or {}).get("namespace", namespace) != namespace
                ):
                    continue  # not what we watch (a proxy or a fake mixing streams): never trust it
                obj.setdefault("apiVersion", res.api_version)
                obj.setdefault("kind", res.kind)
                yield WatchEvent(etype, obj)
        finally:
            # A watch body is never read to its end when we stop: close the connection instead of
            # returning it to the pool, where the next request would read the rest of this stream.
            self._untrack(stop, response)
            with contextlib.suppress(Exception):
                response.close()

    def _reconnect_delay(self, exc: Exception, at: _WatchPosition, stop: threading.Event) -> float | None:
        """After ``exc`` ended a list or a stream: how long to wait before reconnecting, or None to
        end the watch (``stop`` is set). A client error (4xx but 429) is raised: no retry changes it."""
        if isinstance(exc, KubeError):
            if exc.status is not None and exc.status < 500 and exc.status != 429:
                raise exc
            at.failures += 1
            return delay_for(self.retry, classify_transport("list"), min(at.failures, 6), self._rand())
        at.failures += 1
        if stop.is_set():
            return None
        return delay_for(
            self.retry, classify_transport(type(exc).__name__), min(at.failures, 6), self._rand()
        )


class _Call(NamedTuple):
    """One request as a verb asks for it."""

    method: str
    path: str
    query: Sequence[tuple[str, str]] = ()
    body: Any = None
    content_type: str | None = None


class _WatchPosition:
    """Where a watch stands: the resourceVersion to go on from (None: list again), failures in a row."""

    __slots__ = ("failures", "version")

    def __init__(self) -> None:
        self.version: str | None = None
        self.failures = 0


class _TooSlow(Exception):  # noqa: N818 - internal signal
    """The answer did not arrive completely within the request's deadline."""

    def __init__(self, seconds: float) -> None:
        self.message = (
            f"no complete answer within {seconds:g}s (--request-timeout): the API server sends too "
            "slowly, or nothing"
        )
        super().__init__(self.message)


def _stream_events(response: Any, stop: threading.Event) -> Iterator[dict[str, Any]]:
    buffer = b""
    while not stop.is_set():
        chunk = response.read1(65536)
        if not chunk:
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.strip():
                try:
                    event = documents.parse_json(line, None, _ANSWER)
                except documents.DocumentError as exc:
                    raise ValueError(exc.message) from None  # the watch reconnects
                if isinstance(event, dict):
                    yield event


def _json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return documents.parse_json(raw, None, _ANSWER)
    except documents.DocumentError:
        return None


def _json_dict(raw: bytes) -> dict[str, Any]:
    parsed = _json(raw)
    return parsed if isinstance(parsed, dict) else {}


def _message(status: Mapping[str, Any], raw: bytes) -> str:
    """What a failed request's answer says: its ``Status`` message, else the start of its body."""
    return str(status.get("message") or raw[:300].decode("utf-8", "replace"))


def _api_exception() -> type[Exception]:
    exc: type[Exception] = kube_modules.module("client.exceptions").ApiException
    return exc


def _pool(configuration: Any) -> Any:
    """The client's urllib3 pool for ``configuration`` (TLS, client certificate, proxy, keep-alive),
    with room for every connection a run keeps open at once (apply workers, watches)."""
    rest = kube_modules.module("client.rest")
    configuration.connection_pool_maxsize = max(configuration.connection_pool_maxsize or 0, POOL_CONNECTIONS)
    return rest.RESTClientObject(configuration).pool_manager


def _json_value(value: Any) -> Any:
    """What the client's ``sanitize_for_serialization`` makes of values JSON has no type for."""
    import datetime
    import decimal
    import enum
    import uuid

    if isinstance(value, datetime.date):  # also datetime.datetime
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
