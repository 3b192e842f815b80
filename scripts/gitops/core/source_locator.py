"""Which file, and which line, set a field of a rendered Kubernetes object.

``gitops validate`` reports a schema error against the object kustomize RENDERED; the user
needs the line in their own files. Kustomize's origin annotation
(``config.kubernetes.io/origin``, https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/buildmetadata/)
names the file that declared the object; a patch in the overlay that names the same kind and
name may set the field instead (the last patch wins), so patches are searched first. Lists are
matched by their elements' ``name`` where the rendered element has one (strategic merge does
the same), else by index. The caller reads the files; this module only walks parsed YAML nodes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import yaml

from gitops.core.documents import MANIFESTS, DocumentError, DocumentKind, compose_all

File = TypeVar("File")
Step = str | int


# The overlay's own files, read through the one bounded loader (never refused here: [] instead).
SOURCES = DocumentKind(title="Invalid manifests", limits=MANIFESTS, dates=False)


def documents(text: str) -> list[yaml.MappingNode]:
    """The mapping documents of a YAML stream, as nodes that keep their line numbers; [] if unreadable."""
    try:
        nodes = [d.root for d in compose_all(text, None, SOURCES, duplicates=True)]
    except DocumentError:
        return []
    return [n for n in nodes if isinstance(n, yaml.MappingNode)]


def _get(node: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return k, v
    return None


def identity(node: yaml.MappingNode) -> tuple[str, str]:
    """``(kind, metadata.name)`` of a document node ("" where missing)."""
    kind = _get(node, "kind")
    meta = _get(node, "metadata")
    name = _get(meta[1], "name") if meta and isinstance(meta[1], yaml.MappingNode) else None
    return (
        kind[1].value if kind and isinstance(kind[1], yaml.ScalarNode) else "",
        name[1].value if name and isinstance(name[1], yaml.ScalarNode) else "",
    )


def walk(doc: yaml.Node, path: Sequence[Step], obj: Any) -> tuple[int, int]:
    """How deep ``path`` resolves in ``doc`` and the 1-based line where it stops.

    ``obj`` is the rendered object at the same place, to match list elements by ``name``.
    """
    node, line, depth = doc, doc.start_mark.line + 1, 0
    for step in path:
        if isinstance(step, int):
            if not isinstance(node, yaml.SequenceNode):
                break
            item = obj[step] if isinstance(obj, list) and step < len(obj) else None
            target: yaml.Node | None = None
            if isinstance(item, Mapping) and isinstance(item.get("name"), str):
                for element in node.value:
                    if isinstance(element, yaml.MappingNode):
                        got = _get(element, "name")
                        if got and isinstance(got[1], yaml.ScalarNode) and got[1].value == item["name"]:
                            target = element
                            break
            elif step < len(node.value):
                target = node.value[step]
            if target is None:
                break
            node, obj = target, item
            line = target.start_mark.line + 1
        else:
            if not isinstance(node, yaml.MappingNode):
                break
            got = _get(node, step)
            if got is None:
                break
            node = got[1]
            obj = obj.get(step) if isinstance(obj, Mapping) else None
            line = got[0].start_mark.line + 1
        depth += 1
    return depth, line


def locate(
    obj: Mapping[str, Any],
    path: Sequence[Step],
    origin: File | None,
    origin_docs: Sequence[yaml.MappingNode],
    overlay_files: Sequence[tuple[File, Sequence[yaml.MappingNode]]],
) -> tuple[File | None, int | None]:
    """The file and line that set ``path`` of ``obj``: a patch in ``overlay_files`` (searched in
    the order given) that reaches the whole path, else the declaring ``origin``, else whichever
    got deepest (the origin on a tie)."""
    kind = str(obj.get("kind", ""))
    name = str((obj.get("metadata") or {}).get("name", ""))
    base_name = name  # the declared name, before a namePrefix/nameSuffix
    declared: list[tuple[File, yaml.MappingNode]] = []
    if origin is not None:
        for doc in origin_docs:
            dkind, dname = identity(doc)
            if dkind == kind and dname and dname in name:
                declared.append((origin, doc))
                base_name = dname
                break
    candidates = [
        (file, doc) for file, docs in overlay_files for doc in docs if identity(doc) == (kind, base_name)
    ]
    best: tuple[int, File, int] | None = None
    for file, candidate in [*candidates, *declared]:
        depth, line = walk(candidate, path, obj)
        if depth == len(path):
            return file, line
        if best is None or depth > best[0] or (depth == best[0] and file == origin):
            best = (depth, file, line)
    if best is not None:
        return best[1], best[2]
    return origin, None


def field_path(error: Any) -> list[Step]:
    """The path of a jsonschema ``ValidationError``, down to the unknown field it complains about."""
    path: list[Step] = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        known = set((error.schema or {}).get("properties", {}))
        extra = [k for k in error.instance if k not in known]
        if extra:
            path.append(str(extra[0]))
    return path


def dotted(path: Sequence[Step]) -> str:
    """``spec.template.spec.containers[0].image``."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text
