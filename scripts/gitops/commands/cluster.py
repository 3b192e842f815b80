"""``gitops cluster``: create, update or upgrade an environment's k3s cluster on Hetzner Cloud.

Presentation only: the flags become :class:`gitops.operations.hetzner_request.Inputs`;
:mod:`gitops.operations.hetzner_request` reads the config and the secrets and verifies the tool,
and the use case (version check, create, upgrade, deadline) is
:mod:`gitops.operations.hetzner_cluster`; then the outcome is printed: outputs, summary, table.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any

from gitops.adapters import runner
from gitops.commands import output as report
from gitops.commands.options import Duration, Switch, add, from_input
from gitops.core import hetzner_k3s as hk
from gitops.errors import EXIT_DEPLOY_FAILED, ConfigurationError
from gitops.operations.hetzner_cluster import Outcome, Request
from gitops.operations.hetzner_request import CONFIG_TEMPLATE, Inputs

DESCRIPTION = """\
Create, update or upgrade the k3s cluster of one environment on Hetzner Cloud with the pinned
hetzner-k3s release (sha256-verified before it ever runs), on a private copy of
infra/k8s/hetzner/<env>/cluster/cluster-config.yaml.

create (the default) runs `hetzner-k3s create`, which creates the cluster or updates it in place,
re-running the k3s install script on EVERY node with the config's k3s_version. So before it runs,
the k3s version each node reports is compared with k3s_version (the running cluster's kubeconfig:
--cluster-kubeconfig-env, in the workflow the environment's KUBECONFIG secret). A difference is
refused, naming the upgrade to run; without a running cluster's kubeconfig it is a first create.

--upgrade runs `hetzner-k3s upgrade` (hetzner-k3s 2.4.9 or later; it answers its prompt for the
cluster name): the system-upgrade-controller upgrades the control-plane nodes one at a time, then
the workers, each cordoned and drained. It waits until every node runs k3s_version, Ready, then
runs create as hetzner-k3s's upgrade procedure requires, and reports each node's version before
and after.

Every run ends within --timeout: hetzner-k3s and everything it started are stopped, and the error
names the phase it was in. Re-running is always safe: create continues from the cluster's current
state, and an upgrade whose nodes are already upgraded goes straight to create.

Secrets come from environment variables and never reach the log or the repository:
  HCLOUD_TOKEN (or HETZNER_TOKEN)  the Hetzner Cloud API token, given to hetzner-k3s only
                                   as HCLOUD_TOKEN
  HETZNER_SSH_PRIVATE_KEY          the nodes' SSH key pair, written to 0600 files in a private
  HETZNER_SSH_PUBLIC_KEY           directory under $RUNNER_TEMP and removed when the step ends
hetzner-k3s runs with HOME and TMPDIR in that private directory (it writes scripts holding the
token to its TMPDIR), with its k3s release list seeded there (it would otherwise ask GitHub's API
without a token, 60 requests/hour per IP), and with --skip-current-ip-validation (no outside IP
service). Its output is streamed with every secret masked. The kubeconfig path is the `kubeconfig`
output (inside Actions a `~/` kubeconfig_path is placed under $RUNNER_TEMP, which the runner
empties at the end of the job, instead of the runner's home directory).

hetzner-k3s needs kubectl (the venv's is used) and helm on PATH (GitHub's Ubuntu runners have helm).
"""

EPILOG = """\
examples:
  HCLOUD_TOKEN=... HETZNER_SSH_PRIVATE_KEY="$(cat id_ed25519)" \\
  HETZNER_SSH_PUBLIC_KEY="$(cat id_ed25519.pub)" gitops cluster --environment dev \\
    --cluster-kubeconfig ~/.kube/hetzner-dev-cluster.yaml
  gitops cluster --environment prod --upgrade --cluster-kubeconfig-env KUBECONFIG_DATA \\
    --sha256 <the published sha256 of hetzner-k3s 2.4.9 for this platform>
  gitops cluster --environment prod --hetzner-k3s /usr/local/bin/hetzner-k3s --sha256 46b8...
  gitops cluster --environment test --timeout 2400

outputs (in Actions): kubeconfig (path), cluster-name, node-count (masters + workers in the config).
exit codes: 0 cluster created/updated/upgraded; 1 a problem you can fix (config, secrets, checksum,
missing tool, a k3s version change that needs --upgrade); 2 hetzner-k3s ran and failed or ran out
of time (re-running is safe).
"""


UPGRADE = Switch(
    "--upgrade",
    "upgrade k3s to the config's k3s_version node by node (hetzner-k3s upgrade), then run create",
    input="upgrade",
)
SKIP_VERSION_CHECK = Switch(
    "--skip-version-check",
    "run create without comparing k3s versions (a cluster that no longer exists, an API that cannot "
    "answer); create then installs the config's k3s_version on every node",
    input="skip-version-check",
)
# The cluster job's timeout-minutes is 60: 30 are left for readiness, the upload and the dispatch.
TIMEOUT = Duration(
    "--timeout", "stop hetzner-k3s (and all it started) after this long", input="timeout", default=1800.0
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add(p, "--environment", input="environment", metavar="ENV", help="e.g. dev")
    add(
        p, "--config", input="config", metavar="PATH", help=f"the cluster config (default: {CONFIG_TEMPLATE})"
    )
    UPGRADE.add(p)
    TIMEOUT.add(p)
    _add_running_cluster(p)
    _add_tool(p)
    add(
        p,
        "--kubeconfig-path",
        input="kubeconfig-path",
        metavar="PATH",
        help="write the kubeconfig here instead of the config's kubeconfig_path",
    )
    _add_secrets(p)


def _add_running_cluster(p: argparse.ArgumentParser) -> None:
    running = p.add_argument_group("the running cluster (to compare its k3s version with the config's)")
    add(
        running,
        "--cluster-kubeconfig",
        input="cluster-kubeconfig",
        metavar="PATH",
        help="the running cluster's kubeconfig file",
    )
    add(
        running,
        "--cluster-kubeconfig-env",
        input="cluster-kubeconfig-env",
        metavar="VAR",
        help="variable holding the running cluster's kubeconfig content (in the workflow: the environment's "
        "KUBECONFIG secret); empty: no running cluster known, a first create",
    )
    add(running, "--cluster-context", input="cluster-context", metavar="NAME", help="its context")
    SKIP_VERSION_CHECK.add(running)


def _add_tool(p: argparse.ArgumentParser) -> None:
    tool = p.add_argument_group("hetzner-k3s")
    tool.add_argument(
        "--hetzner-k3s",
        dest="binary",
        metavar="PATH",
        default=from_input("hetzner-k3s") or os.environ.get("GITOPS_HETZNER_K3S") or None,
        help="use this hetzner-k3s (a path, or a name looked up on PATH) instead of downloading the pinned "
        "release; verified only when --sha256 is given (default: $GITOPS_HETZNER_K3S, a job-wide override "
        "like GITOPS_KUBECTL; empty: the pinned release)",
    )
    add(
        tool,
        "--version",
        dest="version",
        input="version",
        metavar="X.Y.Z",
        help="install this hetzner-k3s release instead of the pinned one (needs --sha256); the pins: 2.4.6 "
        "for create, 2.4.9 with --upgrade",
    )
    add(
        tool,
        "--sha256",
        input="sha256",
        metavar="HEX",
        help="the binary's expected sha256 (overrides the pinned checksum)",
    )
    add(
        tool,
        "--download-url",
        input="download-url",
        metavar="TEMPLATE",
        help="download URL template with {version} and {platform} (a mirror); default: GitHub releases",
    )


def _add_secrets(p: argparse.ArgumentParser) -> None:
    secrets = p.add_argument_group("secrets (names of environment variables)")
    add(
        secrets,
        "--token-env",
        input="token-env",
        metavar="VAR",
        help="variable holding the Hetzner Cloud token (default: HCLOUD_TOKEN, else HETZNER_TOKEN)",
    )
    add(
        secrets,
        "--ssh-private-key-env",
        input="ssh-private-key-env",
        default="HETZNER_SSH_PRIVATE_KEY",
        metavar="VAR",
        help="variable holding the SSH private key (default: HETZNER_SSH_PRIVATE_KEY)",
    )
    add(
        secrets,
        "--ssh-public-key-env",
        input="ssh-public-key-env",
        default="HETZNER_SSH_PUBLIC_KEY",
        metavar="VAR",
        help="variable holding the SSH public key (default: HETZNER_SSH_PUBLIC_KEY)",
    )


def run(args: argparse.Namespace) -> int:
    from gitops.operations import hetzner_cluster, hetzner_request

    request = hetzner_request.prepare(_inputs(args))
    outcome = hetzner_cluster.provision(request)
    return _report(args, request, outcome)


def _inputs(args: argparse.Namespace) -> Inputs:
    environment = args.environment or ""
    if not environment.strip():
        raise ConfigurationError(
            "--environment is required",
            key="--environment",
            title="Missing argument",
            hint="e.g. --environment dev (its config: infra/k8s/hetzner/dev/cluster/cluster-config.yaml)",
        )
    return Inputs(
        environment=environment,
        config=args.config or None,
        upgrade=UPGRADE.read(args),
        skip_version_check=SKIP_VERSION_CHECK.read(args),
        timeout=TIMEOUT.read(args),
        token_env=args.token_env or None,
        ssh_private_key_env=args.ssh_private_key_env,
        ssh_public_key_env=args.ssh_public_key_env,
        kubeconfig_path=args.kubeconfig_path or None,
        cluster_kubeconfig=args.cluster_kubeconfig,
        cluster_kubeconfig_env=args.cluster_kubeconfig_env,
        cluster_context=args.cluster_context,
        binary=args.binary,
        version=args.version,
        sha256=args.sha256,
        download_url=args.download_url,
    )


def _report(args: argparse.Namespace, request: Request, outcome: Outcome) -> int:
    """The error (and that re-running is safe), or the kubeconfig masked and handed on; then the summary."""
    console = runner.current()
    nodes = hk.node_count(request.document)
    data = _data(request, outcome, nodes)
    if not outcome.ok:
        console.error(
            f"{outcome.failure}. Re-running is safe: "
            + (
                "the upgrade goes on from the nodes' current versions, then create runs"
                if request.upgrade
                else "create continues from the cluster's current state"
            ),
            file=str(request.config_path),
            title="Cluster upgrade failed" if request.upgrade else "Cluster create failed",
        )
        console.summary(_summary(data, ok=False))
        report.emit(args.format, data, lambda: _table(data))
        return EXIT_DEPLOY_FAILED
    console.set_output("kubeconfig", str(request.kubeconfig))
    console.set_output("cluster-name", outcome.cluster_name)
    console.set_output("node-count", str(nodes))
    console.summary(_summary(data, ok=True))
    report.emit(args.format, data, lambda: _table(data))
    return 0


def _data(request: Request, outcome: Outcome, nodes: int) -> dict[str, Any]:
    plan = outcome.plan
    return {
        "environment": request.environment,
        "config": str(request.config_path),
        "cluster_name": outcome.cluster_name,
        "mode": outcome.mode,
        "kubeconfig": str(request.kubeconfig),
        "node_count": nodes,
        "hetzner_k3s": request.tool.report,
        "k3s": {
            "wanted": hk.k3s_version_of(request.document, str(request.config_path)),
            "check": outcome.version_check,
            "decision": plan.verdict.value if plan is not None else "create",
            "reason": plan.reason if plan is not None else "version check skipped",
            "before": outcome.before,
            "after": outcome.after,
        },
        "steps": [step.to_json() for step in outcome.steps],
        "ok": outcome.ok,
        "failure": outcome.failure or None,
        "timed_out": outcome.timed_out,
        "timeout_seconds": request.timeout,
        "exit_code": next((s.exit_code for s in reversed(outcome.steps)), None),
        "seconds": round(outcome.seconds),
    }


def _tool_text(tool: Mapping[str, Any]) -> str:
    version = f"hetzner-k3s {tool['version']}" if tool.get("version") else "hetzner-k3s"
    check = (
        f"sha256 {str(tool['sha256'])[:12]}… verified"
        if tool.get("verified")
        else "not verified (no --sha256)"
    )
    return f"{version} ({tool['source']}; {check})"


def _versions(data: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    before, after = data["k3s"]["before"], data["k3s"]["after"]
    return [(node, before.get(node, "-"), after.get(node, "-")) for node in sorted({*before, *after})]


def _summary(data: Mapping[str, Any], *, ok: bool) -> str:
    where = f"cluster {data['cluster_name']} of environment {data['environment']}"
    upgraded = data["mode"] == "upgrade"
    if ok:
        done = f"upgraded to k3s {data['k3s']['wanted']} and updated" if upgraded else "created or updated"
        head = f":white_check_mark: gitops cluster: {where} {done}"
    else:
        head = f":x: gitops cluster: {where}: {data['failure']}; re-running is safe"
    rows = [
        ("Environment", data["environment"]),
        ("Config", f"`{data['config']}`"),
        ("k3s", f"{data['k3s']['wanted']} ({data['k3s']['check']}: {data['k3s']['reason']})"),
        ("Tool", _tool_text(data["hetzner_k3s"])),
        ("Nodes in the config", data["node_count"]),
        ("Kubeconfig", f"`{data['kubeconfig']}`" if ok else "-"),
        ("Duration", f"{data['seconds']}s of at most {data['timeout_seconds']:g}s"),
    ]
    steps = [
        (
            s["command"],
            "timed out" if s["timed_out"] else f"exit {s['exit_code']}",
            f"{s['seconds']}s",
            s["phase"],
        )
        for s in data["steps"]
    ]
    text = f"### {head}\n\n" + report.markdown_table(["", ""], rows)
    if steps:
        text += "\n" + report.markdown_table(["step", "result", "time", "last phase"], steps)
    if upgraded and data["k3s"]["before"]:
        text += "\n" + report.markdown_table(["node", "k3s before", "k3s after"], _versions(data))
    return text + (
        "\n_hetzner-k3s create is idempotent: an existing cluster is updated in place; re-running "
        "continues from the cluster's current state._\n"
    )


def _table(data: Mapping[str, Any]) -> str:
    rows = [
        ("environment", data["environment"]),
        ("cluster", data["cluster_name"]),
        ("mode", data["mode"]),
        ("config", data["config"]),
        ("k3s", f"{data['k3s']['wanted']} ({data['k3s']['check']})"),
        ("tool", _tool_text(data["hetzner_k3s"])),
        ("kubeconfig", data["kubeconfig"]),
        ("exit code", data["exit_code"]),
    ]
    text = report.text_table(["field", "value"], rows)
    if data["mode"] == "upgrade" and data["k3s"]["before"]:
        text += "\n\n" + report.text_table(["node", "before", "after"], _versions(data))
    return text
