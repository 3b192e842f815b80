"""gitops.core.source_locator: the file and line behind a field of a rendered object.

Which file wins follows kustomize: a patch in the overlay overrides what the base declared, and
a strategic-merge patch matches list elements by their ``name``
(https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/patchesstrategicmerge/).
"""

from __future__ import annotations

from typing import Any

import pytest

from gitops.core.source_locator import documents, dotted, locate

BASE = """\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: postgres
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: postgres
          image: postgis/postgis:18-3.6
          ports:
            - containerPort: 5432
"""

PATCH = """\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: postgres
spec:
  template:
    spec:
      containers:
        - name: postgres
          imagePullPolicy: Always
"""

OTHER = """\
apiVersion: v1
kind: Service
metadata:
  name: postgres
spec:
  ports: []
"""

# The object kustomize rendered: a sidecar first (from another patch), then postgres.
RENDERED: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "StatefulSet",
    "metadata": {"name": "dev-postgres"},  # namePrefix: dev-
    "spec": {
        "replicas": 1,
        "template": {
            "spec": {
                "containers": [
                    {"name": "exporter", "image": "exporter:1"},
                    {"name": "postgres", "image": "postgis/postgis:18-3.6", "imagePullPolicy": "Always"},
                ]
            }
        },
    },
}

CONTAINER = ["spec", "template", "spec", "containers", 1]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param([*CONTAINER, "imagePullPolicy"], ("patch.yaml", 10), id="the-patch-sets-it"),
        pytest.param([*CONTAINER, "image"], ("base.yaml", 11), id="only-the-base-sets-it"),
        pytest.param(["spec", "replicas"], ("base.yaml", 6), id="a-scalar-of-the-base"),
        pytest.param(["spec", "serviceName"], ("base.yaml", 5), id="set-nowhere-the-deepest-in-the-base"),
    ],
)
def test_the_patch_wins_and_lists_match_by_name(path: list[str | int], expected: tuple[str, int]) -> None:
    files = [("patch.yaml", documents(PATCH)), ("service.yaml", documents(OTHER))]
    assert locate(RENDERED, path, "base.yaml", documents(BASE), files) == expected


def test_without_an_origin_or_a_match_nothing_is_made_up() -> None:
    assert locate(RENDERED, ["spec", "replicas"], None, [], [("service.yaml", documents(OTHER))]) == (
        None,
        None,
    )


def test_unreadable_yaml_is_no_documents() -> None:
    assert documents("a: [unclosed") == []
    assert documents("- a list\n") == []


def test_dotted_paths() -> None:
    assert (
        dotted(["spec", "template", "spec", "containers", 0, "image"])
        == "spec.template.spec.containers[0].image"
    )
