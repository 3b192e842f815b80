"""Create, update or upgrade one environment's k3s cluster with hetzner-k3s, safely and within a deadline.

The use case behind ``gitops cluster``:

1. Compare the k3s version the nodes run with the config's ``k3s_version``
   (:mod:`gitops.core.k3s_versions`). ``create`` runs only when they match, or when no running
   cluster is known (a first create); otherwise it refuses and names the upgrade to run.
2. ``create``: ``hetzner-k3s create --skip-current-ip-validation`` on a private copy of the config.
3. ``upgrade``: ``hetzner-k3s upgrade --new-k3s-version`` (answering its prompt for the cluster
   name) on a copy whose ``k3s_version`` is the version running now; then wait until every node
   reports the new version, Ready and uncordoned (the system-upgrade-controller does the work,
   one control-plane node at a time); then ``create``, as hetzner-k3s's own upgrade procedure
   requires (docs/Maintenance.md, "Step 4: Run Create Command"), which also writes the kubeconfig.

Everything runs under ONE deadline (``timeout``). A hetzner-k3s that outlives it is stopped with
everything it started, and the failure names the phase it was in, read from its output
(:func:`gitops.core.hetzner_k3s.phase_of`). Every step is safe to run again: create continues from
the cluster's current state, and an upgrade whose nodes are already upgraded goes straight to create.

What a run works with (the config, the secrets, the verified tool) is read and checked before it
starts by :mod:`gitops.operations.hetzner_request`; which hetzner-k3s runs, and its checks, is
:mod:`gitops.operations.hetzner_tool`. The kubeconfig create writes is made 0600 and masked here.

Private files (SSH keys, the config copy, the running cluster's kubeconfig, hetzner-k3s's HOME with
its seeded k3s release list, and its TMPDIR) live in one 0700 directory removed at the end.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gitops.adapters import hetzner, runner
from gitops.adapters.kube import ApiResource, Kube, KubeError
from gitops.adapters.kubeconfig_source import KubeconfigSource
from gitops.core import hetzner_k3s as hk
from gitops.core.cluster_readiness import node_state, node_version
from gitops.core.k3s_versions import Verdict, VersionPlan, parse, plan_create, plan_upgrade
from gitops.core.redaction import kubeconfig_text_pieces
from gitops.core.retry import RetryPolicy
from gitops.errors import ConfigurationError
from gitops.operations.hetzner_tool import Tool, check_upgrade_tool

NODES = ApiResource("", "v1", "Node", "nodes", False)
UPGRADE_POLL_SECONDS = 10.0
STILL_WAITING_SECONDS = 60.0
STARTING = "starting (no phase announced yet)"


@dataclass(frozen=True)
class Secrets:
    token: str
    private_key: str | None
    public_key: str | None


@dataclass(frozen=True)
class Request:
    environment: str
    config_path: Path
    document: Mapping[str, Any]
    secrets: Secrets
    kubeconfig: Path  # where hetzner-k3s writes the kubeconfig (the step's output)
    tool: Tool
    timeout: float
    upgrade: bool = False
    running: KubeconfigSource | None = None  # the running cluster, to read its nodes' versions
    skip_version_check: bool = False
    path_prefix: tuple[str, ...] = ()


@dataclass
class Step:
    command: str  # create | upgrade | wait
    exit_code: int | None
    seconds: float
    phase: str = ""
    last_line: str = ""
    timed_out: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "exit_code": self.exit_code,
            "seconds": round(self.seconds),
            "phase": self.phase,
            "timed_out": self.timed_out,
        }


@dataclass
class Outcome:
    ok: bool
    cluster_name: str
    mode: str  # create | upgrade
    version_check: str  # compared | skipped | no running cluster given
    plan: VersionPlan | None
    before: dict[str, str]
    after: dict[str, str]
    steps: list[Step] = field(default_factory=list)
    failure: str = ""  # what failed, for the error and the summary
    seconds: float = 0.0

    @property
    def timed_out(self) -> bool:
        return any(step.timed_out for step in self.steps)


class _Phases:
    """The phase hetzner-k3s is in, from its output lines."""

    def __init__(self) -> None:
        self.phase = STARTING
        self.last_line = ""

    def __call__(self, line: str) -> None:
        if line.strip():
            self.last_line = line.strip()
        found = hk.phase_of(line)
        if found:
            self.phase = found


# -- the running cluster -------------------------------------------------------------------------------


def _read_nodes(kube: Kube) -> dict[str, dict[str, Any]]:
    return {str(n["metadata"]["name"]): n for n in kube.list(NODES).items}


def running_versions(source: KubeconfigSource) -> dict[str, str]:
    """node -> kubeletVersion of the running cluster (a refusal when it cannot be read)."""
    try:
        with Kube.connect(source, request_timeout=20.0, retry=RetryPolicy(attempts=3)) as kube:
            return {name: node_version(node) for name, node in _read_nodes(kube).items()}
    except KubeError as err:
        raise ConfigurationError(
            f"cannot read the running cluster's nodes through {source.describe()} to compare its k3s version "
            f"with the config's: {err.describe()}",
            key="--cluster-kubeconfig-env" if source.env_var else "--cluster-kubeconfig",
            title="k3s version not comparable",
            hint="if the cluster is up, check that kubeconfig (the environment's KUBECONFIG secret); if the "
            "cluster no longer exists, or you know its nodes run the config's k3s_version, run again with "
            "--skip-version-check (workflow input skip-version-check: true)",
        ) from None


def _upgrade_command(environment: str) -> str:
    return (
        f"`gitops cluster --environment {environment} --upgrade` (in GitHub: run the 'Hetzner k3s clusters' "
        f"workflow with environment {environment} and upgrade: true)"
    )


def decide(request: Request, wanted: str) -> tuple[VersionPlan | None, str, dict[str, str]]:
    """(plan, how versions were checked, node versions before); raises the refusal."""
    target = parse(wanted)
    assert target is not None  # noqa: S101 - hk.k3s_version_of validated it
    if request.skip_version_check and not request.upgrade:
        runner.current().warning(
            f"k3s version not compared (--skip-version-check): create installs {wanted} on every node",
            title="k3s version check skipped",
        )
        return None, "skipped", {}
    if request.upgrade and request.running is None:
        raise ConfigurationError(
            "--upgrade needs the running cluster's kubeconfig, to read each node's k3s version and to hand "
            "to hetzner-k3s upgrade",
            key="--cluster-kubeconfig-env",
            title="Kubeconfig missing",
            hint="in the workflow it is the environment's KUBECONFIG secret (written by every cluster run); "
            "locally pass --cluster-kubeconfig PATH or --cluster-kubeconfig-env VAR",
        )
    nodes = running_versions(request.running) if request.running is not None else None
    plan = plan_upgrade(target, nodes) if request.upgrade else plan_create(target, nodes)
    check = "compared" if nodes is not None else "no running cluster given"
    if plan.verdict is Verdict.REFUSE:
        config = f"{request.config_path}"
        if not request.upgrade and plan.current is not None and plan.current < target:
            raise ConfigurationError(
                f"k3s version change: {plan.reason}",
                file=config,
                key="k3s_version",
                title="k3s upgrade needed",
                hint=f"upgrade instead, node by node with draining: {_upgrade_command(request.environment)}; "
                "or set k3s_version back to the running version",
            )
        raise ConfigurationError(
            f"k3s version: {plan.reason}",
            file=config,
            key="k3s_version",
            title="k3s version refused",
            hint="set k3s_version to a version the cluster can move to (the running one, or the next minor "
            "release); `kubectl get nodes -o wide` shows what each node runs",
        )
    if nodes is None:
        runner.current().notice(
            f"k3s version not compared: no kubeconfig of a running cluster was given, so this is taken as a "
            f"first create of {wanted} (pass the environment's KUBECONFIG as --cluster-kubeconfig-env)",
            title="k3s version not compared",
        )
    return plan, check, dict(nodes or {})


# -- running hetzner-k3s --------------------------------------------------------------------------------


def _run_tool(
    argv: list[str],
    env: Mapping[str, str],
    *,
    command: str,
    title: str,
    deadline: float,
    stdin: str | None = None,
) -> Step:
    console = runner.current()
    phases = _Phases()
    with console.group(title):
        finished = hetzner.run_streaming(
            argv,
            env,
            Path.cwd(),
            stdin=stdin,
            timeout=max(1.0, deadline - time.monotonic()),
            on_line=phases,
        )
    return Step(command, finished.code, finished.seconds, phases.phase, phases.last_line, finished.timed_out)


def _wait_for_upgrade(source: KubeconfigSource, wanted: str, deadline: float) -> tuple[Step, dict[str, str]]:
    """Poll the nodes until each runs ``wanted``, Ready and uncordoned; print each change."""
    console = runner.current()
    started = time.monotonic()
    seen: dict[str, str] = {}
    last_report = started
    versions: dict[str, str] = {}
    phase = f"waiting for the nodes to run {wanted}"
    with Kube.connect(source, request_timeout=20.0, retry=RetryPolicy(attempts=1)) as kube:
        while True:
            done = False
            try:
                nodes = _read_nodes(kube)
            except KubeError as err:
                # The API server restarts with each control-plane node: keep polling.
                state = {"API server": f"not answering: {err.describe()}"}
            else:
                versions = {name: node_version(node) for name, node in nodes.items()}
                # node_state says "Ready (cordoned)" while the upgrade job has the node drained.
                state = {
                    name: f"{versions[name]}, {node_state(node)[1]}" for name, node in sorted(nodes.items())
                }
                done = bool(nodes) and all(text == f"{wanted}, Ready" for text in state.values())
            now = time.monotonic()
            for name, text in state.items():
                if seen.get(name) != text:
                    console.log(f"  [{now - started:.0f}s] {name}: {text}")
                    seen[name] = text
                    last_report = now
            if done:
                return Step("wait", 0, now - started, phase), versions
            if now >= deadline:
                behind = ", ".join(f"{n} ({v})" for n, v in sorted(versions.items()) if v != wanted) or "none"
                return Step(
                    "wait", None, now - started, phase, f"not yet on {wanted}: {behind}", True
                ), versions
            if now - last_report >= STILL_WAITING_SECONDS:
                console.log(
                    f"  [{now - started:.0f}s] still waiting for every node to run {wanted} and be Ready"
                )
                last_report = now
            time.sleep(min(UPGRADE_POLL_SECONDS, max(0.0, deadline - now)))


def _kubeconfig_file(source: KubeconfigSource, private: Path) -> Path:
    """A file with the running cluster's kubeconfig for hetzner-k3s upgrade (0600, private)."""
    if source.path is not None:
        return source.path.expanduser().absolute()
    from gitops.adapters import kubeconfig_source  # the same decoding (plain or base64) as every verb

    text, _ = kubeconfig_source.read_env(str(source.env_var))
    return hetzner.write_private(private / "running-kubeconfig.yaml", text)


def _key_paths(request: Request, private: Path) -> tuple[str, str]:
    if request.secrets.private_key is not None and request.secrets.public_key is not None:
        ssh = private / "ssh"
        ssh.mkdir(mode=0o700)
        return (
            str(hetzner.write_private(ssh / "id_hetzner", request.secrets.private_key)),
            str(hetzner.write_private(ssh / "id_hetzner.pub", request.secrets.public_key)),
        )
    # The config's own key files (a laptop): absolute, because the child's HOME is private.
    configured_private, configured_public, _ = hk.configured_paths(request.document)
    return str(Path(configured_private).expanduser()), str(Path(configured_public).expanduser())


def provision(request: Request) -> Outcome:
    """Run the create (or upgrade + create) the request asks for; refusals raise ConfigurationError."""
    started = time.monotonic()
    deadline = started + request.timeout
    doc = request.document
    source = str(request.config_path)
    wanted = hk.k3s_version_of(doc, source)
    if request.upgrade and not hk.upgrade_controller_enabled(doc):
        raise ConfigurationError(
            "an upgrade runs through the system-upgrade-controller add-on, which this config disables",
            file=source,
            key="addons.system_upgrade_controller.enabled",
            title="Upgrade impossible",
            hint="set addons.system_upgrade_controller.enabled: true and run create once (versions "
            "unchanged), then --upgrade",
        )
    plan, check, before = decide(request, wanted)
    name = str(doc.get("cluster_name") or "")
    outcome = Outcome(False, name, "upgrade" if request.upgrade else "create", check, plan, before, {})
    with hetzner.private_directory(f"gitops-hetzner-{request.environment}-") as private:
        work = _workspace(request, private)
        current = str(plan.current) if plan is not None and plan.current is not None else wanted
        hetzner.write_release_cache(work.home, hk.release_cache(wanted, current, *before.values()))
        if plan is not None and plan.verdict is Verdict.UPGRADE:
            outcome.failure = _upgrade(
                request, plan, work, outcome, versions=(current, wanted), deadline=deadline
            )
            if outcome.failure:
                outcome.seconds = time.monotonic() - started
                return outcome
        step = _create(request, work, name=name, deadline=deadline)
        outcome.steps.append(step)
    outcome.seconds = time.monotonic() - started
    if step.exit_code != 0:
        outcome.failure = "hetzner-k3s create " + _how(step)
        return outcome
    if not request.kubeconfig.is_file():
        outcome.failure = f"hetzner-k3s create finished but wrote no kubeconfig at {request.kubeconfig}"
        return outcome
    _secure_kubeconfig(request.kubeconfig)
    outcome.ok = True
    return outcome


def _secure_kubeconfig(path: Path) -> None:
    """The new cluster's admin kubeconfig: readable by this user only, and every credential in it
    masked before its path is handed on (a step output) or anything else is printed."""
    path.chmod(0o600)
    console = runner.current()
    for piece in kubeconfig_text_pieces(path.read_text(encoding="utf-8", errors="replace")):
        console.mask(piece)


@dataclass(frozen=True)
class _Workspace:
    """One run's private directory: the SSH key files hetzner-k3s reads, and its HOME and TMPDIR."""

    private: Path
    key_paths: tuple[str, str]  # private, public
    home: Path
    env: Mapping[str, str]  # the child's environment: the token, HOME and TMPDIR in ``private``


def _workspace(request: Request, private: Path) -> _Workspace:
    key_paths = _key_paths(request, private)
    home = private / "home"
    home.mkdir(mode=0o700)
    tmpdir = private / "tmp"
    tmpdir.mkdir(mode=0o700)
    env = hetzner.child_environment(
        os.environ, request.secrets.token, home=home, tmpdir=tmpdir, path_prefix=request.path_prefix
    )
    return _Workspace(private, key_paths, home, env)


def _upgrade(
    request: Request,
    plan: VersionPlan,
    work: _Workspace,
    outcome: Outcome,
    *,
    versions: tuple[str, str],
    deadline: float,
) -> str:
    """``hetzner-k3s upgrade`` on a copy pinned to the running version, then the wait for every node.

    ``versions`` is (the version the nodes run now, the config's). Each step goes into ``outcome``;
    the answer is what failed, or "" when every node runs the config's version, Ready.
    """
    console = runner.current()
    assert request.running is not None  # noqa: S101 - plan_upgrade needs the running cluster's nodes
    doc, source, name = request.document, str(request.config_path), outcome.cluster_name
    current, wanted = versions
    check_upgrade_tool(request.tool, work.env)
    running = _kubeconfig_file(request.running, work.private)
    copy = hk.prepare_config(
        doc,
        source=source,
        private_key_path=work.key_paths[0],
        public_key_path=work.key_paths[1],
        kubeconfig_path=str(running),
        k3s_version=current,
    )
    upgrade_config = hetzner.write_private(
        work.private / "upgrade-config.yaml", yaml.safe_dump(copy.document, sort_keys=False)
    )
    console.log(f"k3s upgrade of {name}: {plan.reason}")
    step = _run_tool(
        hk.upgrade_argv(str(request.tool.path), str(upgrade_config), wanted),
        work.env,
        command="upgrade",
        title=f"hetzner-k3s upgrade: cluster {name} ({request.environment}) {current} -> {wanted}",
        deadline=deadline,
        stdin=f"{name}\n",  # its confirmation prompt: "Please enter the cluster name ..."
    )
    outcome.steps.append(step)
    if step.exit_code != 0:
        return "hetzner-k3s upgrade " + _how(step)
    with console.group(f"waiting for every node of {name} to run {wanted}"):
        wait, outcome.after = _wait_for_upgrade(request.running, wanted, deadline)
    outcome.steps.append(wait)
    if wait.timed_out:
        return (
            f"the nodes did not all reach {wanted} within {request.timeout:g}s ({wait.last_line}); "
            "the system-upgrade-controller goes on in the cluster"
        )
    return ""


def _create(request: Request, work: _Workspace, *, name: str, deadline: float) -> Step:
    """``hetzner-k3s create`` on a private copy of the config that writes the kubeconfig where asked."""
    console = runner.current()
    source = str(request.config_path)
    prepared = hk.prepare_config(
        request.document,
        source=source,
        private_key_path=work.key_paths[0],
        public_key_path=work.key_paths[1],
        kubeconfig_path=str(request.kubeconfig),
    )
    for warning in prepared.warnings:
        console.warning(warning, file=source, title="Cluster config")
    config_copy = hetzner.write_private(
        work.private / "cluster-config.yaml", yaml.safe_dump(prepared.document, sort_keys=False)
    )
    if not request.kubeconfig.parent.exists():
        request.kubeconfig.parent.mkdir(parents=True, mode=0o700)
    return _run_tool(
        hk.create_argv(str(request.tool.path), str(config_copy)),
        work.env,
        command="create",
        title=f"hetzner-k3s create: cluster {name} ({request.environment})",
        deadline=deadline,
    )


def _how(step: Step) -> str:
    if step.timed_out:
        return f"did not finish within the deadline and was stopped; it was {step.phase}"
    return f"failed (exit {step.exit_code}) while {step.phase}"
