"""A connection to the API server: the chosen context of a kubeconfig as the client's configuration.

:func:`load_connection` reads the kubeconfig (:mod:`gitops.adapters.kubeconfig_source`), checks
where its credentials may go, and fills a ``kubernetes.client.Configuration`` for the context as
the client's own kubeconfig loader would (:func:`_configure`), without importing that loader for
the plain kubeconfigs clusters hand out; :class:`gitops.adapters.kube.Kube` sends on it.

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
  and removed by :meth:`gitops.adapters.kube.Kube.close`.

Credentials go out only as kubectl would send them: never over plain http except to this
machine (:func:`_check_transport`); a ``tokenFile`` read as client-go reads it
(:func:`_read_token_file`); an exec plugin that gives none is an error naming it, with its
stderr redacted (:func:`_check_exec`); ``insecure-skip-tls-verify`` warned about once.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import contextlib
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitops.adapters import kube_modules, kubeconfig_source, runner, textfile
from gitops.adapters.kubeconfig_source import KubeconfigSource
from gitops.core import transport
from gitops.core.redaction import url_credentials
from gitops.errors import ConfigurationError


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
    named = kubeconfig_source.named_context(data, context)
    for section, inner, name in (
        ("contexts", "context", context),
        ("clusters", "cluster", named.get("cluster")),
        ("users", "user", named.get("user")),
    ):
        entries = data.get(section) or []
        if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("name"), str) and e["name"] for e in entries
        ):
            return False
        if section == "users" and name is not None and not (isinstance(name, str) and name):
            return False  # the loader ignores an empty user name; select would not
        found = [e for e in entries if e["name"] == name]
        if len(found) > 1 or (found and not isinstance(found[0].get(inner), dict)):
            return False
    return _typed(cluster, _CLUSTER_KEYS) and _typed(user, _USER_KEYS)


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
    data = kubeconfig_source.read(source)
    where = source.describe()
    context, cluster, user = kubeconfig_source.select(data, source.context, where)
    named = kubeconfig_source.named_context(data, context)
    user_key = f"users[name={named.get('user') or ''}].user"
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
    return Connection(
        configuration=configuration,
        context=context,
        host=str(configuration.host),
        namespace=str(named.get("namespace") or "default"),
        secret_files=files,
    )


# -- credentials: token files, exec plugins, where they may be sent ---------------------------------


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
