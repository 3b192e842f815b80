"""All GitHub Actions runner I/O goes through this module.

Implements the workflow-command and environment-file protocols as the Actions toolkit
does (https://docs.github.com/en/actions/reference/workflow-commands-for-github-actions):

* outputs go to ``$GITHUB_OUTPUT`` as ``name<<DELIM`` blocks with a random delimiter, and a
  name or value that contains the delimiter is refused (it would let a value forge outputs);
* the job summary is appended to ``$GITHUB_STEP_SUMMARY``, never past :data:`SUMMARY_LIMIT`: the
  runner drops a step summary over 1 MiB WHOLE ("$GITHUB_STEP_SUMMARY upload aborted, supports
  content up to a size of 1024k"; "each step is restricted to a maximum size of 1MiB",
  https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands#adding-a-job-summary),
  so a summary that would cross it is cut at a line, open ``<details>`` are closed, and a
  pointer to the full report (the step's log, where ``--format json`` printed it) ends it;
* ``::add-mask::`` is sent for every form of a secret that :mod:`gitops.core.redaction`
  (the one place that decides what is secret) derives: the value, *each of its lines*
  (the runner masks line by line, so a multi-line secret would otherwise leak one line at a
  time), its base64, JSON-escaped and percent-encoded text;
* annotations (``::error file=..,line=..,title=..::msg``) use the toolkit's escaping:
  ``%``, CR and LF in data; additionally ``:`` and ``,`` in properties.

Workflow commands and human-readable text go to **stderr**; stdout is reserved for data
(JSON, rendered manifests), so ``gitops render | kubectl apply -f -`` never carries a
command line. The GitHub runner processes workflow commands from both streams.

Every way out goes through this module and is redacted here, in Actions and outside: stderr
(logs, annotations, groups), stdout (:meth:`Runner.redact_data` before JSON is written),
``$GITHUB_OUTPUT`` (:meth:`Runner.set_output`: a JSON value stays valid JSON) and
``$GITHUB_STEP_SUMMARY``. Registered values and the shapes of credentials (URL userinfo,
private keys, GitHub tokens) are masked; a value too short or too common to mask is not
registered and the user is warned (see :mod:`gitops.core.redaction`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO, TypeVar

from gitops.core.redaction import Redactor
from gitops.errors import ConfigurationError

T = TypeVar("T")

# The runner refuses a step summary larger than this (bytes), and then shows none of it.
SUMMARY_LIMIT = 1024 * 1024
# Room kept for the pointer that replaces what was cut.
_POINTER_ROOM = 2 * 1024


def escape_data(value: str) -> str:
    """Escape a workflow-command message (toolkit ``escapeData``)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a workflow-command property value (toolkit ``escapeProperty``)."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def format_command(command: str, message: str = "", **properties: str | int | None) -> str:
    """Build ``::command k=v,k=v::message`` with the toolkit's escaping; ``None`` props are dropped."""
    props = ",".join(
        f"{key}={escape_property(str(value))}" for key, value in properties.items() if value is not None
    )
    head = f"::{command} {props}" if props else f"::{command}"
    return f"{head}::{escape_data(message)}"


class OutputError(ValueError):
    """A value cannot be written to ``$GITHUB_OUTPUT`` safely."""


def format_output(name: str, value: str, delimiter: str) -> str:
    """One ``$GITHUB_OUTPUT`` entry in the multi-line form the runner accepts for any value."""
    if not name or "\n" in name or "\r" in name:
        raise OutputError(f"invalid output name {name!r}")
    if delimiter in name:
        raise OutputError(f"output name {name!r} contains the delimiter")
    if delimiter in value:
        raise OutputError(f"the value of output {name!r} contains the delimiter; refusing to write it")
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


class Runner:
    """The runner's I/O for one process. Use :func:`current` for the process-wide instance."""

    def __init__(self, env: Mapping[str, str] | None = None, stream: TextIO | None = None) -> None:
        self._env = dict(os.environ if env is None else env)
        self._stream = stream
        self._redactor = Redactor()
        self._warned: set[str] = set()
        self._summary_cut = False  # this process's summary reached the limit: nothing more is added
        self._summary_broken = False  # the summary file cannot be written: warned once

    # -- environment ---------------------------------------------------------------
    @property
    def in_actions(self) -> bool:
        return self._env.get("GITHUB_ACTIONS") == "true"

    @property
    def debug_enabled(self) -> bool:
        return self._env.get("RUNNER_DEBUG") == "1" or self._env.get("GITOPS_DEBUG", "") not in ("", "0")

    def env(self, name: str, default: str = "") -> str:
        return self._env.get(name, default)

    @property
    def out(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stderr

    # -- masking ---------------------------------------------------------------------
    def mask(self, value: str, *, origin: str | None = None) -> None:
        """Register a secret in every form it can take (:func:`gitops.core.redaction.forms`).

        Must be called before the value can appear anywhere. Outside Actions the value is
        still redacted from everything this module prints. A value too short or too common
        to mask is not registered; when ``origin`` names where it came from (``$DB_PASSWORD``),
        the user is warned once (never with the value).
        """
        registration = self._redactor.add(value)
        if self.in_actions:
            for piece in registration.added:
                self._write_raw(format_command("add-mask", piece))
        if registration.refused is not None and value.strip() and origin and origin not in self._warned:
            self._warned.add(origin)
            self.warning(registration.refused.explain(origin), title="Secret too weak to mask")

    def redact(self, text: str) -> str:
        """``text`` with every registered secret and every credential shape replaced by ``***``."""
        return self._redactor.redact(text)

    def redact_data(self, data: T) -> T:
        """JSON-like ``data`` with its strings redacted (serialise after: the JSON stays valid)."""
        return self._redactor.redact_data(data)

    def redact_json(self, text: str) -> str:
        """Redacted ``text``; if it is JSON, still valid JSON."""
        return self._redactor.redact_json(text)

    # -- printing --------------------------------------------------------------------
    def _write_raw(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()

    def log(self, message: str) -> None:
        """A human-readable line on stderr (redacted)."""
        self._write_raw(self.redact(message))

    def debug(self, message: str) -> None:
        if self.in_actions:
            self._write_raw(format_command("debug", self.redact(message)))
        elif self.debug_enabled:
            self._write_raw(f"debug: {self.redact(message)}")

    def _annotate(
        self,
        level: str,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        title: str | None = None,
    ) -> None:
        message = self.redact(message)
        if not file:
            line = None  # a line of no file: "error: 1: ..." in a terminal, a dangling line= in Actions
        if self.in_actions:
            self._write_raw(format_command(level, message, title=title, file=file, line=line))
            return
        where = ":".join(p for p in (file, str(line) if line else None) if p)
        head = f"{level}: {where}: " if where else f"{level}: "
        if title:
            head += f"{title}: "
        self._write_raw(head + message)

    def error(
        self, message: str, *, file: str | None = None, line: int | None = None, title: str | None = None
    ) -> None:
        self._annotate("error", message, file=file, line=line, title=title)

    def warning(
        self, message: str, *, file: str | None = None, line: int | None = None, title: str | None = None
    ) -> None:
        self._annotate("warning", message, file=file, line=line, title=title)

    def notice(
        self, message: str, *, file: str | None = None, line: int | None = None, title: str | None = None
    ) -> None:
        self._annotate("notice", message, file=file, line=line, title=title)

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A collapsible log group in Actions; a titled block elsewhere."""
        title = self.redact(title)
        self._write_raw(format_command("group", title) if self.in_actions else f"== {title}")
        try:
            yield
        finally:
            if self.in_actions:
                self._write_raw(format_command("endgroup"))

    # -- environment files -----------------------------------------------------------
    def check_files(self) -> None:
        """Before a verb runs: ``$GITHUB_OUTPUT`` must be writable (later steps read the outputs;
        a verb that deployed and then could not say so would be worse than one that never
        started), and an unwritable ``$GITHUB_STEP_SUMMARY`` is warned about once, then skipped."""
        output = self._env.get("GITHUB_OUTPUT")
        if output:
            try:
                Path(output).open("a", encoding="utf-8").close()
            except OSError as exc:
                raise _unwritable("GITHUB_OUTPUT", output, exc) from None
        summary = self._env.get("GITHUB_STEP_SUMMARY")
        if summary and not self._summary_broken:
            try:
                Path(summary).open("a", encoding="utf-8").close()
            except OSError as exc:
                self._summary_failed(summary, exc)

    def set_output(self, name: str, value: str) -> None:
        """Write one step output, redacted; a JSON value stays valid JSON."""
        value = self._redactor.redact_json(value)
        path = self._env.get("GITHUB_OUTPUT")
        if not path:
            self.debug(f"output {name}={value}")
            return
        # os.urandom is what secrets.token_hex reads; `secrets` costs a CLI start ~3 ms of imports
        delimiter = f"ghadelimiter_{os.urandom(16).hex()}"
        entry = format_output(name, value, delimiter)
        try:
            with Path(path).open("a", encoding="utf-8") as handle:
                handle.write(entry)
        except OSError as exc:
            raise _unwritable("GITHUB_OUTPUT", path, exc) from None

    def summary(self, markdown: str) -> None:
        """Append markdown to the job summary (redacted). A no-op without ``$GITHUB_STEP_SUMMARY``.

        The step's summary never grows past :data:`SUMMARY_LIMIT` (see the module docstring): what
        would cross it is cut, once, with a pointer to the full report; later sections are dropped.
        """
        path = self._env.get("GITHUB_STEP_SUMMARY")
        if not path or self._summary_cut or self._summary_broken:
            return
        text = self.redact(markdown)
        if not text.endswith("\n"):
            text += "\n"
        try:
            target = Path(path)
            used = target.stat().st_size if target.exists() else 0
            data = text.encode("utf-8")
            if used + len(data) > SUMMARY_LIMIT:
                self._summary_cut = True
                text = cut_summary(data, max(SUMMARY_LIMIT - used - _POINTER_ROOM, 0), self._report_pointer())
                self.warning(
                    "the job summary reached GitHub's 1 MiB limit for a step and was cut; the log of this "
                    "step has the full report",
                    title="Summary cut",
                )
            with target.open("a", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:  # a directory, a read-only or vanished place: it is only a report
            self._summary_failed(path, exc)

    def _summary_failed(self, path: str, exc: OSError) -> None:
        self._summary_broken = True
        self.warning(
            f"$GITHUB_STEP_SUMMARY ({path}) cannot be written ({exc.strerror or type(exc).__name__}); "
            "this step writes no job summary",
            title="Job summary unavailable",
        )

    def _report_pointer(self) -> str:
        server, repo, run = (self.env(n) for n in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
        where = (
            f"the log of this step ({server}/{repo}/actions/runs/{run})"
            if server and repo and run
            else ("the log of this step")
        )
        return (
            "\n> [!WARNING]\n> This summary was cut at GitHub's 1 MiB limit for a step (a larger one is "
            f"dropped whole). The full report is in {where}: the JSON the step printed, and its outputs.\n"
        )


def _unwritable(name: str, path: str, exc: OSError) -> ConfigurationError:
    return ConfigurationError(
        f"${name} ({path}) cannot be written: {exc.strerror or type(exc).__name__}",
        key=name,
        title="Runner file unwritable",
        hint=f"the runner sets ${name} to a file it made for this step: do not override it, or point it "
        "at a writable file",
    )


def cut_summary(data: bytes, budget: int, pointer: str) -> str:
    """The first ``budget`` bytes of a markdown summary, cut after a whole line (never inside a
    UTF-8 character), every ``<details>`` it opened closed again, then ``pointer``."""
    kept = data[:budget].decode("utf-8", errors="ignore")
    if len(kept.encode("utf-8")) < len(data):
        kept = kept[: kept.rfind("\n") + 1]  # "" when not even one line fits
    unclosed = kept.count("<details>") - kept.count("</details>")
    return kept + "\n</details>\n" * max(unclosed, 0) + pointer


_current: Runner | None = None


def current() -> Runner:
    """The process-wide runner, created from ``os.environ`` on first use."""
    global _current  # noqa: PLW0603 - one runner per process is the point
    if _current is None:
        _current = Runner()
    return _current


def reset(runner: Runner | None = None) -> Runner:
    """Replace the process-wide runner (tests and the CLI entry point use this)."""
    global _current  # noqa: PLW0603
    _current = runner if runner is not None else Runner()
    return _current
