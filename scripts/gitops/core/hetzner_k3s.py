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

Running it: the command lines of ``create`` and ``upgrade``, the seeded k3s release list, the
minimum version that can upgrade, and :func:`phase_of`, which reads the phase a run is in from
its ``[Prefix] message`` output lines (facts from hetzner-k3s's source, tags v2.4.6 to v2.6.0).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gitops.core.k3s_versions import parse as parse_k3s_version
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


def load_release(data: Mapping[str, Any], source: str = "hetzner-k3s.json", section: str = "") -> Release:
    """Validate the pinned-release data file; ``section`` ("upgrade") reads that entry, same url."""
    problems: list[Problem] = []
    url = data.get("url")
    if section:
        entry = data.get(section)
        if not isinstance(entry, Mapping):
            raise ConfigurationError(
                f"the pinned hetzner-k3s release data has no `{section}` entry", file=source, key=section
            )
        data = entry
    version = data.get("version")
    sums = data.get("sha256")
    prefix = f"{section}." if section else ""
    if not isinstance(version, str) or not re.match(r"^\d+\.\d+\.\d+$", version):
        problems.append(Problem("version must look like 2.4.6", source, None, f"{prefix}version"))
    if not isinstance(url, str) or "{platform}" not in url:
        problems.append(Problem("url must be a template containing {platform}", source, None, "url"))
    checks: dict[str, str | None] = {}
    if not isinstance(sums, Mapping):
        problems.append(
            Problem("sha256 must map each platform to a checksum (or null)", source, None, f"{prefix}sha256")
        )
    else:
        for platform in PLATFORMS:
            value = sums.get(platform)
            if value is not None and (not isinstance(value, str) or not _SHA256.match(value)):
                problems.append(
                    Problem(
                        "must be 64 lower-case hex digits or null", source, None, f"{prefix}sha256.{platform}"
                    )
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
    k3s_version: str | None = None,
) -> PreparedConfig:
    """The copy hetzner-k3s runs with; ``None`` key paths keep the config's own (a laptop's keys).

    ``k3s_version`` replaces the config's: ``hetzner-k3s upgrade`` takes the config's value as the
    version the cluster runs now and wants the new one to be newer.
    """
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
    if k3s_version is not None:
        result["k3s_version"] = k3s_version
    warnings: list[str] = []
    if private_key_path is not None and public_key_path is not None:
        networking = _mapping_at(result, "networking", source=source, path="networking")
        ssh = _mapping_at(networking, "ssh", source=source, path="networking.ssh")
        ssh["private_key_path"] = private_key_path
        ssh["public_key_path"] = public_key_path
        if ssh.get("use_agent") is True:
            warnings.append(
                "networking.ssh.use_agent is true: hetzner-k3s will ask an ssh-agent for the key, which a "
                "CI runner does not have; set it to false (the key from the secret has no passphrase)"
            )
    return PreparedConfig(result, str(name), kubeconfig_path, tuple(warnings))


def _mapping_at(parent: dict[str, Any], key: str, *, source: str, path: str) -> dict[str, Any]:
    """``parent[key]``, created empty when absent; refused when the config holds something else there."""
    value = parent.setdefault(key, {})
    if not isinstance(value, dict):
        raise ConfigurationError(
            f"`{path}` must be a mapping", file=source, key=path, title="Invalid cluster config"
        )
    return value


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


# -- what the run needs besides the config ----------------------------------------------------------

# `hetzner-k3s upgrade` before 2.4.8 selects the control-plane nodes by the label
# node-role.kubernetes.io/master, which current k3s no longer sets: its "server" plan matches no
# node and its "agent" plan (NotIn master) matches EVERY node, masters included. 2.4.8/2.4.9 fixed
# the selectors (templates/upgrade_plan_for_*.yaml, commits c0fbce7 and 98edd9d).
MIN_UPGRADE_TOOL = (2, 4, 9)

# hetzner-k3s's k3s release list: $HOME/.hetzner-k3s/k3s-releases.yaml, a YAML list of tags oldest
# first, used while younger than 7 days, else fetched again from GitHub's API WITHOUT a token (60
# requests/hour per IP) - src/k3s.cr, unchanged from v2.4.6 to v2.6.0. Every run gets a fresh HOME,
# so without a seeded file every run asks GitHub. The list must hold the versions it validates
# (k3s_version; for an upgrade the current and the new one, new after current) and v1.23.6+k3s1,
# whose position the master script generator looks up (src/kubernetes/script/master_generator.cr).
RELEASE_CACHE = ".hetzner-k3s/k3s-releases.yaml"
_ALWAYS_LISTED = "v1.23.6+k3s1"


def tool_version(text: str) -> tuple[int, int, int] | None:
    """``hetzner-k3s --version`` prints the bare version (admiral's define_version): ``2.4.9``."""
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def release_cache(*versions: str) -> str:
    """The content of the seeded release list: ``versions`` and v1.23.6+k3s1, oldest first."""
    parsed = {v: p for v in (*versions, _ALWAYS_LISTED) if (p := parse_k3s_version(v)) is not None}
    ordered = sorted(parsed, key=lambda v: parsed[v])
    return "---\n" + "".join(f"- {v}\n" for v in ordered)


def create_argv(binary: str, config: str) -> list[str]:
    """``create`` without asking an outside service for this machine's public IP.

    Without the flag, create fetches https://ipinfo.io/ip and refuses unless that IP is inside the
    allowed SSH and API networks (validators/networking_config/allowed_networks.cr); our networks
    are 0.0.0.0/0 anyway, and a rate-limited answer aborts the run. The flag exists in 2.4.6 and
    later (src/hetzner-k3s.cr, `Create`).
    """
    return [binary, "create", "--config", config, "--skip-current-ip-validation"]


def upgrade_argv(binary: str, config: str, new_version: str) -> list[str]:
    """``upgrade``: it then asks for the cluster name on stdin (src/cluster/upgrade.cr, unconditionally)."""
    return [binary, "upgrade", "--config", config, "--new-k3s-version", new_version]


def k3s_version_of(doc: Mapping[str, Any], source: str) -> str:
    """The config's ``k3s_version``, a k3s release tag."""
    value = doc.get("k3s_version")
    if not isinstance(value, str) or parse_k3s_version(value) is None:
        raise ConfigurationError(
            f"`k3s_version` must be a k3s release such as v1.36.4+k3s1, found {value!r}",
            file=source,
            key="k3s_version",
            title="Invalid cluster config",
            hint="pick a tag from https://github.com/k3s-io/k3s/releases (v<major>.<minor>.<patch>+k3s<n>)",
        )
    return value


def node_count(doc: Mapping[str, Any]) -> int:
    """Nodes the config asks for: masters plus static workers (an autoscaled pool: its minimum)."""

    def count(value: Any) -> int:
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0

    masters = doc.get("masters_pool")
    total = count(masters.get("instance_count")) if isinstance(masters, Mapping) else 0
    for pool in doc.get("worker_node_pools") or []:
        if not isinstance(pool, Mapping):
            continue
        autoscaling = pool.get("autoscaling")
        if isinstance(autoscaling, Mapping) and autoscaling.get("enabled") is True:
            total += count(autoscaling.get("min_instances"))
        else:
            total += count(pool.get("instance_count"))
    return total


def upgrade_controller_enabled(doc: Mapping[str, Any]) -> bool:
    """Upgrades run through the system-upgrade-controller add-on (enabled unless the config says false)."""
    addons = doc.get("addons")
    addon = addons.get("system_upgrade_controller") if isinstance(addons, Mapping) else None
    return not (isinstance(addon, Mapping) and addon.get("enabled") is False)


# -- reading its output ------------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PREFIX = re.compile(r"^\[([^\]]+)\]\s*(.*)$")
# log_line prefixes (default_log_prefix of each class, v2.4.6 to v2.6.0) -> the phase they announce.
_PHASES = {
    "Configuration": "validating the configuration",
    "Preflight checks": "validating the configuration",
    "SSH key": "creating the cloud resources (SSH key)",
    "Private Network": "creating the cloud resources (private network)",
    "Private network": "creating the cloud resources (private network)",
    "Placement group": "creating the cloud resources (placement group)",
    "Firewall": "creating the cloud resources (firewall)",
    "API Load balancer": "creating the cloud resources (API load balancer)",
    "Instances": "creating the servers",
    "Control plane": "setting up the control plane",
    "Control Plane Setup": "setting up the control plane",
    "Kubernetes Script Master": "setting up the control plane",
    "Kubeconfig Manager": "writing the kubeconfig",
    "Kubernetes Installer": "installing k3s",
    "Worker Setup": "setting up the worker nodes",
    "Kubernetes Script Worker": "setting up the worker nodes",
    "Hetzner Cloud Secret": "installing the add-ons (Hetzner Cloud secret)",
    "Hetzner Cloud Controller Manager": "installing the add-ons (cloud controller manager)",
    "Hetzner CSI Driver": "installing the add-ons (CSI driver)",
    "System Upgrade Controller": "installing the add-ons (system upgrade controller)",
    "CNI": "installing the add-ons (CNI)",
    "Cluster Autoscaler": "installing the add-ons (cluster autoscaler)",
    "Tooling": "checking kubectl and helm",
    "K3s upgrade": "creating the upgrade plans",
}
# [Instance NAME] messages of src/hetzner/instance/create.cr (creating, retrying, powering on, attaching).
_SERVER_CREATION = re.compile(
    r"^(Creating instance|Instance status|Powering on|Waiting for instance|Attaching instance|\.\.\.instance"
    r"|Waiting \d+ seconds before retry)"
)


def phase_of(line: str) -> str | None:
    """The phase a line of hetzner-k3s output announces, None if it announces none.

    Its lines are ``[Prefix] message``; servers are created and set up concurrently, so the phase
    of a run is the one its latest such line announced. ``[Instance NAME]`` lines come both from
    creating the server and from the commands run on it over SSH, so the message decides.
    """
    text = _ANSI.sub("", line).strip()
    match = _PREFIX.match(text)
    if not match and ": [" in text:
        # A prompt printed without a newline ("Please enter the cluster name ...: ") and the next
        # log line share one line (src/cluster/upgrade.cr prints the prompt with `print`).
        match = _PREFIX.match("[" + text.split(": [", 1)[1])
    if not match:
        return None
    prefix, message = match[1].strip(), match[2]
    if prefix in _PHASES:
        return _PHASES[prefix]
    if prefix.startswith("Instance "):
        server = prefix.removeprefix("Instance ").strip()
        if "control plane to be ready" in message:
            return "waiting for the control plane to be ready"
        if _SERVER_CREATION.match(message):
            return f"creating server {server}"
        if "not ready, retrying" in message:
            return f"waiting for server {server} to accept SSH"
        return f"installing k3s on {server}"
    if "firewall" in message.lower():
        return f"deploying the node firewall on {prefix}"
    return None
