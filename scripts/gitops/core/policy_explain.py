"""The effective deploy-control policy: every key with the value the gate uses, defaults marked. Pure.

``gitops validate --explain`` shows a policy file the way :mod:`gitops.core.policy_schema` read
it: every key of every environment, including those the file leaves out, each of which is
marked ``# default: <rule>`` (the rule of :data:`gitops.core.policy.DEFAULTS`). The text is
itself a valid deploy-control file that reads back to the same policy (with nothing left to a
default), so it can also be the start of a new one (``gitops init`` writes it).

:func:`effective` is the same as plain data, for ``--format json``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import yaml

from gitops.core.policy import WEEKDAYS, DeploymentWindows, EnvironmentPolicy, Policy

_TIME_OR_DATE = re.compile(r"[0-9][0-9:T.+\-Z]*")


def _bound(value: date | datetime) -> str:
    return value.isoformat()


def _windows(windows: DeploymentWindows) -> dict[str, Any]:
    override = windows.emergency_override
    return {
        "enabled": windows.enabled,
        "timezone": windows.timezone.key,
        "allow": [
            {
                "days": [WEEKDAYS[d] for d in sorted(w.days)],
                "start": f"{w.start:%H:%M}",
                "end": f"{w.end:%H:%M}",
            }
            for w in windows.allow
        ],
        "deny": [{"start": _bound(d.start), "end": _bound(d.end), "reason": d.reason} for d in windows.deny],
        "emergency_override": {
            "enabled": override.enabled,
            "require_reason": override.require_reason,
            "actors": list(override.actors),
        },
    }


def _environment(env: EnvironmentPolicy) -> dict[str, Any]:
    return {
        "branch": env.branch,
        "enabled": env.enabled,
        "auto_deploy": env.auto_deploy,
        "require_manual_approval": env.require_manual_approval,
        "rollout_timeout_seconds": env.rollout_timeout_seconds,
        "cluster": {"enabled": env.cluster.enabled, "auto_deploy": env.cluster.auto_deploy},
        "deployment_windows": _windows(env.deployment_windows),
        "services": {
            name: {
                "enabled": svc.enabled,
                "auto_deploy": svc.auto_deploy,
                "rollback_on_failure": svc.rollback_on_failure,
            }
            for name, svc in env.services.items()
        },
    }


def effective(policy: Policy) -> dict[str, Any]:
    """Every key of the policy with the value the gate uses, in the file's order (JSON-able)."""
    return {
        "version": policy.version,
        "global": {"auto_deploy": policy.auto_deploy},
        "environments": {name: _environment(env) for name, env in policy.environments.items()},
    }


def _scalar(value: Any) -> str:
    """One YAML scalar (or an empty/flow collection) as the schema reads it back."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{}" if not value else "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in value.items()) + "}"
    if _TIME_OR_DATE.fullmatch(str(value)):  # quoted, as the file's header asks for times
        return f'"{value}"'
    text: str = yaml.safe_dump(str(value), default_flow_style=True, width=10_000, allow_unicode=True)
    return text.removesuffix("\n").removesuffix("\n...")


def _lines(data: Mapping[str, Any], path: str, indent: str, defaults: Mapping[str, str]) -> list[str]:
    out: list[str] = []
    for key, value in data.items():
        where = f"{path}.{key}" if path else key
        mark = f"  # default: {defaults[where]}" if where in defaults else ""
        if isinstance(value, dict) and value:
            out.append(f"{indent}{key}:{mark}")
            out += _lines(value, where, indent + "  ", defaults)
        elif isinstance(value, list) and value and isinstance(value[0], dict):  # allow, deny
            out.append(f"{indent}{key}:{mark}")
            for i, item in enumerate(value):
                item_lines = _lines(item, f"{where}[{i}]", indent + "    ", defaults)
                item_lines[0] = f"{indent}  - {item_lines[0].lstrip()}"
                out += item_lines
        else:
            out.append(f"{indent}{key}: {_scalar(value)}{mark}")
    return out


def explain(policy: Policy) -> str:
    """The effective policy as a deploy-control file, each value that came from a default marked."""
    defaults = dict(policy.defaults)
    return "\n".join(_lines(effective(policy), "", "", defaults)) + "\n"
