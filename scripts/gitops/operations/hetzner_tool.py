"""Which hetzner-k3s ``gitops cluster`` runs: a given binary or the pinned release, verified before it runs.

A binary named with ``--hetzner-k3s`` is checked against ``--sha256`` when one is given; otherwise the
pinned release for this platform (``scripts/gitops/data/hetzner-k3s.json``; the upgrade pin with
``--upgrade``) is downloaded and its sha256 checked (:mod:`gitops.adapters.hetzner`). An upgrade also
needs hetzner-k3s 2.4.9 or later (:func:`check_upgrade_tool`), and create needs helm and the venv's
kubectl on the child's PATH (:func:`tool_path_prefix`). The use case that runs it is
:mod:`gitops.operations.hetzner_cluster`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops.adapters import hetzner
from gitops.core import hetzner_k3s as hk
from gitops.errors import ConfigurationError


@dataclass(frozen=True)
class Tool:
    path: Path
    report: dict[str, Any]  # path, version, sha256, verified, source


def check_upgrade_tool(tool: Tool, env: Mapping[str, str]) -> str:
    """The upgrade tool's version, refused below 2.4.9."""
    reported = str(tool.report.get("version") or "") or hetzner.tool_version(tool.path, env)
    found = hk.tool_version(reported)
    minimum = ".".join(map(str, hk.MIN_UPGRADE_TOOL))
    if found is None or found < hk.MIN_UPGRADE_TOOL:
        raise ConfigurationError(
            f"hetzner-k3s {reported or '(version unknown)'} at {tool.path} cannot upgrade this cluster: "
            "before 2.4.8 its upgrade plans select control-plane nodes by the node-role.kubernetes.io/master "
            "label that current k3s no longer sets, so the workers' plan would upgrade the masters too; "
            f"{minimum} or later is needed",
            key="--hetzner-k3s",
            title="hetzner-k3s too old to upgrade",
            hint=f"pass --version {minimum} --sha256 <its published checksum for this platform>, or "
            f"--hetzner-k3s PATH to a hetzner-k3s {minimum}+ you installed",
        )
    return reported


def resolve_tool(
    binary: str | None,
    *,
    version: str | None,
    sha256: str | None,
    download_url: str | None,
    section: str = "",
) -> Tool:
    """The hetzner-k3s to run, verified: a given one (checked when ``sha256`` is given) or a pinned release.

    ``section`` "upgrade" uses the pin for upgrades (2.4.9+) instead of the one for create.
    """
    import platform
    import shutil

    sha = hk.normalize_sha256(sha256) if sha256 else None
    if binary:
        found = shutil.which(binary) if os.sep not in binary else binary
        path = Path(found) if found else None
        if path is None or not path.is_file():
            raise ConfigurationError(
                f"--hetzner-k3s {binary!r} is not an executable file or a command on PATH",
                key="--hetzner-k3s",
                title="hetzner-k3s not found",
                hint="give the path of the hetzner-k3s binary, or leave --hetzner-k3s (and "
                "$GITOPS_HETZNER_K3S) empty to download the pinned, checksum-verified release",
            )
        if sha:
            hetzner.verify(path, sha, str(path))
        report = {"path": str(path), "version": None, "sha256": sha, "verified": bool(sha), "source": "path"}
        return Tool(path, report)
    release = hetzner.pinned_release(section)
    if version and version.lstrip("v") != release.version:
        if not sha:
            raise ConfigurationError(
                f"no checksum is recorded for hetzner-k3s {version} (the pinned release is "
                f"{release.version}); a binary is never run unverified",
                key="--sha256",
                title="Checksum missing",
                hint="pass --sha256 with that release's published checksum for this platform",
            )
        release = hk.Release(version.lstrip("v"), release.url, {})
    key = hk.platform_key(platform.system(), platform.machine())
    expected = hk.expected_sha256(release, key, sha)
    path, how = hetzner.install(release.download_url(key, download_url), expected)
    report = {
        "path": str(path),
        "version": release.version,
        "sha256": expected,
        "verified": True,
        "source": how,
    }
    return Tool(path, report)


def tool_path_prefix(env: Mapping[str, str]) -> tuple[str, ...]:
    """Directories to put first on the child's PATH (the venv's kubectl), after checking for helm."""
    import shutil

    from gitops.adapters.kubectl import kubectl_binary

    kubectl_dir = str(Path(kubectl_binary()).parent)
    search = os.pathsep.join([kubectl_dir, env.get("PATH", os.defpath)])
    if shutil.which("helm", path=search) is None:
        raise ConfigurationError(
            "hetzner-k3s create needs helm on PATH, and there is none",
            title="helm not found",
            hint="GitHub's Ubuntu runners have helm; elsewhere install it (https://helm.sh/docs/intro/install/)",
        )
    return (kubectl_dir,)
