"""The deploy gate as a use case: read the policy file and decide for one request.

:func:`load_policy` is the one place the policy FILE is read (every verb that needs the policy
calls it); parsing and validation are pure (:func:`gitops.core.policy_schema.parse_policy`).

The decision itself is pure (:func:`gitops.core.gate.evaluate`); this module only pairs it with
the policy file. :class:`GateRequest` is the one typed form of the gate flags, built once by
``commands.options.gate_request`` for ``gitops gate``, ``gitops deploy`` and ``gitops diff``.
:func:`deploy_gate` is the one way a deploy's gate is asked (the environment, then each
service): ``gitops deploy`` leaves out what it blocks, and ``gitops diff`` shows the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from gitops.adapters import textfile
from gitops.core import gate
from gitops.core.deploy_gate import DeployGate
from gitops.core.policy import Override, Policy
from gitops.core.policy_schema import parse_policy
from gitops.errors import ConfigurationError


def load_policy(path: Path) -> Policy:
    """Read and validate a deploy-control file; ConfigurationError lists every problem in it."""
    source = str(path)
    try:
        text = textfile.read(path)
    except FileNotFoundError:
        raise ConfigurationError(
            "deploy-control policy file not found",
            file=source,
            hint="run from the repository root or pass --control PATH (default infra/deploy-control.yaml)",
            title="Policy file missing",
        ) from None
    except IsADirectoryError:
        raise ConfigurationError(
            f"{source} is a directory, not the policy file",
            file=source,
            key="--control",
            hint=f"pass the file itself, e.g. --control {path / 'deploy-control.yaml'}",
            title="Policy file unreadable",
        ) from None
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the policy file: {exc}",
            file=source,
            key="--control",
            hint="check the file's permissions and that it is UTF-8 text",
            title="Policy file unreadable",
        ) from None
    return parse_policy(text, source)


@dataclass(frozen=True)
class GateRequest:
    """What to decide for: one environment, an event on a ref, at an instant (all resolved)."""

    environment: str
    control: Path
    event: str
    ref: str | None
    at: datetime
    override: Override | None = None
    automatic: bool | None = None  # True: a dispatch sent by automation (--triggered-by)

    def evaluate(self, policy: Policy, *, service: str | None = None, cluster: bool = False) -> gate.Decision:
        return gate.evaluate(
            policy,
            environment=self.environment,
            service=service,
            event=self.event,
            ref=self.ref,
            at=self.at,
            override=self.override,
            automatic=self.automatic,
            cluster=cluster,
        )


def decide(request: GateRequest, *, service: str | None = None, cluster: bool = False) -> gate.Decision:
    """``gitops gate``: the decision for the environment (and ``service``, or its cluster)."""
    return request.evaluate(load_policy(request.control), service=service, cluster=cluster)


def deploy_gate(request: GateRequest, policy: Policy | None = None) -> DeployGate:
    """The gate as a deploy asks it: the environment; when that allows, each service the policy
    lists. ``gitops deploy`` and ``gitops diff`` both call this, so they cannot disagree about
    what a deploy leaves out."""
    policy = policy if policy is not None else load_policy(request.control)
    decision = request.evaluate(policy)
    if not decision.allowed:
        return DeployGate(decision)
    names = gate.environment_of(policy, request.environment).services
    return DeployGate(decision, {name: request.evaluate(policy, service=name) for name in names})
