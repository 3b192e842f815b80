"""gitops.core.change_map: changed paths -> environments and clusters; deploy-control semantic diff."""

from __future__ import annotations

import pytest

from gitops.core.change_map import (
    ControlImpact,
    FileChange,
    Layout,
    Overlay,
    control_impact,
    everything,
    find_overlays,
    map_changes,
    merge_control_impacts,
    merge_overlays,
    removed_overlays,
    sort_environments,
    touches_control_file,
    union_changes,
)

OVERLAYS = [
    Overlay("hetzner", "dev", "infra/k8s/hetzner/dev", has_cluster=True),
    Overlay("hetzner", "test", "infra/k8s/hetzner/test", has_cluster=True),
    Overlay("hetzner", "prod", "infra/k8s/hetzner/prod", has_cluster=True),
    Overlay("podman", "local", "infra/k8s/podman/local"),
]
ALL = ["dev", "test", "prod", "local"]


def m(path: str) -> FileChange:
    return FileChange("modified", path)


@pytest.mark.parametrize(
    ("changes", "environments", "clusters"),
    [
        pytest.param([m("infra/k8s/base/statefulsets/redis.yaml")], ALL, [], id="base-affects-every-overlay"),
        pytest.param([m("infra/k8s/base/kustomization.yaml")], ALL, [], id="base-kustomization"),
        pytest.param([m("infra/k8s/hetzner/dev/patches/p.yaml")], ["dev"], [], id="overlay-affects-its-env"),
        pytest.param(
            [m("infra/k8s/hetzner/dev/kustomization.yaml")], ["dev"], [], id="overlay-kustomization"
        ),
        pytest.param([m("infra/k8s/podman/local/x.yaml")], ["local"], [], id="podman-local"),
        pytest.param(
            [m("infra/k8s/hetzner/prod/cluster/cluster-config.yaml")], [], ["prod"], id="cluster-only"
        ),
        pytest.param(
            [m("infra/k8s/hetzner/prod/cluster/cluster-config.yaml"), m("infra/k8s/hetzner/prod/p.yaml")],
            ["prod"],
            ["prod"],
            id="cluster-and-env",
        ),
        pytest.param(
            [m("infra/k8s/hetzner/dev/cluster")], ["dev"], [], id="file-named-cluster-is-not-the-dir"
        ),
        pytest.param([m("infra/k8s/hetzner/README.md")], [], [], id="provider-level-file-unmapped"),
        pytest.param([m("infra/k8s/hetzner/staging/x.yaml")], [], [], id="unknown-env-dir-unmapped"),
        pytest.param([m("README.md"), m(".github/workflows/x.yml")], [], [], id="outside-infra"),
        pytest.param([m("infra/k8s/baseline/x.yaml")], [], [], id="base-prefix-is-not-base"),
        pytest.param(
            [FileChange("deleted", "infra/k8s/hetzner/test/p.yaml")], ["test"], [], id="deletion-counts"
        ),
        pytest.param([FileChange("added", "infra/k8s/hetzner/test/new.yaml")], ["test"], [], id="addition"),
        pytest.param(
            [FileChange("renamed", "infra/k8s/hetzner/prod/p.yaml", "infra/k8s/hetzner/dev/p.yaml")],
            ["dev", "prod"],
            [],
            id="rename-counts-both-paths",
        ),
        pytest.param(
            [FileChange("renamed", "docs/old-base.yaml", "infra/k8s/base/x.yaml")],
            ALL,
            [],
            id="rename-out-of-base-affects-all",
        ),
        pytest.param(
            [FileChange("copied", "infra/k8s/hetzner/test/p.yaml", "infra/k8s/hetzner/dev/p.yaml")],
            ["test"],
            [],
            id="copy-counts-only-new-path",
        ),
        pytest.param([], [], [], id="nothing"),
    ],
)
def test_map_changes(changes: list[FileChange], environments: list[str], clusters: list[str]) -> None:
    impact = map_changes(changes, OVERLAYS)
    assert impact.environments == environments
    assert impact.clusters == clusters
    assert list(impact.reasons) == environments
    assert list(impact.cluster_reasons) == clusters


def test_reasons_name_the_triggering_files_base_first() -> None:
    impact = map_changes(
        [m("infra/k8s/hetzner/dev/a.yaml"), m("infra/k8s/base/b.yaml"), m("docs/x.md")],
        OVERLAYS,
    )
    assert impact.reasons["dev"] == ["infra/k8s/base/b.yaml", "infra/k8s/hetzner/dev/a.yaml"]
    assert impact.reasons["prod"] == ["infra/k8s/base/b.yaml"]
    assert impact.unmapped == ["docs/x.md"]


def test_custom_infra_root() -> None:
    layout = Layout("./deploy/infra/")
    overlays = [Overlay("hetzner", "dev", "deploy/infra/k8s/hetzner/dev")]
    impact = map_changes(
        [m("deploy/infra/k8s/hetzner/dev/a.yaml"), m("infra/k8s/base/x")], overlays, layout=layout
    )
    assert impact.environments == ["dev"]
    assert impact.unmapped == ["infra/k8s/base/x"]
    assert layout.control_file == "deploy/infra/deploy-control.yaml"


def test_mapping_is_linear_in_files() -> None:
    """10,000 files through the mapping: one reason list per env, each file classified once."""
    changes = [m(f"infra/k8s/hetzner/dev/f{i}.yaml") for i in range(5000)]
    changes += [m(f"infra/k8s/base/f{i}.yaml") for i in range(5000)]
    impact = map_changes(changes, OVERLAYS)
    assert len(impact.reasons["dev"]) == 10000
    assert len(impact.reasons["local"]) == 5000


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        pytest.param(
            [
                "infra/k8s/hetzner/dev/kustomization.yaml",
                "infra/k8s/hetzner/dev/cluster",
                "infra/k8s/podman/local/kustomization.yml",
                "infra/k8s/aws/staging/Kustomization",
            ],
            [("dev", True), ("local", False), ("staging", False)],
            id="kustomization-spellings-and-cluster",
        ),
        pytest.param(["infra/k8s/hetzner/edge/cluster"], [("edge", True)], id="cluster-dir-only"),
        pytest.param(["infra/k8s/base/kustomization.yaml"], [], id="base-is-not-an-overlay"),
        pytest.param(["infra/k8s/hetzner/shared/patch.yaml"], [], id="dir-without-kustomization"),
        pytest.param(
            ["infra/k8s/kustomization.yaml", "other/k8s/a/b/kustomization.yaml"], [], id="wrong-depth"
        ),
    ],
)
def test_find_overlays(paths: list[str], expected: list[tuple[str, bool]]) -> None:
    assert [(o.environment, o.has_cluster) for o in find_overlays(paths)] == expected


def test_merge_overlays_keeps_deleted_ones() -> None:
    head = [Overlay("hetzner", "dev", "infra/k8s/hetzner/dev")]
    base = [
        Overlay("hetzner", "dev", "infra/k8s/hetzner/dev", True),
        Overlay("hetzner", "old", "infra/k8s/hetzner/old"),
    ]
    merged = merge_overlays(head, base)
    assert [(o.environment, o.has_cluster) for o in merged] == [("dev", True), ("old", False)]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            [FileChange("deleted", "infra/k8s/hetzner/test/kustomization.yaml")],
            [("test", False)],
            id="deleted",
        ),
        pytest.param(
            [
                FileChange(
                    "renamed", "infra/k8s/hetzner/qa/cluster/c.yaml", "infra/k8s/hetzner/test/cluster/c.yaml"
                )
            ],
            [("test", True)],
            id="renamed-away",
        ),
        pytest.param(
            [FileChange("modified", "infra/k8s/hetzner/test/kustomization.yaml")], [], id="modified"
        ),
        pytest.param([FileChange("added", "infra/k8s/hetzner/new/kustomization.yaml")], [], id="added"),
    ],
)
def test_removed_overlays_come_from_the_diff(
    changes: list[FileChange], expected: list[tuple[str, bool]]
) -> None:
    assert [(o.environment, o.has_cluster) for o in removed_overlays(changes)] == expected


def test_sort_environments_promotion_order_then_alphabetical() -> None:
    assert sort_environments(["zeta", "prod", "local", "alpha", "dev", "test", "dev"]) == [
        "dev",
        "test",
        "prod",
        "local",
        "alpha",
        "zeta",
    ]


def test_everything_names_the_reason_for_each_env_and_cluster() -> None:
    impact = everything(OVERLAYS, "workflow_dispatch: no diff, every environment")
    assert impact.environments == ALL
    assert impact.clusters == ["dev", "test", "prod"]
    assert impact.reasons["local"] == ["workflow_dispatch: no diff, every environment"]


# -- deploy-control.yaml -----------------------------------------------------------------------

CONTROL = """\
version: 3
global:
  auto_deploy: true   # kill switch
environments:
  dev:
    enabled: true
    services: {postgres: {enabled: true}}
  test:
    enabled: true
  prod:
    enabled: false
"""
PATH = "infra/deploy-control.yaml"


def edit(old: str, new: str) -> str:
    assert old in CONTROL
    return CONTROL.replace(old, new)


REORDERED = """\
environments:
  prod: {enabled: false}
  test:
    enabled: true
  dev:
    services:
      postgres:
        enabled: true
    enabled: true
global: {auto_deploy: true}
version: 3
"""


@pytest.mark.parametrize(
    ("base", "head", "envs", "every"),
    [
        pytest.param(
            CONTROL, edit("# kill switch", "# the kill switch"), [], False, id="comment-only-nothing"
        ),
        pytest.param(CONTROL, REORDERED, [], False, id="reorder-and-flow-style-nothing"),
        pytest.param(
            CONTROL,
            edit("  test:\n    enabled: true", "  test:\n    enabled: false"),
            ["test"],
            False,
            id="one-env",
        ),
        pytest.param(
            CONTROL,
            edit("{postgres: {enabled: true}}", "{postgres: {enabled: false}}"),
            ["dev"],
            False,
            id="nested",
        ),
        pytest.param(
            CONTROL, edit("auto_deploy: true", "auto_deploy: false"), [], True, id="global-affects-all"
        ),
        pytest.param(CONTROL, edit("version: 3", "version: 4"), [], True, id="version-affects-all"),
        pytest.param(CONTROL, CONTROL + "defaults: {}\n", [], True, id="new-top-level-key-affects-all"),
        pytest.param(CONTROL, CONTROL + "  local:\n    enabled: true\n", ["local"], False, id="env-added"),
        pytest.param(CONTROL, edit("  prod:\n    enabled: false\n", ""), ["prod"], False, id="env-removed"),
        pytest.param(
            CONTROL, edit("enabled: false", "enabled: 0"), ["prod"], False, id="bool-vs-int-differs"
        ),
        pytest.param(CONTROL, "version: [unclosed\n", [], True, id="unparseable-head"),
        pytest.param(": : :\n  - x\n y", CONTROL, [], True, id="unparseable-base"),
        pytest.param(CONTROL, "- a list\n", [], True, id="not-a-mapping"),
        pytest.param(None, CONTROL, [], True, id="file-added"),
        pytest.param(CONTROL, None, [], True, id="file-deleted"),
        pytest.param(None, None, [], False, id="absent-both"),
        pytest.param(
            CONTROL, edit("environments:\n", "environments: 7\nx:\n"), [], True, id="environments-not-mapping"
        ),
    ],
)
def test_control_impact(base: str | None, head: str | None, envs: list[str], every: bool) -> None:
    impact = control_impact(base, head, path=PATH)
    assert list(impact.environments) == envs
    assert (impact.every_environment is not None) is every


@pytest.mark.parametrize(
    ("base", "head", "needle"),
    [
        pytest.param(
            CONTROL, "version: [unclosed\n", "not valid YAML (line 2) at head", id="parse-error-says-so"
        ),
        pytest.param(
            CONTROL,
            edit("auto_deploy: true", "auto_deploy: false"),
            "global.auto_deploy changed",
            id="global",
        ),
        pytest.param(
            CONTROL,
            edit("{postgres: {enabled: true}}", "{postgres: {enabled: false}}"),
            "environments.dev.services.postgres.enabled changed",
            id="key-path",
        ),
    ],
)
def test_control_impact_reason_names_the_key(base: str, head: str, needle: str) -> None:
    impact = control_impact(base, head, path=PATH)
    text = impact.every_environment or " ".join(impact.environments.values())
    assert needle in text
    assert text.startswith(PATH)


def test_control_change_maps_only_to_known_overlays() -> None:
    control = control_impact(CONTROL, CONTROL + "  staging:\n    enabled: true\n  local: {}\n", path=PATH)
    impact = map_changes([m(PATH)], OVERLAYS, control=control)
    assert impact.environments == ["local"]
    assert impact.reasons["local"] == [f"{PATH}: environments.local added"]


def test_control_every_environment_reason() -> None:
    control = control_impact(CONTROL, edit("version: 3", "version: 4"), path=PATH)
    impact = map_changes([m(PATH)], OVERLAYS, control=control)
    assert impact.environments == ALL
    assert impact.reasons["dev"] == [f"{PATH}: version changed; every environment counts"]


def test_touches_control_file_also_through_a_rename() -> None:
    assert touches_control_file([m(PATH)])
    assert touches_control_file([FileChange("renamed", "infra/old.yaml", PATH)])
    assert not touches_control_file([m("infra/deploy-control.yaml.bak")])


def test_union_keeps_the_tree_comparison_and_adds_what_the_merge_base_view_adds() -> None:
    """A force push (issue 12, defect 1): before..after is the truth about each file's status;
    merge-base..after adds a rebased change that both trees hold."""
    trees = [FileChange("modified", "b.yaml"), FileChange("deleted", "d.yaml")]
    since_merge_base = [
        FileChange("added", "d.yaml"),  # already reported (as what it is between the trees)
        FileChange("modified", "a.yaml"),  # the rebased change
        FileChange("renamed", "c2.yaml", "b.yaml"),  # partly new: the new path counts
    ]
    assert union_changes(trees, since_merge_base) == [
        FileChange("modified", "a.yaml"),
        FileChange("modified", "b.yaml"),
        FileChange("renamed", "c2.yaml", "b.yaml"),
        FileChange("deleted", "d.yaml"),
    ]


def test_merge_control_impacts() -> None:
    one = ControlImpact(environments={"prod": "p changed"})
    two = ControlImpact(environments={"dev": "d changed", "prod": "other words"})
    assert merge_control_impacts(one, two) == ControlImpact(
        environments={"dev": "d changed", "prod": "p changed"}
    )
    every = ControlImpact(every_environment="global changed")
    assert merge_control_impacts(one, every) == every
