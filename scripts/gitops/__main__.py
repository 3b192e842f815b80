"""``python -m gitops``: the same entry point as the ``gitops`` console script."""

from __future__ import annotations

import sys

from gitops.cli import main

sys.exit(main())
