"""After the cluster workflow creates or updates a cluster: will the automatic deploy it dispatches
deploy anything? If not, say so plainly, with the exact manual dispatch to run.

The cluster workflow dispatches the deploy workflow with ``triggered_by: hetzner-k8s``, which the
gate treats as an AUTOMATIC deploy: ``auto_deploy``, the branch rule and the windows apply. test
and prod have ``auto_deploy: false``, so that deploy is refused: a green cluster run and an empty
cluster, unless the cluster run's summary says what to do. A manual dispatch is gated without
``auto_deploy`` and the branch rule (deploy-control.yaml, "How the gate decides").
"""

from __future__ import annotations

from dataclasses import dataclass

from gitops.core.gate import Decision
from gitops.core.windows import fmt_local

# The gate check that refused the automatic deploy -> the policy key that would let it through.
POLICY_KEYS = {
    "global.auto_deploy": "global.auto_deploy: true (the kill switch is off for every environment)",
    "environment.auto_deploy": "environments.{env}.auto_deploy: true",
    "branch": "environments.{env}.branch: {ref} (automatic deploys of {env} come only from its branch)",
}


@dataclass(frozen=True)
class Handover:
    """``dispatch``: send the automatic deploy. Otherwise ``lines`` say why not and what to run."""

    dispatch: bool
    headline: str
    lines: tuple[str, ...] = ()


def handover(
    environment: str,
    automatic: Decision,
    manual: Decision,
    *,
    workflow: str,
    ref: str,
    actions_url: str,
    deployed: str | None,
) -> Handover:
    """``automatic``/``manual``: the gate's decisions for the dispatch as the workflow would send it
    and as a person would; ``deployed``: what the cluster runs ("commit, when"), None when empty."""
    if automatic.allowed:
        return Handover(True, f"{environment}: the automatic deploy is allowed; dispatching {workflow}")
    check = automatic.blocked_by
    reason = f"{check.name}: {check.detail}" if check else "blocked"
    state = (
        f"The cluster still runs {deployed}; this cluster change deployed nothing new."
        if deployed
        else "The cluster is EMPTY: nothing has ever been deployed onto it."
    )
    lines = [
        f"The automatic deploy this workflow would dispatch is refused by deploy-control.yaml ({reason}), "
        f"so it was not dispatched. {state}",
        "",
    ]
    command = f"gh workflow run {workflow} --ref {ref} -f environment={environment}"
    if manual.allowed:
        lines += [
            "**To deploy now**, run the deploy workflow by hand (a manual dispatch is not subject to "
            "auto_deploy or the branch rule):",
            "",
            f"    {command}",
            "",
            f"or {actions_url}/workflows/{workflow} -> Run workflow (branch `{ref}`, environment "
            f"`{environment}`).",
        ]
    else:
        manual_check = manual.blocked_by
        lines.append(
            f"A manual deploy is refused too right now ({manual_check.name}: {manual_check.detail})"
            if manual_check
            else "A manual deploy is refused too right now."
        )
        if manual.next_allowed_at is not None:
            lines.append(f"From {fmt_local(manual.next_allowed_at, manual.timezone)}: `{command}`")
    key = POLICY_KEYS.get(check.name if check else "")
    if key:
        lines += [
            "",
            "**To deploy automatically** after every cluster change instead, set "
            f"`{key.format(env=environment, ref=ref)}` in infra/deploy-control.yaml.",
        ]
    headline = f"{environment}: the cluster is ready, but nothing was deployed onto it"
    return Handover(False, headline, tuple(lines))
