"""The hostile cases, one table assembled from one module per theme. Each row is a
:class:`~tests.hostile.harness.Case`.

``issue`` names the item a row proves ("13.1" = issue 13, item 1). Expectations come from what
a user must get (DESIGN.md: exit 1 naming the place for a mistake they can fix, exit 2 for a
deployment that ran and failed, never a traceback, never a secret), and from the upstream tools
each module cites (go-yaml's limits as kubectl applies them, client-go's token file reading,
kustomize's fields, the apiserver's webhook wording).
"""

from __future__ import annotations

from tests.hostile.cases import (
    credentials,
    documents,
    durations,
    files,
    leaks,
    network,
    remote,
    results,
    tracebacks,
    verbs,
)
from tests.hostile.harness import Case

CASES: list[Case] = [
    *leaks.CASES,
    *documents.CASES,
    *durations.CASES,
    *credentials.CASES,
    *network.CASES,
    *files.CASES,
    *tracebacks.CASES,
    *remote.CASES,
    *results.CASES,
    *verbs.CASES,
]
