"""``gitops diff``: what a deploy of one environment would do to the cluster, per object; writes nothing.

The path of one diff:

1. render the overlay as a deploy does (:mod:`gitops.operations.rendering`), Secret values
   filled in memory when this job has every one of them; otherwise every placeholder stays and
   those keys are "unknown" (a preview job holds only the read-only kubeconfig);
2. discovery and the apply plan exactly as the engine makes them (:mod:`gitops.core.apply_plan`);
3. per object, the engine's own foresight (:func:`gitops.operations.apply_engine.dry_run.preview`):
   a server-side dry-run apply, the 422 handling and the classifier of what may be deleted
   (:mod:`gitops.core.immutable`), the re-create's dry-run create, its dependents and PVC growth.
   When the API server answers the dry run with 403 (read-only credentials), the rest is
   compared client-side (:mod:`gitops.core.managed_fields`; see :func:`_client`), and the
   report's ``mode`` says so;
4. the objects that carry the overlay's labels, were applied by our field manager and are not
   rendered any more: left behind, since gitops does not prune (:mod:`gitops.operations.left_behind`).

Given the gate's inputs (``DiffRequest.gate``), the deploy gate is asked first, exactly as
``gitops deploy`` asks it (:func:`gitops.operations.gating.deploy_gate`), and the plan of step 2
leaves out the blocked services' objects as the engine does (``skip_services``); those objects are
``skipped``, with the gate's reason, and are not compared (a deploy sends nothing for them). When
the gate blocks the whole deploy, every rendered object is skipped. Without the gate's inputs
every rendered object is compared, and the report says the gate was not evaluated.

Before step 2 the cluster's identity record must name the environment, as for a deploy
(:mod:`gitops.operations.cluster_binding`): a server-side dry run carries the rendered Secrets,
so another environment's cluster, or one bound to none, never receives a request with them (exit
1, with the `gitops claim` to run).

The only writes sent are ``dryRun=All`` PATCHes (and a re-create's ``dryRun=All`` POST): the
API server stores nothing for them. No Secret value, and no hash of one, is put in the report
(:mod:`gitops.core.diff_report`); every value read from a live Secret is masked first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitops.adapters import runner
from gitops.adapters.clock import SYSTEM_CLOCK, Clock
from gitops.adapters.kube import KubeError
from gitops.adapters.kubeconfig_source import KubeconfigSource
from gitops.core import foreseen, managed_fields
from gitops.core.apply_plan import ObjectRef, PlannedObject, build_plan
from gitops.core.deploy_gate import DeployGate
from gitops.core.diff_report import (
    DiffAction,
    DiffReport,
    Mode,
    ObjectDiff,
    Recreate,
    secret_key_states,
    secret_view,
    unified,
)
from gitops.core.immutable_fields import changed_immutable_fields
from gitops.core.invalid_status import Cause
from gitops.core.redaction import secret_object_values
from gitops.core.secrets import DEFAULT_PLACEHOLDER
from gitops.operations import left_behind
from gitops.operations.apply_engine import ApplySettings
from gitops.operations.apply_engine.changeset import Action, ObjectResult
from gitops.operations.apply_engine.dry_run import Preview, foresee_recreate, preview
from gitops.operations.apply_engine.invalid import settle
from gitops.operations.apply_engine.session import Session
from gitops.operations.apply_engine.volumes import plan as growth_plan
from gitops.operations.connection import connected
from gitops.operations.gating import GateRequest, deploy_gate

MODES = ("auto", Mode.SERVER.value, Mode.CLIENT.value)


@dataclass(frozen=True)
class DiffRequest:
    environment: str
    overlay: Path
    source: KubeconfigSource
    request_timeout: float = 30.0
    field_manager: str = "gitops"
    namespace: str | None = None
    mode: str = "auto"  # auto | server-dry-run | client
    placeholder: str = DEFAULT_PLACEHOLDER
    secret_map: Path | None = None
    claim_command: str = "`gitops claim --environment ENV`"  # said when the cluster is not bound
    gate: GateRequest | None = None  # None: the gate is not evaluated, every object is compared


@dataclass
class Manifests:
    """The rendered objects, and the Secret keys whose values this run does not have."""

    objects: list[dict[str, Any]]
    source: str
    unknown_keys: dict[tuple[str, str | None], frozenset[str]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # variables not set here

    def unknown_for(self, ref: ObjectRef) -> frozenset[str]:
        if ref.kind != "Secret":
            return frozenset()
        exact = self.unknown_keys.get((ref.name, ref.namespace))
        return exact if exact is not None else self.unknown_keys.get((ref.name, None), frozenset())


def render(request: DiffRequest) -> Manifests:
    """Render the overlay; fill its Secrets when every value is here, else keep the placeholders."""
    from gitops.adapters.kustomize import kustomization_file, missing_overlay
    from gitops.operations.rendering import display_path, dump_manifests, render_overlay

    if kustomization_file(request.overlay) is None:
        raise missing_overlay(request.overlay)
    options: dict[str, Any] = {"placeholder": request.placeholder, "secret_map": request.secret_map}
    names = render_overlay(request.overlay, os.environ, substitute_values=False, **options)
    source = display_path(request.overlay)
    missing = [n for n in names.needed if not n.is_set]
    if not missing:
        text = dump_manifests(names.objects)  # the same documents, without a second kustomize build
        # render_overlay masks every value it puts in before anything can print it
        objects = render_overlay(request.overlay, os.environ, manifests=text, **options).objects
        return Manifests(objects, source)
    unknown: dict[tuple[str, str | None], set[str]] = {}
    for placeholder in names.scan.placeholders:
        unknown.setdefault((placeholder.secret, placeholder.namespace), set()).add(placeholder.key)
    return Manifests(
        names.objects,
        source,
        {k: frozenset(v) for k, v in unknown.items()},
        sorted({n.variable for n in missing}),
    )


# -- one diff --------------------------------------------------------------------------------------


def diff(request: DiffRequest, *, clock: Clock = SYSTEM_CLOCK) -> DiffReport:
    """Render, connect, foresee every object, look for objects left behind. See the module docstring.

    A 401, or a 403 on what every diff needs (discovery, listing), is the user's to fix; no
    answer at all, too (:func:`gitops.operations.connection.connected`): a diff that cannot
    compare is never "no change".
    """
    gate = deploy_gate(request.gate) if request.gate is not None else None  # a bad policy stops here
    manifests = render(request)
    needs = "get and list on the kinds the overlay deploys (README: the read-only kubeconfig)"
    with connected(request.source, request.request_timeout, needs=needs, did="nothing was compared") as kube:
        from gitops.operations import cluster_binding

        binding = cluster_binding.check(
            kube, request.environment, claim_command=request.claim_command, action="diff"
        )
        if not binding.allowed:  # before any request that carries the manifests (and their Secrets)
            raise cluster_binding.refusal(binding)
        settings = ApplySettings(
            field_manager=request.field_manager, namespace=request.namespace, dry_run=True
        )
        return _Differ(Session.start(kube, settings, clock), request, manifests, gate).run()


class _Differ:
    def __init__(
        self, session: Session, request: DiffRequest, manifests: Manifests, gate: DeployGate | None
    ) -> None:
        self.session = session
        self.gate = gate
        self.request = request
        self.manifests = manifests
        self.manager = request.field_manager
        self.mode = Mode.CLIENT if request.mode == Mode.CLIENT.value else Mode.SERVER
        self.notes: list[str] = []
        self.console = runner.current()

    def run(self) -> DiffReport:
        s, manifests = self.session, self.manifests
        namespace = s.settings.namespace or s.kube.default_namespace
        s.discovery.check(manifests.objects, manifests.source)
        plan = build_plan(
            manifests.objects,
            namespaced=s.discovery.namespaced,
            default_namespace=namespace,
            skip_services=self.gate.skipped if self.gate is not None else (),
            source=manifests.source,
        )
        compared, skipped = plan.objects, plan.skipped
        if self.gate is not None and self.gate.blocker is not None:  # a deploy applies nothing at all
            compared, skipped = (), (*plan.objects, *plan.skipped)
        if manifests.missing:
            self.notes.append(
                "Secret values are not available here (" + ", ".join(manifests.missing) + " not set): "
                "their keys are 'unknown'; the deploy job's diff compares them"
            )
        if self.mode is Mode.CLIENT:
            self.notes.append(_CLIENT_NOTE)
        created = {p.ref.name for p in compared if p.ref.kind == "Namespace"}
        report = DiffReport(
            self.request.environment,
            manifests.source,
            {"host": s.kube.host, "context": s.kube.connection.context, "namespace": namespace},
            self.manager,
            gate=self.gate,
        )
        with self.console.group(f"Comparing {len(compared)} object(s) with the cluster at {s.kube.host}"):
            for item in compared:
                entry = self._one(item, created)
                entry.service = item.service
                self.console.log(f"{entry.ref}: {entry.action}" + (f" ({entry.mode})" if entry.mode else ""))
                report.objects.append(entry)
        for item in skipped:  # nothing is sent for them, as a deploy sends nothing
            message = self.gate.left_out_because(item.service) if self.gate is not None else None
            report.objects.append(
                ObjectDiff(item.ref, DiffAction.SKIPPED, message=message, service=item.service)
            )
        found, notes = left_behind.find(self.session, plan, self.manager)
        report.objects += found
        self.notes += notes
        report.notes = self.notes
        return report

    # -- one object --------------------------------------------------------------------------------

    def _one(self, item: PlannedObject, created: set[str]) -> ObjectDiff:
        if self.mode is Mode.SERVER:
            try:
                found = preview(self.session, item, created)
            except KubeError as err:
                if err.status != 403:
                    return self._refused(item, err)
                if err.method == "GET":
                    return _unreadable(item.ref, err)
                if self.request.mode != "auto":
                    raise
                self.mode = Mode.CLIENT
                self.notes.append(
                    f"the credentials may not dry-run ({err.method} {err.path}: HTTP 403), so objects from "
                    f"{item.ref} on are compared client-side. {_CLIENT_NOTE}"
                )
            else:
                self._mask_live_secret(found.live)
                return self._from_preview(found, Mode.SERVER)
        try:
            return self._client(item)
        except KubeError as err:
            if err.status == 403 and err.method == "GET":
                return _unreadable(item.ref, err)
            raise

    def _refused(self, item: PlannedObject, err: KubeError) -> ObjectDiff:
        """A refusal apply would stop at (400, 409, a 500 for a wrongly typed field, ...)."""
        if err.status is None or err.status == 401:
            raise err  # the cluster, not this object: nothing can be compared
        from gitops.operations.apply_engine.failures import hint_for

        return ObjectDiff(
            item.ref,
            DiffAction.REFUSE,
            self.mode,
            message=err.describe(),
            hint=hint_for(item.ref, err, self.session.kube.host),
        )

    def _from_preview(self, found: Preview, mode: Mode) -> ObjectDiff:
        result, ref = found.result, found.result.ref
        action = _ACTIONS[result.action]
        entry = ObjectDiff(
            ref, action, mode, message=result.message, hint=result.hint, warnings=list(result.warnings)
        )
        answer = (
            found.answer if action in (DiffAction.UPDATE, DiffAction.UNCHANGED, DiffAction.CREATE) else None
        )
        self._fill_diff(entry, found.live, result.item.manifest, answer)
        placeholders = any(v == "unknown" for v in (entry.secret_keys or {}).values())
        if action in (DiffAction.UPDATE, DiffAction.UNCHANGED) and (mode is Mode.CLIENT or placeholders):
            # Decided from the comparison: there is no server answer, or the server compared a
            # placeholder with the live value (a change of a value this run does not know).
            entry.action = DiffAction.UPDATE if entry.fields else DiffAction.UNCHANGED
        elif action is DiffAction.UPDATE and not entry.fields:
            entry.fields = list(result.diff)  # a change outside the fields we manage (e.g. a webhook's)
        self._secret_unknown(entry)
        if found.rejected is not None and action is DiffAction.RECREATE:
            verdict = found.rejected.verdict
            entry.recreate = Recreate(
                immutable_fields_named(ref, verdict.causes, found.rejected.live, result.item.manifest),
                verdict.propagation,
                found.dependent_kind,
                tuple(found.dependents),
                found.growth,
                create_checked=mode is Mode.SERVER,
            )
        elif found.growth is not None:
            entry.growth = found.growth
        if action is DiffAction.REFUSE and result.diff and not entry.fields:
            entry.fields = list(result.diff)
        return entry

    def _fill_diff(
        self,
        entry: ObjectDiff,
        live: Mapping[str, Any] | None,
        desired: Mapping[str, Any],
        answer: Mapping[str, Any] | None,
    ) -> None:
        """``fields`` and ``diff`` from the managed projection; Secrets through their hidden views."""
        ref = entry.ref
        if ref.kind == "Secret" and ref.group == "":
            unknown = self.manifests.unknown_for(ref)
            if answer is not None:  # the server's answer: a key it dropped is removed
                states = secret_key_states(live or {}, answer, unknown)
            else:  # predicted: a key goes only if we applied it under data and nobody else owns it
                states = secret_key_states(live or {}, desired, unknown, dropped=self._dropped_keys(live))
            entry.secret_keys = states
            live = secret_view(live) if live is not None else None
            desired = secret_view(desired, states)
            answer = secret_view(answer, states) if answer is not None else None
        compared = managed_fields.compare(live, desired, self.manager, answer=answer)
        entry.fields = compared.fields
        label = f"{ref.kind}/{ref.namespace}/{ref.name}" if ref.namespace else f"{ref.kind}/{ref.name}"
        entry.diff = unified(compared.before if live is not None else None, compared.after, label)

    def _dropped_keys(self, live: Mapping[str, Any] | None) -> frozenset[str]:
        if live is None:
            return frozenset()
        owned = managed_fields.owned_by(live, self.manager) - managed_fields.owned_by_others(
            live, self.manager
        )
        return frozenset(p[1][2:] for p in owned if len(p) == 2 and p[0] == "f:data")

    def _secret_unknown(self, entry: ObjectDiff) -> None:
        """A Secret whose only possible changes are keys whose values are not here: unknown, not unchanged."""
        keys = [k for k, v in (entry.secret_keys or {}).items() if v == "unknown"]
        if not keys:
            return
        entry.warnings.append(
            f"{entry.ref}: the value of key(s) {', '.join(keys)} is not available here, so whether "
            "it changes is unknown"
        )
        if entry.action is DiffAction.UNCHANGED:
            entry.action = DiffAction.UNKNOWN
            entry.message = (
                "nothing else changes; whether the key(s) with unknown values change cannot be told here"
            )

    def _mask_live_secret(self, live: Mapping[str, Any] | None) -> None:
        """Values read from a live Secret are secrets too: masked before anything can print them."""
        if live:
            for value in secret_object_values([{"apiVersion": "v1", "kind": "Secret", **live}]):
                self.console.mask(value)

    # -- client-side -------------------------------------------------------------------------------

    def _client(self, item: PlannedObject) -> ObjectDiff:
        """Compare with the fields our field manager owns; immutable fields and the re-create
        through the engine's own 422 handling, fed the rejection the server would send."""
        s, ref = self.session, item.ref
        found = Preview(ObjectResult(item))
        if not s.discovery.served(ref) and ref.group_kind in s.discovery.crd_group_kinds:
            found.result.action, found.result.message = (
                Action.WOULD_CREATE,
                "its CRD is created by this apply first",
            )
            return self._from_preview(found, Mode.CLIENT)
        res = s.resource(ref)
        found.live = live = s.kube.get(res, ref.namespace, ref.name)
        found.looked = True
        self._mask_live_secret(live)
        if live is None:
            found.result.action = Action.WOULD_CREATE
            return self._from_preview(found, Mode.CLIENT)
        status = foreseen.rejection(ref, live, item.manifest)
        if status is not None:
            rejection = KubeError(
                "PATCH", res.path(ref.namespace, ref.name), 422, str(status["message"]), status
            )
            rejected = settle(s, found.result, res, live, rejection)
            if rejected is not None:
                foresee_recreate(s, found, res, rejected, dry_run_create=False)
                found.result.warnings.append(
                    f"{ref}: read-only credentials cannot dry-run the re-created object, so the API server's "
                    "validation of it is not checked here; the deploy job's diff does"
                )
            return self._from_preview(found, Mode.CLIENT)
        found.result.action = Action.WOULD_CONFIGURE  # or unchanged: decided from the comparison
        if ref.group_kind == ("apps", "StatefulSet"):
            found.growth = growth_plan(s, found.result)
        return self._from_preview(found, Mode.CLIENT)


def immutable_fields_named(
    ref: ObjectRef, causes: Sequence[Cause], live: Mapping[str, Any], desired: Mapping[str, Any]
) -> tuple[str, ...]:
    """The immutable fields a rejection names; a whole-``spec`` cause (a StatefulSet before 1.37)
    narrowed to the fields of the kind's table that really change."""
    named = sorted({c.field for c in causes if c.field})
    changed = changed_immutable_fields(ref.group, ref.kind, live, desired)
    inside = [f for f in changed if any(f == n or f.startswith(n + ".") for n in named)]
    return tuple(inside or named)


def _unreadable(ref: ObjectRef, err: KubeError) -> ObjectDiff:
    """An object these credentials may not read: said plainly, nothing guessed."""
    what = "Secrets" if ref.kind == "Secret" else f"{ref.kind} objects"
    return ObjectDiff(
        ref,
        DiffAction.UNKNOWN,
        None,
        message=(
            f"the credentials may not read {what} (HTTP 403): whether it changes is not known here; "
            "the deploy job's diff, with the deploy credentials, shows it"
        ),
    )


_ACTIONS = {
    Action.WOULD_CREATE: DiffAction.CREATE,
    Action.WOULD_CONFIGURE: DiffAction.UPDATE,
    Action.UNCHANGED: DiffAction.UNCHANGED,
    Action.WOULD_RECREATE: DiffAction.RECREATE,
    Action.WOULD_FAIL: DiffAction.REFUSE,
}

_CLIENT_NOTE = (
    "Client-side comparison: the live objects were compared here with the manifests, on the fields our "
    "field manager owns. It cannot see what only the API server decides (admission webhooks and "
    "policies, validation, server defaults of fields the manifest sets)"
)
