"""``gitops validate``: every overlay builds and every object passes strict schema validation."""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gitops.adapters import runner
from gitops.errors import EXIT_OK, EXIT_USER_ERROR, ConfigurationError, Problem

DEFAULT_KUBERNETES_VERSION = "1.37.0"

DESCRIPTION = """\
Check the infrastructure tree without a cluster and without any secret value.

Every overlay (a directory two levels under INFRA/k8s/ holding a kustomization.yaml, e.g.
hetzner/dev or podman/local; base/ is not an overlay) is rendered with kustomize, with its
Secret placeholders left in place, and every object is validated against the Kubernetes
OpenAPI schema of --kubernetes-version in strict mode (unknown fields are errors). Every
failing object is reported with its overlay, the file and line that set the bad field
(found through kustomize's origin annotations, then the overlay's patches), kind, name and
the schema error. A placeholder that could never be substituted (outside a whole Secret
value) fails too. When INFRA/deploy-control.yaml exists it is loaded with every check of
`gitops gate`, and its environments must match the overlays.
"""

EPILOG = """\
examples:
  gitops validate                                  # ./infra, Kubernetes 1.37
  gitops validate --infra path/to/infra --format json
  gitops validate --kubernetes-version 1.35.0

Objects of API groups without a bundled schema (custom resources) are listed as skipped.
exit codes: 0 everything valid, 1 any failure (all of them are listed).
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--infra", default="infra", metavar="DIR", help="the infrastructure tree (default: infra)")
    p.add_argument(
        "--kubernetes-version",
        default=DEFAULT_KUBERNETES_VERSION,
        metavar="X.Y.Z",
        help=f"schema version to validate against (default: {DEFAULT_KUBERNETES_VERSION})",
    )
    p.add_argument(
        "--placeholder",
        default="StrongBase64Password",
        metavar="TEXT",
        help="the Secret placeholder (default: StrongBase64Password)",
    )


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


# -- locating the file and line behind a failing field -----------------------------------------


class SourceIndex:
    """Finds which file (and line) sets a field of a rendered object.

    Kustomize's origin annotation names the file that declared the object; patches in the
    overlay directory that name the same kind/name may set the field instead (the last patch
    wins), so they are searched first. Lists are matched by their elements' ``name`` where the
    rendered element has one (strategic merge does the same), else by index.
    """

    def __init__(self) -> None:
        self._docs: dict[Path, list[yaml.MappingNode]] = {}

    def docs(self, path: Path) -> list[yaml.MappingNode]:
        if path not in self._docs:
            try:
                nodes = list(yaml.compose_all(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader))
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                nodes = []
            self._docs[path] = [n for n in nodes if isinstance(n, yaml.MappingNode)]
        return self._docs[path]

    @staticmethod
    def _get(node: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node] | None:
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return k, v
        return None

    def identity(self, node: yaml.MappingNode) -> tuple[str, str]:
        kind = self._get(node, "kind")
        meta = self._get(node, "metadata")
        name = self._get(meta[1], "name") if meta and isinstance(meta[1], yaml.MappingNode) else None
        return (
            kind[1].value if kind and isinstance(kind[1], yaml.ScalarNode) else "",
            name[1].value if name and isinstance(name[1], yaml.ScalarNode) else "",
        )

    def walk(self, doc: yaml.Node, path: list[str | int], obj: Any) -> tuple[int, int]:
        """How deep ``path`` resolves in ``doc`` and the 1-based line where it stops."""
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
                            got = self._get(element, "name")
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
                got = self._get(node, step)
                if got is None:
                    break
                node = got[1]
                obj = obj.get(step) if isinstance(obj, Mapping) else None
                line = got[0].start_mark.line + 1
            depth += 1
        return depth, line

    def locate(
        self,
        obj: Mapping[str, Any],
        path: list[str | int],
        origin: Path | None,
        overlay: Path,
    ) -> tuple[Path | None, int | None]:
        kind = str(obj.get("kind", ""))
        name = str((obj.get("metadata") or {}).get("name", ""))
        base_name = name
        candidates: list[tuple[Path, yaml.MappingNode]] = []
        origin_docs: list[tuple[Path, yaml.MappingNode]] = []
        if origin is not None:
            for doc in self.docs(origin):
                dkind, dname = self.identity(doc)
                if dkind == kind and dname and dname in name:
                    origin_docs.append((origin, doc))
                    base_name = dname
                    break
        from gitops.adapters.kustomize import KUSTOMIZATION_FILES

        for file in sorted([*overlay.rglob("*.yaml"), *overlay.rglob("*.yml")], reverse=True):
            if file.name in KUSTOMIZATION_FILES or file == origin:
                continue
            for doc in self.docs(file):
                if self.identity(doc) == (kind, base_name):
                    candidates.append((file, doc))
        candidates += origin_docs
        best: tuple[int, Path, int] | None = None
        for file, candidate in candidates:
            depth, line = self.walk(candidate, path, obj)
            if depth == len(path):
                return file, line
            if best is None or depth > best[0] or (depth == best[0] and file == origin):
                best = (depth, file, line)
        if best is not None:
            return best[1], best[2]
        return origin, None


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
        origin = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if not isinstance(origin, Mapping) or origin.get("repo"):
        return None  # a remote base: no local file to point at
    local = origin.get("path") or origin.get("configuredIn")
    return origin_root.resolve(str(local)) if local else None


def _field_path(error: Any) -> list[str | int]:
    path: list[str | int] = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        known = set((error.schema or {}).get("properties", {}))
        extra = [k for k in error.instance if k not in known]
        if extra:
            path.append(str(extra[0]))
    return path


def _dotted(path: list[str | int]) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


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
    import kubernetes_validate

    from gitops.adapters import kustomize
    from gitops.core.secrets import scan
    from gitops.operations.rendering import display_path, load_manifests

    shown = display_path(overlay)
    result = OverlayResult(shown, overlay.name)
    try:
        try:
            build = kustomize.build_with_origins(overlay)
            text, origin_root = build.text, build
        except ConfigurationError:
            text, origin_root = kustomize.build(overlay), None  # the plain build says what is wrong
        objects = load_manifests(text, f"kustomize build {shown}")
    except ConfigurationError as exc:
        failures.append(
            Failure(
                shown,
                "Kustomization",
                shown,
                "\n".join([exc.message, *map(str, exc.problems)]),
                file=exc.file,
                line=exc.line,
            )
        )
        result.failed = 1
        return result
    origins = [_origin_of(obj, origin_root) for obj in objects]
    result.objects = len(objects)
    for obj, origin in zip(objects, origins, strict=True):
        kind = str(obj.get("kind"))
        name = str((obj.get("metadata") or {}).get("name"))
        label = ((obj.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/name")
        if isinstance(label, str):
            result.labels.add(label)
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = _field_path(exc)
            file, line = index.locate(obj, path, origin, overlay)
            failures.append(
                Failure(
                    shown,
                    kind,
                    name,
                    str(exc.message),
                    file=display_path(file) if file else None,
                    line=line,
                    field=_dotted(path) or None,
                    origin=display_path(origin) if origin else None,
                )
            )
            result.failed += 1
            continue
        except kubernetes_validate.SchemaNotFoundError:
            api_version = str(obj.get("apiVersion"))
            if _is_core_group(api_version):
                file, line = index.locate(obj, ["apiVersion"], origin, overlay)
                failures.append(
                    Failure(
                        shown,
                        kind,
                        name,
                        f"Kubernetes {version} has no kind {kind} in {api_version}",
                        file=display_path(file) if file else None,
                        line=line,
                        field="apiVersion",
                        origin=display_path(origin) if origin else None,
                    )
                )
                result.failed += 1
            else:
                result.skipped.append({"kind": kind, "name": name, "reason": f"no schema for {api_version}"})
            continue
        result.valid += 1
    found = scan(objects, placeholder)
    for (doc_index, where), problem in zip(found.stray_sites, found.strays, strict=True):
        obj = objects[doc_index]
        steps: list[str | int] = [int(s) if s.isdigit() else s for s in re.split(r"\.|\[|\]\.?", where) if s]
        file, line = index.locate(obj, steps, origins[doc_index], overlay)
        failures.append(
            Failure(
                shown,
                str(obj.get("kind")),
                str((obj.get("metadata") or {}).get("name")),
                problem.message.split(": ", 1)[-1],
                file=display_path(file) if file else None,
                line=line,
                field=where,
            )
        )
        result.failed += 1
    return result


def check_policy(path: Path, results: list[OverlayResult], failures: list[Failure]) -> dict[str, Any]:
    """Load deploy-control.yaml with the gate's own loader; its environments must match the overlays."""
    from gitops.core.policy_schema import load_policy
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
        return {"file": shown, "ok": False, "problems": len(problems)}
    from gitops.core.policy import UNGOVERNED

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
    return {"file": shown, "ok": count == 0, "problems": count}


def run(args: argparse.Namespace) -> int:
    from gitops.commands.output import emit

    console = runner.current()
    version = check_version(args.kubernetes_version)
    if not args.placeholder:
        raise ConfigurationError(
            "--placeholder must not be empty", key="--placeholder", title="Invalid input"
        )
    infra = Path(args.infra)
    overlays = discover_overlays(infra)
    index = SourceIndex()
    failures: list[Failure] = []
    results = []
    for overlay in overlays:
        with console.group(f"validate {overlay}"):
            result = validate_overlay(overlay, version, args.placeholder, index, failures)
            console.log(
                f"{result.overlay}: {result.objects} object(s), {result.valid} valid, "
                f"{result.failed} failed, {len(result.skipped)} skipped"
            )
        results.append(result)
    policy_path = infra / "deploy-control.yaml"
    policy = check_policy(policy_path, results, failures) if policy_path.exists() else None
    for f in failures:
        where = _what(f.kind, f.name) + (f" in {f.overlay}" if f.overlay else "")
        console.error(
            f"{where}: {f.field + ': ' if f.field else ''}{f.error}",
            file=f.file,
            line=f.line,
            title="Validation failed" if f.kind != "deploy-control" else "deploy-control.yaml",
        )
    report = {
        "kubernetes_version": version,
        "infra": str(infra),
        "ok": not failures,
        "overlays": [r.to_json() for r in results],
        "failures": [f.to_json() for f in failures],
        "policy": policy,
    }
    console.set_output("ok", "true" if not failures else "false")
    console.set_output("failure-count", str(len(failures)))
    console.summary(_summary(report))
    emit(args.format, report, lambda: _table(report))
    return EXIT_OK if not failures else EXIT_USER_ERROR


def _what(kind: str, name: str) -> str:
    """``StatefulSet/postgres``; a policy problem is named by its key path alone."""
    return name if kind == "deploy-control" else f"{kind}/{name}"


def _headline(report: dict[str, Any]) -> str:
    overlays = report["overlays"]
    objects = sum(o["objects"] for o in overlays)
    policy = f" and {report['policy']['file']}" if report["policy"] else ""
    if report["ok"]:
        return (
            f"valid: {len(overlays)} overlay(s) ({objects} objects){policy}, "
            f"Kubernetes {report['kubernetes_version']}"
        )
    return (
        f"FAILED: {len(report['failures'])} problem(s) in {len(overlays)} overlay(s){policy}, "
        f"Kubernetes {report['kubernetes_version']}"
    )


def _table(report: dict[str, Any]) -> str:
    from gitops.commands.output import text_table

    rows = [
        [o["overlay"], o["objects"], o["valid"], o["failed"], len(o["skipped"])] for o in report["overlays"]
    ]
    parts = [f"gitops validate: {_headline(report)}"]
    if report["failures"]:
        parts.append("")
        for f in report["failures"]:
            where = ":".join(str(p) for p in (f["file"], f["line"]) if p) or "?"
            field = f" {f['field']}:" if f["field"] else ":"
            parts.append(f"  {where}: {_what(f['kind'], f['name'])}{field} {f['error']}")
    parts += ["", text_table(("overlay", "objects", "valid", "failed", "skipped"), rows)]
    if report["policy"]:
        parts.append(f"{report['policy']['file']}: {'valid' if report['policy']['ok'] else 'FAILED'}")
    return "\n".join(parts) + "\n"


def _summary(report: dict[str, Any]) -> str:
    from gitops.commands.output import markdown_table

    icon = ":white_check_mark:" if report["ok"] else ":x:"
    lines = [f"### {icon} gitops validate: {_headline(report)}", ""]
    if report["failures"]:
        frows = [
            [
                f"`{f['file']}:{f['line']}`"
                if f["file"] and f["line"]
                else (f"`{f['file']}`" if f["file"] else ""),
                _what(f["kind"], f["name"]),
                f["field"] or "",
                f["error"],
            ]
            for f in report["failures"]
        ]
        lines.append(markdown_table(("where", "object or key", "field", "problem"), frows))
    rows = [
        [f"`{o['overlay']}`", o["objects"], o["valid"], o["failed"], len(o["skipped"])]
        for o in report["overlays"]
    ]
    lines.append(markdown_table(("overlay", "objects", "valid", "failed", "skipped"), rows))
    if report["policy"]:
        state = "valid" if report["policy"]["ok"] else f"{report['policy']['problems']} problem(s)"
        lines += [f"`{report['policy']['file']}`: {state}", ""]
    return "\n".join(lines) + "\n"
