"""gitops.core.kustomize_refs: which references of a kustomization kustomize would fetch.

The remote forms are kustomize's repospec (api/internal/git/repospec.go parseHostSpec: git::,
gh:, ssh://, https://, http://, file://, git@, github.com:, github.com/, and _git/), the URL
fields of its api/types; the examples are from its repospec_test.go and "The Kustomization File"
(kubectl.docs.kubernetes.io). Local paths, however odd, stay local.
"""

from __future__ import annotations

import pytest
import yaml

from gitops.core.kustomize_refs import is_remote, plugin_references, references


@pytest.mark.parametrize(
    "value",
    [
        "https://github.com/kubernetes-sigs/kustomize//examples/multibases?ref=v1.0.6",
        "github.com/kubernetes-sigs/kustomize/examples/multibases?ref=v1.0.6",
        "git::https://gitlab.com/org/repo.git//base",
        "git@github.com:org/repo.git/path?ref=v1",
        "ssh://git@github.com/org/repo.git",
        "gh:org/repo",
        "https://dev.azure.com/org/project/_git/repo//path",
        "file:///srv/repos/infra.git//base",
        "http://example.com/deployment.yaml",
        "oci://registry.example/charts",
        "deploy@git.example:org/repo",
        "GitHub.com/Org/Repo",
    ],
)
def test_remote(value: str) -> None:
    assert is_remote(value)


@pytest.mark.parametrize(
    "value",
    ["../base", "base", "./cm.yaml", "/abs/path/base", "gitlab.com", "my-github.com-notes.yaml", "a:b.yaml"],
)
def test_local(value: str) -> None:
    assert not is_remote(value)


def test_every_field_that_names_a_file_or_url_is_listed_with_its_key_path() -> None:
    kustomization = yaml.safe_load(
        """
resources: [cm.yaml, ../base]
bases: [../old-base]
components: [../component]
crds: [crd.yaml]
configurations: [config.yaml]
generators: [gen.yaml, "apiVersion: builtin\\nkind: ConfigMapGenerator\\n"]
transformers: [tr.yaml]
validators: [val.yaml]
patches: [{path: p.yaml}, {patch: "inline"}]
patchesJson6902: [{path: j.yaml}]
patchesStrategicMerge: [psm.yaml, "apiVersion: v1\\nkind: ConfigMap\\n"]
replacements: [{path: r.yaml}]
configMapGenerator: [{name: c, files: [key=f.txt, g.txt], envs: [e.env], env: old.env}]
secretGenerator: [{name: s, files: [s.txt]}]
helmCharts: [{name: r, repo: "https://charts.example", valuesFile: v.yaml, additionalValuesFiles: [w.yaml]}]
helmGlobals: {chartHome: charts}
openapi: {path: schema.json}
"""
    )
    listed = {(r.field, r.value, r.directory) for r in references(kustomization)}
    assert listed == {
        ("resources[0]", "cm.yaml", True),
        ("resources[1]", "../base", True),
        ("bases[0]", "../old-base", True),
        ("components[0]", "../component", True),
        ("crds[0]", "crd.yaml", False),
        ("configurations[0]", "config.yaml", False),
        ("generators[0]", "gen.yaml", True),
        ("transformers[0]", "tr.yaml", True),
        ("validators[0]", "val.yaml", True),
        ("patches[0].path", "p.yaml", False),
        ("patchesJson6902[0].path", "j.yaml", False),
        ("patchesStrategicMerge[0]", "psm.yaml", False),
        ("replacements[0].path", "r.yaml", False),
        ("configMapGenerator[0].files[0]", "f.txt", False),
        ("configMapGenerator[0].files[1]", "g.txt", False),
        ("configMapGenerator[0].envs[0]", "e.env", False),
        ("configMapGenerator[0].env", "old.env", False),
        ("secretGenerator[0].files[0]", "s.txt", False),
        ("helmCharts[0].repo", "https://charts.example", False),
        ("helmCharts[0].valuesFile", "v.yaml", False),
        ("helmCharts[0].additionalValuesFiles[0]", "w.yaml", False),
        ("helmGlobals.chartHome", "charts", False),
        ("openapi.path", "schema.json", False),
    }
    assert [r.field for r in references(kustomization) if r.remote] == ["helmCharts[0].repo"]


@pytest.mark.parametrize(
    "kustomization",
    [None, "text", [1, 2], {"resources": "cm.yaml"}, {"resources": [5, None]}, {"patches": ["x"]}],
)
def test_a_malformed_kustomization_is_left_to_kustomize(kustomization: object) -> None:
    assert references(kustomization) == []


def test_a_chart_generator_configuration_names_its_repository() -> None:
    config = {"kind": "HelmChartInflationGenerator", "chartRepoUrl": "https://c.example", "values": "v.yaml"}
    assert [(r.field, r.value) for r in plugin_references(config)] == [("chartRepoUrl", "https://c.example")]
