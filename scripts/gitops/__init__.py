"""GitOps deploy suite: from Git to running Kubernetes clusters, safely.

The package keeps decisions pure (``gitops.core``) and the outside world behind thin
adapters (``gitops.adapters``); ``gitops.cli`` wires the verbs in ``gitops.commands``.
"""

from __future__ import annotations

__version__ = "0.1.0"
