"""Deploying: put manifests on a cluster (``gitops apply``), or deploy one environment end to end
(``gitops deploy``: the gate for the environment and each of its services, then the apply).

The path of one deploy: the verb parses its flags into a :class:`DeployRequest`;
:func:`deploy` reads the policy and asks the gate (:mod:`gitops.core.gate`) about the
environment and then each service in deploy-control.yaml. A blocked environment (or every
service blocked) applies nothing: a decision, not an error. Otherwise the overlay is rendered
with the Secret placeholders filled in memory (:mod:`gitops.operations.rendering`), and the
apply engine (:mod:`gitops.operations.apply_engine`) applies it with the environment's
``rollout_timeout_seconds`` and each service's ``rollback_on_failure``, leaving out the blocked
services (their objects carry ``app.kubernetes.io/name: <service>``).

Every value of every Secret is masked before anything can print it, whatever its origin (a
``-f`` file may carry real values). An API server that cannot be reached at all raises
:class:`ClusterUnreachable` (nothing was applied); a 401/403 is the user's to fix
(:func:`gitops.core.kube_errors.credentials_error`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitops.adapters import runner
from gitops.core.kube_errors import credentials_error
from gitops.core.redaction import secret_object_values
from gitops.core.secrets import DEFAULT_PLACEHOLDER
from gitops.errors import ConfigurationError
from gitops.operations.apply_engine import ApplyReport, ApplySettings, RollbackSetting

if TYPE_CHECKING:
    from gitops.adapters.kube import KubeconfigSource
    from gitops.core.gate import Decision
    from gitops.operations.gating import GateRequest


@dataclass(frozen=True)
class Manifests:
    """What to apply: an overlay to render, or a manifests file (``-`` for stdin); exactly one."""

    overlay: str = ""
    filename: str = ""
    placeholder: str = DEFAULT_PLACEHOLDER
    secret_map: Path | None = None


@dataclass(frozen=True)
class Connection:
    """The cluster to talk to."""

    source: KubeconfigSource
    request_timeout: float = 30.0


class ClusterUnreachable(Exception):  # noqa: N818 - the name says what happened
    """The API server did not answer (or not usefully) at all; nothing was applied."""

    def __init__(self, host: str, context: str, detail: str) -> None:
        super().__init__(f"cannot talk to the API server at {host} (context {context!r}): {detail}")
        self.host = host
        self.context = context
        self.detail = detail


# -- apply -----------------------------------------------------------------------------------------


def load_objects(manifests: Manifests) -> tuple[list[dict[str, Any]], str]:
    """The objects to apply and a name for them, Secret values masked."""
    from gitops.adapters.kustomize import kustomization_file, missing_overlay
    from gitops.operations.rendering import display_path, render_overlay

    overlay, filename = manifests.overlay.strip(), manifests.filename.strip()
    if bool(overlay) == bool(filename):
        raise ConfigurationError(
            "give exactly one of --overlay DIR or -f FILE",
            key="--overlay",
            hint="e.g. --overlay infra/k8s/hetzner/dev",
            title="Invalid arguments",
        )
    options: dict[str, Any] = {"placeholder": manifests.placeholder, "secret_map": manifests.secret_map}
    if overlay:
        path = Path(overlay)
        if kustomization_file(path) is None:
            raise missing_overlay(path)
        objects, source = render_overlay(path, os.environ, **options).objects, display_path(path)
    else:
        if filename == "-":
            text, source = sys.stdin.read(), "stdin"
        else:
            try:
                text = Path(filename).read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigurationError(
                    f"cannot read {filename}: {exc.strerror or exc}",
                    file=filename,
                    key="-f",
                    title="Invalid input",
                    hint="pass a manifests file, - for stdin, or --overlay DIR to render a kustomize overlay",
                ) from None
            source = filename
        objects = render_overlay(Path(source), os.environ, manifests=text, **options).objects
    mask_secret_values(objects)
    return objects, source


def mask_secret_values(objects: Sequence[Mapping[str, Any]]) -> None:
    """Mask every value of every Secret, whatever its origin (a -f file may carry real ones)."""
    console = runner.current()
    for value in secret_object_values(objects):
        console.mask(value)


def apply(manifests: Manifests, connection: Connection, settings: ApplySettings) -> ApplyReport:
    """``gitops apply``: render or read the manifests, then apply them (see the engine)."""
    objects, source = load_objects(manifests)
    return apply_objects(objects, source, connection, settings)


def apply_objects(
    objects: Sequence[Mapping[str, Any]], source: str, connection: Connection, settings: ApplySettings
) -> ApplyReport:
    """Connect and run the engine. Raises :class:`ClusterUnreachable` when the cluster never answered."""
    from gitops.adapters.kube import Kube, KubeError
    from gitops.operations.apply_engine import Engine

    kube = Kube.connect(connection.source, request_timeout=connection.request_timeout)
    try:
        return Engine(kube, settings).run(objects, source)
    except KubeError as err:
        if err.status in (401, 403):
            raise credentials_error(
                kube.host,
                kube.connection.context,
                connection.source,
                err.status,
                err.describe(),
                needs="get/list/watch/create/patch/delete on the kinds you apply",
            ) from None
        raise ClusterUnreachable(kube.host, kube.connection.context, err.describe()) from None
    finally:
        kube.close()


# -- deploy ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeployRequest:
    """``gitops deploy``: what the gate decides for, and how to apply if it allows."""

    gate: GateRequest
    connection: Connection
    overlay: str = ""  # default: infra/k8s/hetzner/<environment>
    placeholder: str = DEFAULT_PLACEHOLDER
    secret_map: Path | None = None
    field_manager: str = "gitops"
    namespace: str | None = None
    dry_run: bool = False
    progress_interval: float = 10.0


@dataclass(frozen=True)
class Deployment:
    """What :func:`deploy` did: the gate's decisions and, unless blocked, the apply's report."""

    environment: str
    decision: Decision  # the environment's own
    services: dict[str, Decision] = field(default_factory=dict)  # empty when the environment is blocked
    report: ApplyReport | None = None  # None: the gate blocked it, nothing was applied

    @property
    def skipped(self) -> list[str]:
        """Services the gate left out of the apply, sorted."""
        return sorted(name for name, d in self.services.items() if not d.allowed)

    @property
    def blocker(self) -> tuple[Decision, str] | None:
        """The decision that stopped the whole deploy, and its scope; None when it went ahead."""
        if not self.decision.allowed:
            return self.decision, ""
        skipped = self.skipped
        if self.services and len(skipped) == len(self.services):
            return self.services[skipped[0]], " (every service)"
        return None


def reason(decision: Decision) -> str:
    """``branch: branch 'dev' is not ...``: the first failing check, in the gate's words."""
    check = decision.blocked_by
    return f"{check.name}: {check.detail}" if check else "blocked"


def deploy(request: DeployRequest) -> Deployment:
    """Gate the environment and each service; apply the allowed ones. See the module docstring."""
    from gitops.core.gate import environment_of
    from gitops.operations.gating import load_policy

    gate = request.gate
    environment = gate.environment
    policy = load_policy(gate.control)
    decision = gate.evaluate(policy)
    if not decision.allowed:
        return Deployment(environment, decision)
    services = {
        name: gate.evaluate(policy, service=name) for name in environment_of(policy, environment).services
    }
    outcome = Deployment(environment, decision, services)
    if outcome.blocker is not None:
        return outcome
    for name in outcome.skipped:  # said before the apply starts, which can take minutes
        runner.current().notice(
            f"{name} is skipped: {reason(services[name])}", title=f"Deploy gate: {environment}/{name}"
        )
    manifests = Manifests(
        overlay=request.overlay.strip() or f"infra/k8s/hetzner/{environment}",
        placeholder=request.placeholder,
        secret_map=request.secret_map,
    )
    objects, source = load_objects(manifests)
    settings = ApplySettings(
        field_manager=request.field_manager,
        namespace=request.namespace,
        rollout_timeout=float(decision.rollout_timeout_seconds),
        rollback=RollbackSetting(
            decision.rollback_on_failure, {name: d.rollback_on_failure for name, d in services.items()}
        ),
        dry_run=request.dry_run,
        skip_services=tuple(outcome.skipped),
        strict_skip=False,
        progress_interval=request.progress_interval,
    )
    report = apply_objects(objects, source, request.connection, settings)
    return Deployment(environment, decision, services, report)
