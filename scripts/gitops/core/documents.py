"""The one line-aware, bounded reader for every YAML and JSON input (pure: text in, nodes or data out).

The deploy-control policy, change filters, secret maps, kubeconfigs, manifests, hetzner-k3s
cluster configs, workflow files, GitHub event payloads, ``dispatch --inputs`` and the API
servers' answers are all read here, with the same guarantees:

* **Marks.** Every node keeps its line (:class:`Document`, :meth:`Document.line`); an error
  names the line and column and the key path, and never quotes the document (a kubeconfig is
  a credential, and an error message ends up in a log).
* **Limits** (:class:`Limits`), checked while reading, before any cost is paid: the size in
  bytes; the nesting depth; the number of nodes; and the nodes that *aliases* add when
  expanded. A "billion laughs" document (nine levels of ten aliases: 10^9 nodes from a few
  hundred bytes) is refused at the alias that crosses the budget, in time linear in its text.
  go-yaml, which kubectl and client-go use, refuses the same documents ("document contains
  excessive aliasing", the fix of CVE-2019-11253, kubernetes/kubernetes#83253) and nests at
  most 10,000 deep ("exceeded max depth of 10000"); our limits are lower because our inputs
  are small and Python code walks them.
* **No cycles.** An alias inside the node it names (``a: &x {b: *x}``, go-yaml: "anchor 'x'
  value contains itself") is refused, so nothing downstream walks a loop.
* **No recursion.** Nodes are composed with an explicit stack, so 100,000 nested ``[`` give
  a clear error instead of a ``RecursionError``; JSON is read by ``json`` (which stops at
  the interpreter's recursion limit: turned into the same error) and its depth checked after.
* **Duplicate keys** (which ``safe_load`` silently collapses to the last one) are refused,
  unless the caller reports them itself among other problems (``duplicates=True``).
* **YAML 1.1 booleans** (``yes``/``no``/``on``/``off``) are left to the schema: a
  :class:`gitops.core.yaml_schema.SchemaReader` refuses them where the schema wants ``true``
  or ``false``; a manifest keeps PyYAML's (and go-yaml v2's, so kubectl's) YAML 1.1 reading.

YAML is tokenised by libyaml when PyYAML has it (the pure-Python parser otherwise: it is
iterative too, but quadratic on thousands of nested ``[``, so wheels with libyaml are what we
ship) and composed by :class:`_Composer`. Each input names its :class:`DocumentKind`: what to
call it in messages, its limits, and whether YAML timestamps become dates.

One module of ~660 lines, on purpose: every input must get the same guarantees, and YAML and
JSON share the limits, the error type and its wording; a second module would be a second way in.

Its records are NamedTuples and plain classes, not dataclasses: ``gitops changes`` runs as a new
process on every push, and ``dataclasses`` (with the inspect/ast/dis it imports) plus generating
each class's methods cost that start about 5 ms (benchmarks/results/changes.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple, Protocol

import yaml
from yaml.events import (
    AliasEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode

from gitops.errors import ConfigurationError, Problem, yaml_problem

MERGE_TAG = "tag:yaml.org,2002:merge"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"

KiB = 1024
MiB = 1024 * KiB


class Limits(NamedTuple):
    """Hard limits for one kind of input."""

    max_bytes: int
    max_depth: int = 100  # mappings/lists inside each other
    max_nodes: int = 200_000  # nodes once every alias is expanded (memory)
    max_alias_nodes: int = 10_000  # of those, nodes that aliases add (a billion laughs)


# Files a person writes: the policy, filters, a secret map, a kubeconfig, a cluster config, a
# workflow. The largest real ones are a few KB; a merged kubeconfig of many clusters a few 100 KB.
CONFIG = Limits(max_bytes=1 * MiB)
# Rendered manifests: the API server takes at most 3 MiB per object; an overlay of many large
# CRDs reaches a few MiB. Aliases are rare in manifests and kustomize never writes any.
MANIFESTS = Limits(max_bytes=16 * MiB, max_nodes=2_000_000, max_alias_nodes=100_000)
# A GitHub event payload ("Payloads are capped at 25 MB", docs.github.com webhooks) and the
# answers of an API server (no aliases in JSON).
PAYLOAD = Limits(max_bytes=32 * MiB, max_nodes=5_000_000, max_alias_nodes=0)
# `dispatch --inputs`: "The maximum payload for inputs is 65,535 characters" (docs.github.com,
# workflow_dispatch); one level of strings, so any nesting is a mistake.
INPUTS = Limits(max_bytes=64 * KiB, max_depth=16, max_nodes=10_000, max_alias_nodes=0)


class DocumentKind(NamedTuple):
    """How to speak about one kind of input, and how to read it.

    ``message`` is a template with ``{problem}``: ``"the kubeconfig is {problem}"`` gives
    "the kubeconfig is not valid YAML: ... (line 3, column 5)", "the kubeconfig is too large:
    ...". ``hint`` is the fix for a syntax error (limits and duplicates have their own).
    """

    title: str
    message: str = "{problem}"
    hint: str | None = None
    limits: Limits = CONFIG
    dates: bool = True  # False: YAML 1.1 timestamps stay strings, as Kubernetes reads them
    flag: str | None = None  # the flag that passed the input: the error's key when no key path is known


class DocumentError(ConfigurationError):
    """An input that cannot be read safely: not YAML/JSON, too large, too deep, an alias bomb,
    a cycle, or an ambiguous (duplicate) key. Exit 1, with file, line and key."""


class Duplicate(NamedTuple):
    """A key written twice in one mapping (``path`` includes the key)."""

    path: str
    key: str
    line: int
    first_line: int


def key_path(parts: Sequence[str | int]) -> str:
    """``("users", 0, "user")`` -> ``users[0].user`` (the key paths of every message)."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _event_line(event: Event) -> int:
    mark = event.start_mark
    return int(mark.line) + 1 if mark is not None else 1


def line_of(node: Node) -> int:
    """The 1-based line where ``node`` starts."""
    return int(node.start_mark.line) + 1


def duplicate_keys(node: MappingNode) -> list[tuple[ScalarNode, ScalarNode]]:
    """``(first, repeated)`` key nodes of every scalar key written twice in ``node`` (merge keys
    aside). Keys are compared as YAML reads them: ``1`` and ``"1"`` differ, ``a`` and ``'a'`` do not."""
    seen: dict[tuple[str, str], ScalarNode] = {}
    found: list[tuple[ScalarNode, ScalarNode]] = []
    for key, _value in node.value:
        if not isinstance(key, ScalarNode) or key.tag == MERGE_TAG:
            continue
        ident = (key.tag, key.value)
        if ident in seen:
            found.append((seen[ident], key))
        else:
            seen[ident] = key
    return found


class Document:
    """One YAML document: its node tree (with marks), where it starts, and its duplicate keys."""

    __slots__ = ("_built", "_data", "duplicates", "kind", "root", "source", "start_line")

    def __init__(
        self,
        root: Node | None,
        source: str | None,
        kind: DocumentKind,
        start_line: int = 1,
        duplicates: tuple[Duplicate, ...] = (),
    ) -> None:
        self.root = root
        self.source = source
        self.kind = kind
        self.start_line = start_line
        self.duplicates = duplicates
        self._data: Any = None
        self._built = False

    def __repr__(self) -> str:
        return f"Document(source={self.source!r}, start_line={self.start_line}, root={self.root!r})"

    @property
    def data(self) -> Any:
        """The document as plain Python data (built once; aliases share one object)."""
        if not self._built:
            self._data = construct(self.root, self.source, self.kind) if self.root is not None else None
            self._built = True
        return self._data

    def node_at(self, path: Sequence[str | int]) -> Node | None:
        """The deepest node on ``path`` (mapping keys and list indexes) that exists."""
        node = self.root
        for part in path:
            child = _child(node, part)
            if child is None:
                break
            node = child
        return node

    def line(self, path: Sequence[str | int] = ()) -> int | None:
        """The line of the node at ``path`` (or of its deepest existing ancestor)."""
        node = self.node_at(path)
        return line_of(node) if node is not None else None

    def refuse_duplicates(self) -> None:
        if self.duplicates:
            first = self.duplicates[0]
            raise _error(
                self.kind,
                self.source,
                f"ambiguous: key {first.key!r} is defined twice in one mapping (lines {first.first_line} "
                f"and {first.line}); YAML readers disagree on which one wins",
                line=first.line,
                key=first.path,
                hint="keep exactly one of them",
            )


def _child(node: Node | None, part: str | int) -> Node | None:
    if isinstance(node, SequenceNode) and isinstance(part, int):
        return node.value[part] if 0 <= part < len(node.value) else None
    if isinstance(node, MappingNode):
        found = None
        for key, value in node.value:  # the last of duplicates wins, as in the data
            if isinstance(key, ScalarNode) and key.value == str(part):
                found = value
        return found
    return None


# -- errors ----------------------------------------------------------------------------------------


def _error(
    kind: DocumentKind,
    source: str | None,
    problem: str,
    *,
    line: int | None = None,
    key: str | None = None,
    hint: str | None = None,
) -> DocumentError:
    message = kind.message.format(problem=problem)
    key = key or kind.flag
    return DocumentError(
        message,
        file=source,
        line=line,
        key=key,
        hint=hint,
        title=kind.title,
        problems=(Problem(message, source, line, key),),
    )


def _syntax_error(
    kind: DocumentKind, source: str | None, exc: BaseException, text: str | None
) -> DocumentError:
    what, line, hint = yaml_problem(exc, text)
    if line is not None and text is not None:
        # libyaml reads a text without a final newline as if it had one, and marks the end of the
        # stream a line later than PyYAML's parser does; name the line where the text ends.
        line = max(1, min(line, text.count("\n") + 1))
    return _error(kind, source, f"not valid YAML: {what}", line=line, hint=hint or kind.hint)


def _check_size(kind: DocumentKind, source: str | None, text: str | bytes) -> None:
    limit = kind.limits.max_bytes
    if len(text) * 4 <= limit:
        return
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise _error(
            kind,
            source,
            f"too large: {size:,} bytes (at most {limit:,} are read)",
            hint="this input is far larger than any real one: check that the right file was passed",
        )


# -- YAML ------------------------------------------------------------------------------------------


class _Events(Protocol):
    """The event API of a PyYAML parser (libyaml's ``CParser`` or the pure-Python ``Loader``)."""

    def check_event(self, *choices: type[Event]) -> bool: ...
    def peek_event(self) -> Event: ...
    def get_event(self) -> Event: ...
    def dispose(self) -> None: ...


class _Resolver(yaml.resolver.Resolver):
    """PyYAML's YAML 1.1 implicit tags (what ``safe_load`` resolves)."""


class _ManifestResolver(yaml.resolver.Resolver):
    """The same without timestamps: ``2024-01-01`` stays a string, as Kubernetes reads it."""


_ManifestResolver.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
}


def _parser(text: str) -> _Events:
    parser_class = getattr(getattr(yaml, "_yaml", None), "CParser", None)
    if parser_class is not None:
        events: _Events = parser_class(text)
        return events
    return yaml.SafeLoader(text)  # pure Python: the same events, slower


class _Open:
    """A mapping or list being composed."""

    __slots__ = ("key", "label", "node", "size")

    def __init__(self, node: CollectionNode, label: str | int | None) -> None:
        self.node = node
        self.label = label  # its key (or index) in its parent, for key paths
        self.size = 1  # nodes below it once aliases are expanded, itself included
        self.key: Node | None = None  # a mapping's key waiting for its value


class _Composer:
    """Events to nodes with an explicit stack, checking every limit as it goes."""

    def __init__(self, events: _Events, kind: DocumentKind, source: str | None) -> None:
        self.events = events
        self.kind = kind
        self.limits = kind.limits
        self.source = source
        self.resolver = _Resolver() if kind.dates else _ManifestResolver()
        self.nodes = 0
        self.alias_nodes = 0
        self._plain: dict[str, str] = {}  # tags of plain scalars already resolved

    def documents(self) -> Iterator[Document]:
        self.events.get_event()  # STREAM-START
        while not self.events.check_event(StreamEndEvent):
            start = self.events.get_event()  # DOCUMENT-START
            root, duplicates = self._compose()
            self.events.get_event()  # DOCUMENT-END
            yield Document(root, self.source, self.kind, _event_line(start), tuple(duplicates))
        self.events.get_event()  # STREAM-END

    def _fail(self, event: Event, problem: str, stack: list[_Open], hint: str) -> DocumentError:
        return _error(
            self.kind,
            self.source,
            problem,
            line=_event_line(event),
            key=self._path(stack, self._label(stack[-1]) if stack else None) or None,
            hint=hint,
        )

    @staticmethod
    def _path(stack: list[_Open], last: str | int | None = None) -> str:
        labels = [f.label for f in stack[1:] if f.label is not None]
        return key_path([*labels, *([] if last is None else [last])])

    def _count(self, event: Event, stack: list[_Open], added: int = 1, *, alias: bool = False) -> None:
        self.nodes += added
        if alias:
            self.alias_nodes += added
            if self.alias_nodes > self.limits.max_alias_nodes:
                raise self._fail(
                    event,
                    f"not safe to read: its aliases expand to more than {self.limits.max_alias_nodes:,} "
                    "nodes (a 'billion laughs' document)",
                    stack,
                    "write the repeated parts out, or use fewer levels of anchors and aliases",
                )
        if self.nodes > self.limits.max_nodes:
            raise self._fail(
                event,
                f"too large: more than {self.limits.max_nodes:,} values once aliases are expanded",
                stack,
                "this input is far larger than any real one: check that the right file was passed",
            )

    def _label(self, parent: _Open | None) -> str | int | None:
        if parent is None:
            return None
        if isinstance(parent.node, SequenceNode):
            return len(parent.node.value)
        key = parent.key  # None: the node is itself a key
        if isinstance(key, ScalarNode) and key.tag != MERGE_TAG:
            return str(key.value)
        return None

    def _compose(self) -> tuple[Node, list[Duplicate]]:
        anchors: dict[str, Node] = {}
        sizes: dict[int, int] = {}  # expanded size of each finished collection
        stack: list[_Open] = []
        open_ids: set[int] = set()
        duplicates: list[Duplicate] = []
        get_event = self.events.get_event
        while True:
            event: Any = get_event()
            cls = type(event)
            node: Node
            size = 1
            if cls is AliasEvent:
                node = self._alias(event, anchors, open_ids, stack)
                size = sizes.get(id(node), 1)  # a scalar counts 1
                self._count(event, stack, size, alias=True)
            elif cls is ScalarEvent or cls is MappingStartEvent or cls is SequenceStartEvent:
                anchor = event.anchor
                if anchor is not None and anchor in anchors:
                    raise self._fail(
                        event,
                        f"not valid YAML: found duplicate anchor {anchor!r} (first at line "
                        f"{line_of(anchors[anchor])})",
                        stack,
                        "give each anchor its own name",
                    )
                self.nodes += 1
                if self.nodes > self.limits.max_nodes:
                    self._count(event, stack, 0)  # raises
                node = self._new_node(event)
                if anchor is not None:
                    anchors[anchor] = node
                if cls is not ScalarEvent:
                    if len(stack) >= self.limits.max_depth:
                        raise self._fail(
                            event,
                            f"nested too deeply: more than {self.limits.max_depth} levels",
                            stack,
                            "flatten the structure; no real input nests this deep",
                        )
                    stack.append(_Open(node, self._label(stack[-1]) if stack else None))  # type: ignore[arg-type]
                    open_ids.add(id(node))
                    continue
            elif cls is MappingEndEvent or cls is SequenceEndEvent:
                done = stack.pop()
                node, size = done.node, done.size
                node.end_mark = event.end_mark
                open_ids.discard(id(node))
                sizes[id(node)] = size
                if cls is MappingEndEvent:
                    for first, again in duplicate_keys(node):  # type: ignore[arg-type]
                        duplicates.append(
                            Duplicate(
                                self._path([*stack, done], str(again.value)),
                                str(again.value),
                                line_of(again),
                                line_of(first),
                            )
                        )
            else:  # pragma: no cover - a parser emits only these inside a document
                raise self._fail(event, f"not valid YAML: unexpected {cls.__name__}", stack, "")
            if not stack:
                return node, duplicates
            parent = stack[-1]
            parent.size += size
            if parent.key is not None:
                parent.node.value.append((parent.key, node))
                parent.key = None
            elif type(parent.node) is SequenceNode:
                parent.node.value.append(node)
            else:
                parent.key = node

    def _alias(self, event: Any, anchors: dict[str, Node], open_ids: set[int], stack: list[_Open]) -> Node:
        """The node an alias names: defined before it, and not a collection the alias is inside."""
        target = anchors.get(str(event.anchor))
        if target is None:
            problem = f"not valid YAML: found undefined alias {event.anchor!r}"
            raise self._fail(event, problem, stack, "define the anchor first")
        if id(target) in open_ids:
            what = "mapping" if isinstance(target, MappingNode) else "list"
            raise self._fail(
                event,
                f"not safe to read: the alias *{event.anchor} refers to the {what} it is in",
                stack,
                "a document cannot contain itself: remove the alias",
            )
        return target

    def _new_node(self, event: Any) -> Node:
        """A node for a scalar or collection-start event, its tag resolved as ``safe_load`` does."""
        tag = event.tag
        start: Any = event.start_mark  # libyaml's marks are yaml._yaml.Mark, alike
        if type(event) is ScalarEvent:
            if tag is None or tag == "!":
                value, implicit = event.value, event.implicit
                tag = self._plain.get(value) if implicit[0] else None
                if tag is None:
                    tag = self.resolver.resolve(ScalarNode, value, implicit)  # type: ignore[no-untyped-call]
                    if (
                        implicit[0] and len(self._plain) < 50_000
                    ):  # a plain scalar's tag depends on its text only
                        self._plain[value] = tag
            # libyaml reports a plain scalar's style as '', the Python parser as None.
            end: Any = event.end_mark
            return ScalarNode(tag, event.value, start, end, style=event.style or None)
        kind_: type[CollectionNode] = MappingNode if type(event) is MappingStartEvent else SequenceNode
        if tag is None or tag == "!":
            tag = self.resolver.resolve(kind_, None, event.implicit)  # type: ignore[no-untyped-call]
        return kind_(tag, [], start, None, flow_style=event.flow_style)


def compose_all(
    text: str, source: str | None, kind: DocumentKind, *, duplicates: bool = False
) -> list[Document]:
    """Every document of a YAML stream, as node trees with marks.

    With ``duplicates=True`` duplicate keys are only listed in :attr:`Document.duplicates`
    (for a schema that reports them among its other problems); otherwise they are refused.
    """
    _check_size(kind, source, text)
    events = _parser(text)
    try:
        documents = list(_Composer(events, kind, source).documents())
    except yaml.YAMLError as exc:
        raise _syntax_error(kind, source, exc, text) from None
    finally:
        events.dispose()
    if not duplicates:
        for document in documents:
            document.refuse_duplicates()
    return documents


def compose(text: str, source: str | None, kind: DocumentKind, *, duplicates: bool = False) -> Document:
    """The one document of ``text`` (an empty text gives a document whose ``root`` is None)."""
    documents = compose_all(text, source, kind, duplicates=duplicates)
    if len(documents) > 1:
        raise _error(
            kind,
            source,
            f"not valid YAML: expected one document, found {len(documents)} (a second starts at line "
            f"{documents[1].start_line})",
            line=documents[1].start_line,
            hint="remove the `---` line (one document per file here)",
        )
    return documents[0] if documents else Document(None, source, kind)


def load(text: str, source: str | None, kind: DocumentKind) -> Any:
    """The one document of ``text`` as plain data (None when empty); duplicates refused."""
    return compose(text, source, kind).data


class _Constructor(yaml.constructor.SafeConstructor):
    """PyYAML's safe constructor: plain Python data, aliases shared (never copied)."""


def construct(node: Node, source: str | None, kind: DocumentKind) -> Any:
    """Plain data from a node tree that :func:`compose_all` accepted (so bounded and acyclic)."""
    try:
        return _Constructor().construct_document(node)
    except yaml.YAMLError as exc:
        raise _syntax_error(kind, source, exc, None) from None
    except (ValueError, OverflowError) as exc:  # a date like 2026-13-45, a 5,000-digit number
        problem = f"not valid YAML: a value cannot be read ({exc})"
        raise _error(kind, source, problem, line=line_of(node), hint=kind.hint) from None


# -- JSON ------------------------------------------------------------------------------------------


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)
    return data


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(text: str | bytes, source: str | None, kind: DocumentKind) -> Any:
    """``text`` as JSON (RFC 8259: no NaN/Infinity, no duplicate keys), within ``kind``'s limits."""
    _check_size(kind, source, text)
    depth_hint = "flatten the structure; no real input nests this deep"
    try:
        data = json.loads(text, object_pairs_hook=_object, parse_constant=_constant)
    except RecursionError:
        raise _error(
            kind, source, f"nested too deeply: more than {kind.limits.max_depth} levels", hint=depth_hint
        ) from None
    except _DuplicateKeyError as exc:
        raise _error(
            kind,
            source,
            f"ambiguous: key {exc.key!r} appears twice in one object; JSON readers disagree on which "
            "one wins",
            key=exc.key,
            hint="keep exactly one of them",
        ) from None
    except json.JSONDecodeError as exc:
        raise _error(
            kind,
            source,
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            line=exc.lineno,
            hint=kind.hint,
        ) from None
    except UnicodeDecodeError:
        raise _error(kind, source, "not UTF-8 text", hint="save it as UTF-8") from None
    except ValueError as exc:  # NaN/Infinity, a number of more than 4,300 digits
        raise _error(kind, source, f"not valid JSON: {exc}", hint=kind.hint) from None
    depth, path = _depth(data, kind.limits.max_depth)
    if depth > kind.limits.max_depth:
        raise _error(
            kind,
            source,
            f"nested too deeply: more than {kind.limits.max_depth} levels",
            key=key_path(path) or None,
            hint=depth_hint,
        )
    return data


def _depth(data: Any, limit: int) -> tuple[int, list[str | int]]:
    """The nesting depth of JSON data (stopping past ``limit``), and the path where it stopped.

    Level by level without paths first (every API answer passes here: a LIST of 200 objects
    takes 0.6 ms instead of 2.3 ms); the path is traced only for data that is too deep.
    """
    level = [data] if isinstance(data, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return _deepest_path(data, limit)
        below: list[Any] = []
        for value in level:
            for child in value.values() if isinstance(value, dict) else value:
                if isinstance(child, dict | list):
                    below.append(child)
        level = below
    return depth, []


def _deepest_path(data: Any, limit: int) -> tuple[int, list[str | int]]:
    deepest = 0
    stack: list[tuple[Any, int, list[str | int]]] = [(data, 0, [])]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, dict | list):
            depth += 1
            if depth > limit:
                return depth, path
            deepest = max(deepest, depth)
            items = value.items() if isinstance(value, dict) else enumerate(value)
            stack.extend((v, depth, [*path, k]) for k, v in items if isinstance(v, dict | list))
    return deepest, []
