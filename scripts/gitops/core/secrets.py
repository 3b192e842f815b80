"""Placeholder secrets in rendered manifests: find them, name their variables, substitute. Pure.

A *placeholder* is a ``Secret`` value that equals the placeholder text (default
``StrongBase64Password``): in ``stringData`` the text itself; in ``data`` the text itself (as the
reference's Secret templates write it: the name says it stands for a base64 value) or its
base64. Each one is filled from a variable:

* by convention the variable named like the key (``POSTGRES_SA_PASSWORD``); a key that is
  not a valid variable name is upper-cased with every other character turned into ``_``
  (``tls.crt`` -> ``TLS_CRT``, ``redis-password`` -> ``REDIS_PASSWORD``);
* or through a *secret map* (:mod:`gitops.core.secret_map`; YAML: Secret name -> JSONPath
  expression -> variable), which overrides the convention for the values its expressions select::

      postgres-credentials:
        "$.stringData.POSTGRES_SA_PASSWORD": PG_SA
      "default/redis-acl":            # namespace/name also works
        "$.data.*": REDIS_SHARED      # one variable for every placeholder in data

Rules (each one has a test in ``tests/unit/core/test_secrets.py``):

* ``data`` gets the base64 of the value's bytes, whichever form the placeholder had there
  (UTF-8; a value that came from non-UTF-8 environment bytes keeps its exact bytes);
  ``stringData`` gets the text unchanged.
* A key in **both** ``data`` and ``stringData``: the API server merges ``stringData`` over
  ``data`` (https://kubernetes.io/docs/concepts/configuration/secret/), so the ``stringData``
  value is the one that counts. If it is a placeholder the key needs its variable and a
  placeholder in ``data`` for the same key gets the same value (base64). If ``stringData``
  holds a real value, a placeholder under ``data`` is dead: it needs no variable and is
  replaced by the base64 of the ``stringData`` value, so the manifest agrees with what the
  API server stores and no placeholder is left. A real ``data`` value next to a placeholder
  in ``stringData`` is left alone (the server overwrites it).
* Empty values: a variable that is not set is *missing*. A variable set to ``""`` is missing
  too unless ``allow_empty`` is given, because in GitHub Actions ``${{ secrets.NAME }}`` of a
  secret that does not exist expands to ``""``: an empty value cannot be told apart from a
  forgotten secret, and silently deploying an empty password is the worse failure. With
  ``allow_empty`` the empty string is a value like any other (``data: ""``).
* Whatever could not be substituted fails as ONE :class:`~gitops.errors.ConfigurationError`
  listing every Secret/key/variable: unset variables, placeholders anywhere else (inside a
  longer string, in a ConfigMap, ...), a value that itself contains the placeholder, and
  map entries that select nothing or something that is not a placeholder. Messages carry
  names only, never a value.
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from gitops.core.secret_map import VARIABLE, SecretMap, Site, select
from gitops.errors import ConfigurationError, Problem

DEFAULT_PLACEHOLDER = "StrongBase64Password"
FIELDS: tuple[str, str] = ("data", "stringData")
State = Literal["set", "empty", "unset"]


def variable_for_key(key: str) -> str:
    """The variable that fills ``key`` by convention (see the module docstring)."""
    if VARIABLE.match(key):
        return key
    name = re.sub(r"[^A-Za-z0-9]", "_", key).upper()
    return f"_{name}" if name[:1].isdigit() or not name else name


def value_bytes(value: str) -> bytes:
    """The bytes of a variable's value: UTF-8, with the original bytes of undecodable input kept.

    Python decodes environment bytes that are not UTF-8 with ``surrogateescape``; encoding
    the same way gives back exactly the bytes the caller put in the variable.
    """
    return value.encode("utf-8", "surrogateescape")


def encode_data(value: str) -> str:
    """The ``data`` form of a value: base64 of its bytes."""
    return base64.b64encode(value_bytes(value)).decode("ascii")


def _decode_data(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _is_data_placeholder(value: Any, placeholder: str) -> bool:
    """A ``data`` value that stands for the placeholder: the text itself, or its base64."""
    return isinstance(value, str) and (
        value == placeholder or _decode_data(value) == placeholder.encode("utf-8")
    )


# -- scanning ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placeholder:
    """A Secret key whose effective value is the placeholder, and the variable that fills it."""

    index: int  # position of the Secret in the document list
    secret: str
    namespace: str | None
    key: str
    fields: tuple[str, ...]  # the fields whose value for ``key`` is the placeholder
    variable: str
    via: str  # "convention", or the secret map expression

    def describe(self) -> str:
        where = " and ".join(self.fields)
        return f"Secret {self.secret}, key {self.key} ({where})"


@dataclass(frozen=True)
class ShadowedData:
    """A ``data`` placeholder made irrelevant by a real ``stringData`` value for the same key."""

    index: int
    key: str


@dataclass(frozen=True)
class Scan:
    """What :func:`scan` found in a list of documents. Holds names only, never values."""

    placeholder: str
    placeholders: tuple[Placeholder, ...] = ()
    shadowed: tuple[ShadowedData, ...] = ()
    map_problems: tuple[Problem, ...] = ()
    strays: tuple[Problem, ...] = ()  # placeholders that cannot be substituted
    stray_sites: tuple[tuple[int, str], ...] = ()  # (document index, path) of each stray, same order
    unused_map_secrets: tuple[str, ...] = ()  # map entries for Secrets not in these documents

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self.map_problems + self.strays

    def variables(self) -> list[str]:
        """Every variable needed, in first-use order, without duplicates."""
        return list(dict.fromkeys(p.variable for p in self.placeholders))


@dataclass(frozen=True)
class NeededSecret:
    """One Secret key that needs a value, and whether its variable provides one."""

    secret: str
    key: str
    variable: str
    is_set: bool
    state: State = "unset"
    fields: tuple[str, ...] = field(default=("stringData",))
    namespace: str | None = None
    via: str = "convention"

    def to_json(self) -> dict[str, Any]:
        return {
            "secret": self.secret,
            "namespace": self.namespace,
            "key": self.key,
            "fields": list(self.fields),
            "variable": self.variable,
            "set": self.is_set,
            "state": self.state,
            "via": self.via,
        }


def _is_secret(doc: Mapping[str, Any]) -> bool:
    return doc.get("kind") == "Secret" and doc.get("apiVersion") == "v1"


def _meta(doc: Mapping[str, Any]) -> tuple[str, str | None]:
    meta = doc.get("metadata") or {}
    if not isinstance(meta, Mapping):
        return "<unnamed>", None
    name = meta.get("name") or meta.get("generateName") or "<unnamed>"
    namespace = meta.get("namespace")
    return str(name), str(namespace) if namespace else None


def _field(doc: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = doc.get(name)
    return value if isinstance(value, Mapping) else {}


def _probe(doc: Mapping[str, Any]) -> dict[str, Any]:
    """What a secret map's expressions see of a Secret: its data/stringData values as :class:`Site` s."""
    probe = {k: v for k, v in doc.items() if k not in FIELDS}
    for name in FIELDS:
        if name in doc:
            values = _field(doc, name)
            probe[name] = {key: Site(name, str(key)) for key in values}
    return probe


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")


def _object_name(doc: Mapping[str, Any]) -> str:
    name, _ = _meta(doc)
    return f"{doc.get('kind', '<no kind>')}/{name}"


def find_placeholder_text(
    docs: Sequence[Mapping[str, Any]],
    placeholder: str,
    skip: set[tuple[int, str, str]] | None = None,
) -> list[tuple[int, str, str]]:
    """Every (document index, path, kind of hit) where the placeholder still appears.

    Looks at every string of every object (the placeholder inside a longer string, in a
    ConfigMap, an env var, an annotation), at the base64 form of the placeholder, and inside
    decoded Secret ``data`` values. ``skip`` holds (index, field, key) sites to ignore.
    """
    raw = placeholder.encode("utf-8")
    encoded = base64.b64encode(raw).decode("ascii")
    hits: list[tuple[int, str, str]] = []
    skip = skip or set()
    for index, doc in enumerate(docs):
        secret = _is_secret(doc)
        for path, text in _strings(doc, ""):
            head, _, key = path.partition(".")
            if secret and head in FIELDS and (index, head, key) in skip:
                continue
            if placeholder in text or encoded in text:
                hits.append((index, path, "text"))
            elif secret and head == "data":
                decoded = _decode_data(text)
                if decoded is not None and raw in decoded:
                    hits.append((index, path, "base64"))
    return hits


def _stray(docs: Sequence[Mapping[str, Any]], index: int, path: str, how: str) -> Problem:
    """Why the placeholder at ``path`` cannot be substituted, in words true for that place."""
    doc = docs[index]
    head, _, key = path.partition(".")
    if how == "base64":
        why = (
            "decodes to text that holds the placeholder but is not exactly it (a trailing newline "
            "from `echo` without -n?); only a value that is exactly the placeholder, or its base64, "
            "is substituted"
        )
    elif _is_secret(doc) and head in FIELDS and key in _field(doc, head):
        why = (
            "holds the placeholder inside a longer value, so it cannot be substituted: only a value "
            "that is exactly the placeholder is; put the whole value (e.g. the URL) in the variable"
        )
    elif _is_secret(doc):
        why = (
            "holds the placeholder outside data and stringData, so it cannot be substituted: only "
            "the values under a Secret's data or stringData are"
        )
    else:
        why = (
            f"holds the placeholder, but a {doc.get('kind', 'document')} is not a Secret, so it "
            "cannot be substituted: put the value in a Secret's data or stringData and refer to it"
        )
    return Problem(f"{_object_name(doc)} {path}: {why}")


def scan(
    docs: Sequence[Mapping[str, Any]],
    placeholder: str = DEFAULT_PLACEHOLDER,
    secret_map: SecretMap | None = None,
) -> Scan:
    """Find every placeholder in ``docs`` and the variable each one needs. Needs no values."""
    if not placeholder:
        raise ConfigurationError(
            "the placeholder must not be empty",
            key="--placeholder",
            title="Invalid input",
            hint="Pass the text your Secrets use as a stand-in, e.g. --placeholder StrongBase64Password.",
        )
    source = secret_map.source if secret_map else ""
    placeholders: list[Placeholder] = []
    shadowed: list[ShadowedData] = []
    map_problems: list[Problem] = []
    sites: set[tuple[int, str, str]] = set()
    seen_map_secrets: set[str] = set()
    for index, doc in enumerate(docs):
        if not _is_secret(doc):
            continue
        name, namespace = _meta(doc)
        data, string_data = _field(doc, "data"), _field(doc, "stringData")
        is_placeholder: dict[tuple[str, str], bool] = {}
        for key, value in string_data.items():
            is_placeholder["stringData", str(key)] = value == placeholder
        for key, value in data.items():
            is_placeholder["data", str(key)] = _is_data_placeholder(value, placeholder)
        entries = secret_map.for_secret(name, namespace) if secret_map else []
        seen_map_secrets.update(e.secret for e in entries)
        chosen, problems = select(_meta(doc)[0], _probe(doc), entries, source, is_placeholder)
        map_problems.extend(problems)
        keys = list(dict.fromkeys([*map(str, data), *map(str, string_data)]))  # kustomize's order
        for key in keys:
            in_sd = key in string_data
            sd_ph = is_placeholder.get(("stringData", key), False)
            d_ph = is_placeholder.get(("data", key), False)
            if in_sd and not sd_ph:
                if d_ph:  # dead placeholder: the server keeps stringData's value
                    shadowed.append(ShadowedData(index, key))
                    sites.add((index, "data", key))
                continue
            fields = tuple(f for f, hit in (("stringData", sd_ph), ("data", d_ph)) if hit)
            if not fields:
                continue
            sites.update((index, f, key) for f in fields)
            mapped = [e for f in fields for e in chosen.get((f, key), [])]
            variables = list(dict.fromkeys(e.variable for e in mapped))
            if len(variables) > 1:
                map_problems.append(
                    Problem(
                        f"Secret {name}, key {key}: map entries disagree on the variable "
                        f"({', '.join(variables)}); one key has one value",
                        source,
                        mapped[0].line,
                        mapped[0].key_path(),
                    )
                )
            if mapped:
                variable, via = mapped[0].variable, mapped[0].expression
            else:
                variable, via = variable_for_key(key), "convention"
            placeholders.append(Placeholder(index, name, namespace, key, fields, variable, via))
    hits = find_placeholder_text(docs, placeholder, sites)
    strays = [_stray(docs, index, path, how) for index, path, how in hits]
    unused = tuple(sorted({e.secret for e in secret_map.entries} - seen_map_secrets) if secret_map else ())
    return Scan(
        placeholder,
        placeholders=tuple(placeholders),
        shadowed=tuple(shadowed),
        map_problems=tuple(map_problems),
        strays=tuple(strays),
        stray_sites=tuple((index, path) for index, path, _ in hits),
        unused_map_secrets=unused,
    )


# -- values and substitution ---------------------------------------------------------------


def state_of(variable: str, env: Mapping[str, str], *, allow_empty: bool = False) -> State:
    if variable not in env:
        return "unset"
    if env[variable] == "" and not allow_empty:
        return "empty"
    return "set"


def needed(scan_result: Scan, env: Mapping[str, str], *, allow_empty: bool = False) -> list[NeededSecret]:
    """Every placeholder with its variable and whether ``env`` provides a value (values not kept)."""
    result = []
    for p in scan_result.placeholders:
        state = state_of(p.variable, env, allow_empty=allow_empty)
        result.append(
            NeededSecret(p.secret, p.key, p.variable, state == "set", state, p.fields, p.namespace, p.via)
        )
    return result


def values_for(scan_result: Scan, env: Mapping[str, str], *, allow_empty: bool = False) -> dict[str, str]:
    """The values of the needed variables that are set (to mask them before anything else)."""
    return {v: env[v] for v in scan_result.variables() if state_of(v, env, allow_empty=allow_empty) == "set"}


def _missing_problem(p: Placeholder, state: State) -> Problem:
    why = "is set but empty (pass --allow-empty if empty is intended)" if state == "empty" else "is not set"
    return Problem(f"variable {p.variable} {why}: {p.describe()}")


def substitute(
    docs: Sequence[Mapping[str, Any]],
    scan_result: Scan,
    env: Mapping[str, str],
    *,
    allow_empty: bool = False,
    source: str | None = None,
) -> list[dict[str, Any]]:
    """A copy of ``docs`` with every placeholder replaced from ``env``.

    Raises one :class:`ConfigurationError` listing every problem: map entries that select the
    wrong thing, unset (or, without ``allow_empty``, empty) variables, placeholders that cannot
    be substituted, values that contain the placeholder, text that is not valid UTF-8 for
    ``stringData``. ``source`` (the overlay) is named in the message.
    """
    problems: list[Problem] = list(scan_result.map_problems)
    missing = False
    for p in scan_result.placeholders:
        state = state_of(p.variable, env, allow_empty=allow_empty)
        if state != "set":
            missing = True
            problems.append(_missing_problem(p, state))
        elif "stringData" in p.fields and _not_utf8(env[p.variable]):
            problems.append(
                Problem(
                    f"variable {p.variable} is not valid UTF-8, which stringData cannot hold: "
                    f"{p.describe()}; put the placeholder under data instead"
                )
            )
    out: list[dict[str, Any]] = [dict(d) for d in docs]
    touched = {p.index for p in scan_result.placeholders} | {s.index for s in scan_result.shadowed}
    for index in touched:
        out[index] = copy.deepcopy(dict(docs[index]))
    for p in scan_result.placeholders:
        value = env.get(p.variable)
        if value is None or (value == "" and not allow_empty):
            continue
        doc = out[p.index]
        if "stringData" in p.fields:
            doc["stringData"][p.key] = value
        if "data" in p.fields:
            doc["data"][p.key] = encode_data(value)
    for s in scan_result.shadowed:
        doc = out[s.index]
        text = doc["stringData"][s.key]
        doc["data"][s.key] = encode_data(text) if isinstance(text, str) else text
    # Whatever still holds the placeholder now fails: a placeholder must never reach a cluster.
    # Unfilled placeholders are already reported as missing variables; a filled one that still
    # shows it had a value containing the placeholder; anything else is a stray.
    filled = {(p.index, f, p.key): p for p in scan_result.placeholders for f in p.fields}
    for index, path, how in find_placeholder_text(out, scan_result.placeholder):
        head, _, key = path.partition(".")
        site = filled.get((index, head, key))
        if site is None:
            problems.append(_stray(out, index, path, how))
        elif state_of(site.variable, env, allow_empty=allow_empty) == "set":
            problems.append(
                Problem(f"the value of {site.variable} contains the placeholder: {site.describe()}")
            )
    if problems:
        raise unsubstituted_error(problems, source, missing=missing)
    return out


def _not_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def unsubstituted_error(
    problems: Sequence[Problem], source: str | None, *, missing: bool = True
) -> ConfigurationError:
    """The one error for everything that keeps a render from being complete."""
    where = f" in {source}" if source else ""
    return ConfigurationError(
        f"{len(problems)} secret problem(s){where}; nothing was rendered",
        hint=(
            "Give each listed variable a value in the step's env: (e.g. "
            "`POSTGRES_SA_PASSWORD: ${{ secrets.POSTGRES_SA_PASSWORD }}`), or point keys at other "
            "variables with --secret-map. `gitops render --check` lists what is needed."
            if missing
            else "Only a Secret's data/stringData values that are exactly the placeholder (under data: "
            "also its base64) are substituted."
        ),
        title="Secrets not substituted",
        problems=tuple(problems),
    )
