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


def _named(
    data: Mapping[str, Any],
    section: str,
    name: str,
    *,
    problems: list[Problem],
    loc: documents.Document,
    source: str,
) -> tuple[int, Mapping[str, Any]] | None:
    """The entry ``name`` of ``clusters``/``contexts``/``users`` (index, body), with problems."""
    entries = data.get(section)
    if not isinstance(entries, list):
        problems.append(
            Problem(f"`{section}` must be a list", source, loc.line((section,)), section)
            if section in data
            else Problem(f"`{section}` is missing", source, None, section)
        )
        return None
    matches = [i for i, e in enumerate(entries) if isinstance(e, Mapping) and e.get("name") == name]
    singular = section[:-1]
    if not matches:
        known = sorted(str(e.get("name")) for e in entries if isinstance(e, Mapping) and "name" in e)
        problems.append(
            Problem(
                f"no {singular} named {name!r} (defined: {', '.join(known) or 'none'})",
                source,
                loc.line((section,)),
                section,
            )
        )
        return None
    if len(matches) > 1:
        lines = ", ".join(str(loc.line((section, i))) for i in matches)
        problems.append(
            Problem(
                f"{singular} {name!r} is defined {len(matches)} times (lines {lines}); keep one",
                source,
                loc.line((section, matches[1])),
                f"{section}[name={name}]",
            )
        )
        return None
    index = matches[0]
    body = entries[index].get(singular)
    if not isinstance(body, Mapping):
        problems.append(
            Problem(
                f"`{singular}` must be a mapping",
                source,
                loc.line((section, index)),
                f"{section}[name={name}].{singular}",
            )
        )
        return None
    return index, body


def _check_server(server: object, key: str, line: int | None, source: str, problems: list[Problem]) -> str:
    if not isinstance(server, str) or not server.strip():
        problems.append(Problem("the cluster has no `server` URL", source, line, key))
        return ""
    parts = urlsplit(server.strip())
    if parts.scheme != "https":
        problems.append(
            Problem(
                f"the server URL must use https:// (found {parts.scheme or 'no'} scheme); the "
                "Kubernetes API is only served over TLS",
                source,
                line,
                key,
            )
        )
    elif not parts.hostname:
        problems.append(Problem("the server URL has no host", source, line, key))
    else:
        try:
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError:
            problems.append(Problem("the server URL has an invalid port", source, line, key))
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


def validate_kubeconfig(text: str, source: str = "kubeconfig") -> KubeconfigFacts:
    """Parse and validate ``text``; raise one :class:`ConfigurationError` listing every problem."""
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
    if not text.strip():
        raise ConfigurationError("the kubeconfig is empty", file=source, title="Invalid kubeconfig")
    loc = documents.compose(text, source, KUBECONFIG, duplicates=True)
    data = loc.data
    if not isinstance(data, Mapping):
        raise ConfigurationError(
            "the kubeconfig is not a YAML mapping (expected keys apiVersion, kind, clusters, contexts, "
            "users, current-context)",
            file=source,
            line=1,
            title="Invalid kubeconfig",
        )

    problems: list[Problem] = []
    warnings: list[str] = []
    for duplicate in loc.duplicates:
        problems.append(
            Problem(
                "this key appears more than once in the same mapping; YAML readers disagree on which "
                "one wins, so keep exactly one",
                source,
                duplicate.line,
                duplicate.path,
            )
        )
    kind = data.get("kind")
    if kind is not None and kind != "Config":
        problems.append(
            Problem(f"`kind` must be Config, found {kind!r}", source, loc.line(("kind",)), "kind")
        )

    current = data.get("current-context")
    if not isinstance(current, str) or not current.strip():
        problems.append(
            Problem(
                "`current-context` is missing or empty; the secret's user could not know which "
                "cluster to talk to",
                source,
                loc.line(("current-context",)),
                "current-context",
            )
        )
        raise _failed(problems, source)

    context_found = _named(data, "contexts", current, problems=problems, loc=loc, source=source)
    if context_found is None:
        raise _failed(problems, source)
    context_index, context = context_found
    context_key = f"contexts[name={current}].context"

    cluster_name = context.get("cluster")
    user_name = context.get("user")
    server = ""
    auth: str | None = None
    if not isinstance(cluster_name, str) or not cluster_name:
        problems.append(
            Problem(
                "the current context names no cluster",
                source,
                loc.line(("contexts", context_index, "context")),
                f"{context_key}.cluster",
            )
        )
    else:
        found = _named(data, "clusters", cluster_name, problems=problems, loc=loc, source=source)
        if found is not None:
            index, cluster = found
            key = f"clusters[name={cluster_name}].cluster"
            server = _check_server(
                cluster.get("server"),
                f"{key}.server",
                loc.line(("clusters", index, "cluster", "server")),
                source,
                problems,
            )
            if "certificate-authority" in cluster and "certificate-authority-data" not in cluster:
                problems.append(
                    Problem(
                        "`certificate-authority` is a file on this machine; the secret is used elsewhere",
                        source,
                        loc.line(("clusters", index, "cluster", "certificate-authority")),
                        f"{key}.certificate-authority",
                    )
                )
            if cluster.get("insecure-skip-tls-verify") is True:
                warnings.append(
                    f"{key}.insecure-skip-tls-verify is true: the server's certificate is not checked"
                )

    if not isinstance(user_name, str) or not user_name:
        problems.append(
            Problem(
                "the current context names no user",
                source,
                loc.line(("contexts", context_index, "context")),
                f"{context_key}.user",
            )
        )
    else:
        found = _named(data, "users", user_name, problems=problems, loc=loc, source=source)
        if found is not None:
            index, user = found
            key = f"users[name={user_name}].user"
            user_line = loc.line(("users", index, "user"))
            for file_key in ("client-certificate", "client-key", "tokenFile"):
                if file_key in user and f"{file_key}-data" not in user:
                    problems.append(
                        Problem(
                            f"`{file_key}` is a file on this machine; the secret is used elsewhere",
                            source,
                            loc.line(("users", index, "user", file_key)),
                            f"{key}.{file_key}",
                        )
                    )
            auth = _auth_method(user)
            if auth is None:
                has_half_cert = bool(user.get("client-certificate-data")) != bool(user.get("client-key-data"))
                problems.append(
                    Problem(
                        "the user has a client certificate without its key (or a key without its "
                        "certificate); both client-certificate-data and client-key-data are needed"
                        if has_half_cert
                        else "the user has no credentials: expected token, client-certificate-data + "
                        "client-key-data, exec or auth-provider"
                        + (
                            " (username/password basic auth was removed in Kubernetes 1.19)"
                            if "password" in user
                            else ""
                        ),
                        source,
                        user_line,
                        key,
                    )
                )
            elif auth == "exec":
                warnings.append(
                    f"{key} uses exec ({user['exec'].get('command')!s}): that program must be installed "
                    "wherever the secret is used"
                )
    if problems:
        raise _failed(problems, source)
    if (
        not isinstance(cluster_name, str) or not isinstance(user_name, str) or auth is None
    ):  # pragma: no cover
        raise _failed([Problem("incomplete kubeconfig", source)], source)  # unreachable: problems were raised
    return KubeconfigFacts(
        current_context=current,
        cluster=cluster_name,
        server=server,
        user=user_name,
        auth=auth,
        size_bytes=size,
        sealed_size_bytes=sealed_size(size),
        warnings=tuple(warnings),
    )


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
