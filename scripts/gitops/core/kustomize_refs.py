"""Every file, directory and URL a kustomization names, and which of them kustomize would fetch (pure).

kustomize downloads what a kustomization points at outside the repository: an ``https://`` file
in ``resources``, a git repository (``github.com/org/repo//path?ref=v1``, ``git::https://...``,
``git@host:org/repo``, ``ssh://``, ``file://``, Azure's ``_git/``), a remote patch, generator
file or transformer configuration, a Helm chart from its ``repo``, a values file by URL. What
comes back is rendered and applied as if it were ours. :func:`references` lists every reference
of one kustomization with its key path, so the adapter (:mod:`gitops.adapters.kustomize`) can
refuse the remote ones, naming the file, line and reference, and follow the local directories to
the kustomizations they hold.

The fields, from kustomize's ``api/types`` (kustomization.go, kvpairsources.go, patch.go,
replacement.go, helmchartargs.go) and "The Kustomization File"
(https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/):

* a path, a kustomization directory or a URL: ``resources``, ``bases`` (deprecated), ``components``;
  ``generators``, ``transformers``, ``validators`` (or an inline configuration: YAML text);
* a file or a URL: ``crds``, ``configurations``, ``patches[].path``, ``patchesJson6902[].path``,
  ``patchesStrategicMerge[]`` (or an inline patch), ``replacements[].path``, ``openapi.path``,
  ``configMapGenerator[]``/``secretGenerator[]`` ``files`` (``[key=]path``), ``envs``, ``env``;
* Helm: ``helmCharts[].repo`` (a chart repository or ``oci://`` registry), ``valuesFile`` and
  ``additionalValuesFiles`` (helm takes URLs there), ``helmGlobals.chartHome``;
  ``helmChartInflationGenerator[]`` ``chartRepoUrl`` and ``values`` (deprecated).

What is remote follows kustomize's repospec (``parseHostSpec``: ``git::``, ``gh:``, ``ssh://``,
``https://``, ``http://``, ``file://``, ``git@``, ``github.com:``, ``github.com/``, and ``_git/``),
plus any other ``scheme://`` (``oci://``, ``s3://``) and scp-like ``user@host:path``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# kustomize api/internal/git/repospec.go parseHostSpec, in its order.
REPOSPEC_PREFIXES = (
    *("git::", "gh:", "ssh://", "https://", "http://", "file://"),
    *("git@", "github.com:", "github.com/"),
)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SCP = re.compile(r"^[^/\s@]+@[^/\s:]+:")  # git@gitlab.example:org/repo


def is_remote(value: str) -> bool:
    """Would kustomize (or helm under it) fetch ``value`` from outside the repository?"""
    text = value.strip()
    lowered = text.lower()
    return (
        lowered.startswith(REPOSPEC_PREFIXES)
        or "_git/" in lowered
        or bool(_SCHEME.match(text))
        or bool(_SCP.match(text))
    )


@dataclass(frozen=True)
class Reference:
    """One file, directory or URL a kustomization names."""

    path: tuple[str | int, ...]  # where in the kustomization, e.g. ("resources", 2)
    value: str
    directory: bool = False  # may name a kustomization directory, which is read in turn

    @property
    def remote(self) -> bool:
        return is_remote(self.value)

    @property
    def field(self) -> str:
        """``resources[2]``, ``patches[0].path``: the key path as messages show it."""
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out


# Lists of references: (field, may name a kustomization directory, may be inline YAML instead).
_LISTS: tuple[tuple[str, bool, bool], ...] = (
    ("resources", True, False),
    ("bases", True, False),
    ("components", True, False),
    ("generators", True, True),
    ("transformers", True, True),
    ("validators", True, True),
    ("crds", False, False),
    ("configurations", False, False),
    ("patchesStrategicMerge", False, True),
)
# Lists of mappings, and the keys in each that name a file or URL.
_ENTRIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("patches", ("path",)),
    ("patchesJson6902", ("path",)),
    ("replacements", ("path",)),
    ("configMapGenerator", ("files", "envs", "env")),
    ("secretGenerator", ("files", "envs", "env")),
    ("helmCharts", ("repo", "valuesFile", "additionalValuesFiles")),
    ("helmChartInflationGenerator", ("chartRepoUrl", "values", "chartHome")),
)


def _inline(value: str) -> bool:
    """An inline configuration or patch (YAML text), not a path."""
    return "\n" in value.strip() or value.lstrip().startswith(("apiVersion:", "kind:", "{", "-"))


def _strings(node: Any) -> Iterator[tuple[int | None, str]]:
    if isinstance(node, str):
        yield None, node
    elif isinstance(node, Sequence):
        for index, item in enumerate(node):
            if isinstance(item, str):
                yield index, item


def references(data: Any) -> list[Reference]:
    """Every reference of one parsed kustomization (anything malformed is left to kustomize)."""
    if not isinstance(data, Mapping):
        return []
    found: list[Reference] = []
    for field, directory, may_be_inline in _LISTS:
        for index, value in _strings(data.get(field) if isinstance(data.get(field), list) else None):
            if value.strip() and not (may_be_inline and _inline(value)):
                found.append(Reference((field, index if index is not None else 0), value.strip(), directory))
    for field, keys in _ENTRIES:
        entries = data.get(field)
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            if not isinstance(entry, Mapping):
                continue
            for key in keys:
                for inner, written in _strings(entry.get(key)):
                    value = written.split("=", 1)[1] if key == "files" and "=" in written else written
                    if value.strip():
                        where: tuple[str | int, ...] = (field, index, key)
                        if inner is not None:
                            where = (*where, inner)
                        found.append(Reference(where, value.strip()))
    openapi = data.get("openapi")
    if isinstance(openapi, Mapping) and isinstance(openapi.get("path"), str) and openapi["path"].strip():
        found.append(Reference(("openapi", "path"), openapi["path"].strip()))
    globals_ = data.get("helmGlobals")
    if isinstance(globals_, Mapping) and isinstance(globals_.get("chartHome"), str):
        found.append(Reference(("helmGlobals", "chartHome"), globals_["chartHome"].strip()))
    return found


def inline_sources(data: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """The inline configurations of ``generators``/``transformers``/``validators`` (YAML text),
    each with its key path: they are KRM objects whose own fields may name a remote chart."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    if not isinstance(data, Mapping):
        return found
    for field in ("generators", "transformers", "validators"):
        for index, value in _strings(data.get(field) if isinstance(data.get(field), list) else None):
            if _inline(value):
                found.append(((field, index or 0), value))
    return found


# Fields of a generator/transformer configuration object (a KRM object in a file or inline) that
# name something to fetch: a HelmChartInflationGenerator's chart repository and values.
_PLUGIN_KEYS = ("repo", "chartRepoUrl", "chartRepoURL", "valuesFile", "values")


def plugin_references(config: Any) -> list[Reference]:
    """The remote references of one generator/transformer configuration object."""
    found: list[Reference] = []
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), config)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key in _PLUGIN_KEYS and isinstance(value, str) and is_remote(value):
                    found.append(Reference((*path, str(key)), value.strip()))
                elif isinstance(value, Mapping | list):
                    stack.append(((*path, str(key)), value))
        elif isinstance(node, list):
            stack.extend(((*path, i), item) for i, item in enumerate(node))
    return found
