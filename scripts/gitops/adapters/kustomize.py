"""``kubectl kustomize``: the only thing this suite runs kubectl for.

Rendering happens before any secret value is involved: kustomize sees the repository's
files only, and substitution happens afterwards in memory (:mod:`gitops.operations.rendering`).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gitops.adapters import textfile
from gitops.adapters.kubectl import kubectl_binary
from gitops.core import documents, kustomize_refs
from gitops.errors import ConfigurationError, Problem

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
TIMEOUT_SECONDS = 300

# Annotations that `buildMetadata: [originAnnotations]` adds; see
# https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/buildmetadata/
ORIGIN_ANNOTATION = "config.kubernetes.io/origin"


def kustomization_file(directory: Path) -> Path | None:
    """The kustomization file in ``directory``, or None."""
    for name in KUSTOMIZATION_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def nearby_overlays(overlay: Path, limit: int = 8) -> list[str]:
    """Overlays that exist in the k8s tree a mistyped one points into (``.../k8s/<provider>/<env>``),
    else in ``./infra/k8s``; empty when there is no such tree (never a scan of arbitrary folders)."""
    roots = [a for a in (overlay, *overlay.parents) if a.name == "k8s" and a.is_dir()][:1]
    if not roots and Path("infra/k8s").is_dir():
        roots = [Path("infra/k8s")]
    found: set[str] = set()
    for root in roots:
        for name in KUSTOMIZATION_FILES:
            for path in root.glob(f"*/*/{name}"):
                if "base" not in path.parent.relative_to(root).parts:
                    found.add(str(path.parent))
    return sorted(found)[:limit]


def missing_overlay(overlay: Path, *, key: str | None = "--overlay") -> ConfigurationError:
    """The error for an --overlay that is not a kustomize directory, listing the ones that are."""
    import difflib

    nearby = nearby_overlays(overlay)
    if not overlay.is_dir():
        what = f"overlay {overlay} does not exist"
    else:
        what = f"{overlay} is not a kustomize overlay (no kustomization.yaml in it)"
    if nearby:
        by_name = {Path(n).name: n for n in nearby}
        close = difflib.get_close_matches(overlay.name, list(by_name), n=1, cutoff=0.6)
        guess = f"did you mean {by_name[close[0]]}? " if close else ""
        hint = f"{guess}overlays here: {', '.join(nearby)}"
    else:
        hint = "pass the directory that holds the overlay's kustomization.yaml, e.g. infra/k8s/hetzner/dev"
    return ConfigurationError(what, file=str(overlay), key=key, hint=hint, title="Overlay not found")


def _check_overlay(overlay: Path) -> None:
    if not overlay.is_dir() or kustomization_file(overlay) is None:
        raise missing_overlay(overlay)
    if not _remote.allowed:
        refuse_remote(overlay)


# -- remote references ----------------------------------------------------------------------------
# kustomize fetches http(s) files, git repositories and Helm charts a kustomization names, and
# renders what comes back as ours: refused unless the verb is given --allow-remote (which sets this
# once per process, like the runner's settings).


@dataclass
class _RemotePolicy:
    allowed: bool = False


_remote = _RemotePolicy()
MAX_KUSTOMIZATIONS = 1000  # far more than any real tree; a cycle of symlinks stops here too

KUSTOMIZATION = documents.DocumentKind(
    title="Invalid kustomization", message="the kustomization is {problem}"
)


def allow_remote(allowed: bool) -> None:
    """Let kustomize fetch remote references for the rest of this process (``--allow-remote``)."""
    _remote.allowed = allowed


@dataclass(frozen=True)
class RemoteReference:
    """A reference kustomize would fetch from outside the repository, and where it is written."""

    file: Path
    line: int | None
    field: str
    value: str

    def describe(self) -> str:
        return f"{self.field}: {self.value}"


def _documents(path: Path) -> list[documents.Document]:
    text = textfile.read_input(path, what=str(path), title="Invalid kustomization")
    return documents.compose_all(text, str(path), KUSTOMIZATION)


def remote_references(overlay: Path) -> list[RemoteReference]:
    """Every remote reference in the kustomizations reachable from ``overlay`` (its resources,
    bases and components, and theirs), and in the generator/transformer files they name."""
    found: list[RemoteReference] = []
    queue = [overlay.resolve()]
    seen: set[Path] = set()
    while queue:
        directory = queue.pop()
        if directory in seen:
            continue
        seen.add(directory)
        if len(seen) > MAX_KUSTOMIZATIONS:
            raise ConfigurationError(
                f"{overlay} reaches more than {MAX_KUSTOMIZATIONS} kustomizations (a cycle of links?)",
                file=str(overlay),
                title="Invalid kustomization",
            )
        file = kustomization_file(directory)
        if file is None:
            continue
        for document in _documents(file):
            data = document.data
            for ref in kustomize_refs.references(data):
                if ref.remote:
                    found.append(RemoteReference(file, document.line(ref.path), ref.field, ref.value))
                    continue
                target = directory / ref.value
                if ref.directory and target.is_dir():
                    queue.append(target.resolve())
                elif ref.path[0] in ("generators", "transformers", "validators") and target.is_file():
                    for plugin in _documents(target):
                        found.extend(
                            RemoteReference(target, plugin.line(p.path), p.field, p.value)
                            for p in kustomize_refs.plugin_references(plugin.data)
                        )
            for path, text in kustomize_refs.inline_sources(data):
                line = document.line(path)
                for inline in documents.compose_all(text, str(file), KUSTOMIZATION):
                    found.extend(
                        RemoteReference(file, line, f"{documents.key_path(path)} {p.field}", p.value)
                        for p in kustomize_refs.plugin_references(inline.data)
                    )
    return found


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is under it (as the user wrote it)."""
    relative = os.path.relpath(path)
    return path.as_posix() if relative.startswith("..") else Path(relative).as_posix()


def refuse_remote(overlay: Path) -> None:
    """Raise, naming each file, line and reference, when ``overlay`` reaches a remote reference."""
    remote = remote_references(overlay)
    if not remote:
        return
    first = remote[0]
    problems = [
        Problem(f"names a remote reference, {r.value}", _shown(r.file), r.line, r.field) for r in remote
    ]
    more = f" (and {len(remote) - 1} more remote reference(s))" if len(remote) > 1 else ""
    raise ConfigurationError(
        f"{first.field} names a remote reference, {first.value}: kustomize would download it and we would "
        f"apply what came back{more}",
        file=_shown(first.file),
        line=first.line,
        key=first.field,
        title="Remote kustomize reference",
        hint="vendor what it names into the repository (a pinned copy you review), or pass --allow-remote "
        "to let kustomize download it at every build",
        problems=problems,
    )


def _run(directory: Path, overlay: Path) -> str:
    command = [kubectl_binary(), "kustomize", str(directory)]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ConfigurationError(
            f"kustomize build of {overlay} did not finish within {TIMEOUT_SECONDS}s",
            file=str(overlay),
            hint="A remote base (git URL) that cannot be fetched is the usual cause; pin or vendor it.",
            title="kustomize build failed",
        ) from exc
    if done.returncode != 0:
        message = done.stderr.strip() or f"kubectl kustomize exited with {done.returncode}"
        if message.startswith(("error: ", "Error: ")):
            message = message.split(": ", 1)[1]
        raise ConfigurationError(
            f"kustomize could not build {overlay}: {message}",
            file=str(kustomization_file(overlay) or overlay),
            hint="Run `kubectl kustomize " + str(overlay) + "` locally and fix the file it names.",
            title="kustomize build failed",
            problems=[Problem(line) for line in message.splitlines()[1:] if line.strip()],
        )
    return done.stdout


def build(overlay: Path) -> str:
    """``kubectl kustomize OVERLAY``: the rendered manifests as YAML text.

    A missing overlay or a kustomize error raises :class:`ConfigurationError` naming the overlay
    and carrying kustomize's own message.
    """
    _check_overlay(overlay)
    return _run(overlay, overlay)


@dataclass(frozen=True)
class OriginBuild:
    """Output of :func:`build_with_origins` and the directory its origin paths are relative to."""

    text: str
    origin_root: Path

    def resolve(self, origin_path: str) -> Path:
        """The absolute path of a file named in an origin annotation (lexically; no I/O)."""
        return Path(os.path.normpath(self.origin_root / origin_path))


def build_with_origins(overlay: Path) -> OriginBuild:
    """Like :func:`build`, but every object carries kustomize's origin annotation.

    The user's overlay is not edited: a throw-away kustomization in a temporary directory
    lists the overlay as its only resource and turns on ``buildMetadata: [originAnnotations]``.
    Kustomize refuses absolute resource paths, so the overlay is named relative to that
    directory, and origin paths in the output are relative to it too
    (:meth:`OriginBuild.resolve`). Only repository files are involved: no secret value.
    """
    _check_overlay(overlay)
    with tempfile.TemporaryDirectory(prefix="gitops-origins-") as tmp:
        wrapper = Path(tmp).resolve()
        relative = os.path.relpath(overlay.resolve(), wrapper)
        (wrapper / "kustomization.yaml").write_text(
            "apiVersion: kustomize.config.k8s.io/v1beta1\n"
            "kind: Kustomization\n"
            f"resources:\n- {json.dumps(relative)}\n"
            "buildMetadata: [originAnnotations]\n",
            encoding="utf-8",
        )
        return OriginBuild(_run(wrapper, overlay), wrapper)
