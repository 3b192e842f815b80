"""The Kubernetes API, through the urllib3 pool of the ``kubernetes`` client (imported lazily).

We use the client for what it does well (kubeconfig loading, auth incl. exec plugins, TLS,
proxies, the urllib3 pool) and send raw REST requests on its pool, because we need things its
typed API hides: the structured 422 ``Status``, ``Retry-After``, ``application/apply-patch+yaml``
with ``force``, ``DeleteOptions`` with ``propagationPolicy`` and a uid precondition, and watch
streams we can reconnect ourselves. Only the client's settings, pool and exceptions modules are
imported (:mod:`gitops.adapters.kube_modules`), and its kubeconfig loader only for the users
that need it (:func:`_configure`): importing the whole package would be most of a small run's start-up.

Requests: every one has a total deadline, ``--request-timeout`` from the first byte sent to the
last byte of the answer (:mod:`gitops.adapters.deadline`: a server that trickles one byte a
second is cut off, not waited for), within what is left of the verb's own budget; failures are
retried per :mod:`gitops.core.retry` (bounded attempts, backoff with jitter, ``Retry-After``);
the client's own urllib3 retries are switched off so a retry is always a decision we made and
logged.

Credentials never touch disk by our hand
-----------------------------------------
The ``kubernetes`` loader writes ``certificate-authority-data``, ``client-certificate-data``
and ``client-key-data`` to files from ``tempfile.mkstemp`` (mode 0600, under ``$TMPDIR``,
removed only ``atexit`` - so a killed process leaves the client KEY on disk), because
Python's ``ssl`` loads a client certificate only from a path. We avoid that entirely:

* the CA goes to urllib3 in memory (``Configuration.ca_cert_data``);
* the client certificate and key go into anonymous memory files (``os.memfd_create``, Linux)
  that the loader reads through ``/proc/self/fd/N``: nothing is written to any file system
  and the memory is freed when the process ends, however it ends;
* where ``memfd_create`` does not exist (macOS, Windows), they are written to a private
  0700 directory (under ``$RUNNER_TEMP`` in Actions, which the runner wipes after the job)
  and removed by :meth:`Kube.close`.

The kubeconfig content itself (``--kubeconfig-env VAR``) is parsed from the variable and
never written anywhere; every credential in it (what :mod:`gitops.core.redaction` says is
one, ``tokenFile`` contents included) is masked before anything is printed. Kubeconfigs and
the server's answers are read by :mod:`gitops.core.documents` (bounded: an alias bomb or a
100,000-deep answer is refused, not expanded).
"""

from __future__ import annotations

import atexit
import base64
import binascii
import contextlib
import json
import logging
import os
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gitops import __version__
from gitops.adapters import deadline, kube_modules, runner, textfile
from gitops.core import documents, transport
from gitops.core.redaction import kubeconfig_credentials, kubeconfig_text_pieces, token_files, url_credentials
from gitops.core.retry import (
    RetryDecision,
    RetryPolicy,
    classify_response,
    classify_transport,
    delay_for,
    is_being_deleted,
)
from gitops.errors import ConfigurationError

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


# -- kubeconfig ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KubeconfigSource:
    """Where the kubeconfig comes from: a file, the CONTENT of an env variable, or the defaults."""

    path: Path | None = None
    env_var: str | None = None
    context: str | None = None

    def describe(self) -> str:
        if self.env_var:
            return f"the kubeconfig in ${self.env_var}"
        if self.path:
            return str(self.path)
        return "the default kubeconfig ($KUBECONFIG or ~/.kube/config)"


def _mask_kubeconfig(data: Any) -> None:
    """Mask every credential of a parsed kubeconfig, the content of its token files included."""
    console = runner.current()
    for value in kubeconfig_credentials(data):
        console.mask(value)
    for path in token_files(data):
        with contextlib.suppress(OSError, UnicodeDecodeError):  # the client reports an unreadable file
            console.mask(Path(path).read_text(encoding="utf-8").strip())  # as the client sends it


def _parse_kubeconfig(text: str, source: str) -> dict[str, Any]:
    # Never echo the content: a kubeconfig is a credential. The loader names only the kind of
    # mistake (a tab, a bad indent, an alias bomb) and where it is.
    kind = documents.DocumentKind(
        title="Invalid kubeconfig",
        message=f"{source} is {{problem}}",
        hint="export it again with `kubectl config view --raw --flatten --minify`",
    )
    file = None if source.startswith("the kubeconfig in $") else source
    document = documents.compose(text, file, kind)
    data = document.data
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"{source} is not a kubeconfig (expected a mapping with clusters, contexts and users)",
            title="Invalid kubeconfig",
            hint="export it with `kubectl config view --raw --flatten --minify`",
        )
    _check_shape(data, document, file, source)
    return data


# The kubeconfig's named lists and the mapping inside each entry
# (https://kubernetes.io/docs/reference/config-api/kubeconfig.v1/).
_SECTIONS = {"clusters": "cluster", "contexts": "context", "users": "user"}


def _check_shape(
    data: Mapping[str, Any], document: documents.Document, file: str | None, source: str
) -> None:
    """The structure every reader after this one relies on: named lists of mappings, a string
    current-context. Named by key path and line, never by value (it is a credential)."""

    def fail(path: tuple[str | int, ...], what: str) -> ConfigurationError:
        return ConfigurationError(
            f"{source}: {documents.key_path(path)} {what}",
            file=file,
            line=document.line(path),
            key=documents.key_path(path),
            title="Invalid kubeconfig",
            hint="export it again with `kubectl config view --raw --flatten --minify`",
        )

    current = data.get("current-context")
    if current is not None and not isinstance(current, str):
        raise fail(("current-context",), "must be a context name")
    for section, inner in _SECTIONS.items():
        entries = data.get(section)
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise fail((section,), "must be a list")
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise fail((section, index), "must be a mapping with name and " + inner)
            if isinstance(entry.get("name"), dict | list):  # no name at all is the client loader's to judge
                raise fail((section, index, "name"), "must be a string")
            body = entry.get(inner)
            if body is not None and not isinstance(body, dict):
                raise fail((section, index, inner), "must be a mapping")


def _read_env_kubeconfig(name: str) -> tuple[str, dict[str, Any]]:
    run = runner.current()
    raw = os.environ.get(name, "")
    if not raw.strip():
        raise ConfigurationError(
            f"--kubeconfig-env {name}: the variable is unset or empty",
            key="--kubeconfig-env",
            title="Missing kubeconfig",
            hint="pass the kubeconfig content in the step's env, e.g. "
            f"`env: {{{name}: ${{{{ secrets.KUBECONFIG }}}}}}`",
        )
    text = raw
    if "apiVersion" not in raw and "clusters" not in raw:  # a base64-encoded kubeconfig secret is common
        with contextlib.suppress(binascii.Error, ValueError, UnicodeDecodeError):
            text = base64.b64decode(raw.strip(), validate=True).decode("utf-8")
            run.mask(raw.strip())
    for piece in kubeconfig_text_pieces(text):  # the whole content is a secret, line by line
        run.mask(piece)
    data = _parse_kubeconfig(text, f"the kubeconfig in ${name}")
    _mask_kubeconfig(data)
    return text, data


def _absolutize(data: dict[str, Any], base: Path) -> None:
    """Make relative file references absolute (kubectl resolves them against the file's directory)."""
    for section, inner, keys in (
        ("clusters", "cluster", ("certificate-authority",)),
        ("users", "user", ("client-certificate", "client-key", "tokenFile")),
    ):
        for entry in data.get(section) or []:
            body = (entry or {}).get(inner) or {}
            for key in keys:
                value = body.get(key)
                if isinstance(value, str) and value and not Path(value).is_absolute():
                    body[key] = str(base / value)


def _read_file_kubeconfigs(paths: Sequence[Path]) -> dict[str, Any]:
    """Load and merge kubeconfig files as kubectl does: the first file to define a name wins."""
    merged: dict[str, Any] = {"clusters": [], "contexts": [], "users": []}
    seen: dict[str, set[str]] = {"clusters": set(), "contexts": set(), "users": set()}
    for path in paths:
        try:
            text = textfile.read(path)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read kubeconfig {path}: {exc.strerror}",
                file=str(path),
                title="Missing kubeconfig",
                hint="pass --kubeconfig PATH or --kubeconfig-env VAR, or set $KUBECONFIG",
            ) from None
        data = _parse_kubeconfig(text, str(path))
        _absolutize(data, path.parent)
        _mask_kubeconfig(data)
        if not merged.get("current-context") and data.get("current-context"):
            merged["current-context"] = data["current-context"]
        for section in ("clusters", "contexts", "users"):
            for entry in data.get(section) or []:
                name = (entry or {}).get("name")
                if name and name not in seen[section]:
                    seen[section].add(name)
                    merged[section].append(entry)
    return merged


def _default_paths() -> list[Path]:
    env = os.environ.get("KUBECONFIG", "")
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    return [Path.home() / ".kube" / "config"]


def _select(
    data: Mapping[str, Any], context: str | None, source: str
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(context name, its cluster entry body, its user entry body); ConfigurationError when missing."""
    name = context or data.get("current-context")
    contexts = {
        c.get("name"): c.get("context") or {} for c in data.get("contexts") or [] if isinstance(c, dict)
    }
    if not name:
        raise ConfigurationError(
            f"{source} has no current-context and no --context was given",
            key="current-context",
            title="Invalid kubeconfig",
            hint=f"pass --context (one of: {', '.join(map(str, contexts)) or 'none defined'})",
        )
    if name not in contexts:
        raise ConfigurationError(
            f"context {name!r} is not defined in {source}",
            key="--context" if context else "current-context",
            title="Invalid kubeconfig",
            hint=f"pass --context NAME (one of: {', '.join(map(str, contexts)) or 'none defined'})",
        )
    ctx = contexts[name]
    clusters = {
        c.get("name"): c.get("cluster") or {} for c in data.get("clusters") or [] if isinstance(c, dict)
    }
    users = {u.get("name"): u.get("user") or {} for u in data.get("users") or [] if isinstance(u, dict)}
    if ctx.get("cluster") not in clusters:
        raise ConfigurationError(
            f"context {name!r} names cluster {ctx.get('cluster')!r}, which {source} does not define",
            title="Invalid kubeconfig",
        )
    cluster, user = clusters[ctx["cluster"]], users.get(ctx.get("user"), {})
    for what, body in (("cluster", cluster), ("user", user)):
        if not isinstance(body, dict):
            raise ConfigurationError(
                f"context {name!r} of {source}: its {what} entry is not a mapping",
                key=f"{what}s[name={ctx.get(what)}].{what}",
                title="Invalid kubeconfig",
                hint="export it again with `kubectl config view --raw --flatten --minify`",
            )
    return str(name), cluster, user


class _SecretFiles:
    """Client certificate/key material as paths, without writing it to a file system (see module doc)."""

    def __init__(self) -> None:
        self._fds: list[int] = []
        self._dir: Path | None = None
        self._lock = threading.Lock()

    def path_for(self, label: str, content: bytes) -> str:
        memfd_create = getattr(os, "memfd_create", None)
        if memfd_create is not None and Path("/proc/self/fd").is_dir():
            fd = memfd_create(f"gitops-{label}", getattr(os, "MFD_CLOEXEC", 0))
            os.write(fd, content)
            self._fds.append(fd)
            return f"/proc/self/fd/{fd}"
        with self._lock:
            if self._dir is None:
                parent = runner.current().env("RUNNER_TEMP") or None
                self._dir = Path(tempfile.mkdtemp(prefix="gitops-kube-", dir=parent))  # mode 0700
                atexit.register(self.close)
        target = self._dir / label
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        return str(target)

    def close(self) -> None:
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def _b64(value: str, what: str, source: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(
            f"{what} in {source} is not valid base64", title="Invalid kubeconfig"
        ) from None


# Keys of the selected cluster and user that _configure sets itself, with the type each must have;
# keys the client's loader never reads for such users (extensions, disable-compression) may be there too.
_CLUSTER_KEYS: dict[str, type] = {
    "server": str,
    "certificate-authority": str,
    "insecure-skip-tls-verify": bool,
    "tls-server-name": str,
    "proxy-url": str,
}
_USER_KEYS: dict[str, type] = {
    "token": str,
    "tokenFile": str,
    "client-certificate": str,
    "client-key": str,
    "username": str,
    "password": str,
}
_IGNORED_KEYS = frozenset({"extensions", "disable-compression"})


def _configure(
    configuration: Any,
    data: Mapping[str, Any],
    context: str,
    cluster: Mapping[str, Any],
    user: Mapping[str, Any],
) -> None:
    """Fill ``configuration`` for ``context`` exactly as the client's kubeconfig loader does.

    A kubeconfig of a server, its CA, TLS options, a proxy and a token, token file, client
    certificate or user name and password (what clusters hand out: k3s, kind, kubeadm,
    ``kubectl create token``) is set here field by field, as ``KubeConfigLoader`` of kubernetes
    37.0.2 sets it (``_load_user_token``, ``_load_user_pass_token``, ``_load_cluster_info``,
    ``_set_config``), without importing that loader: it imports the OAuth libraries and the typed
    ``ApiClient`` with its pydantic models. Everything else - exec plugins and auth providers
    (run, and refreshed when they expire, by the loader), and any entry of an unusual shape (a
    duplicate name, a null, an empty ``*-data``), whose errors are the loader's to give - goes
    through the loader itself. tests/unit/adapters/test_kube_configuration.py compares both on
    every shape the short path takes.
    """
    if not _plain(data, context, cluster, user):
        kube_config = kube_modules.module("config.kube_config")
        try:
            kube_config.load_kube_config_from_dict(
                data, context=context, client_configuration=configuration, persist_config=False
            )
        except kube_config.ConfigException as exc:
            raise ValueError(str(exc)) from None
        return
    token = _bearer(user)
    if token:
        configuration.api_key["BearerToken"] = token
    if "server" in cluster:  # else the client's default host stays: http://localhost
        configuration.host = cluster["server"].rstrip("/")
        if configuration.host.startswith("https"):
            configuration.ssl_ca_cert = _existing(cluster.get("certificate-authority"))
            configuration.cert_file = _existing(user.get("client-certificate"))
            configuration.key_file = _existing(user.get("client-key"))
    if "insecure-skip-tls-verify" in cluster:
        configuration.verify_ssl = not cluster["insecure-skip-tls-verify"]
    if "tls-server-name" in cluster:
        configuration.tls_server_name = cluster["tls-server-name"]
    if "proxy-url" in cluster:
        configuration.proxy = cluster["proxy-url"]


def _plain(
    data: Mapping[str, Any], context: str, cluster: Mapping[str, Any], user: Mapping[str, Any]
) -> bool:
    """Is this a kubeconfig :func:`_configure` sets itself (see there)?"""
    for section, inner, name in (
        ("contexts", "context", context),
        ("clusters", "cluster", _named(data, context).get("cluster")),
        ("users", "user", _named(data, context).get("user")),
    ):
        entries = data.get(section) or []
        if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("name"), str) and e["name"] for e in entries
        ):
            return False
        if section == "users" and name is not None and not (isinstance(name, str) and name):
            return False  # the loader ignores an empty user name; _select would not
        found = [e for e in entries if e["name"] == name]
        if len(found) > 1 or (found and not isinstance(found[0].get(inner), dict)):
            return False
    return _typed(cluster, _CLUSTER_KEYS) and _typed(user, _USER_KEYS)


def _named(data: Mapping[str, Any], context: str) -> Mapping[str, Any]:
    for entry in data.get("contexts") or []:
        body = entry.get("context") if isinstance(entry, dict) and entry.get("name") == context else None
        if isinstance(body, dict):
            return body
    return {}


def _typed(body: Mapping[str, Any], keys: Mapping[str, type]) -> bool:
    return all(
        (key in keys and type(value) is keys[key]) or key in _IGNORED_KEYS for key, value in body.items()
    )


def _bearer(user: Mapping[str, Any]) -> str | None:
    """The Authorization value: ``token`` (over ``tokenFile``, read as it is), else user and password."""
    if "token" in user:
        token = user["token"]
    elif "tokenFile" in user:
        with open(os.path.normpath(user["tokenFile"])) as handle:  # noqa: PTH123 - as the loader reads it
            token = handle.read()
    else:
        token = None
    if token:
        return f"Bearer {token}"
    if "username" in user and "password" in user:
        import urllib3

        basic = urllib3.util.make_headers(basic_auth=f"{user['username']}:{user['password']}")
        return str(basic["authorization"])
    return None


def _existing(path: str | None) -> str | None:
    if path is None:
        return None
    path = os.path.normpath(path)
    if not os.path.isfile(path):  # noqa: PTH113 - as the loader checks
        raise ValueError(f"File does not exist: {path}")
    return path


@dataclass
class Connection:
    """A loaded kubeconfig: the client configuration plus what we need to report."""

    configuration: Any  # kubernetes.client.Configuration
    context: str
    host: str
    namespace: str
    secret_files: _SecretFiles = field(default_factory=_SecretFiles)


def load_connection(source: KubeconfigSource) -> Connection:
    """Load ``source`` into a ``kubernetes.client.Configuration`` without writing credentials to disk."""
    if source.env_var:
        _text, data = _read_env_kubeconfig(source.env_var)
    else:
        paths = [source.path] if source.path else _default_paths()
        data = _read_file_kubeconfigs(paths)
    where = source.describe()
    context, cluster, user = _select(data, source.context, where)
    user_key = f"users[name={_user_name(data, context)}].user"
    _check_transport(cluster, user, where, context)
    _read_token_file(user, where, user_key)
    if cluster.get("insecure-skip-tls-verify") is True:
        runner.current().warning(
            f"{where}: the cluster of context {context!r} sets insecure-skip-tls-verify: its certificate is "
            "not checked (kubectl does the same), so anyone on the network path could pose as the API "
            "server and receive the credentials",
            title="TLS verification off",
        )
        _quiet_insecure_warnings()
    files = _SecretFiles()
    ca_data: bytes | None = None
    if cluster.get("certificate-authority-data"):
        ca_data = _b64(cluster.pop("certificate-authority-data"), "certificate-authority-data", where)
        cluster.pop("certificate-authority", None)
    for key in ("client-certificate", "client-key"):
        if user.get(f"{key}-data"):
            user[key] = files.path_for(key, _b64(user.pop(f"{key}-data"), f"{key}-data", where))
    configuration = kube_modules.module("client.configuration").Configuration()
    try:
        with _client_log() as logged:
            _configure(configuration, data, context, cluster, user)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        files.close()
        raise ConfigurationError(
            f"cannot use context {context!r} from {where}: {runner.current().redact(str(exc))}",
            title="Invalid kubeconfig",
            hint="check it with `kubectl --kubeconfig FILE config view --minify`",
        ) from None
    _check_exec(user, configuration, logged, where=where, user_key=user_key, files=files)
    if ca_data is not None:
        configuration.ssl_ca_cert = None
        configuration.ca_cert_data = (
            ca_data.decode("ascii", errors="replace") if b"BEGIN" in ca_data else ca_data
        )
    configuration.retries = False  # every retry is ours (gitops.core.retry), bounded and logged
    configuration.client_go_retries = False
    ctx = next((c.get("context") or {} for c in data.get("contexts") or [] if c.get("name") == context), {})
    return Connection(
        configuration=configuration,
        context=context,
        host=str(configuration.host),
        namespace=str(ctx.get("namespace") or "default"),
        secret_files=files,
    )


# -- credentials: token files, exec plugins, where they may be sent ---------------------------------


def _user_name(data: Mapping[str, Any], context: str) -> str:
    for entry in data.get("contexts") or []:
        if isinstance(entry, Mapping) and entry.get("name") == context:
            return str((entry.get("context") or {}).get("user") or "")
    return ""


_CREDENTIAL_FIELDS = ("token", "tokenFile", "username", "password", "exec", "auth-provider")


def _has_credentials(user: Mapping[str, Any]) -> bool:
    return any(user.get(key) for key in _CREDENTIAL_FIELDS)


def _check_transport(cluster: Mapping[str, Any], user: Mapping[str, Any], where: str, context: str) -> None:
    """A credential never goes to the API server over plain http, unless to this machine."""
    server = str(cluster.get("server") or "")
    if not server.strip().lower().startswith("http://"):
        return  # https, or a URL the client will refuse itself
    if not (_has_credentials(user) or url_credentials(server)):
        return  # anonymous requests: nothing to leak (kubectl proxy, a local test server)
    problem = transport.refuse_plain_http(server)
    if problem is not None:
        raise ConfigurationError(
            f"{where}: the server URL of context {context!r} {problem}",
            key="server",
            title="Insecure API server URL",
            hint="use the cluster's https:// URL (`kubectl config view --minify` shows it)",
        )


def _read_token_file(user: dict[str, Any], where: str, user_key: str) -> None:
    """Read ``tokenFile`` as kubectl does (client-go transport's fileTokenSource): the file's content
    with surrounding white space (the final newline every editor adds) trimmed; an empty file is an
    error; it wins over ``token`` when it can be read. The token then goes to the client as
    ``token``, so no reader of ours or the client's ever sees the newline."""
    path = user.get("tokenFile")
    if isinstance(path, str) and path.strip():
        key = f"{user_key}.tokenFile"
        try:
            token = textfile.read(path).strip()
        except OSError as exc:
            if isinstance(user.get("token"), str) and user["token"].strip():
                user.pop("tokenFile")  # client-go falls back to `token` when the file cannot be read
                return
            raise ConfigurationError(
                f"{where}: cannot read the token file {path}: {exc.strerror or type(exc).__name__}",
                key=key,
                title="Invalid kubeconfig",
                hint="point tokenFile at a readable file holding the bearer token",
            ) from None
        except UnicodeDecodeError:
            raise ConfigurationError(
                f"{where}: the token file {path} is not UTF-8 text",
                key=key,
                title="Invalid kubeconfig",
                hint="a bearer token is one line of text",
            ) from None
        if not token:
            raise ConfigurationError(
                f"{where}: the token file {path} is empty",
                key=key,
                title="Invalid kubeconfig",
                hint="write the bearer token into it, or remove tokenFile",
            )
        runner.current().mask(token)
        user["token"] = token
        user.pop("tokenFile")
    inline = user.get("token")
    if isinstance(inline, str) and any(ord(c) < 0x20 or ord(c) == 0x7F for c in inline.strip()):
        raise ConfigurationError(
            f"{where}: the bearer token contains a line break or another control character, which no "
            "HTTP header may carry",
            key=f"{user_key}.token",
            title="Invalid kubeconfig",
            hint="a bearer token is one line: copy it again without the break",
        )
    if isinstance(inline, str) and inline != inline.strip():
        user["token"] = inline.strip()


class _Captured(logging.Handler):
    """What the kubernetes client reports through ``logging`` only (see :func:`_client_log`)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.messages.append(record.getMessage())


@contextlib.contextmanager
def _client_log() -> Iterator[_Captured]:
    """Collect the kubernetes client's log records while it loads a kubeconfig.

    The client reports a failing exec credential plugin only as ``logging.error(str(exc))``, the
    plugin's stderr included, and goes on without credentials (the server then answers 401).
    Python would print that record to stderr past our redaction; collected here, it becomes an
    error that names the plugin (:func:`_check_exec`), printed redacted.
    """
    root = logging.getLogger()
    captured = _Captured()
    root.addHandler(captured)
    try:
        yield captured
    finally:
        root.removeHandler(captured)


def _check_exec(
    user: Mapping[str, Any],
    configuration: Any,
    logged: _Captured,
    *,
    where: str,
    user_key: str,
    files: _SecretFiles,
) -> None:
    """An exec plugin that gave no credential is the user's to fix, said with its (redacted) stderr."""
    plugin = user.get("exec")
    if not isinstance(plugin, Mapping):
        return
    console = runner.current()
    bearer = str((configuration.api_key or {}).get("BearerToken") or "")
    if bearer:
        console.mask(bearer.removeprefix("Bearer ").strip())  # the plugin's token
    if bearer or configuration.cert_file:
        return
    files.close()
    why = "; ".join(console.redact(m) for m in logged.messages if m.strip()) or "it returned no credential"
    command = str(plugin.get("command") or "")
    raise ConfigurationError(
        f"{where}: the exec credential plugin {command!r} failed: {why}",
        key=f"{user_key}.exec",
        title="Kubernetes credentials unavailable",
        hint=f"run `{command}` yourself to see why (kubectl runs the same plugin the same way): it must "
        "be installed here and logged in, and print an ExecCredential",
    )


def _quiet_insecure_warnings() -> None:
    """One warning of ours instead of urllib3's on every request (which would bypass redaction)."""
    import warnings

    import urllib3

    warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)


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

    def _open(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        body: Any = None,
        content_type: str | None = None,
        read_timeout: float | None = None,
    ) -> Any:
        """Send one request (no retries); return the urllib3 response, body unread.

        As the client's ``ApiClient.call_api`` sends it: the URL under ``configuration.host``
        with each query value percent-encoded, the ``Authorization`` the configuration gives
        (which refreshes an exec plugin's expired token first), the body as JSON (JSON is YAML,
        so also for apply patches), and a TLS failure raised as ``ApiException(status=0)``.
        """
        import urllib3

        configuration = self.connection.configuration
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if content_type:
            headers["Content-Type"] = content_type
        elif body is not None:
            headers["Content-Type"] = "application/json"
        auth = configuration.auth_settings().get("BearerToken")
        if auth:
            headers[auth["key"]] = auth["value"]
        url = configuration.host + path
        if query:
            url += "?" + "&".join(f"{key}={quote(str(value))}" for key, value in query)
        payload = None if body is None else json.dumps(body, default=_json_value)
        with self._stats_lock:
            self.requests_sent += 1
        read = read_timeout or self.request_timeout
        try:
            return self._pool.request(
                method,
                url,
                body=payload,
                headers=headers,
                timeout=urllib3.Timeout(connect=min(CONNECT_TIMEOUT, read), read=read),
                preload_content=False,
            )
        except urllib3.exceptions.SSLError as exc:
            tls_failure: Any = _api_exception()
            raise tls_failure(status=0, reason=f"{type(exc).__name__}\n{exc}") from None

    def _exchange(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        body: Any = None,
        content_type: str | None = None,
    ) -> tuple[int, Any, bytes]:
        """One request and its whole answer within ``request_timeout`` (and the verb's budget):
        (status, headers, body). A server too slow to finish raises :class:`_TooSlow`."""
        with deadline.request(self.request_timeout) as armed:
            try:
                seconds = armed.seconds
                response = self._open(
                    method, path, query=query, body=body, content_type=content_type, read_timeout=seconds
                )
                try:
                    raw = response.read()
                finally:
                    response.release_conn()
            except Exception:
                if armed.expired:
                    raise _TooSlow(armed.seconds) from None
                raise
            if armed.expired:  # the body ended when the watchdog cut it: not the whole answer
                raise _TooSlow(armed.seconds)
            return int(response.status), response.headers, raw

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

        attempt = 0
        while True:
            attempt += 1
            decision: RetryDecision
            last_status: int | None = None
            try:
                status, headers, raw = self._exchange(
                    method, path, query=query, body=body, content_type=content_type
                )
                parsed = _json(raw)
                if status < 400:
                    return parsed if isinstance(parsed, dict) else {}
                if status == 404 and not_found_ok:
                    return None
                status_body = parsed if isinstance(parsed, dict) else {}
                decision = classify_response(status, status_body, headers.get("Retry-After"))
                last_status = status
                last_error = str(status_body.get("message") or raw[:300].decode("utf-8", "replace") or "")
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

        version: str | None = None
        failures = 0
        while not stop.is_set():
            try:
                if version is None:
                    listed = self.list(res, namespace, field_selector=field_selector)
                    version = listed.resource_version
                    yield WatchEvent("RELISTED", {"items": listed.items})
                query = [
                    ("watch", "true"),
                    ("resourceVersion", version),
                    ("allowWatchBookmarks", "true"),
                    ("timeoutSeconds", str(server_timeout)),
                ]
                if field_selector:
                    query.append(("fieldSelector", field_selector))
                with deadline.request(self.request_timeout) as armed:  # the stream's head; then reads
                    try:
                        response = self._open(
                            "GET", res.path(namespace), query=query, read_timeout=read_timeout
                        )
                    except Exception:
                        if armed.expired:
                            raise _TooSlow(armed.seconds) from None
                        raise
                self._track(stop, response)
                try:
                    if response.status == 410:
                        version = None
                        continue
                    if response.status >= 400:
                        raw = response.read()
                        decision = classify_response(
                            response.status, _json_dict(raw), response.headers.get("Retry-After")
                        )
                        if not decision.retry:
                            raise KubeError(
                                "WATCH", res.path(namespace), response.status, _message(raw), _json_dict(raw)
                            )
                        failures += 1
                        self._sleep(delay_for(self.retry, decision, failures, self._rand()))
                        continue
                    for event in _stream_events(response, stop):
                        failures = 0
                        etype = str(event.get("type"))
                        obj = event.get("object") or {}
                        if etype == "ERROR":
                            if int(obj.get("code") or 0) == 410:
                                version = None
                            break
                        meta_version = (obj.get("metadata") or {}).get("resourceVersion")
                        if meta_version:
                            version = str(meta_version)
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
                    # A watch body is never read to its end when we stop: close the connection
                    # instead of returning it to the pool, where the next request would read
                    # the rest of this stream.
                    self._untrack(stop, response)
                    with contextlib.suppress(Exception):
                        response.close()
            except deadline.VerbDeadlineExceeded as exc:
                raise KubeError("WATCH", res.path(namespace), None, str(exc)) from None
            except (urllib3.exceptions.HTTPError, OSError, ValueError, _TooSlow) as exc:
                failures += 1
                if stop.is_set():
                    return
                decision = classify_transport(type(exc).__name__)
                self._sleep(delay_for(self.retry, decision, min(failures, 6), self._rand()))
            except KubeError as exc:
                if exc.status is not None and exc.status < 500 and exc.status != 429:
                    raise
                failures += 1
                self._sleep(delay_for(self.retry, classify_transport("list"), min(failures, 6), self._rand()))


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


def _message(raw: bytes) -> str:
    return str(_json_dict(raw).get("message") or raw[:300].decode("utf-8", "replace"))


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
