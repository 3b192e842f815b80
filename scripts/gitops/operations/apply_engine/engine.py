"""One apply run, start to end: the order of the concerns, each in its own module.

1. discovery (:mod:`.discovery`): every kind must be served, or come with its CRD;
2. plan (:mod:`gitops.core.apply_plan`): stages, namespaces, gate-blocked services left out;
3. staged server-side apply (:mod:`.stages`), with immutable-field re-creates (:mod:`.invalid`,
   :mod:`.recreate`) and PVC growth (:mod:`.volumes`); or, with ``dry_run``, :mod:`.dry_run`;
4. rollout wait (:mod:`.wait`); rollback of failed rollouts when enabled (:mod:`.rollback`,
   the run still fails); else verification of what was applied (:mod:`.verify`);
5. after the rollouts (:mod:`.after_rollout`): volumes set to Retain, the PostgreSQL check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gitops.adapters.clock import SYSTEM_CLOCK, Clock
from gitops.adapters.kube import Kube
from gitops.core.apply_plan import build_plan, unknown_skip_error
from gitops.operations.apply_engine import rollback, stages, verify, wait
from gitops.operations.apply_engine.after_rollout import after_rollout
from gitops.operations.apply_engine.changeset import Action, ApplyReport, ObjectResult
from gitops.operations.apply_engine.dry_run import dry_run
from gitops.operations.apply_engine.session import Session
from gitops.operations.apply_engine.settings import ApplySettings


class Engine:
    """Applies manifests to the cluster behind ``kube``; ``clock`` is the only way to change its time."""

    def __init__(self, kube: Kube, settings: ApplySettings, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.session = Session.start(kube, settings, clock)

    def run(self, manifests: Sequence[Mapping[str, Any]], source: str) -> ApplyReport:
        s = self.session
        start = s.clock.monotonic()
        namespace = s.settings.namespace or s.kube.default_namespace
        cluster = {"host": s.kube.host, "context": s.kube.connection.context, "namespace": namespace}
        report = ApplyReport(source, cluster, s.settings.field_manager, s.settings.dry_run)
        s.discovery.check(manifests, source)
        plan = build_plan(
            manifests,
            namespaced=s.discovery.namespaced,
            default_namespace=namespace,
            skip_services=s.settings.skip_services,
            source=source,
        )
        if plan.unknown_skip_names:
            if s.settings.strict_skip:
                raise unknown_skip_error(plan, source)
            s.console.debug(f"services not in {source}: {', '.join(plan.unknown_skip_names)}")
        report.skipped_services = list(plan.skipped_services)
        report.skipped = [
            ObjectResult(p, Action.SKIPPED, message=f"service {p.service} is blocked by the deploy gate")
            for p in plan.skipped
        ]
        for name in plan.skipped_services:
            message = f"service {name} is blocked by the gate: its objects are not applied"
            s.console.warning(message, title="Skipped")
        try:
            if s.settings.dry_run:
                report.objects = dry_run(s, plan)
                return report
            report.objects = stages.apply_stages(s, plan)
            if not all(o.ok for o in report.objects):
                return report
            wait.wait_rollouts(s, report.objects)
            failed = [o for o in report.objects if o.rollout is not None and o.rollout.needs_rollback]
            if failed:
                report.rollbacks = rollback.roll_back(s, failed)
            else:
                report.verify = verify.verify(s, report.objects)
            after_rollout(s, report)
        finally:
            report.seconds = s.clock.monotonic() - start
            report.requests = s.kube.requests_sent
            report.retries = s.kube.retries_done
        return report
