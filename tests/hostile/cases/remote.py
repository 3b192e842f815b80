# ruff: noqa: E501 - one kustomization per row reads better than strings wrapped mid-YAML
"""Remote kustomize references (issue 13 item 4): refused before kustomize runs, naming the
kustomization file, the line and the reference, unless the verb is given ``--allow-remote``.

The fields and the remote forms are kustomize's own (api/types kustomization.go, kvpairsources.go,
patch.go, replacement.go, helmchartargs.go; api/internal/git/repospec.go parseHostSpec): every
field that can name a file, a directory or a URL gets a case with a URL in it. Without the scan,
kustomize downloads these and the result is rendered and applied as if it were the repository's.
"""

from __future__ import annotations

from tests.hostile import builders as b
from tests.hostile.cases.common import KUBE, absent, both
from tests.hostile.harness import Case

URL = "https://infra.example.test/base/all.yaml"
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: local}\ndata: {a: b}\n"

# (label, the kustomization's text, the field the error must name)
KUSTOMIZATIONS: list[tuple[str, str, str]] = [
    ("resources-https-file", f"resources:\n- cm.yaml\n- {URL}\n", "resources[1]"),
    ("resources-http-file", "resources:\n- http://infra.example.test/x.yaml\n", "resources[0]"),
    ("resources-github-base", "resources:\n- github.com/acme/infra//base?ref=v1.2.0\n", "resources[0]"),
    ("resources-git-https", "resources:\n- git::https://git.example.test/acme/infra.git//base\n", "resources[0]"),
    ("resources-git-scp", "resources:\n- git@github.com:acme/infra.git//base\n", "resources[0]"),
    ("resources-ssh", "resources:\n- ssh://git@git.example.test/acme/infra.git\n", "resources[0]"),
    ("resources-gh-shorthand", "resources:\n- gh:acme/infra//base\n", "resources[0]"),
    ("resources-azure", "resources:\n- https://dev.azure.com/acme/p/_git/infra//base\n", "resources[0]"),
    ("resources-file-url", "resources:\n- file:///srv/infra.git//base\n", "resources[0]"),
    ("resources-scp-other-host", "resources:\n- deploy@git.example.test:acme/infra//base\n", "resources[0]"),
    ("bases", f"bases:\n- {URL}\n", "bases[0]"),
    ("components", f"components:\n- {URL}\n", "components[0]"),
    ("crds", f"resources: [cm.yaml]\ncrds:\n- {URL}\n", "crds[0]"),
    ("configurations", f"resources: [cm.yaml]\nconfigurations:\n- {URL}\n", "configurations[0]"),
    ("generators", f"generators:\n- {URL}\n", "generators[0]"),
    ("transformers", f"resources: [cm.yaml]\ntransformers:\n- {URL}\n", "transformers[0]"),
    ("validators", f"resources: [cm.yaml]\nvalidators:\n- {URL}\n", "validators[0]"),
    ("patches-path", f"resources: [cm.yaml]\npatches:\n- path: {URL}\n", "patches[0].path"),
    ("patches-json6902", f"resources: [cm.yaml]\npatchesJson6902:\n- path: {URL}\n", "patchesJson6902[0].path"),
    ("patches-strategic-merge", f"resources: [cm.yaml]\npatchesStrategicMerge:\n- {URL}\n", "patchesStrategicMerge[0]"),
    ("replacements-path", f"resources: [cm.yaml]\nreplacements:\n- path: {URL}\n", "replacements[0].path"),
    ("configmap-files", f"configMapGenerator:\n- name: c\n  files:\n  - key={URL}\n", "configMapGenerator[0].files[0]"),
    ("configmap-envs", f"configMapGenerator:\n- name: c\n  envs:\n  - {URL}\n", "configMapGenerator[0].envs[0]"),
    ("configmap-env", f"configMapGenerator:\n- name: c\n  env: {URL}\n", "configMapGenerator[0].env"),
    ("secret-files", f"secretGenerator:\n- name: s\n  files:\n  - {URL}\n", "secretGenerator[0].files[0]"),
    ("helm-chart-repo", "helmCharts:\n- name: redis\n  repo: https://charts.example.test\n", "helmCharts[0].repo"),
    ("helm-chart-oci", "helmCharts:\n- name: redis\n  repo: oci://registry.example.test/charts\n", "helmCharts[0].repo"),
    ("helm-values-url", f"helmCharts:\n- name: redis\n  valuesFile: {URL}\n", "helmCharts[0].valuesFile"),
    ("helm-additional-values", f"helmCharts:\n- name: r\n  additionalValuesFiles:\n  - {URL}\n", "additionalValuesFiles[0]"),
    ("helm-inflation-generator", "helmChartInflationGenerator:\n- chartName: r\n  chartRepoUrl: https://c.example.test\n", "chartRepoUrl"),
    ("openapi-path", f"resources: [cm.yaml]\nopenapi:\n  path: {URL}\n", "openapi.path"),
    (
        "inline-transformer-with-a-chart",
        "resources: [cm.yaml]\ntransformers:\n- |\n  apiVersion: builtin\n  kind: HelmChartInflationGenerator\n"
        "  metadata: {name: x}\n  chartRepoUrl: https://charts.example.test\n",
        "chartRepoUrl",
    ),
]  # fmt: skip


def _render(label: str, kustomization: str, field: str) -> Case:
    return Case(
        f"render-remote-{label}",
        ["render", "--overlay", "overlay", "--check"],
        issue="13.4",
        names=["overlay/kustomization.yaml", "Remote kustomize reference", field],
        files={"overlay/kustomization.yaml": kustomization, "overlay/cm.yaml": CONFIGMAP},
        check=absent("kustomize could not build"),
    )


NESTED = {
    "overlay/kustomization.yaml": "resources:\n- ../base\n",
    "base/kustomization.yaml": "resources:\n- cm.yaml\n- ../shared\n",
    "base/cm.yaml": CONFIGMAP,
    "shared/kustomization.yaml": "# shared by every overlay\nresources:\n- cm.yaml\n"
    "- github.com/acme/infra//postgres?ref=main\n",
    "shared/cm.yaml": CONFIGMAP.replace("local", "shared"),
}

CASES: list[Case] = [
    *[_render(*row) for row in KUSTOMIZATIONS],
    Case(
        "render-remote-two-levels-down",
        ["render", "--overlay", "overlay", "--check"],
        issue="13.4",
        names=["shared/kustomization.yaml:4", "resources[1]", "github.com/acme/infra//postgres?ref=main"],
        files=NESTED,
        check=absent("kustomize could not build"),
    ),
    Case(
        "render-remote-in-a-generator-file",
        ["render", "--overlay", "overlay", "--check"],
        issue="13.4",
        names=["overlay/chart.yaml", "chartRepoUrl"],
        files={
            "overlay/kustomization.yaml": "generators:\n- chart.yaml\n",
            "overlay/chart.yaml": "apiVersion: builtin\nkind: HelmChartInflationGenerator\nmetadata: {name: r}\n"
            "chartName: redis\nchartRepoUrl: https://charts.example.test\n",
        },
    ),
    Case(
        "render-remote-url-with-credentials",
        ["render", "--overlay", "overlay", "--check"],
        issue="13.4",
        names=["resources[0]"],
        files={
            "overlay/kustomization.yaml": "resources:\n- https://deploy:Gh-Pa55-Zq9-token@git.example.test/x.yaml\n"
        },
        secrets=["Gh-Pa55-Zq9-token"],
    ),
    Case(
        "render-kustomization-cycle-is-not-a-hang",
        ["render", "--overlay", "a", "--check"],
        issue="13.4",
        names=["kustomize"],
        files={
            "a/kustomization.yaml": "resources:\n- ../b\n",
            "b/kustomization.yaml": "resources:\n- ../a\n",
        },
    ),
    # --allow-remote lets kustomize fetch: a file:// repository works offline and proves the path.
    Case(
        "render-allow-remote-fetches-a-git-base",
        ["render", "--overlay", "overlay", "--check", "--allow-remote", "--format", "json"],
        issue="13.4",
        exit=0,
        files={
            "overlay/kustomization.yaml": "resources:\n- file://{dir}//base\n",
            "base/kustomization.yaml": "resources:\n- cm.yaml\n",
            "base/cm.yaml": CONFIGMAP,
        },
        git=True,
        json_stdout=True,
    ),
    # every verb that renders refuses the same way
    Case(
        "apply-overlay-remote-base",
        ["apply", "--overlay", "overlay", *KUBE],
        issue="13.4",
        names=["overlay/kustomization.yaml:3", "resources[1]"],
        files={
            "overlay/kustomization.yaml": f"resources:\n- cm.yaml\n- {URL}\n",
            "overlay/cm.yaml": CONFIGMAP,
        },
        fake={},
        check=both(absent("kustomize could not build")),
    ),
    Case(
        "deploy-remote-base",
        [
            *("deploy", "--environment", "dev", "--control", "policy.yaml", "--overlay", "overlay", *KUBE),
            *("--event", "workflow_dispatch", "--ref", "dev"),
        ],
        issue="13.4",
        names=["overlay/kustomization.yaml:2", "resources[0]"],
        files={"overlay/kustomization.yaml": f"resources:\n- {URL}\n", "policy.yaml": b.POLICY},
        fake={},
    ),
    Case(
        "diff-remote-base",
        ["diff", "--environment", "dev", "--overlay", "overlay", *KUBE],
        issue="13.4",
        names=["overlay/kustomization.yaml:2", "resources[0]"],
        files={"overlay/kustomization.yaml": f"resources:\n- {URL}\n"},
        fake={},
    ),
    Case(
        "validate-remote-base",
        ["validate", "--infra", "infra"],
        issue="13.4",
        names=["infra/k8s/hetzner/dev/kustomization.yaml", "resources[0]"],
        files={
            "infra/deploy-control.yaml": b.POLICY,
            "infra/k8s/hetzner/dev/kustomization.yaml": f"resources:\n- {URL}\n",
        },
    ),
]
