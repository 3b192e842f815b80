"""The layers of docs/architecture.md, checked on the package's source (DESIGN.md "Layout").

* ``core`` is pure: it imports only ``core`` and ``errors`` of ours, and nothing that reaches the
  outside world (no files, environment, processes, network or clocks);
* ``adapters`` never import ``operations``, ``commands`` or the CLI;
* ``operations`` never import ``commands`` or the CLI; ``commands`` never import the CLI;
* heavy clients (kubernetes, PyGithub, PyNaCl, jsonpath-ng, kubernetes-validate) are imported
  inside the functions that need them, never when a module loads (start-up cost of every verb).

Each rule reports every offending ``file:line`` at once, so a violation says where to look.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "scripts" / "gitops"
LAYERS = ("core", "adapters", "operations", "commands")
# What a layer may import of ours, besides itself (DESIGN.md: core <- operations <- commands,
# adapters used by operations; errors is shared by all).
ALLOWED: dict[str, frozenset[str]] = {
    "core": frozenset({"core", "errors"}),
    "adapters": frozenset({"adapters", "core", "errors", "__version__"}),
    "operations": frozenset({"operations", "adapters", "core", "errors"}),
    "commands": frozenset({"commands", "operations", "adapters", "core", "errors", "profiles"}),
}
# Standard-library modules that reach the outside world: never in core.
IMPURE_MODULES = frozenset(
    {"os", "sys", "subprocess", "socket", "time", "threading", "shutil", "tempfile", "http", "urllib.request"}
)
IMPURE_CALLS = frozenset({"read_text", "read_bytes", "write_text", "write_bytes", "open", "now", "today"})
HEAVY = frozenset({"kubernetes", "github", "nacl", "jsonpath_ng", "kubernetes_validate"})


def modules() -> Iterator[tuple[str, Path, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        layer = relative.parts[0] if len(relative.parts) > 1 else ""
        yield layer, path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(PACKAGE.parent)}:{getattr(node, 'lineno', 0)}"


def imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        if node.module == "gitops":
            return [f"gitops.{alias.name}" for alias in node.names]
        return [node.module]
    return []


def our_layer(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if parts[0] == "gitops" and len(parts) > 1 else None


def type_checking_blocks(tree: ast.Module) -> set[int]:
    """Line numbers inside ``if TYPE_CHECKING:`` blocks (imports there cost nothing at run time)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for inner in node.body:
                lines.update(range(inner.lineno, (inner.end_lineno or inner.lineno) + 1))
    return lines


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_imports_only_the_layers_below_it(layer: str) -> None:
    wrong = [
        f"{where(path, node)} imports {name}"
        for own, path, tree in modules()
        if own == layer
        for node in ast.walk(tree)
        for name in imported(node)
        if (other := our_layer(name)) is not None and other not in ALLOWED[layer]
    ]
    assert not wrong, f"{layer} may import only {sorted(ALLOWED[layer])}:\n" + "\n".join(wrong)


def test_core_reaches_nothing_outside_the_process() -> None:
    wrong: list[str] = []
    for layer, path, tree in modules():
        if layer != "core":
            continue
        for node in ast.walk(tree):
            for name in imported(node):
                if name in IMPURE_MODULES or name.split(".")[0] in IMPURE_MODULES - {"urllib.request"}:
                    wrong.append(f"{where(path, node)} imports {name}")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in IMPURE_CALLS
            ):
                wrong.append(f"{where(path, node)} calls .{node.func.attr}()")
    assert not wrong, "core must be pure (plain data in, plain data out):\n" + "\n".join(wrong)


def test_heavy_clients_are_imported_lazily() -> None:
    wrong: list[str] = []
    for _, path, tree in modules():
        typing_only = type_checking_blocks(tree)
        for node in tree.body:  # module level only: imports inside functions are the point
            for name in imported(node):
                if name.split(".")[0] in HEAVY and node.lineno not in typing_only:
                    wrong.append(f"{where(path, node)} imports {name} when the module loads")
    assert not wrong, "import heavy clients inside the function that needs them:\n" + "\n".join(wrong)


def test_the_rules_see_the_whole_package() -> None:
    # A guard for the checks above: they must have found every layer and real imports in it.
    seen = {layer for layer, _, _ in modules()}
    assert set(LAYERS) <= seen
    core_imports = [n for layer, _, t in modules() if layer == "core" for n in ast.walk(t) if imported(n)]
    assert len(core_imports) > 50
