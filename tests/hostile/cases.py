"""The hostile cases, one table. Each row is a :class:`~tests.hostile.harness.Case`.

``issue`` names the item a row proves ("13.1" = issue 13, item 1). Expectations come from what
a user must get (DESIGN.md: exit 1 naming the place for a mistake they can fix, exit 2 for a
deployment that ran and failed, never a traceback, never a secret), and from the upstream tools
the builders cite (go-yaml's limits as kubectl applies them, the apiserver's webhook wording).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.hostile import builders as b
from tests.hostile.harness import Case, Result

KUBE = ("--kubeconfig", "{kubeconfig}")
SECRET_ENV = {"DB_PASSWORD": b.DB_PASSWORD, "API_KEY": b.API_KEY}
DENY_CREDS = {"deny": ["secret/creds=webhook/deny.fakekube.test:{object}"]}
DENY_GIVEN = {"deny": ["secret/given=webhook/deny.fakekube.test:{object}"]}
FAST = ("--timeout", "20", "--progress-interval", "1")
CONFIGMAP_X = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}


def output_is_json(name: str) -> Callable[[Result], list[str]]:
    """The step output ``name`` was written and is valid JSON (so the leak scan looked at a real one)."""

    def check(result: Result) -> list[str]:
        value = result.outputs().get(name)
        if not value:
            return [f"no {name!r} output was written"]
        try:
            json.loads(value)
        except ValueError as exc:
            return [f"the {name!r} output is not valid JSON ({exc})"]
        return []

    return check


def warned(*words: str) -> Callable[[Result], list[str]]:
    def check(result: Result) -> list[str]:
        return [f"no warning naming {w!r}" for w in words if w not in result.stderr]

    return check


def both(*checks: Callable[[Result], list[str]]) -> Callable[[Result], list[str]]:
    return lambda result: [p for c in checks for p in c(result)]


CASES: list[Case] = [
    # -- 13.1: $GITHUB_OUTPUT is redacted like every other way out ------------------------------
    Case(
        "apply-overlay-webhook-quotes-the-secret",
        ["apply", "--overlay", "overlay", *KUBE, "--format", "json", *FAST],
        issue="13.1",
        exit=2,
        env=SECRET_ENV,
        files=b.OVERLAY,
        fake=DENY_CREDS,
        json_stdout=True,
        check=output_is_json("report"),
    ),
    Case(
        "apply-file-webhook-quotes-the-secret",
        ["apply", "-f", "given.yaml", *KUBE, "--format", "json", *FAST],
        issue="13.1",
        exit=2,
        files={"given.yaml": b.secret_manifest(password=b.DB_PASSWORD, key=b.API_KEY)},
        secrets=[b.DB_PASSWORD, b.API_KEY],
        fake=DENY_GIVEN,
        json_stdout=True,
        check=output_is_json("report"),
    ),
    Case(
        "apply-stdin-webhook-quotes-a-multiline-secret",
        ["apply", "-f", "-", *KUBE, "--format", "json", *FAST],
        issue="13.1",
        exit=2,
        stdin=b.secret_manifest(key="line-one-Zq9-secret\nline-two-Zq9-secret\n"),
        secrets=["line-one-Zq9-secret\nline-two-Zq9-secret\n"],
        fake=DENY_GIVEN,
        json_stdout=True,
        check=output_is_json("report"),
    ),
    Case(
        "deploy-webhook-quotes-the-secret",
        [
            "deploy",
            "--environment",
            "dev",
            "--overlay",
            "overlay",
            "--control",
            "policy.yaml",
            *KUBE,
            "--event",
            "workflow_dispatch",
            "--ref",
            "dev",
            "--format",
            "json",
            "--progress-interval",
            "1",
            # issue 14: a deploy needs its commit and a cluster bound to its environment
            "--commit",
            "0123456789abcdef0123456789abcdef01234567",
            "--claim",
        ],
        issue="13.1",
        exit=2,
        env=SECRET_ENV,
        files={**b.OVERLAY, "policy.yaml": b.POLICY},
        fake=DENY_CREDS,
        json_stdout=True,
        check=both(output_is_json("deploy"), output_is_json("report")),
    ),
    # -- 13.3: credentials in the kubeconfig's server URL -----------------------------------------
    Case(
        "cluster-ready-server-url-with-credentials",
        ["cluster-ready", "--kubeconfig", "userinfo.yaml", "--timeout", "20", "--interval", "1"],
        issue="13.3",
        exit=0,
        files={"userinfo.yaml": b.kubeconfig(server=b.with_userinfo())},
        secrets=[b.URL_PASSWORD, f"{b.URL_USER}:{b.URL_PASSWORD}"],
        fake={"csi_node_plugin": True},  # a ready Hetzner cluster: the CSI node plugin runs too
        json_stdout=True,
        check=output_is_json("report"),
    ),
    Case(
        "cluster-ready-server-url-with-credentials-from-a-variable",
        ["cluster-ready", "--kubeconfig-env", "KUBECONFIG_DATA", "--timeout", "20", "--interval", "1"],
        issue="13.3",
        exit=0,
        env={"KUBECONFIG_DATA": b.kubeconfig(server=b.with_userinfo())},
        secrets=[b.URL_PASSWORD],
        fake={"csi_node_plugin": True},  # a ready Hetzner cluster: the CSI node plugin runs too
        json_stdout=True,
    ),
    Case(
        "cluster-ready-unreachable-server-url-with-credentials",
        [
            "cluster-ready",
            "--kubeconfig",
            "userinfo.yaml",
            "--timeout",
            "2",
            "--interval",
            "1",
            "--request-timeout",
            "1",
        ],
        issue="13.3",
        exit=2,
        files={"userinfo.yaml": b.kubeconfig(server=f"https://{b.URL_USER}:{b.URL_PASSWORD}@127.0.0.1:9")},
        secrets=[b.URL_PASSWORD],
        fake={},
    ),
    Case(
        "apply-server-url-with-credentials",
        ["apply", "-f", "plain.yaml", "--kubeconfig", "userinfo.yaml", "--format", "json", *FAST],
        issue="13.3",
        exit=0,
        files={"plain.yaml": b.CONFIGMAP, "userinfo.yaml": b.kubeconfig(server=b.with_userinfo())},
        secrets=[b.URL_PASSWORD, f"{b.URL_USER}:{b.URL_PASSWORD}"],
        fake={},
        json_stdout=True,
        check=output_is_json("report"),
    ),
    Case(
        "apply-percent-encoded-password-in-the-server-url",
        ["apply", "-f", "plain.yaml", "--kubeconfig", "userinfo.yaml", "--format", "json", *FAST],
        issue="13.3",
        exit=0,
        files={
            "plain.yaml": b.CONFIGMAP,
            "userinfo.yaml": b.kubeconfig(server=b.with_userinfo(password="p%40ss-Zq9-w0rd")),
        },
        secrets=["p%40ss-Zq9-w0rd", "p@ss-Zq9-w0rd"],
        fake={},
        json_stdout=True,
    ),
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
        env={"GH_TOKEN": "ghp_" + "A1b2C3d4" * 5, "GITHUB_API_URL": "https://127.0.0.1:9"},
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
        [
            "dispatch",
            "--repo",
            "octo/infra",
            "--workflow",
            "deploy.yml",
            "--ref",
            "main",
            "--inputs",
            b.deep_json(30_000),  # 60 KB: under the 64 KiB an --inputs may have
        ],
        issue="10.5",
        names=["--inputs", "nested too deeply"],
        env={"GH_TOKEN": "ghp_" + "A1b2C3d4" * 5, "GITHUB_API_URL": "https://127.0.0.1:9"},
    ),
    # -- the short-secret decision (redaction.MIN_LENGTH / KEYWORDS): output stays valid ---------
    Case(
        "apply-overlay-secret-equal-to-true-keeps-json-valid",
        ["apply", "--overlay", "overlay", *KUBE, "--format", "json", *FAST],
        issue="13.short",
        exit=0,
        env={"DB_PASSWORD": "true", "API_KEY": "x"},
        files=b.OVERLAY,
        fake={},
        json_stdout=True,
        check=both(output_is_json("report"), warned("$DB_PASSWORD", "$API_KEY")),
    ),
]
