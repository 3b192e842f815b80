"""What one apply run is asked to do: the validated settings the command line builds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RollbackSetting:
    """Roll back failed rollouts? ``services`` overrides ``default`` per service label value."""

    default: bool = False
    services: Mapping[str, bool] = field(default_factory=dict)

    def enabled_for(self, service: str | None) -> bool:
        if service is not None and service in self.services:
            return self.services[service]
        return self.default


@dataclass(frozen=True)
class ApplySettings:
    field_manager: str = "gitops"
    namespace: str | None = None  # default namespace; None = the kubeconfig context's
    rollout_timeout: float = 300.0
    rollback: RollbackSetting = field(default_factory=RollbackSetting)
    dry_run: bool = False
    skip_services: tuple[str, ...] = ()
    strict_skip: bool = True  # an unknown --skip-service name is an error (a typo would deploy it)
    progress_interval: float = 10.0
    delete_timeout: float = 120.0
    adoption_timeout: float = 60.0
    poll_interval: float = 0.5
    verify_timeout: float = 15.0  # how long verification waits for lagging status (PVC phase)
    parallelism: int = 4  # objects of one stage applied at once (they do not depend on each other)
    wide_parallelism: int = 16  # the same in the stages of plain data (Secrets, ConfigMaps, Services)
