"""Documents no reader may choke on (issue 13 item 6, issue 10 item 5): alias bombs, cycles, deep
nesting, huge, binary and non-UTF-8 input in every YAML and JSON input of every verb.

The bombs are the shape go-yaml's own limit tests use; kubectl refuses them with "document
contains excessive aliasing" (CVE-2019-11253, kubernetes/kubernetes#83253).
"""

from __future__ import annotations

from tests.hostile import builders as b
from tests.hostile.cases.common import CONFIGMAP_X, DISPATCH, KUBE, NO_GITHUB
from tests.hostile.harness import Case

CASES: list[Case] = [
    # -- 13.6: alias bombs and cycles in every YAML input -----------------------------------------
    Case(
        "changes-filters-file-alias-bomb",
        ["changes", "--filters", "filters.yaml", "--base", "HEAD~1", "--head", "HEAD"],
        issue="13.6",
        names=["filters.yaml:5", "billion laughs"],
        files={"filters.yaml": b.laughs()},
    ),
    Case(
        "changes-filters-inline-alias-bomb",
        ["changes", "--filters", b.laughs(), "--base", "HEAD~1", "--head", "HEAD"],
        issue="13.6",
        names=["--filters", "billion laughs"],
    ),
    Case(
        "changes-filters-recursive-alias",
        ["changes", "--filters", "filters.yaml", "--base", "HEAD~1", "--head", "HEAD"],
        issue="13.6",
        names=["filters.yaml:2", "refers to the mapping it is in"],
        files={"filters.yaml": b.recursive_alias()},
    ),
    Case(
        "cluster-ready-kubeconfig-alias-bomb",
        ["cluster-ready", "--kubeconfig", "bomb.yaml", "--timeout", "5"],
        issue="13.6",
        names=["bomb.yaml:6", "billion laughs"],
        files={"bomb.yaml": b.laughs_in({"apiVersion": "v1", "kind": "Config"}, ("preferences", "x"))},
    ),
    Case(
        "cluster-ready-kubeconfig-variable-alias-bomb",
        ["cluster-ready", "--kubeconfig-env", "KUBECONFIG_DATA", "--timeout", "5"],
        issue="13.6",
        names=["$KUBECONFIG_DATA", "billion laughs"],
        env={"KUBECONFIG_DATA": b.laughs()},
    ),
    Case(
        "upload-kubeconfig-alias-bomb",
        ["upload-kubeconfig", "--repo", "octo/infra", "--environment", "dev", "--file", "bomb.yaml"],
        issue="13.6",
        names=["bomb.yaml:5", "billion laughs"],
        env=NO_GITHUB,
        files={"bomb.yaml": b.laughs()},
    ),
    Case(
        "apply-file-alias-bomb-in-a-configmap",
        ["apply", "-f", "bomb.yaml", *KUBE],
        issue="13.6",
        names=["bomb.yaml:7", "billion laughs"],
        files={"bomb.yaml": b.laughs_in(CONFIGMAP_X, ("metadata", "annotations", "bomb"))},
        fake={},
    ),
    Case(
        "apply-stdin-alias-bomb-in-a-configmap",
        ["apply", "-f", "-", *KUBE],
        issue="13.6",
        names=["stdin:7", "billion laughs"],
        stdin=b.laughs_in(CONFIGMAP_X, ("data", "bomb")),
        fake={},
    ),
    Case(
        "apply-file-recursive-alias",
        ["apply", "-f", "cycle.yaml", "--kubeconfig", "missing.yaml"],
        issue="13.6",
        names=["cycle.yaml:3", "refers to the mapping it is in"],
        files={"cycle.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: &m {name: x, labels: *m}\n"},
    ),
    Case(
        "apply-file-block-nested-300-deep",
        ["apply", "-f", "deep.yaml", "--kubeconfig", "missing.yaml"],
        issue="13.6",
        names=["deep.yaml:101", "nested too deeply"],
        files={"deep.yaml": b.deep_yaml(300)},
    ),
    Case(
        "apply-file-flow-nested-100000-deep",
        ["apply", "-f", "flow.yaml", "--kubeconfig", "missing.yaml"],
        issue="13.6",
        names=["flow.yaml:1", "not valid YAML"],
        files={"flow.yaml": b.deep_json()},
    ),
    Case(
        "gate-policy-alias-bomb",
        ["gate", "--env", "dev", "--control", "policy.yaml", "--event", "push", "--ref", "dev"],
        issue="10.5",
        names=["policy.yaml", "billion laughs"],
        files={"policy.yaml": b.laughs()},
    ),
    Case(
        "render-secret-map-alias-bomb",
        ["render", "--overlay", "overlay", "--secret-map", "map.yaml", "--check"],
        issue="10.5",
        names=["map.yaml:5", "billion laughs"],
        files={**b.OVERLAY, "map.yaml": b.laughs()},
    ),
    # -- 10.5: JSON inputs have size and depth limits ---------------------------------------------
    Case(
        "changes-event-payload-nested-100000-deep",
        ["changes", "--event", "event.json"],
        issue="10.5",
        names=["event.json", "nested too deeply"],
        files={"event.json": b.deep_json()},
        git=True,
    ),
    Case(
        "changes-event-payload-duplicate-key",
        ["changes", "--event", "event.json"],
        issue="10.5",
        names=["event.json", "'before' appears twice"],
        files={"event.json": '{"before": "a", "before": "b", "after": "c"}'},
        git=True,
    ),
    Case(
        "dispatch-inputs-nested-30000-deep",
        [*DISPATCH, "--inputs", b.deep_json(30_000)],  # 60 KB: under the 64 KiB an --inputs may have
        issue="10.5",
        names=["--inputs", "nested too deeply"],
        env=NO_GITHUB,
    ),
]
