"""What is secret, and how text is cleaned of it: the one redaction authority (pure).

Every way out of the suite (stdout, stderr, annotations, ``$GITHUB_OUTPUT``,
``$GITHUB_STEP_SUMMARY``, exception messages, subprocess output) is printed through
:class:`gitops.adapters.runner.Runner`, which holds one :class:`Redactor` and sends each piece
it registers to the runner as ``::add-mask::``. This module decides *what* that is:

* **values registered at run time** (:meth:`Redactor.add`): substituted secret values, Secret
  data found in manifests (:func:`secret_object_values`), kubeconfig credentials
  (:func:`kubeconfig_credentials`, :func:`kubeconfig_text_pieces`), GitHub and Hetzner tokens,
  SSH keys. Each value is registered in every form it can take in our output
  (:func:`forms`): as is, each of its lines (the runner masks line by line, so a multi-line
  secret would otherwise leak one line at a time), its base64 (a Secret's ``data``), its
  JSON-escaped text (a value inside a JSON report) and its percent-encoding (inside a URL);
* **shapes recognised without registration** (:func:`redact_shapes`): the userinfo of a URL
  (``https://user:password@host``), PEM private-key blocks, and GitHub's token formats
  (``ghp_``, ``gho_``, ``ghu_``, ``ghs_``, ``ghr_``, ``github_pat_``; see "About
  authentication to GitHub", docs.github.com), so a credential we were never told about
  still does not get out;
* **values too short or too common to hide** (:func:`unmaskable`). Replacing every ``true``
  or every ``a`` with ``***`` would corrupt the JSON on stdout and every message while
  protecting nothing (a value that short is guessed, not leaked). The decision: a value
  shorter than :data:`MIN_LENGTH` characters, or equal to a YAML/JSON keyword
  (:data:`KEYWORDS`, any case), is **not registered**: it is neither sent as
  ``::add-mask::`` nor redacted from our output, and the caller warns the user (naming the
  variable, never the value) to use a real secret. Lines of a longer value that are short
  (a ``}`` of a JSON key file) are skipped silently: the value itself stays masked.

JSON stays valid: :meth:`Redactor.redact_data` redacts the strings of a structure before it
is serialised, and :meth:`Redactor.redact_json` falls back to that when redacting the text of
a JSON value would break it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from enum import Enum
from typing import Any, NamedTuple, TypeVar
from urllib.parse import quote, unquote, urlsplit

MASK = "***"

# The Azure Pipelines agent, which GitHub's runner grew from, has the same floor
# (SecretMasker.MinSecretLength; its tests use 4): below it, masking hides nothing.
MIN_LENGTH = 4

# Words that are data in every YAML/JSON document we print; a "secret" equal to one of them
# cannot be told apart from the word. Compared case-insensitively.
KEYWORDS = frozenset({"true", "false", "null", "none", "yes", "no", "on", "off"})


class Unmaskable(Enum):
    """Why a value is not registered (see the module docstring)."""

    TOO_SHORT = "too short"
    KEYWORD = "a YAML/JSON keyword"

    def explain(self, origin: str) -> str:
        """A warning about ``origin`` (a variable name, never the value)."""
        if self is Unmaskable.TOO_SHORT:
            why = f"is shorter than {MIN_LENGTH} characters"
        else:
            why = f"is a word of YAML/JSON ({', '.join(sorted(KEYWORDS))})"
        return (
            f"{origin} {why}: it cannot be hidden in logs and outputs without corrupting them, so it "
            "is not masked; use a real secret (a long random value)"
        )


def unmaskable(piece: str) -> Unmaskable | None:
    """Why ``piece`` cannot be masked, or None when it can."""
    stripped = piece.strip()
    if len(stripped) < MIN_LENGTH:
        return Unmaskable.TOO_SHORT
    if stripped.lower() in KEYWORDS:
        return Unmaskable.KEYWORD
    return None


def forms(value: str) -> list[str]:
    """Every form ``value`` can take in our output, longest first (blank and unmaskable ones left out)."""
    # The value without its final line break: redacting the break too would join two log lines.
    found = {value.rstrip("\r\n"), json.dumps(value, ensure_ascii=False)[1:-1], json.dumps(value)[1:-1]}
    found.add(quote(value, safe=""))
    found.add(base64.b64encode(value.encode("utf-8")).decode("ascii"))
    for line in value.splitlines():
        found.update((line, line.strip()))
    return sorted((f for f in found if unmaskable(f) is None), key=lambda f: (-len(f), f))


class Registration(NamedTuple):
    """What :meth:`Redactor.add` did with one value.

    (A NamedTuple, not a dataclass: every process imports this module through the runner, and
    `dataclasses` with what it imports costs a CLI start ~4 ms; benchmarks/results/changes.md.)
    """

    added: tuple[str, ...]  # pieces new to the redactor: send each to the runner once
    refused: Unmaskable | None = None  # the value itself cannot be masked (warn the user)


T = TypeVar("T")


class Redactor:
    """The registered secrets of one process and the redaction of text and data."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._ordered: list[str] = []

    def __contains__(self, piece: object) -> bool:
        return piece in self._secrets

    def add(self, value: str) -> Registration:
        """Register ``value`` in all its :func:`forms`; say which pieces are new."""
        refused = unmaskable(value)
        if refused is not None:
            return Registration((), refused)
        added = tuple(piece for piece in forms(value) if piece not in self._secrets)
        if added:
            self._secrets.update(added)
            self._ordered = sorted(self._secrets, key=lambda s: (-len(s), s))
        return Registration(added)

    def redact(self, text: str) -> str:
        """``text`` with every registered secret (longest first) and every secret shape masked."""
        for secret in self._ordered:
            if secret in text:
                text = text.replace(secret, MASK)
        return redact_shapes(text)

    def redact_data(self, data: T) -> T:
        """A copy of JSON-like ``data`` with every string (keys too) redacted; other scalars kept."""
        redacted: T = _redact_data(data, self.redact)
        return redacted

    def redact_json(self, text: str) -> str:
        """Redact ``text``; if it was valid JSON and text redaction broke it, redact its data instead."""
        redacted = self.redact(text)
        if redacted == text:
            return text
        try:
            data = json.loads(text)
        except ValueError:
            return redacted
        try:
            json.loads(redacted)
        except ValueError:
            return json.dumps(self.redact_data(data), ensure_ascii=False, separators=(",", ":"))
        return redacted


def _redact_data(data: Any, redact: Any) -> Any:
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, Mapping):
        return {redact(k) if isinstance(k, str) else k: _redact_data(v, redact) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_redact_data(v, redact) for v in data]
    return data


# -- shapes ------------------------------------------------------------------------------------

# RFC 3986 userinfo: everything between "scheme://" and the last "@" before the host. Quotes,
# backslashes and whitespace end it, so a URL inside JSON or a sentence is cut where it ends.
_USERINFO = re.compile(r"\b(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<userinfo>[^\s/?#@\"'<>\\]+)@")
_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?P<label>[A-Z0-9 ]*)PRIVATE KEY-----"
    r"(?:.*?-----END (?P=label)PRIVATE KEY-----|(?:[A-Za-z0-9+/=:,\-\s]|\\[nr])*)",
    re.DOTALL,
)
# https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/about-authentication-to-github#githubs-token-formats
_GITHUB_TOKEN = re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,242})\b")


def _userinfo(match: re.Match[str]) -> str:
    scheme, userinfo = match["scheme"], match["userinfo"]
    if ":" not in userinfo and scheme.lower() not in ("http", "https"):
        return match[0]  # ssh://git@host: a user name, no credential
    return f"{scheme}://{MASK}@"


def redact_shapes(text: str) -> str:
    """Mask URL userinfo, PEM private keys and GitHub tokens wherever they appear."""
    if "://" in text:
        text = _USERINFO.sub(_userinfo, text)
    if "PRIVATE KEY-----" in text:
        text = _PRIVATE_KEY.sub(MASK, text)
    if "gh" in text or "github_pat_" in text:
        text = _GITHUB_TOKEN.sub(MASK, text)
    return text


def url_credentials(url: str) -> list[str]:
    """The secrets in a URL's userinfo: the password, the user, both together; raw and decoded."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return []
    userinfo, at, _host = parts.netloc.rpartition("@")
    if not at:
        return []
    user, _, password = userinfo.partition(":")
    found = {userinfo, user, password, unquote(user), unquote(password), unquote(userinfo)}
    return sorted((v for v in found if v), key=len, reverse=True)


# -- Kubernetes Secrets -----------------------------------------------------------------------


def secret_object_values(objects: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every value of every v1 Secret: ``stringData``, ``data`` as written and decoded."""
    values: list[str] = []
    for obj in objects:
        if obj.get("kind") != "Secret" or obj.get("apiVersion") != "v1":
            continue
        for value in (obj.get("stringData") or {}).values():
            if isinstance(value, str) and value.strip():
                values.append(value)
        for value in (obj.get("data") or {}).values():
            if not isinstance(value, str) or not value.strip():
                continue
            values.append(value)
            with contextlib.suppress(binascii.Error, ValueError, UnicodeDecodeError):
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
                if decoded.strip():
                    values.append(decoded)
    return values


# -- kubeconfig credentials (https://kubernetes.io/docs/reference/config-api/kubeconfig.v1/) ---

# users[].user fields and auth-provider config keys whose value is a credential. `username` is
# half of a basic-auth pair; `client-certificate-data` is public, but masked as it always was.
CREDENTIAL_KEYS = frozenset(
    {
        "token",
        "client-key-data",
        "client-certificate-data",
        "password",
        "username",
        "id-token",
        "refresh-token",
        "client-secret",
        "access-token",
    }
)
# Fields holding a URL whose userinfo is a credential (clusters[].cluster).
URL_KEYS = frozenset({"server", "proxy-url"})


def kubeconfig_credentials(data: Any) -> list[str]:
    """Every credential in a parsed kubeconfig: the values of :data:`CREDENTIAL_KEYS` (and the
    decoded text of the ``*-data`` ones), exec plugin ``env`` values, URL userinfo."""
    return sorted(set(_credentials(data)), key=len, reverse=True)


def _credentials(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key in CREDENTIAL_KEYS and isinstance(value, str):
                yield value
                if str(key).endswith("-data"):
                    with contextlib.suppress(binascii.Error, ValueError, UnicodeDecodeError):
                        yield base64.b64decode(value, validate=True).decode("utf-8")
            elif key in URL_KEYS and isinstance(value, str):
                yield from url_credentials(value)
            elif key == "env" and isinstance(value, list):  # exec plugin env: values may be secrets
                for item in value:
                    if isinstance(item, Mapping) and isinstance(item.get("value"), str):
                        yield item["value"]
            else:
                yield from _credentials(value)
    elif isinstance(node, list):
        for item in node:
            yield from _credentials(item)


def token_files(data: Any) -> list[str]:
    """The ``tokenFile`` paths of a parsed kubeconfig's users (their content is a credential)."""
    paths: list[str] = []
    for entry in (data.get("users") if isinstance(data, Mapping) else None) or []:
        user = entry.get("user") if isinstance(entry, Mapping) else None
        path = user.get("tokenFile") if isinstance(user, Mapping) else None
        if isinstance(path, str) and path.strip():
            paths.append(path)
    return paths


# A line that carries no data: a bare key (`users:`, `- context:`), JSON punctuation, or a
# fixed header. Masking those would blank every `apiVersion: v1` in the rest of the job's log.
_STRUCTURAL = re.compile(r'^[\s\-{}\[\],]*("?[A-Za-z0-9_.-]+"?\s*:\s*[\[{]?\s*)?[\s{}\[\],]*$')
_HEADERS = {"apiVersion: v1", "kind: Config", "preferences: {}", '"apiVersion": "v1",', '"kind": "Config",'}


def kubeconfig_text_pieces(text: str) -> list[str]:
    """Every string to register for the TEXT of a kubeconfig, longest first.

    For a kubeconfig that is itself a secret (a variable's content, an uploaded secret): each
    line that carries data, stripped of its indentation (a leak rarely keeps it), every
    credential value on its own (so a value printed without its key is still masked) and URL
    userinfo. Works on text that is not valid YAML too: masking happens before parsing.
    """
    pieces: set[str] = set()
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line in _HEADERS or _STRUCTURAL.match(line):
            continue
        pieces.add(line)
        key, sep, value = line.lstrip("- ").partition(":")
        key = key.strip().strip('"')
        value = value.strip().strip(",").strip().strip("\"'")
        if sep and key in CREDENTIAL_KEYS and unmaskable(value) is None:
            pieces.add(value)
        elif sep and key in URL_KEYS:
            pieces.update(url_credentials(value))
    return sorted((p for p in pieces if unmaskable(p) is None), key=len, reverse=True)
