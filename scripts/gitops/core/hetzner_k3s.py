"""Decisions behind ``gitops cluster`` (pure): which hetzner-k3s release, and the config it runs with.

The release is pinned in ``gitops/data/hetzner-k3s.json``: a version and the sha256 of each
platform's binary, copied from a published source (hetzner-k3s releases ship no checksum
files). A platform without a recorded checksum is not installed unless the caller supplies
one: a binary is never run unverified.

The committed cluster config (``infra/k8s/hetzner/<env>/cluster/cluster-config.yaml``) names
its SSH keys and kubeconfig with ``~/`` paths and holds no token. The step runs hetzner-k3s
on a private COPY whose ``networking.ssh.*_key_path`` point at the key files written from
secrets, and whose ``kubeconfig_path`` is an absolute path the step can report. A
``hetzner_token`` in the committed file is refused (a credential in git); an empty one is
dropped, because hetzner-k3s would take the empty value over ``HCLOUD_TOKEN``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gitops.errors import ConfigurationError, Problem

PLATFORMS = ("linux-amd64", "linux-arm64", "macos-amd64", "macos-arm64")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SYSTEMS = {"linux": "linux", "darwin": "macos"}
_MACHINES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


@dataclass(frozen=True)
class Release:
    version: str
    url: str  # template with {version} and {platform}
    sha256: dict[str, str | None] = field(default_factory=dict)

    def download_url(self, platform: str, template: str | None = None) -> str:
        return (template or self.url).format(version=self.version, platform=platform)


def load_release(data: Mapping[str, Any], source: str = "hetzner-k3s.json") -> Release:
    """Validate the pinned-release data file."""
    problems: list[Problem] = []
    version = data.get("version")
    url = data.get("url")
    sums = data.get("sha256")
    if not isinstance(version, str) or not re.match(r"^\d+\.\d+\.\d+$", version):
        problems.append(Problem("version must look like 2.4.6", source, None, "version"))
    if not isinstance(url, str) or "{platform}" not in url:
        problems.append(Problem("url must be a template containing {platform}", source, None, "url"))
    checks: dict[str, str | None] = {}
    if not isinstance(sums, Mapping):
        problems.append(
            Problem("sha256 must map each platform to a checksum (or null)", source, None, "sha256")
        )
    else:
        for platform in PLATFORMS:
            value = sums.get(platform)
            if value is not None and (not isinstance(value, str) or not _SHA256.match(value)):
                problems.append(
                    Problem("must be 64 lower-case hex digits or null", source, None, f"sha256.{platform}")
                )
            checks[platform] = value if isinstance(value, str) else None
    if problems:
        raise ConfigurationError(
            "the pinned hetzner-k3s release data is invalid", file=source, problems=tuple(problems)
        )
    return Release(str(version), str(url), checks)


def normalize_sha256(value: str, flag: str = "--sha256") -> str:
    value = value.strip().lower().removeprefix("sha256:")
    if not _SHA256.match(value):
        raise ConfigurationError(f"{flag} must be 64 hex digits", key=flag, title="Invalid checksum")
    return value


def platform_key(system: str, machine: str) -> str:
    """``platform.system()``/``platform.machine()`` -> the release asset suffix, e.g. ``linux-amd64``."""
    os_name = _SYSTEMS.get(system.lower())
    arch = _MACHINES.get(machine.lower())
    if os_name is None or arch is None:
        raise ConfigurationError(
            f"hetzner-k3s publishes no binary for {system}/{machine}",
            title="Unsupported platform",
            hint="run on Linux or macOS (amd64 or arm64), or pass --hetzner-k3s PATH to a binary you built",
        )
    return f"{os_name}-{arch}"


def expected_sha256(release: Release, platform: str, override: str | None) -> str:
    """The checksum a downloaded binary must have; refuses when none is known."""
    if override:
        return normalize_sha256(override)
    value = release.sha256.get(platform)
    if value is None:
        raise ConfigurationError(
            f"no sha256 is recorded for hetzner-k3s {release.version} on {platform}, so it is not installed",
            key="--sha256",
            title="Checksum missing",
            hint="pass --sha256 with the checksum from a published source, or --hetzner-k3s PATH to a "
            "binary you installed yourself",
        )
    return value


# -- the cluster config ------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedConfig:
    document: dict[str, Any]
    cluster_name: str
    kubeconfig_path: str
    warnings: tuple[str, ...] = ()


def configured_paths(doc: Mapping[str, Any]) -> tuple[str, str, str]:
    """(private key, public key, kubeconfig) as the committed config names them (hetzner-k3s defaults)."""
    networking = doc.get("networking")
    ssh: Mapping[str, Any] = {}
    if isinstance(networking, Mapping) and isinstance(networking.get("ssh"), Mapping):
        ssh = networking["ssh"]
    private = ssh.get("private_key_path") or "~/.ssh/id_rsa"
    public = ssh.get("public_key_path") or "~/.ssh/id_rsa.pub"
    return str(private), str(public), str(doc.get("kubeconfig_path") or "")


def prepare_config(
    doc: object,
    *,
    source: str,
    private_key_path: str | None,
    public_key_path: str | None,
    kubeconfig_path: str,
) -> PreparedConfig:
    """The copy hetzner-k3s runs with; ``None`` key paths keep the config's own (a laptop's keys)."""
    if not isinstance(doc, Mapping):
        raise ConfigurationError(
            "the cluster config is not a YAML mapping", file=source, title="Invalid cluster config"
        )
    problems: list[Problem] = []
    name = doc.get("cluster_name")
    if not isinstance(name, str) or not name.strip():
        problems.append(Problem("`cluster_name` is missing", source, None, "cluster_name"))
    if not isinstance(doc.get("kubeconfig_path"), str) or not str(doc.get("kubeconfig_path")).strip():
        problems.append(Problem("`kubeconfig_path` is missing", source, None, "kubeconfig_path"))
    token = doc.get("hetzner_token")
    if isinstance(token, str) and token.strip():
        problems.append(
            Problem(
                "`hetzner_token` holds a token in a committed file: remove it (and revoke that token); the "
                "step passes the token as HCLOUD_TOKEN",
                source,
                None,
                "hetzner_token",
            )
        )
    if problems:
        raise ConfigurationError(
            problems[0].message if len(problems) == 1 else f"the cluster config has {len(problems)} problems",
            file=source,
            key=problems[0].key if len(problems) == 1 else None,
            title="Invalid cluster config",
            problems=tuple(problems) if len(problems) > 1 else (),
        )
    result: dict[str, Any] = copy.deepcopy(dict(doc))
    result.pop("hetzner_token", None)  # empty: it would override HCLOUD_TOKEN with nothing
    result["kubeconfig_path"] = kubeconfig_path
    warnings: list[str] = []
    if private_key_path is not None and public_key_path is not None:
        networking = result.setdefault("networking", {})
        if not isinstance(networking, dict):
            raise ConfigurationError(
                "`networking` must be a mapping",
                file=source,
                key="networking",
                title="Invalid cluster config",
            )
        ssh = networking.setdefault("ssh", {})
        if not isinstance(ssh, dict):
            raise ConfigurationError(
                "`networking.ssh` must be a mapping",
                file=source,
                key="networking.ssh",
                title="Invalid cluster config",
            )
        ssh["private_key_path"] = private_key_path
        ssh["public_key_path"] = public_key_path
        if ssh.get("use_agent") is True:
            warnings.append(
                "networking.ssh.use_agent is true: hetzner-k3s will ask an ssh-agent for the key, which a "
                "CI runner does not have; set it to false (the key from the secret has no passphrase)"
            )
    return PreparedConfig(result, str(name), kubeconfig_path, tuple(warnings))


def looks_like_private_key(text: str) -> bool:
    return "-----BEGIN" in text and "PRIVATE KEY-----" in text


def normalize_key(text: str) -> str:
    """Key material from a secret: CRLF -> LF, literal ``\\n`` -> newline, exactly one final newline.

    OpenSSH refuses a private key without its final newline, which secrets often lose.
    """
    text = text.replace("\r\n", "\n")
    if "\n" not in text.strip() and "\\n" in text:
        text = text.replace("\\n", "\n")
    return text.strip() + "\n"
