"""Reading what a step wrote to the runner's environment files, as the runner would."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_BLOCK = re.compile(r"^(?P<name>[^=\n<]+)<<(?P<delim>[^\n]+)\n(?P<value>.*?)\n(?P=delim)\n", re.S | re.M)


def parse_output_file(text: str) -> dict[str, str]:
    """Parse ``$GITHUB_OUTPUT`` content (``name=value`` lines and ``name<<DELIM`` blocks)."""
    result: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        match = _BLOCK.match(text, pos)
        if match:
            result[match["name"]] = match["value"]
            pos = match.end()
            continue
        end = text.find("\n", pos)
        end = len(text) if end == -1 else end
        line = text[pos:end]
        if "=" not in line:
            raise ValueError(f"malformed output line: {line!r}")
        name, value = line.split("=", 1)
        result[name] = value
        pos = end + 1
    return result


@dataclass
class GhaEnv:
    root: Path
    output: Path
    summary_file: Path
    env_file: Path

    @classmethod
    def create(cls, root: Path) -> GhaEnv:
        root.mkdir(parents=True, exist_ok=True)
        paths = [root / "output", root / "summary.md", root / "env"]
        for p in paths:
            p.touch()
        return cls(root, *paths)

    def variables(self) -> dict[str, str]:
        return {
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(self.output),
            "GITHUB_STEP_SUMMARY": str(self.summary_file),
            "GITHUB_ENV": str(self.env_file),
            "RUNNER_TEMP": str(self.root),
        }

    def outputs(self) -> dict[str, str]:
        return parse_output_file(self.output.read_text(encoding="utf-8"))

    def summary(self) -> str:
        return self.summary_file.read_text(encoding="utf-8")
