"""Where a kubeconfig comes from and what it says: read, merged as kubectl merges, one context chosen.

A kubeconfig is a credential, so it is read with care:

* ``--kubeconfig-env VAR`` passes the kubeconfig's CONTENT (plain, or base64 as secrets often hold
  it) in a variable: it is parsed from there and never written anywhere; the whole text is masked
  line by line before anything can print it (:func:`read_env`);
* ``--kubeconfig PATH``, else ``$KUBECONFIG`` (a list of files) or ``~/.kube/config``, are read
  (bounded, UTF-8: :mod:`gitops.adapters.textfile`) and merged as kubectl merges them: the first
  file to define a name wins; relative file references are resolved against their file's
  directory (:func:`read_files`);
* every credential in it (what :mod:`gitops.core.redaction` says is one, ``tokenFile`` contents
  included) is masked as soon as it is read;
* the text is read by :mod:`gitops.core.documents` (bounded: an alias bomb is refused, not
  expanded), and the structure every later reader relies on is checked here (:func:`_check_shape`);
  errors name the key path and line, never a value.

:func:`select` picks the context (``--context``, else ``current-context``) and its cluster and user.
Turning them into a client configuration is :mod:`gitops.adapters.kube_connection`
(https://kubernetes.io/docs/reference/config-api/kubeconfig.v1/).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops.adapters import runner, textfile
from gitops.core import documents
from gitops.core.redaction import kubeconfig_credentials, kubeconfig_text_pieces, token_files
from gitops.errors import ConfigurationError


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
        # Bounded (tokenFile: /dev/zero must not fill the memory); what cannot be read is
        # reported by the token file's reader (kube_connection), naming the key.
        with contextlib.suppress(OSError):
            console.mask(textfile.read(path).strip())  # as the client sends it


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


def read_env(name: str) -> tuple[str, dict[str, Any]]:
    """(text, data) of the kubeconfig whose content is in ``$name`` (plain or base64), masked."""
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


def read_files(paths: Sequence[Path]) -> dict[str, Any]:
    """Load and merge kubeconfig files as kubectl does: the first file to define a name wins."""
    merged: dict[str, Any] = {"clusters": [], "contexts": [], "users": []}
    seen: dict[str, set[str]] = {"clusters": set(), "contexts": set(), "users": set()}
    for path in paths:
        text = textfile.read_input(
            path,
            what=f"kubeconfig {path}",
            title="Missing kubeconfig",
            hint="pass --kubeconfig PATH or --kubeconfig-env VAR, or set $KUBECONFIG",
        )
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


def read(source: KubeconfigSource) -> dict[str, Any]:
    """The kubeconfig ``source`` names, parsed and checked, every credential in it masked."""
    if source.env_var:
        return read_env(source.env_var)[1]
    return read_files([source.path] if source.path else _default_paths())


def _default_paths() -> list[Path]:
    env = os.environ.get("KUBECONFIG", "")
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    return [Path.home() / ".kube" / "config"]


def select(
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


def named_context(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """The body of the first context called ``name`` (its cluster, user, namespace); {} if none."""
    for entry in data.get("contexts") or []:
        if isinstance(entry, Mapping) and entry.get("name") == name:
            body = entry.get("context")
            return body if isinstance(body, Mapping) else {}
    return {}
