"""Deploying: put manifests on a cluster (``gitops apply``), or deploy one environment end to end
(``gitops deploy``: the gate for the environment and each of its services, then the apply).

The path of one deploy: the verb parses its flags into a :class:`DeployRequest`;
:func:`deploy` asks the gate about the environment and then each service in deploy-control.yaml
(:func:`gitops.operations.gating.deploy_gate`, which ``gitops diff`` asks too). A blocked
environment (or every service blocked) applies nothing and reaches no cluster: a decision, not
an error. Otherwise:

1. the overlay is rendered with the Secret placeholders filled in memory
   (:mod:`gitops.operations.rendering`): a missing secret fails before any API call;
2. the cluster's identity record must name this environment (:mod:`gitops.operations.cluster_binding`):
   another environment's cluster, or one without a record, is refused (exit 1) before anything is
   written, unless ``--claim`` binds an unbound one;
3. the commit is compared with the last successful deploy in the cluster's record
   (:mod:`gitops.core.deploy_order`, :mod:`gitops.operations.commit_order`): an older commit is
   skipped (exit 0, nothing written) unless ``--allow-older`` asks for a rollback;
4. the deploy is recorded as ``running`` (:mod:`gitops.operations.deploy_records`), the apply
   engine (:mod:`gitops.operations.apply_engine`) applies it with the environment's
   ``rollout_timeout_seconds`` and each service's ``rollback_on_failure``, leaving out the
   blocked services (their objects carry ``app.kubernetes.io/name: <service>``), and the record
   gets the result.

Every value of every Secret is masked before anything can print it, whatever its origin (a
``-f`` file may carry real values). An API server that cannot be reached at all raises
:class:`ClusterUnreachable` (nothing was applied); a 401/403 is the user's to fix
(:func:`gitops.core.kube_errors.credentials_error`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitops.adapters import runner, textfile
from gitops.core import deploy_order, documents
from gitops.core.cluster_identity import Binding, Identity
from gitops.core.deploy_gate import DeployGate, reason
from gitops.core.deploy_order import OrderDecision
from gitops.core.deploy_record import DeployEntry, DeployHistory, condensed_gate
from gitops.core.kube_errors import credentials_error
from gitops.core.redaction import secret_object_values
from gitops.core.secrets import DEFAULT_PLACEHOLDER
from gitops.errors import ConfigurationError
from gitops.operations.apply_engine import APPLIED, Action, ApplyReport, ApplySettings, RollbackSetting

if TYPE_CHECKING:
    from gitops.adapters.kube import Kube
    from gitops.adapters.kubeconfig_source import KubeconfigSource
    from gitops.core.gate import Decision
    from gitops.operations.cluster_binding import Claim
    from gitops.operations.gating import GateRequest

# What a deploy needs from the cluster's RBAC, said when a 403 stops it.
DEPLOY_NEEDS = (
    "get on the ConfigMaps gitops-system/gitops-cluster-identity and gitops-deploy-record, patch on "
    "gitops-deploy-record (create for the first deploy), and get/list/watch/create/patch/delete on "
    "the kinds you apply"
)


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


# Requests an apply may need beyond its waits, in units of --request-timeout: the time limit of the
# whole verb (:func:`gitops.adapters.deadline.limit_verb`) is its waits plus this many requests.
APPLY_REQUEST_BUDGET = 20


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
        source = "stdin" if filename == "-" else filename
        try:
            limit = documents.MANIFESTS.max_bytes
            text = textfile.read_stdin(limit) if filename == "-" else textfile.read(filename, limit)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read {source}: {exc.strerror or exc}",
                file=source,
                key="-f",
                title="Invalid input",
                hint="pass a manifests file, - for stdin, or --overlay DIR to render a kustomize overlay",
            ) from None
        objects = render_overlay(Path(source), os.environ, manifests=text, **options).objects
    if not objects:  # a failed upstream pipe (`render ... | gitops apply -f -`) must not look like a deploy
        raise ConfigurationError(
            f"{source} holds no Kubernetes objects: nothing to apply",
            file=source,
            key="--overlay" if overlay else "-f",
            title="Nothing to apply",
            hint="check what produced them: an empty file or pipe usually means an earlier step failed",
        )
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


@contextmanager
def connected(connection: Connection, *, needs: str) -> Iterator[Kube]:
    """A connection for one use case; a request that failed for good becomes the user's to fix
    (401/403: :func:`gitops.core.kube_errors.credentials_error`, naming what RBAC must allow) or
    :class:`ClusterUnreachable`."""
    from gitops.adapters.kube import Kube, KubeError

    kube = Kube.connect(connection.source, request_timeout=connection.request_timeout)
    try:
        yield kube
    except KubeError as err:
        if err.status in (401, 403):
            raise credentials_error(
                kube.host, kube.connection.context, connection.source, err.status, err.describe(), needs=needs
            ) from None
        raise ClusterUnreachable(kube.host, kube.connection.context, err.describe()) from None
    finally:
        kube.close()


def apply_objects(
    objects: Sequence[Mapping[str, Any]], source: str, connection: Connection, settings: ApplySettings
) -> ApplyReport:
    """Connect and run the engine. Raises :class:`ClusterUnreachable` when the cluster never answered."""
    from gitops.adapters import deadline
    from gitops.operations.apply_engine import Engine

    # The verb's overall budget: every wait the engine may do, and time for its requests.
    deadline.limit_verb_to(
        {
            "2 x the rollout timeout": 2 * settings.rollout_timeout,
            "deletes, adoption and verification": settings.delete_timeout
            + settings.adoption_timeout
            + settings.verify_timeout,
        },
        connection.request_timeout,
        requests=APPLY_REQUEST_BUDGET,
    )
    with connected(connection, needs="get/list/watch/create/patch/delete on the kinds you apply") as kube:
        return Engine(kube, settings).run(objects, source)


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
    commit: str | None = None  # None: git rev-parse HEAD of the working directory
    claim: bool = False  # bind an unbound cluster to the environment first
    allow_older: bool = False  # a deliberate rollback to an older commit
    actor: str = ""  # github.actor: who started the run
    triggering_actor: str = ""  # github.triggering_actor: who started this attempt (a re-run)
    repository: str | None = None  # owner/name: GitHub's compare API, and the identity record
    run_url: str | None = None
    claim_command: str = "gitops claim --environment ENV"  # said when the cluster is not bound


@dataclass(frozen=True)
class Deployment:
    """What :func:`deploy` did: the gate's decisions and, unless blocked, the cluster's answers."""

    environment: str
    gate: DeployGate  # the environment's decision and, when it allows, each service's
    report: ApplyReport | None = None  # None: blocked by the gate, or skipped as older; nothing applied
    commit: str | None = None
    binding: Binding | None = None
    claimed: Claim | None = None
    order: OrderDecision | None = None
    entry: DeployEntry | None = None  # what was recorded (None: nothing was)
    history: DeployHistory | None = None  # the cluster's record after this deploy

    @property
    def decision(self) -> Decision:
        """The environment's own decision."""
        return self.gate.decision

    @property
    def services(self) -> Mapping[str, Decision]:
        """Each service's decision; empty when the environment is blocked."""
        return self.gate.services

    @property
    def skipped(self) -> list[str]:
        """Services the gate left out of the apply, sorted."""
        return self.gate.skipped

    @property
    def stale(self) -> bool:
        """Skipped because the commit is older than the deployed one (nothing written)."""
        return self.order is not None and self.order.skipped

    @property
    def blocker(self) -> tuple[Decision, str] | None:
        """The decision that stopped the whole deploy, and its scope; None when it went ahead."""
        return self.gate.blocker


def person_only(request: DeployRequest) -> None:
    """--claim and --allow-older are a person's decision: refused (exit 1) on any other run."""
    flags = [flag for flag, on in (("--claim", request.claim), ("--allow-older", request.allow_older)) if on]
    why = deploy_order.manual_only(event=request.gate.event, automatic=bool(request.gate.automatic))
    if flags and why:
        raise ConfigurationError(
            f"{' and '.join(flags)}: {why}",
            key=flags[0],
            title="Not allowed on this run",
            hint="run the deploy workflow by hand (workflow_dispatch) to bind a cluster or roll back",
        )


def deploy(request: DeployRequest) -> Deployment:
    """Gate, render, check the cluster and the commit order, record, apply. See the module docstring."""
    from gitops.operations.gating import deploy_gate

    person_only(request)
    environment = request.gate.environment
    outcome = Deployment(environment, deploy_gate(request.gate))
    if outcome.blocker is not None:
        return outcome
    for name in outcome.skipped:  # said before the apply starts, which can take minutes
        runner.current().notice(
            f"{name} is skipped: {reason(outcome.services[name])}", title=f"Deploy gate: {environment}/{name}"
        )
    manifests = Manifests(
        overlay=request.overlay.strip() or f"infra/k8s/hetzner/{environment}",
        placeholder=request.placeholder,
        secret_map=request.secret_map,
    )
    objects, source = load_objects(manifests)  # a missing secret stops here, before any API call
    commit = request.commit or _head_commit()
    with connected(request.connection, needs=DEPLOY_NEEDS) as kube:
        return _deploy_onto(kube, request, outcome, commit, objects, source)


def _head_commit() -> str:
    from gitops.operations.commit_order import head_commit

    return head_commit(Path.cwd())


def _deploy_onto(  # noqa: PLR0917 - the steps of one deploy share these
    kube: Kube,
    request: DeployRequest,
    outcome: Deployment,
    commit: str,
    objects: Sequence[Mapping[str, Any]],
    source: str,
) -> Deployment:
    from dataclasses import replace

    from gitops.operations import cluster_binding, commit_order, deploy_records

    environment = outcome.environment
    console = runner.current()
    claimed = None
    if request.claim:
        claimant = request.triggering_actor or request.actor
        identity = Identity(
            environment, _now_text(), claimant, "gitops deploy --claim", request.repository or ""
        )
        claimed = cluster_binding.claim(
            kube, identity, claim_command=request.claim_command, dry_run=request.dry_run
        )
    binding = cluster_binding.check(kube, environment, claim_command=request.claim_command)
    if not binding.allowed and not (claimed and claimed.dry_run and not claimed.existed):
        raise cluster_binding.refusal(binding)
    console.log(binding.message if binding.allowed else f"the cluster would be claimed for {environment}")
    history = deploy_records.read(kube)
    last = history.last_successful
    relation = None
    if last is not None:
        relation = commit_order.relation(
            commit, last.commit, repo_dir=Path.cwd(), repository=request.repository
        ).relation
    order = deploy_order.decide(
        commit,
        last.commit if last else None,
        relation,
        environment=environment,
        allow_older=request.allow_older,
        deployed_at=last.finished_at or last.started_at if last else "",
    )
    outcome = replace(outcome, commit=commit, binding=binding, claimed=claimed, order=order, history=history)
    if order.skipped:
        return outcome
    if order.warning:
        console.warning(order.message, title=f"Deploy order: {environment}")
    else:
        console.log(order.message)
    settings = _settings(request, outcome)
    if request.dry_run:
        from gitops.operations.apply_engine import Engine

        return replace(outcome, report=Engine(kube, settings).run(objects, source))
    entry = _entry(request, outcome, commit, order, history)
    history = deploy_records.write(kube, history, entry)  # before the first object is written
    report = _run_recording_failure(kube, settings, objects, source, history, entry)
    entry = entry.finish(report.result.value, _now_text(), _changed(report))
    try:
        history = deploy_records.write(kube, history, entry)
    except Exception as exc:  # the apply is done; its report matters more than the record
        console.warning(
            f"the deploy finished ({report.result.value}) but its result could not be recorded in the "
            f"cluster: {exc}; gitops status will show this deploy as running",
            title=f"Deploy record: {environment}",
        )
    return replace(outcome, report=report, entry=entry, history=history)


def _run_recording_failure(  # noqa: PLR0917
    kube: Kube,
    settings: ApplySettings,
    objects: Sequence[Mapping[str, Any]],
    source: str,
    history: DeployHistory,
    entry: DeployEntry,
) -> ApplyReport:
    """The engine's run; when it raises, the record says the deploy failed (best effort) first."""
    from gitops.operations import deploy_records
    from gitops.operations.apply_engine import Engine

    try:
        return Engine(kube, settings).run(objects, source)
    except BaseException:
        try:
            deploy_records.write(kube, history, entry.finish("failed", _now_text(), None))
        except Exception as exc:  # the original error is the one to report
            runner.current().debug(f"could not record the failed deploy: {exc}")
        raise


def _settings(request: DeployRequest, outcome: Deployment) -> ApplySettings:
    decision, services = outcome.decision, outcome.services
    return ApplySettings(
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


def _entry(
    request: DeployRequest, outcome: Deployment, commit: str, order: OrderDecision, history: DeployHistory
) -> DeployEntry:
    gate_json = outcome.decision.to_json()
    return DeployEntry(
        id=uuid.uuid4().hex[:8],
        seq=history.next_seq(),
        environment=outcome.environment,
        commit=commit,
        ref=request.gate.ref or "",
        event=request.gate.event,
        actor=request.actor,
        triggering_actor=request.triggering_actor or request.actor,
        started_at=_now_text(),
        automatic=bool(gate_json.get("automatic")),
        override=gate_json.get("override"),
        older_than=order.rollback_of,
        gate=condensed_gate(gate_json, outcome.skipped),
        run_url=request.run_url,
    )


def _changed(report: ApplyReport) -> int:
    return sum(1 for o in report.objects if o.action in APPLIED and o.action != Action.UNCHANGED)


def _now_text() -> str:
    from gitops.operations.deploy_records import now

    return now()
