"""Validate a kubeconfig before it becomes a GitHub environment secret (pure: text in, facts out).

A kubeconfig that is stored as a secret must work on another machine, unattended:

* exactly one ``current-context``, naming a context that is defined once;
* that context names a cluster whose ``server`` is an ``https://`` URL, and a user with
  credentials: a ``token``, client certificate + key (embedded ``*-data``), ``exec`` or
  ``auth-provider`` (https://kubernetes.io/docs/reference/config-api/kubeconfig.v1/);
* nothing refers to a file on this machine (``certificate-authority``, ``client-key``,
  ``tokenFile``), because the secret is read on a different runner;
* at most 48 KB (GitHub's limit for one secret, see :data:`MAX_SECRET_BYTES`).

Errors name the key path (``users[name=admin].user``) and the line, never the content:
a kubeconfig is a credential, and an error message ends up in a log. The text is read by
:mod:`gitops.core.documents` (limits, duplicate keys); what in it is a credential is decided
by :mod:`gitops.core.redaction`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from gitops.core import documents
from gitops.errors import ConfigurationError, Problem

# "Secrets are limited to 48 KB in size" (docs.github.com, Actions > Secrets reference).
# The limit is on the secret's value: we count the UTF-8 bytes of the kubeconfig, not its
# characters (a non-ASCII character is 2-4 bytes). The sealed box sent over the API is larger
# (see :func:`sealed_size`) and is reported next to it.
MAX_SECRET_BYTES = 48 * 1024

# crypto_box_seal output = 32-byte ephemeral public key + 16-byte MAC + the message.
SEALED_BOX_OVERHEAD = 48

HINT_FLATTEN = (
    "export a self-contained kubeconfig: `kubectl config view --raw --flatten --minify "
    "--context NAME > kubeconfig.yaml` (embeds certificates and keys, keeps only that context)"
)


@dataclass(frozen=True)
class KubeconfigFacts:
    """What a valid kubeconfig says, without any credential in it."""

    current_context: str
    cluster: str
    server: str
    user: str
    auth: str  # token | client-certificate | exec | auth-provider
    size_bytes: int
    sealed_size_bytes: int
    warnings: tuple[str, ...] = field(default_factory=tuple)


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8"))


def sealed_size(plain_bytes: int) -> int:
    """Length of the base64 ``encrypted_value`` GitHub receives for a value of ``plain_bytes``."""
    return 4 * math.ceil((plain_bytes + SEALED_BOX_OVERHEAD) / 3)


KUBECONFIG = documents.DocumentKind(
    title="Invalid kubeconfig", message="the kubeconfig is {problem}", hint=HINT_FLATTEN
)


# -- validation --------------------------------------------------------------------------------


# An entry of clusters/contexts/users: (its name, its index in the list, its cluster/context/user mapping).
_Entry = tuple[str, int, Mapping[str, Any]]


class _Findings:
    """The problems and warnings of one kubeconfig, each problem located by key path and line."""

    def __init__(self, loc: documents.Document, source: str) -> None:
        self.loc = loc
        self.source = source
        self.problems: list[Problem] = []
        self.warnings: list[str] = []

    def problem(self, message: str, at: Sequence[str | int], key: str) -> None:
        """``message`` about ``key``, at the line of the node ``at`` (or its deepest ancestor)."""
        self.problems.append(Problem(message, self.source, self.loc.line(at), key))

    def failed(self) -> ConfigurationError:
        return _failed(self.problems, self.source)


def validate_kubeconfig(text: str, source: str = "kubeconfig") -> KubeconfigFacts:
    """Parse and validate ``text``; raise one :class:`ConfigurationError` listing every problem."""
    size = _check_size(text, source)
    loc = _compose(text, source)
    data: Mapping[str, Any] = loc.data
    found = _Findings(loc, source)
    _check_document(data, found)
    context = _current_context(data, found)
    server = ""
    auth: str | None = None
    cluster = _referenced(context, "cluster", data, found)
    if cluster is not None:
        server = _check_cluster(*cluster, found)
    user = _referenced(context, "user", data, found)
    if user is not None:
        auth = _check_user(*user, found)
    if found.problems:
        raise found.failed()
    if cluster is None or user is None or auth is None:  # pragma: no cover
        raise _failed([Problem("incomplete kubeconfig", source)], source)  # unreachable: problems were raised
    return KubeconfigFacts(
        current_context=context[0],
        cluster=cluster[0],
        server=server,
        user=user[0],
        auth=auth,
        size_bytes=size,
        sealed_size_bytes=sealed_size(size),
        warnings=tuple(found.warnings),
    )


def _check_size(text: str, source: str) -> int:
    """The kubeconfig's size in bytes, refused above what GitHub stores in one secret."""
    size = utf8_size(text)
    if size > MAX_SECRET_BYTES:
        raise ConfigurationError(
            f"the kubeconfig is {size:,} bytes; GitHub stores at most {MAX_SECRET_BYTES:,} bytes "
            "(48 KB) in one secret",
            file=source,
            title="Kubeconfig too large",
            hint="keep only the one context the workflow needs: `kubectl config view --raw --flatten "
            "--minify --context NAME`",
        )
    return size


def _compose(text: str, source: str) -> documents.Document:
    """The one YAML mapping of ``text``, its duplicate keys listed (not refused) for the report."""
    if not text.strip():
        raise ConfigurationError("the kubeconfig is empty", file=source, title="Invalid kubeconfig")
    loc = documents.compose(text, source, KUBECONFIG, duplicates=True)
    if not isinstance(loc.data, Mapping):
        raise ConfigurationError(
            "the kubeconfig is not a YAML mapping (expected keys apiVersion, kind, clusters, contexts, "
            "users, current-context)",
            file=source,
            line=1,
            title="Invalid kubeconfig",
        )
    return loc


def _check_document(data: Mapping[str, Any], found: _Findings) -> None:
    """No key written twice, and ``kind: Config`` when a kind is given."""
    for duplicate in found.loc.duplicates:
        found.problems.append(
            Problem(
                "this key appears more than once in the same mapping; YAML readers disagree on which "
                "one wins, so keep exactly one",
                found.source,
                duplicate.line,
                duplicate.path,
            )
        )
    kind = data.get("kind")
    if kind is not None and kind != "Config":
        found.problem(f"`kind` must be Config, found {kind!r}", ("kind",), "kind")


def _current_context(data: Mapping[str, Any], found: _Findings) -> _Entry:
    """The context ``current-context`` names; without it nothing else can be checked, so every
    problem found so far is raised."""
    current = data.get("current-context")
    if not isinstance(current, str) or not current.strip():
        found.problem(
            "`current-context` is missing or empty; the secret's user could not know which cluster to "
            "talk to",
            ("current-context",),
            "current-context",
        )
        raise found.failed()
    context = _named(data, "contexts", current, found)
    if context is None:
        raise found.failed()
    return (current, *context)


def _named(
    data: Mapping[str, Any], section: str, name: str, found: _Findings
) -> tuple[int, Mapping[str, Any]] | None:
    """The entry ``name`` of ``clusters``/``contexts``/``users`` (index, body), with problems."""
    entries = data.get(section)
    if not isinstance(entries, list):
        if section in data:
            found.problem(f"`{section}` must be a list", (section,), section)
        else:
            found.problems.append(Problem(f"`{section}` is missing", found.source, None, section))
        return None
    matches = [i for i, e in enumerate(entries) if isinstance(e, Mapping) and e.get("name") == name]
    singular = section[:-1]
    if not matches:
        known = sorted(str(e.get("name")) for e in entries if isinstance(e, Mapping) and "name" in e)
        found.problem(
            f"no {singular} named {name!r} (defined: {', '.join(known) or 'none'})", (section,), section
        )
        return None
    if len(matches) > 1:
        lines = ", ".join(str(found.loc.line((section, i))) for i in matches)
        found.problem(
            f"{singular} {name!r} is defined {len(matches)} times (lines {lines}); keep one",
            (section, matches[1]),
            f"{section}[name={name}]",
        )
        return None
    index = matches[0]
    body = entries[index].get(singular)
    if not isinstance(body, Mapping):
        found.problem(
            f"`{singular}` must be a mapping", (section, index), f"{section}[name={name}].{singular}"
        )
        return None
    return index, body


def _referenced(context: _Entry, what: str, data: Mapping[str, Any], found: _Findings) -> _Entry | None:
    """The ``cluster`` or ``user`` the current context names, with problems."""
    current, index, body = context
    name = body.get(what)
    if not isinstance(name, str) or not name:
        found.problem(
            f"the current context names no {what}",
            ("contexts", index, "context"),
            f"contexts[name={current}].context.{what}",
        )
        return None
    entry = _named(data, f"{what}s", name, found)
    return None if entry is None else (name, *entry)


def _check_cluster(name: str, index: int, cluster: Mapping[str, Any], found: _Findings) -> str:
    """The cluster's https ``server`` URL; a CA given as a file is a problem, skipped TLS a warning."""
    key = f"clusters[name={name}].cluster"
    server = _check_server(
        cluster.get("server"), f"{key}.server", ("clusters", index, "cluster", "server"), found
    )
    if "certificate-authority" in cluster and "certificate-authority-data" not in cluster:
        found.problem(
            "`certificate-authority` is a file on this machine; the secret is used elsewhere",
            ("clusters", index, "cluster", "certificate-authority"),
            f"{key}.certificate-authority",
        )
    if cluster.get("insecure-skip-tls-verify") is True:
        found.warnings.append(
            f"{key}.insecure-skip-tls-verify is true: the server's certificate is not checked"
        )
    return server


def _check_user(name: str, index: int, user: Mapping[str, Any], found: _Findings) -> str | None:
    """How the user authenticates (:func:`_auth_method`); credentials in files are problems."""
    key = f"users[name={name}].user"
    for file_key in ("client-certificate", "client-key", "tokenFile"):
        if file_key in user and f"{file_key}-data" not in user:
            found.problem(
                f"`{file_key}` is a file on this machine; the secret is used elsewhere",
                ("users", index, "user", file_key),
                f"{key}.{file_key}",
            )
    auth = _auth_method(user)
    if auth is None:
        has_half_cert = bool(user.get("client-certificate-data")) != bool(user.get("client-key-data"))
        found.problem(
            "the user has a client certificate without its key (or a key without its certificate); both "
            "client-certificate-data and client-key-data are needed"
            if has_half_cert
            else "the user has no credentials: expected token, client-certificate-data + client-key-data, "
            "exec or auth-provider"
            + (
                " (username/password basic auth was removed in Kubernetes 1.19)" if "password" in user else ""
            ),
            ("users", index, "user"),
            key,
        )
    elif auth == "exec":
        found.warnings.append(
            f"{key} uses exec ({user['exec'].get('command')!s}): that program must be installed wherever "
            "the secret is used"
        )
    return auth


def _check_server(server: object, key: str, at: Sequence[str | int], found: _Findings) -> str:
    if not isinstance(server, str) or not server.strip():
        found.problem("the cluster has no `server` URL", at, key)
        return ""
    parts = urlsplit(server.strip())
    if parts.scheme != "https":
        found.problem(
            f"the server URL must use https:// (found {parts.scheme or 'no'} scheme); the Kubernetes API "
            "is only served over TLS",
            at,
            key,
        )
    elif not parts.hostname:
        found.problem("the server URL has no host", at, key)
    else:
        try:
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError:
            found.problem("the server URL has an invalid port", at, key)
    return server.strip()


def _auth_method(user: Mapping[str, Any]) -> str | None:
    if isinstance(user.get("exec"), Mapping) and user["exec"].get("command"):
        return "exec"
    if isinstance(user.get("auth-provider"), Mapping) and user["auth-provider"].get("name"):
        return "auth-provider"
    if isinstance(user.get("token"), str) and user["token"].strip():
        return "token"
    if user.get("client-certificate-data") and user.get("client-key-data"):
        return "client-certificate"
    return None


def _failed(problems: Sequence[Problem], source: str) -> ConfigurationError:
    first = problems[0]
    if len(problems) == 1:
        return ConfigurationError(
            first.message,
            file=source,
            line=first.line,
            key=first.key,
            title="Invalid kubeconfig",
            hint=HINT_FLATTEN,
        )
    return ConfigurationError(
        f"the kubeconfig has {len(problems)} problems",
        file=source,
        title="Invalid kubeconfig",
        hint=HINT_FLATTEN,
        problems=tuple(problems),
    )


def certificate_authority(text: str) -> str | None:
    """The base64 ``certificate-authority-data`` of the current context's cluster, if any.

    Only call on text that :func:`validate_kubeconfig` accepted.
    """
    data = documents.load(text, None, KUBECONFIG)
    context = next(c for c in data["contexts"] if c.get("name") == data["current-context"])["context"]
    cluster = next(c for c in data["clusters"] if c.get("name") == context["cluster"])["cluster"]
    value = cluster.get("certificate-authority-data")
    return value if isinstance(value, str) and value else None
