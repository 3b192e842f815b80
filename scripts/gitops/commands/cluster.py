"""``gitops cluster``: create or update an environment's k3s cluster on Hetzner Cloud with hetzner-k3s.

``hetzner-k3s create`` is idempotent: on an existing cluster it updates it in place (it keeps
the cluster named in the config), so the step runs the same way for the first and every later
change of the config.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gitops.adapters import runner
from gitops.commands import output as report
from gitops.commands.options import from_input
from gitops.core import documents
from gitops.core import hetzner_k3s as hk
from gitops.core.redaction import kubeconfig_text_pieces
from gitops.errors import EXIT_DEPLOY_FAILED, ConfigurationError

CONFIG_TEMPLATE = "infra/k8s/hetzner/{env}/cluster/cluster-config.yaml"

DESCRIPTION = """\
Create or update the k3s cluster of one environment on Hetzner Cloud: runs the pinned
hetzner-k3s release (sha256-verified before it ever runs) as
`hetzner-k3s create --config infra/k8s/hetzner/<env>/cluster/cluster-config.yaml`.
Idempotent: on an existing cluster, create updates it in place.

Secrets come from environment variables and never reach the log or the repository:
  HCLOUD_TOKEN (or HETZNER_TOKEN)  the Hetzner Cloud API token, given to hetzner-k3s only
                                   as HCLOUD_TOKEN
  HETZNER_SSH_PRIVATE_KEY          the nodes' SSH key pair, written to 0600 files in a private
  HETZNER_SSH_PUBLIC_KEY           directory under $RUNNER_TEMP and removed when the step ends
hetzner-k3s runs on a private copy of the config whose SSH key paths point at those files; its
output is streamed with every secret masked. The kubeconfig path is the `kubeconfig` output
(inside Actions a `~/` kubeconfig_path is placed under $RUNNER_TEMP, which the runner empties
at the end of the job, instead of the runner's home directory).

hetzner-k3s create needs kubectl (the venv's is used) and helm on PATH (GitHub's Ubuntu
runners have helm).
"""

EPILOG = """\
examples:
  HCLOUD_TOKEN=... HETZNER_SSH_PRIVATE_KEY="$(cat id_ed25519)" \\
  HETZNER_SSH_PUBLIC_KEY="$(cat id_ed25519.pub)" gitops cluster --environment dev
  gitops cluster --environment prod --hetzner-k3s /usr/local/bin/hetzner-k3s --sha256 46b8...
  gitops cluster --environment test --version 2.4.6 --sha256 46b898da...   # another pin

outputs (in Actions): kubeconfig (path), cluster-name.
exit codes: 0 cluster created/updated; 1 a problem you can fix (config, secrets, checksum,
missing tool); 2 hetzner-k3s ran and failed.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--environment", metavar="ENV", default=from_input("environment"), help="e.g. dev")
    p.add_argument(
        "--config",
        metavar="PATH",
        default=from_input("config"),
        help=f"the cluster config (default: {CONFIG_TEMPLATE})",
    )
    p.add_argument(
        "--hetzner-k3s",
        dest="binary",
        metavar="PATH",
        default=from_input("hetzner-k3s") or os.environ.get("GITOPS_HETZNER_K3S") or None,
        help="use this hetzner-k3s (a path, or a name looked up on PATH) instead of downloading the pinned "
        "release; verified only when --sha256 is given (default: $GITOPS_HETZNER_K3S, a job-wide override "
        "like GITOPS_KUBECTL; empty: the pinned release)",
    )
    p.add_argument(
        "--version",
        dest="version",
        metavar="X.Y.Z",
        default=from_input("version"),
        help="install this hetzner-k3s release instead of the pinned one (needs --sha256)",
    )
    p.add_argument(
        "--sha256",
        metavar="HEX",
        default=from_input("sha256"),
        help="the binary's expected sha256 (overrides the pinned checksum)",
    )
    p.add_argument(
        "--download-url",
        metavar="TEMPLATE",
        default=from_input("download-url"),
        help="download URL template with {version} and {platform} (a mirror); default: GitHub releases",
    )
    p.add_argument(
        "--kubeconfig-path",
        metavar="PATH",
        default=from_input("kubeconfig-path"),
        help="write the kubeconfig here instead of the config's kubeconfig_path",
    )
    p.add_argument(
        "--token-env",
        metavar="VAR",
        default=from_input("token-env"),
        help="variable holding the Hetzner Cloud token (default: HCLOUD_TOKEN, else HETZNER_TOKEN)",
    )
    p.add_argument(
        "--ssh-private-key-env",
        metavar="VAR",
        default=from_input("ssh-private-key-env", "HETZNER_SSH_PRIVATE_KEY"),
        help="variable holding the SSH private key (default: HETZNER_SSH_PRIVATE_KEY)",
    )
    p.add_argument(
        "--ssh-public-key-env",
        metavar="VAR",
        default=from_input("ssh-public-key-env", "HETZNER_SSH_PUBLIC_KEY"),
        help="variable holding the SSH public key (default: HETZNER_SSH_PUBLIC_KEY)",
    )


@dataclass(frozen=True)
class Secrets:
    token: str
    private_key: str | None
    public_key: str | None


def _token(args: argparse.Namespace) -> str:
    console = runner.current()
    names = [args.token_env] if args.token_env else ["HCLOUD_TOKEN", "HETZNER_TOKEN"]
    for name in names:
        value = console.env(name).strip()
        if value:
            console.mask(value)
            return value
    raise ConfigurationError(
        f"no Hetzner Cloud token: set {' or '.join(names)}",
        key=names[0],
        title="Hetzner token missing",
        hint="in a workflow: `env: HCLOUD_TOKEN: ${{ secrets.HETZNER_TOKEN }}` on the step (a read & write "
        "API token of the environment's Hetzner project)",
    )


def _secrets(args: argparse.Namespace) -> Secrets:
    console = runner.current()
    token = _token(args)
    private = console.env(args.ssh_private_key_env)
    public = console.env(args.ssh_public_key_env)
    if private.strip():
        console.mask(private)
        private = hk.normalize_key(private)
        console.mask(private)
        if not hk.looks_like_private_key(private):
            raise ConfigurationError(
                f"${args.ssh_private_key_env} does not hold a private key "
                "(no -----BEGIN ... PRIVATE KEY----- block)",
                key=args.ssh_private_key_env,
                title="SSH key invalid",
                hint="store the whole key file: `gh secret set HETZNER_SSH_PRIVATE_KEY < ~/.ssh/id_ed25519`",
            )
        if not public.strip():
            raise ConfigurationError(
                f"${args.ssh_private_key_env} is set but ${args.ssh_public_key_env} is empty; "
                "hetzner-k3s needs both",
                key=args.ssh_public_key_env,
                title="SSH key missing",
            )
        return Secrets(token, private, hk.normalize_key(public))
    return Secrets(token, None, None)


def _config_path(args: argparse.Namespace, environment: str) -> Path:
    path = Path(args.config or CONFIG_TEMPLATE.format(env=environment))
    if not path.is_file():
        found = sorted(p.parts[-3] for p in Path().glob(CONFIG_TEMPLATE.format(env="*")))
        raise ConfigurationError(
            f"cluster config {path} {'is a directory, not a file' if path.is_dir() else 'does not exist'}",
            file=str(path),
            key="--config",
            title="Cluster config not found",
            hint=f"environments with a cluster config: {', '.join(found) or 'none'}; or pass --config PATH",
        )
    return path


CLUSTER_CONFIG = documents.DocumentKind(
    title="Invalid cluster config",
    message="the cluster config is {problem}",
    hint="fix the YAML syntax at that line (indentation, a missing colon or quote)",
)


def _load_config(path: Path) -> Any:
    return documents.load(path.read_text(encoding="utf-8"), str(path), CLUSTER_CONFIG)


def _kubeconfig_target(args: argparse.Namespace, configured: str, environment: str) -> Path:
    console = runner.current()
    if args.kubeconfig_path:
        return Path(args.kubeconfig_path).expanduser().absolute()
    if configured.startswith("~") and console.env("RUNNER_TEMP"):
        # Not in the runner's home: RUNNER_TEMP is emptied when the job ends, a home directory of a
        # self-hosted runner is not.
        return Path(console.env("RUNNER_TEMP")) / f"gitops-kubeconfig-{environment}" / Path(configured).name
    return Path(configured).expanduser().absolute()


def _binary(args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    """The hetzner-k3s to run, verified; and how it was obtained (for the report)."""
    from gitops.adapters import hetzner

    sha = hk.normalize_sha256(args.sha256) if args.sha256 else None
    if args.binary:
        found = shutil.which(args.binary) if os.sep not in args.binary else args.binary
        path = Path(found) if found else None
        if path is None or not path.is_file():
            raise ConfigurationError(
                f"--hetzner-k3s {args.binary!r} is not an executable file or a command on PATH",
                key="--hetzner-k3s",
                title="hetzner-k3s not found",
                hint="give the path of the hetzner-k3s binary, or leave --hetzner-k3s (and "
                "$GITOPS_HETZNER_K3S) empty to download the pinned, checksum-verified release",
            )
        if sha:
            hetzner.verify(path, sha, str(path))
        return path, {
            "path": str(path),
            "version": None,
            "sha256": sha,
            "verified": bool(sha),
            "source": "path",
        }
    release = hetzner.pinned_release()
    if args.version and args.version.lstrip("v") != release.version:
        if not sha:
            raise ConfigurationError(
                f"no checksum is recorded for hetzner-k3s {args.version} (the pinned release is "
                f"{release.version}); a binary is never run unverified",
                key="--sha256",
                title="Checksum missing",
                hint="pass --sha256 with that release's published checksum for this platform",
            )
        release = hk.Release(args.version.lstrip("v"), release.url, {})
    key = hk.platform_key(platform.system(), platform.machine())
    expected = hk.expected_sha256(release, key, sha)
    path, source = hetzner.install(release.download_url(key, args.download_url), expected)
    return path, {
        "path": str(path),
        "version": release.version,
        "sha256": expected,
        "verified": True,
        "source": source,
    }


def _tool_path(env: Mapping[str, str]) -> list[str]:
    """Directories to put first on the child's PATH (the venv's kubectl), after checking for helm."""
    from gitops.adapters.kubectl import kubectl_binary

    kubectl_dir = str(Path(kubectl_binary()).parent)
    search = os.pathsep.join([kubectl_dir, env.get("PATH", os.defpath)])
    if shutil.which("helm", path=search) is None:
        raise ConfigurationError(
            "hetzner-k3s create needs helm on PATH, and there is none",
            title="helm not found",
            hint="GitHub's Ubuntu runners have helm; elsewhere install it (https://helm.sh/docs/intro/install/)",
        )
    return [kubectl_dir]


def run(args: argparse.Namespace) -> int:
    from gitops.adapters import hetzner

    console = runner.current()
    environment = args.environment or ""
    if not environment.strip():
        raise ConfigurationError(
            "--environment is required",
            key="--environment",
            title="Missing argument",
            hint="e.g. --environment dev (its config: infra/k8s/hetzner/dev/cluster/cluster-config.yaml)",
        )
    config_path = _config_path(args, environment)
    secrets = _secrets(args)
    document = _load_config(config_path)
    configured_private, configured_public, configured_kubeconfig = hk.configured_paths(
        document if isinstance(document, Mapping) else {}
    )
    if secrets.private_key is None:
        missing = [p for p in (configured_private, configured_public) if not Path(p).expanduser().is_file()]
        if missing:
            raise ConfigurationError(
                f"no SSH key: ${args.ssh_private_key_env} is empty and the config's key files do not exist "
                f"here ({', '.join(missing)})",
                key=args.ssh_private_key_env,
                title="SSH key missing",
                hint="pass the key pair from secrets: HETZNER_SSH_PRIVATE_KEY and HETZNER_SSH_PUBLIC_KEY",
            )
    kubeconfig = _kubeconfig_target(args, configured_kubeconfig or "kubeconfig", environment)
    binary, tool = _binary(args)  # verified before any secret is written to disk
    path_prefix = _tool_path(os.environ)

    started = time.monotonic()
    with hetzner.private_directory(f"gitops-hetzner-{environment}-") as private:
        if secrets.private_key is not None and secrets.public_key is not None:
            ssh = private / "ssh"
            ssh.mkdir(mode=0o700)
            private_key = hetzner.write_private(ssh / "id_hetzner", secrets.private_key)
            public_key = hetzner.write_private(ssh / "id_hetzner.pub", secrets.public_key)
            key_paths: tuple[str | None, str | None] = (str(private_key), str(public_key))
        else:
            # The config's own key files (a laptop): absolute, because the child's HOME is private.
            key_paths = (
                str(Path(configured_private).expanduser()),
                str(Path(configured_public).expanduser()),
            )
        prepared = hk.prepare_config(
            document,
            source=str(config_path),
            private_key_path=key_paths[0],
            public_key_path=key_paths[1],
            kubeconfig_path=str(kubeconfig),
        )
        for warning in prepared.warnings:
            console.warning(warning, file=str(config_path), title="Cluster config")
        config_copy = hetzner.write_private(
            private / "cluster-config.yaml", yaml.safe_dump(prepared.document, sort_keys=False)
        )
        if not kubeconfig.parent.exists():
            kubeconfig.parent.mkdir(parents=True, mode=0o700)
        home = private / "home"
        home.mkdir(mode=0o700)
        child_env = hetzner.child_environment(os.environ, secrets.token, home=home, path_prefix=path_prefix)
        argv = [str(binary), "create", "--config", str(config_copy)]
        with console.group(f"hetzner-k3s create: cluster {prepared.cluster_name} ({environment})"):
            code = hetzner.run_streaming(argv, child_env, Path.cwd())
    seconds = round(time.monotonic() - started)

    data: dict[str, Any] = {
        "environment": environment,
        "config": str(config_path),
        "cluster_name": prepared.cluster_name,
        "kubeconfig": str(kubeconfig),
        "hetzner_k3s": tool,
        "exit_code": code,
        "seconds": seconds,
    }
    if code != 0:
        console.error(
            f"hetzner-k3s create failed for {prepared.cluster_name} (exit {code}); its output is in the "
            "group above. Re-running is safe: create continues from the cluster's current state",
            file=str(config_path),
            title="Cluster create failed",
        )
        console.summary(_summary(data, ok=False))
        report.emit(args.format, data, lambda: _table(data))
        return EXIT_DEPLOY_FAILED
    if not kubeconfig.is_file():
        console.error(
            f"hetzner-k3s finished but wrote no kubeconfig at {kubeconfig}", title="Kubeconfig missing"
        )
        return EXIT_DEPLOY_FAILED
    kubeconfig.chmod(0o600)
    for piece in kubeconfig_text_pieces(kubeconfig.read_text(encoding="utf-8", errors="replace")):
        console.mask(piece)
    console.set_output("kubeconfig", str(kubeconfig))
    console.set_output("cluster-name", prepared.cluster_name)
    console.summary(_summary(data, ok=True))
    report.emit(args.format, data, lambda: _table(data))
    return 0


def _tool_text(tool: Mapping[str, Any]) -> str:
    version = f"hetzner-k3s {tool['version']}" if tool.get("version") else "hetzner-k3s"
    check = (
        f"sha256 {str(tool['sha256'])[:12]}… verified"
        if tool.get("verified")
        else "not verified (no --sha256)"
    )
    return f"{version} ({tool['source']}; {check})"


def _summary(data: Mapping[str, Any], *, ok: bool) -> str:
    where = f"cluster {data['cluster_name']} of environment {data['environment']}"
    head = (
        f":white_check_mark: gitops cluster: {where} created or updated"
        if ok
        else f":x: gitops cluster: {where}: hetzner-k3s create failed (exit {data['exit_code']}); "
        "re-running is safe"
    )
    rows = [
        ("Environment", data["environment"]),
        ("Config", f"`{data['config']}`"),
        ("Tool", _tool_text(data["hetzner_k3s"])),
        ("Kubeconfig", f"`{data['kubeconfig']}`" if ok else "-"),
        ("Duration", f"{data['seconds']}s"),
    ]
    note = "\n_hetzner-k3s create is idempotent: an existing cluster is updated in place._\n"
    return f"### {head}\n\n" + report.markdown_table(["", ""], rows) + note


def _table(data: Mapping[str, Any]) -> str:
    rows = [
        ("environment", data["environment"]),
        ("cluster", data["cluster_name"]),
        ("config", data["config"]),
        ("tool", _tool_text(data["hetzner_k3s"])),
        ("kubeconfig", data["kubeconfig"]),
        ("exit code", data["exit_code"]),
    ]
    return report.text_table(["field", "value"], rows)
