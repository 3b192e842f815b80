"""Validating the infrastructure tree without a cluster and without any secret value (``gitops validate``).

Every overlay (a directory two levels under ``INFRA/k8s/`` holding a kustomization file, e.g.
``hetzner/dev`` or ``podman/local``; ``base/`` is not an overlay) is rendered with kustomize,
its Secret placeholders left in place, and every object is validated against the Kubernetes
OpenAPI schema of the chosen version in strict mode (``kubernetes_validate``: unknown fields
are errors). Each failure names its overlay, the file and line that set the bad field
(:mod:`gitops.core.source_locator`), kind, name and the schema error. A placeholder that could
never be substituted fails too. When ``INFRA/deploy-control.yaml`` exists it is loaded with
every check of ``gitops gate``, and its environments must match the overlays; the policy as read
(every key left out at its default) is :attr:`Validation.loaded`, for ``--explain``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from gitops.adapters import runner, textfile
from gitops.core import documents as loader
from gitops.core.source_locator import SOURCES, Step, documents, dotted, field_path, locate
from gitops.errors import ConfigurationError, Problem

if TYPE_CHECKING:
    from gitops.core.policy import Policy

DEFAULT_KUBERNETES_VERSION = "1.37.0"


@dataclass
class Failure:
    overlay: str | None
    kind: str
    name: str
    error: str
    file: str | None = None
    line: int | None = None
    field: str | None = None
    origin: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "overlay": self.overlay,
            "file": self.file,
            "line": self.line,
            "kind": self.kind,
            "name": self.name,
            "field": self.field,
            "error": self.error,
            "origin": self.origin,
        }


@dataclass
class OverlayResult:
    overlay: str
    environment: str
    objects: int = 0
    valid: int = 0
    failed: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    labels: set[str] = field(default_factory=set)  # app.kubernetes.io/name values seen

    def to_json(self) -> dict[str, Any]:
        return {
            "overlay": self.overlay,
            "environment": self.environment,
            "objects": self.objects,
            "valid": self.valid,
            "failed": self.failed,
            "skipped": self.skipped,
        }


@dataclass
class Validation:
    """The answer of :func:`validate`: every overlay's counts, every failure, the policy's check."""

    kubernetes_version: str
    overlays: list[OverlayResult]
    failures: list[Failure]
    policy: dict[str, Any] | None  # {"file", "ok", "problems"}, None without a policy file
    loaded: Policy | None = None  # the policy as the gate reads it; None when absent or invalid

    @property
    def ok(self) -> bool:
        return not self.failures


def validate(infra: Path, version: str, placeholder: str) -> Validation:
    """Validate every overlay under ``infra`` and the policy next to them; see the module docstring."""
    console = runner.current()
    version = check_version(version)
    overlays = discover_overlays(infra)
    index = SourceIndex()
    failures: list[Failure] = []
    results = []
    for overlay in overlays:
        with console.group(f"validate {overlay}"):
            result = validate_overlay(overlay, version, placeholder, index, failures)
            console.log(
                f"{result.overlay}: {result.objects} object(s), {result.valid} valid, "
                f"{result.failed} failed, {len(result.skipped)} skipped"
            )
        results.append(result)
    policy_path = infra / "deploy-control.yaml"
    if not policy_path.exists():
        return Validation(version, results, failures, None)
    policy, loaded = check_policy(policy_path, results, failures)
    return Validation(version, results, failures, policy, loaded)


# -- discovery -------------------------------------------------------------------------------


def discover_overlays(infra: Path) -> list[Path]:
    """Overlay directories: ``<infra>/k8s/<provider>/<env>`` with a kustomization file, not ``base``."""
    from gitops.adapters.kustomize import KUSTOMIZATION_FILES

    k8s = infra / "k8s"
    if not k8s.is_dir():
        raise ConfigurationError(
            f"{k8s} does not exist",
            file=str(infra),
            key="--infra",
            hint="Run from the repository root, or pass --infra with the directory that holds k8s/.",
            title="Infrastructure tree not found",
        )
    found = {
        path.parent
        for name in KUSTOMIZATION_FILES
        for path in k8s.glob(f"*/*/{name}")
        if path.parent.parent.name != "base" and path.is_file()
    }
    overlays = sorted(found)
    if not overlays:
        raise ConfigurationError(
            f"no overlays under {k8s} (expected <provider>/<env>/kustomization.yaml)",
            file=str(k8s),
            title="No overlays",
        )
    return overlays


def check_version(version: str) -> str:
    from kubernetes_validate.utils import all_versions, major_minor

    supported = [major_minor(v) for v in all_versions()]
    if not re.fullmatch(r"v?\d+\.\d+(\.\d+)?", version) or major_minor(version.lstrip("v")) not in supported:
        raise ConfigurationError(
            f"Kubernetes version {version!r} has no bundled schema",
            key="--kubernetes-version",
            hint=f"Use one of {supported[0]}..{supported[-1]} as X.Y.Z, e.g. {DEFAULT_KUBERNETES_VERSION}.",
            title="Invalid input",
        )
    return version.lstrip("v")


# -- the files behind a failing field ---------------------------------------------------------


class SourceIndex:
    """Reads (once) the files :func:`gitops.core.source_locator.locate` searches."""

    def __init__(self) -> None:
        self._docs: dict[Path, list[yaml.MappingNode]] = {}
        self._overlay_files: dict[Path, list[Path]] = {}

    def docs(self, path: Path) -> list[yaml.MappingNode]:
        if path not in self._docs:
            try:
                text = textfile.read(path, loader.MANIFESTS.max_bytes)
            except OSError:
                text = ""
            self._docs[path] = documents(text)
        return self._docs[path]

    def _files(self, overlay: Path) -> list[Path]:
        """The overlay's own YAML files other than its kustomization, last patch first."""
        from gitops.adapters.kustomize import KUSTOMIZATION_FILES

        if overlay not in self._overlay_files:
            found = sorted([*overlay.rglob("*.yaml"), *overlay.rglob("*.yml")], reverse=True)
            self._overlay_files[overlay] = [f for f in found if f.name not in KUSTOMIZATION_FILES]
        return self._overlay_files[overlay]

    def locate(
        self, obj: Mapping[str, Any], path: Sequence[Step], origin: Path | None, overlay: Path
    ) -> tuple[Path | None, int | None]:
        files = [(f, self.docs(f)) for f in self._files(overlay) if f != origin]
        return locate(obj, path, origin, self.docs(origin) if origin is not None else [], files)


def _origin_of(obj: dict[str, Any], origin_root: Any) -> Path | None:
    """Pop kustomize's origin annotation from ``obj`` and return the local file it names."""
    from gitops.adapters.kustomize import ORIGIN_ANNOTATION

    meta = obj.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    text = annotations.pop(ORIGIN_ANNOTATION, None)
    if not annotations and "annotations" in meta:
        del meta["annotations"]
    if not isinstance(text, str) or origin_root is None:
        return None
    try:
        origin = loader.load(text, None, SOURCES)
    except loader.DocumentError:
        return None
    if not isinstance(origin, Mapping) or origin.get("repo"):
        return None  # a remote base: no local file to point at
    local = origin.get("path") or origin.get("configuredIn")
    return origin_root.resolve(str(local)) if local else None


def _is_core_group(api_version: str) -> bool:
    group = api_version.rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


# -- validation ------------------------------------------------------------------------------


def validate_overlay(
    overlay: Path,
    version: str,
    placeholder: str,
    index: SourceIndex,
    failures: list[Failure],
) -> OverlayResult:
    """Build ``overlay``, validate every object against the schema, and find stray placeholders."""
    from gitops.core.secrets import scan
    from gitops.operations.rendering import display_path

    shown = display_path(overlay)
    result = OverlayResult(shown, overlay.name)
    built = _build(overlay, shown)
    if isinstance(built, Failure):
        failures.append(built)
        result.failed = 1
        return result
    objects, origins = built
    result.objects = len(objects)

    def failure(obj: Mapping[str, Any], origin: Path | None, path: Sequence[Step], message: str) -> Failure:
        file, line = index.locate(obj, path, origin, overlay)
        return Failure(
            shown,
            str(obj.get("kind")),
            str((obj.get("metadata") or {}).get("name")),
            message,
            file=display_path(file) if file else None,
            line=line,
            field=dotted(path) or None,
            origin=display_path(origin) if origin else None,
        )

    for obj, origin in zip(objects, origins, strict=True):
        label = ((obj.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/name")
        if isinstance(label, str):
            result.labels.add(label)
        verdict = _schema_verdict(obj, version)
        if verdict is None:
            result.valid += 1
        elif isinstance(verdict, str):
            name = str((obj.get("metadata") or {}).get("name"))
            result.skipped.append({"kind": str(obj.get("kind")), "name": name, "reason": verdict})
        else:
            failures.append(failure(obj, origin, *verdict))
            result.failed += 1
    found = scan(objects, placeholder)
    for (doc_index, where), problem in zip(found.stray_sites, found.strays, strict=True):
        steps: list[Step] = [int(s) if s.isdigit() else s for s in re.split(r"\.|\[|\]\.?", where) if s]
        stray = failure(objects[doc_index], origins[doc_index], steps, problem.message.split(": ", 1)[-1])
        failures.append(replace(stray, field=where, origin=None))
        result.failed += 1
    return result


def _build(overlay: Path, shown: str) -> tuple[list[dict[str, Any]], list[Path | None]] | Failure:
    """The rendered objects and the local file each was declared in, or why the build failed."""
    from gitops.adapters import kustomize
    from gitops.operations.rendering import load_manifests

    try:
        try:
            build = kustomize.build_with_origins(overlay)
            text, origin_root = build.text, build
        except ConfigurationError:
            text, origin_root = kustomize.build(overlay), None  # the plain build says what is wrong
        objects = load_manifests(text, f"kustomize build {shown}")
    except ConfigurationError as exc:
        message = "\n".join([exc.message, *map(str, exc.problems)])
        return Failure(shown, "Kustomization", shown, message, file=exc.file, line=exc.line)
    return objects, [_origin_of(obj, origin_root) for obj in objects]


def _schema_verdict(obj: Mapping[str, Any], version: str) -> tuple[list[Step], str] | str | None:
    """None when ``obj`` is valid; ``(field path, error)`` when not; a reason when there is no schema
    to check it against (a custom resource)."""
    import kubernetes_validate

    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return field_path(exc), str(exc.message)
    except kubernetes_validate.SchemaNotFoundError:
        api_version = str(obj.get("apiVersion"))
        if not _is_core_group(api_version):
            return f"no schema for {api_version}"
        return ["apiVersion"], f"Kubernetes {version} has no kind {obj.get('kind')} in {api_version}"
    return None


def check_policy(
    path: Path, results: list[OverlayResult], failures: list[Failure]
) -> tuple[dict[str, Any], Policy | None]:
    """Load deploy-control.yaml with the gate's own loader; its environments must match the overlays.

    Returns the check's summary and the policy (None when the file is invalid).
    """
    from gitops.core.policy import UNGOVERNED
    from gitops.operations.gating import load_policy
    from gitops.operations.rendering import display_path

    shown = display_path(path)
    try:
        policy = load_policy(path)
    except ConfigurationError as exc:
        problems = list(exc.problems) or [Problem(exc.message, exc.file, exc.line, exc.key)]
        for p in problems:
            failures.append(
                Failure(None, "deploy-control", p.key or shown, p.message, file=p.file or shown, line=p.line)
            )
        return {"file": shown, "ok": False, "problems": len(problems)}, None
    count = 0
    overlay_envs = {r.environment: r for r in results}
    for env in policy.environments:
        if env not in overlay_envs:
            count += 1
            failures.append(
                Failure(
                    None,
                    "deploy-control",
                    f"environments.{env}",
                    f"environment {env} has no overlay under k8s/<provider>/{env}",
                    file=shown,
                    line=policy.line_of(f"environments.{env}"),
                )
            )
    for env, result in overlay_envs.items():
        if env in policy.environments:
            for service in policy.environments[env].services:
                if result.objects and service not in result.labels:
                    count += 1
                    failures.append(
                        Failure(
                            result.overlay,
                            "deploy-control",
                            f"environments.{env}.services.{service}",
                            f"no object in overlay {result.overlay} has the label app.kubernetes.io/name: "
                            f"{service}, so the gate for this service governs nothing",
                            file=shown,
                            line=policy.line_of(f"environments.{env}.services.{service}"),
                        )
                    )
        elif env not in UNGOVERNED:
            count += 1
            failures.append(
                Failure(
                    result.overlay,
                    "deploy-control",
                    f"environments.{env}",
                    f"overlay {result.overlay} has no environment {env} in deploy-control.yaml",
                    file=shown,
                )
            )
    return {"file": shown, "ok": count == 0, "problems": count}, policy
