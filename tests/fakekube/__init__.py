"""A wire-level fake Kubernetes API server for the tests (see ``tests/fakekube/README.md``)."""

from __future__ import annotations

from tests.fakekube.fake import FakeKube, Knobs

__all__ = ["FakeKube", "Knobs"]
