"""Render an overlay and fill its Secret placeholders in memory.

``kubectl kustomize`` renders the overlay from the repository's files (no secret involved),
:mod:`gitops.core.secrets` finds the placeholders and their variables, every value is masked
through the runner (in every form :mod:`gitops.core.redaction` derives), and only then are
the values put into the documents, in this process's memory. Nothing here writes a file;
``gitops render --output`` is the only way manifests with values reach a disk, and only when
the user asks.

YAML: manifests are read by :mod:`gitops.core.documents` (bounded, line-aware) without
timestamp resolution (kustomize leaves ``2024-01-01`` unquoted as a string; it must stay a
string, not become a date) and written with :func:`dump_manifests`, which forces double
quotes with escapes for strings holding characters that some YAML readers treat as line
breaks (NEL, LS, PS) or that are not printable, so every value survives a round trip byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gitops.adapters import runner, textfile
from gitops.core import documents
from gitops.core.secret_map import SecretMap, parse_secret_map
from gitops.core.secrets import (
    DEFAULT_PLACEHOLDER,
    NeededSecret,
    Scan,
    needed,
    scan,
    substitute,
    values_for,
)
from gitops.errors import ConfigurationError, Problem

__all__ = [
    "DEFAULT_PLACEHOLDER",
    "NeededSecret",
    "Rendered",
    "display_path",
    "dump_manifests",
    "load_manifests",
    "load_secret_map",
    "render_overlay",
]

MANIFESTS = documents.DocumentKind(
    title="Invalid manifests",
    message="{problem}",
    hint="Each YAML document must be one object with apiVersion, kind and metadata.name.",
    limits=documents.MANIFESTS,
    dates=False,
)

# Characters YAML 1.1 readers treat as line breaks or BOM, and C0/C1 controls: a plain or
# single-quoted scalar holding one of them does not read back as written.
_NEEDS_ESCAPES = frozenset(
    ["\x85", "\u2028", "\u2029", "\ufeff"]
    + [chr(c) for c in range(0x20) if chr(c) not in "\n"]
    + [chr(c) for c in range(0x7F, 0xA0)]
)


class ManifestDumper(yaml.SafeDumper):
    """Safe dumper that keeps every string exact (see the module docstring)."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if any(ch in _NEEDS_ESCAPES or "\ud800" <= ch <= "\udfff" for ch in value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    return dumper.represent_str(value)


ManifestDumper.add_representer(str, _represent_str)


def dump_manifests(objects: Sequence[Mapping[str, Any]]) -> str:
    """Objects as a multi-document YAML stream, key order kept, no line folding."""
    if not objects:
        return ""
    text: str = yaml.dump_all(
        [dict(o) for o in objects],
        Dumper=ManifestDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=float("inf"),
        explicit_start=True,
    )
    return text


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it, else absolute."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def _check_object(doc: Any, source: str, line: int, problems: list[Problem]) -> bool:
    if not isinstance(doc, dict):
        problems.append(Problem(f"a document must be a mapping, not {type(doc).__name__}", source, line))
        return False
    missing = [k for k in ("apiVersion", "kind") if not isinstance(doc.get(k), str) or not doc.get(k)]
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not (meta.get("name") or meta.get("generateName")):
        missing.append("metadata.name")
    if missing:
        problems.append(Problem(f"object lacks {', '.join(missing)}", source, line))
        return False
    return True


def load_manifests(text: str, source: str) -> list[dict[str, Any]]:
    """Parse a multi-document YAML (or JSON) stream of Kubernetes objects.

    Empty documents are skipped and ``kind: List`` (or ``*List`` with ``items``) is expanded,
    as kubectl does. Every problem (YAML syntax, a document that is not an object, an object
    without apiVersion/kind/metadata.name) is reported in one ConfigurationError naming
    ``source`` and the line.
    """
    objects: list[dict[str, Any]] = []
    problems: list[Problem] = []
    syntax_hint: str | None = None
    try:
        for document in documents.compose_all(text, source, MANIFESTS):
            if document.root is None:
                continue
            line = documents.line_of(document.root)
            doc = document.data
            if doc is None:
                continue
            kind = doc.get("kind") if isinstance(doc, dict) else None
            if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
                for item in doc["items"]:
                    if _check_object(item, source, line, problems):
                        objects.append(item)
                continue
            if _check_object(doc, source, line, problems):
                objects.append(doc)
    except documents.DocumentError as exc:
        problems.extend(exc.problems)
        syntax_hint = exc.hint
    if problems:
        raise ConfigurationError(
            f"{source} does not hold valid Kubernetes manifests",
            file=source,
            line=problems[0].line,
            hint=syntax_hint
            or "Each YAML document must be one object with apiVersion, kind and metadata.name.",
            title="Invalid manifests",
            problems=problems,
        )
    return objects


def load_secret_map(path: Path) -> SecretMap:
    """Read and check a ``--secret-map`` file."""
    shown = display_path(path)
    text = textfile.read_input(
        path,
        what=f"the secret map {shown}",
        shown=shown,
        key="--secret-map",
        hint="Pass the path of an existing YAML file, or leave --secret-map out to use the convention "
        "(variable named like the key).",
        title="Invalid secret map",
    )
    if not text.strip():  # a map passed on purpose that maps nothing: a wrong or truncated file
        raise ConfigurationError(
            f"the secret map {shown} is empty",
            file=shown,
            key="--secret-map",
            hint="write its mappings (see gitops render --help), or leave --secret-map out",
            title="Invalid secret map",
        )
    return parse_secret_map(text, shown)


@dataclass
class Rendered:
    """An overlay rendered and (unless asked not to) with its secrets filled in."""

    overlay: Path
    objects: list[dict[str, Any]]
    secret_values: list[str] = field(repr=False)
    needed: list[NeededSecret]
    scan: Scan = field(repr=False)
    substituted: bool = True

    def to_yaml(self) -> str:
        return dump_manifests(self.objects)

    def missing(self) -> list[NeededSecret]:
        return [n for n in self.needed if not n.is_set]

    def __repr__(self) -> str:  # never show values, even in a traceback's locals
        return f"Rendered(overlay={self.overlay!s}, objects={len(self.objects)}, needed={len(self.needed)})"


def render_overlay(
    overlay: Path,
    env: Mapping[str, str],
    *,
    placeholder: str = DEFAULT_PLACEHOLDER,
    secret_map: Path | None = None,
    substitute_values: bool = True,
    allow_empty: bool = False,
    manifests: str | None = None,
) -> Rendered:
    """Render ``overlay`` and substitute every placeholder from ``env``, in memory.

    Every value used is masked through :func:`gitops.adapters.runner.current` before it is put into a
    document. With ``substitute_values=False`` (``--check``, ``gitops validate``) no value is
    read: the objects keep their placeholders and only ``needed`` says which variables are set;
    problems with the secret map still raise. Otherwise a missing variable or a leftover
    placeholder raises ONE ConfigurationError listing every Secret/key/variable by name.
    ``manifests`` is pre-rendered YAML to use instead of running kustomize (tests, ``-f``).
    """
    from gitops.adapters import kustomize

    shown = display_path(overlay)
    secret_map_data = load_secret_map(secret_map) if secret_map is not None else None
    if manifests is None:
        objects = load_manifests(kustomize.build(overlay), f"kustomize build {shown}")
    else:
        objects = load_manifests(manifests, shown)
    found = scan(objects, placeholder, secret_map_data)
    need = needed(found, env, allow_empty=allow_empty)
    if not substitute_values:
        if found.map_problems:
            raise ConfigurationError(
                f"the secret map does not fit {shown}",
                file=secret_map_data.source if secret_map_data else None,
                title="Invalid secret map",
                problems=found.map_problems,
            )
        return Rendered(overlay, objects, [], need, found, substituted=False)
    values = values_for(found, env, allow_empty=allow_empty)
    console = runner.current()
    for variable, value in values.items():
        console.mask(value, origin=f"${variable}")
    relevant = {v: env[v] for v in found.variables() if v in env}  # keeps "set but empty" apart
    result = substitute(objects, found, relevant, allow_empty=allow_empty, source=shown)
    return Rendered(overlay, result, list(values.values()), need, found)
