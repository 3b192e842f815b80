"""Generate the README's action reference from every action.yml, so the two cannot drift.

    python -m tests.support.action_docs --write    # update README.md in place
    python -m tests.support.action_docs --check    # exit 1 if README.md is stale

tests/unit/test_readme.py runs the check.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
BEGIN = "<!-- BEGIN GENERATED ACTION REFERENCE: python -m tests.support.action_docs --write -->"
END = "<!-- END GENERATED ACTION REFERENCE -->"


def action_files(root: Path = ROOT) -> list[Path]:
    files = sorted((root / "actions").glob("*/action.yml"))
    if (root / "action.yml").exists():
        files.insert(0, root / "action.yml")
    return files


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def render_action(path: Path, root: Path = ROOT) -> str:
    spec: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    rel = path.parent.relative_to(root).as_posix()
    ref = "the repository root" if rel == "." else f"`{rel}`"
    uses = "<owner>/<repo>" if rel == "." else f"<owner>/<repo>/{rel}"
    description = " ".join(str(spec.get("description", "")).split())
    lines = [f"### {spec.get('name', rel)} ({ref})", "", description, ""]
    lines += [f"`uses: {uses}@<sha>`", ""]
    inputs: dict[str, dict[str, Any]] = spec.get("inputs") or {}
    if inputs:
        lines += ["| input | required | default | description |", "|---|---|---|---|"]
        for name, meta in inputs.items():
            default = meta.get("default", "")
            shown = f"`{_cell(default)}`" if default != "" else '""'
            required = "yes" if meta.get("required") else "no"
            lines.append(f"| `{name}` | {required} | {shown} | {_cell(meta.get('description', ''))} |")
        lines.append("")
    outputs: dict[str, dict[str, Any]] = spec.get("outputs") or {}
    if outputs:
        lines += ["| output | description |", "|---|---|"]
        for name, meta in outputs.items():
            lines.append(f"| `{name}` | {_cell(meta.get('description', ''))} |")
        lines.append("")
    return "\n".join(lines)


def generated(root: Path = ROOT) -> str:
    body = "\n".join(render_action(p, root) for p in action_files(root))
    return f"{BEGIN}\n\n{body}\n{END}"


def splice(readme: str, block: str) -> str:
    if BEGIN not in readme or END not in readme:
        raise SystemExit(f"README.md lacks the markers {BEGIN!r} ... {END!r}")
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return head + block + tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    readme = ROOT / "README.md"
    current = readme.read_text(encoding="utf-8")
    wanted = splice(current, generated())
    if args.write:
        readme.write_text(wanted, encoding="utf-8")
        return 0
    if wanted != current:
        print("README.md's action reference is stale: run python -m tests.support.action_docs --write")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
