# ruff: noqa: E501 - case tables read better one row per line
"""Every verb's own flags, given what an unlucky or hostile user would give them: names that are
paths or carry line breaks, values that are too long, choices that do not exist, revisions that
look like options. Each must be an exit-1 error naming the flag (or the input it came from),
before anything is changed anywhere.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.hostile import builders as b
from tests.hostile.cases.common import DISPATCH, GH_TOKEN, KUBE, NO_GITHUB, no_requests
from tests.hostile.harness import Case, Result

POLICY = {"policy.yaml": b.POLICY}
LONG = "x" * 5000
GATE = ["gate", "--control", "policy.yaml"]
UPLOAD = ["upload-kubeconfig", "--repo", "octo/infra", "--environment", "dev"]
CONFIG = "{root}/infra/k8s/hetzner/dev/cluster/cluster-config.yaml"
CLUSTER = ["cluster", "--environment", "dev", "--config", CONFIG]
HCLOUD = {"HCLOUD_TOKEN": "hcloud-Token-Zq9-0123456789"}
SSH = {"HETZNER_SSH_PRIVATE_KEY": b.ssh_key_pair()[0], "HETZNER_SSH_PUBLIC_KEY": b.ssh_key_pair()[1]}
PREVIEW = ["preview-access", "--environment", "dev", "--repo", "octo/infra", *KUBE]


def on_stdout(*words: str) -> Callable[[Result], list[str]]:
    return lambda result: [f"stdout does not say {w!r}" for w in words if w not in result.stdout]


def case(label: str, argv: list[str], names: list[str], *, exit: int = 1, **settings: object) -> Case:
    return Case(f"{argv[0]}-{label}", argv, issue="13.verbs", exit=exit, names=names, **settings)  # type: ignore[arg-type]


CASES: list[Case] = [
    # -- gate ----------------------------------------------------------------------------------
    case("env-unknown", [*GATE, "--env", "staging"], ["staging"], files=POLICY),
    case("env-a-path", [*GATE, "--env", "../../etc/passwd"], ["--environment"], files=POLICY),
    case("env-with-a-line-break", [*GATE, "--env", "dev\nprod"], ["--environment"], files=POLICY),
    case("env-5000-characters", [*GATE, "--env", LONG], ["--environment"], files=POLICY),
    case("env-empty", [*GATE, "--env", ""], ["--environment"], files=POLICY),
    case("event-unknown", [*GATE, "--env", "dev", "--event", "push;rm"], ["--event"], files=POLICY),
    case("at-not-a-date", [*GATE, "--env", "dev", "--at", "tomorrow"], ["--at"], files=POLICY),
    case(
        "at-without-offset",
        [*GATE, "--env", "dev", "--at", "2026-11-27T10:00"],
        ["--at", "offset"],
        files=POLICY,
    ),
    case(
        "override-not-a-boolean", [*GATE, "--env", "dev", "--override", "yes"], ["--override"], files=POLICY
    ),
    case(
        "override-input-not-a-boolean",
        [*GATE, "--env", "dev"],
        ["input `override`"],
        files=POLICY,
        env={"GITOPS_INPUT_OVERRIDE": "ture"},
    ),
    case(
        "service-with-a-line-break",
        [*GATE, "--env", "dev", "--service", "web\n# x"],
        ["--service"],
        files=POLICY,
    ),
    case("cluster-not-a-boolean", [*GATE, "--env", "dev", "--cluster", "on"], ["--cluster"], files=POLICY),
    # -- plan ----------------------------------------------------------------------------------
    case(
        "base-unknown",
        ["plan", "--control", "policy.yaml", "--base", "nope"],
        ["--base"],
        files=POLICY,
        git=True,
    ),
    case(
        "base-like-an-option",
        ["plan", "--control", "policy.yaml", "--base", "--output=/tmp/x", "--head", "HEAD"],
        ["--base"],
        files=POLICY,
        git=True,
    ),
    case(
        "head-unknown",
        ["plan", "--control", "policy.yaml", "--head", "v9.9.9"],
        ["--head"],
        files=POLICY,
        git=True,
    ),
    case("repo-not-a-repository", ["plan", "--repo", "/", "--control", "policy.yaml"], ["/"], files=POLICY),
    case("event-kind-unknown", ["plan", "--event-kind", "release"], ["--event-kind"], files=POLICY, git=True),
    case(
        "event-name-unknown",
        ["plan", "--control", "policy.yaml", "--event", "e.json", "--event-name", "x;y"],
        ["--event-name"],
        files={**POLICY, "e.json": "{}"},
        git=True,
    ),
    # -- changes -------------------------------------------------------------------------------
    case(
        "base-like-an-option",
        ["changes", "--base", "--upload-pack=touch pwned", "--head", "HEAD"],
        ["--base"],
        git=True,
    ),
    case(
        "repo-missing",
        ["changes", "--repo", "no-such-dir", "--base", "HEAD~1", "--head", "HEAD"],
        ["no-such-dir"],
    ),
    case(
        "filters-not-a-mapping",
        ["changes", "--filters", "- a\n- b\n", "--base", "HEAD~1", "--head", "HEAD"],
        ["--filters"],
        git=True,
    ),
    case(
        "filters-bad-glob",
        ["changes", "--filters", "a: '[z-a]'\n", "--base", "HEAD~1", "--head", "HEAD"],
        ["--filters", "a"],
        git=True,
    ),
    case(
        "filters-bad-name",
        ["changes", "--filters", "'a=b': x\n", "--base", "HEAD~1", "--head", "HEAD"],
        ["--filters"],
        git=True,
    ),
    # -- render ----------------------------------------------------------------------------------
    case("overlay-missing", ["render", "--overlay", "nope"], ["nope"]),
    case("overlay-a-file", ["render", "--overlay", "f.yaml"], ["f.yaml"], files={"f.yaml": "a: b\n"}),
    case("mode-unknown", ["render", "--overlay", "overlay", "--mode", "print"], ["--mode"], files=b.OVERLAY),
    case(
        "placeholder-empty",
        ["render", "--overlay", "overlay", "--placeholder", ""],
        ["--placeholder"],
        files=b.OVERLAY,
    ),
    case(
        "output-a-directory",
        ["render", "--overlay", "overlay", "--output", "overlay"],
        ["--output"],
        files=b.OVERLAY,
        env={"DB_PASSWORD": b.DB_PASSWORD, "API_KEY": b.API_KEY},
    ),
    case(
        "require-all-not-a-boolean",
        ["render", "--overlay", "overlay", "--check", "--require-all", "maybe"],
        ["--require-all"],
        files=b.OVERLAY,
    ),
    case(
        "missing-secret-required",
        ["render", "--overlay", "overlay", "--require-all"],
        ["DB_PASSWORD", "API_KEY"],
        files=b.OVERLAY,
    ),
    # -- validate -------------------------------------------------------------------------------
    case("infra-missing", ["validate", "--infra", "nope"], ["nope"]),
    case("infra-a-file", ["validate", "--infra", "f.yaml"], ["f.yaml"], files={"f.yaml": "a: b\n"}),
    case(
        "kubernetes-version-unknown",
        ["validate", "--kubernetes-version", "1.99.0"],
        ["--kubernetes-version"],
        files={"infra/deploy-control.yaml": b.POLICY},
    ),
    case(
        "kubernetes-version-not-a-version",
        ["validate", "--kubernetes-version", "../x"],
        ["--kubernetes-version"],
        files={"infra/deploy-control.yaml": b.POLICY},
    ),
    # -- apply and deploy -------------------------------------------------------------------------
    case(
        "both-overlay-and-file",
        ["apply", "--overlay", "overlay", "-f", "x.yaml", *KUBE],
        ["--overlay"],
        files=b.OVERLAY,
        fake={},
        check=no_requests,
    ),
    case("neither-overlay-nor-file", ["apply", *KUBE], ["--overlay"], fake={}, check=no_requests),
    case(
        "skip-service-unknown",
        ["apply", "--overlay", "overlay", "--skip-service", "nope", *KUBE],
        ["nope"],
        files=b.OVERLAY,
        fake={},
        env={"DB_PASSWORD": b.DB_PASSWORD, "API_KEY": b.API_KEY},
    ),
    case(
        "rollback-not-a-boolean",
        ["apply", "-f", "x.yaml", "--rollback-on-failure", "1", *KUBE],
        ["--rollback-on-failure"],
        files={"x.yaml": b.CONFIGMAP},
        fake={},
        check=no_requests,
    ),
    case(
        "kubeconfig-and-variable",
        ["apply", "-f", "x.yaml", *KUBE, "--kubeconfig-env", "KC"],
        ["--kubeconfig-env"],
        files={"x.yaml": b.CONFIGMAP},
        fake={},
        check=no_requests,
    ),
    case(
        "kubeconfig-variable-unset",
        ["apply", "-f", "x.yaml", "--kubeconfig-env", "NOT_SET"],
        ["NOT_SET"],
        files={"x.yaml": b.CONFIGMAP},
    ),
    case(
        "context-unknown",
        ["apply", "-f", "x.yaml", *KUBE, "--context", "prod"],
        ["prod"],
        files={"x.yaml": b.CONFIGMAP},
        fake={},
        check=no_requests,
    ),
    case(
        "env-unknown",
        ["deploy", "--environment", "staging", "--control", "policy.yaml"],
        ["staging"],
        files=POLICY,
    ),
    case(
        "overlay-missing",
        [
            "deploy",
            "--environment",
            "dev",
            "--control",
            "policy.yaml",
            "--overlay",
            "nope",
            "--event",
            "workflow_dispatch",
            *KUBE,
        ],
        ["nope"],
        files=POLICY,
        fake={},
    ),
    # -- diff -----------------------------------------------------------------------------------
    case(
        "mode-unknown",
        ["diff", "--environment", "dev", "--overlay", "overlay", "--mode", "guess", *KUBE],
        ["--mode"],
        files=b.OVERLAY,
        fake={},
    ),
    case("overlay-missing", ["diff", "--environment", "dev", "--overlay", "nope", *KUBE], ["nope"], fake={}),
    case(
        "exit-code-not-a-boolean",
        ["diff", "--environment", "dev", "--overlay", "overlay", "--exit-code", "2", *KUBE],
        ["--exit-code"],
        files=b.OVERLAY,
        fake={},
    ),
    case(
        "kubeconfig-alias-bomb",
        ["diff", "--environment", "dev", "--overlay", "overlay", "--kubeconfig", "bomb.yaml"],
        ["bomb.yaml", "billion laughs"],
        files={**b.OVERLAY, "bomb.yaml": b.laughs()},
    ),
    case(
        "server-trickles",
        ["diff", "--environment", "dev", "--overlay", "overlay", *KUBE, "--request-timeout", "1"],
        ["no complete answer within 1s"],
        files=b.OVERLAY,
        fake={"trickle": 0.2},
        env={"DB_PASSWORD": b.DB_PASSWORD, "API_KEY": b.API_KEY},
        max_seconds=40,
    ),
    # -- dispatch --------------------------------------------------------------------------------
    case("inputs-not-an-object", [*DISPATCH, "--inputs", "[1, 2]"], ["--inputs"], env=NO_GITHUB),
    case("inputs-not-json", [*DISPATCH, "--inputs", "{environment: dev}"], ["--inputs"], env=NO_GITHUB),
    case(
        "inputs-a-nested-object", [*DISPATCH, "--inputs", '{"a": {"b": 1}}'], ["--inputs", "a"], env=NO_GITHUB
    ),
    case("field-without-value", [*DISPATCH, "-f", "environment"], ["environment"], env=NO_GITHUB),
    case("26-inputs", [*DISPATCH, *[f for i in range(26) for f in ("-f", f"k{i}=v")]], ["25"], env=NO_GITHUB),
    case(
        "repo-not-owner-name",
        ["dispatch", "--repo", "../../x", "--workflow", "d.yml", "--ref", "main"],
        ["--repo"],
        env=NO_GITHUB,
    ),
    case("no-token", [*DISPATCH], ["GH_TOKEN"], env={"GITHUB_API_URL": "https://127.0.0.1:9"}),
    case("wait-not-a-boolean", [*DISPATCH, "--wait", "si"], ["--wait"], env=NO_GITHUB),
    case(
        "app-id-not-a-number",
        [*DISPATCH, "--app-id", "my-app"],
        ["--app-id"],
        env={**NO_GITHUB, "GITHUB_APP_PRIVATE_KEY": "x" * 40},
    ),
    case(
        "app-key-not-a-key",
        [*DISPATCH, "--app-id", "12345"],
        ["GITHUB_APP_PRIVATE_KEY"],
        env={
            **NO_GITHUB,
            "GITHUB_APP_PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY-----\nnot-a-key-Zq9\n-----END RSA PRIVATE KEY-----\n",
        },
    ),
    # -- upload-kubeconfig -------------------------------------------------------------------------
    case(
        "name-reserved",
        [*UPLOAD, "--name", "GITHUB_TOKEN", "--file", "kc.yaml"],
        ["--name"],
        env={"GH_TOKEN": GH_TOKEN},
        files={"kc.yaml": "a: b\n"},
    ),
    case(
        "name-with-a-dash",
        [*UPLOAD, "--name", "KUBE-CONFIG", "--file", "kc.yaml"],
        ["--name"],
        env={"GH_TOKEN": GH_TOKEN},
        files={"kc.yaml": "a: b\n"},
    ),
    case(
        "environment-256-characters",
        ["upload-kubeconfig", "--repo", "o/r", "--environment", "e" * 256, "--file", "kc.yaml"],
        ["--environment"],
        env={"GH_TOKEN": GH_TOKEN},
        files={"kc.yaml": "a: b\n"},
    ),
    case(
        "file-and-variable",
        [*UPLOAD, "--file", "kc.yaml", "--from-env", "KC"],
        ["--file"],
        env={"GH_TOKEN": GH_TOKEN},
    ),
    case("variable-unset", [*UPLOAD, "--from-env", "NOT_SET"], ["NOT_SET"], env=NO_GITHUB),
    case(
        "kubeconfig-over-plain-http",
        [*UPLOAD, "--file", "kc.yaml", "--check-server", "false"],
        ["https://", "server"],
        env=NO_GITHUB,
        files={
            "kc.yaml": "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'http://192.0.2.1:6443'}\nusers:\n- name: u\n  user: {token: 'a-Token-Zq9-0123456789'}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\n"
        },
    ),
    case(
        "kubeconfig-over-48-kb",
        [*UPLOAD, "--file", "kc.yaml", "--check-server", "false"],
        ["48 KB"],
        env=NO_GITHUB,
        files={"kc.yaml": "apiVersion: v1\n# " + "x" * 50_000 + "\n"},
    ),
    # -- cluster ----------------------------------------------------------------------------------
    case(
        "environment-a-path",
        ["cluster", "--environment", "../../../etc", "--hetzner-k3s", "/bin/true"],
        ["--config"],
        env=HCLOUD,
    ),
    case(
        "config-missing",
        ["cluster", "--environment", "dev", "--config", "nope.yaml"],
        ["nope.yaml"],
        env=HCLOUD,
    ),
    case(
        "config-alias-bomb",
        ["cluster", "--environment", "dev", "--config", "c.yaml"],
        ["c.yaml", "billion laughs"],
        env=HCLOUD,
        files={"c.yaml": b.laughs()},
    ),
    case(
        "config-not-a-mapping",
        ["cluster", "--environment", "dev", "--config", "c.yaml"],
        ["c.yaml"],
        env=HCLOUD,
        files={"c.yaml": "- a\n- b\n"},
    ),
    case(
        "hetzner-k3s-missing",
        [*CLUSTER, "--hetzner-k3s", "/no/such/binary"],
        ["--hetzner-k3s"],
        env={**HCLOUD, **SSH},
    ),
    case("version-without-sha256", [*CLUSTER, "--version", "2.4.7"], ["--sha256"], env={**HCLOUD, **SSH}),
    case(
        "sha256-not-hex",
        [*CLUSTER, "--version", "2.4.7", "--sha256", "zz"],
        ["--sha256"],
        env={**HCLOUD, **SSH},
    ),
    case(
        "ssh-key-not-a-key",
        [*CLUSTER, "--hetzner-k3s", "/bin/true"],
        ["HETZNER_SSH_PRIVATE_KEY"],
        env={
            **HCLOUD,
            "HETZNER_SSH_PRIVATE_KEY": "not-a-key-Zq9-secret",
            "HETZNER_SSH_PUBLIC_KEY": SSH["HETZNER_SSH_PUBLIC_KEY"],
        },
    ),
    case("no-token", [*CLUSTER, "--hetzner-k3s", "/bin/true"], ["HCLOUD_TOKEN"], env=SSH),
    case("upgrade-not-a-boolean", [*CLUSTER, "--upgrade", "please"], ["--upgrade"], env={**HCLOUD, **SSH}),
    # -- preview-access -----------------------------------------------------------------------------
    case(
        "name-invalid",
        [*PREVIEW, "--name", "READ ONLY"],
        ["--name"],
        env={"GH_TOKEN": GH_TOKEN},
        fake={},
        check=no_requests,
    ),
    case(
        "github-over-plain-http",
        [*PREVIEW],
        ["GITHUB_API_URL", "plain http"],
        env={"GH_TOKEN": GH_TOKEN, "GITHUB_API_URL": "http://api.example.test"},
        fake={},
        check=no_requests,
    ),
    case(
        "kubeconfig-missing",
        ["preview-access", "--environment", "dev", "--repo", "octo/infra", "--kubeconfig", "no.yaml"],
        ["no.yaml"],
        env=NO_GITHUB,
    ),
    case(
        "server-trickles",
        [*PREVIEW, "--request-timeout", "1"],
        ["no complete answer within 1s"],
        exit=1,
        env=NO_GITHUB,
        fake={"trickle": 0.2},
        max_seconds=40,
    ),
    # -- status ----------------------------------------------------------------------------------
    case(
        "history-not-a-number",
        ["status", "--control", "policy.yaml", "--history", "nan"],
        ["--history"],
        files=POLICY,
    ),
    case(
        "history-negative",
        ["status", "--control", "policy.yaml", "--history", "-3"],
        ["--history"],
        files=POLICY,
    ),
    case(
        "cluster-without-path",
        ["status", "--control", "policy.yaml", "--cluster", "dev"],
        ["--cluster"],
        files=POLICY,
    ),
    case(
        "cluster-empty-environment",
        ["status", "--control", "policy.yaml", "--cluster", "=kc.yaml"],
        ["--cluster"],
        files=POLICY,
    ),
    case(
        "environment-a-path",
        ["status", "--control", "policy.yaml", "--environment", "../prod"],
        ["--environment"],
        files=POLICY,
    ),
    # status reports a cluster it cannot read in its row (exit 0, by design): the row must say why
    case(
        "kubeconfig-alias-bomb",
        ["status", "--control", "policy.yaml", "--environment", "dev", "--kubeconfig", "bomb.yaml"],
        [],
        exit=0,
        files={**POLICY, "bomb.yaml": b.laughs()},
        check=on_stdout("billion laughs"),
    ),
    case(
        "server-trickles",
        ["status", "--control", "policy.yaml", "--environment", "dev", *KUBE, "--request-timeout", "1"],
        [],
        exit=0,
        files=POLICY,
        fake={"trickle": 0.2},
        check=on_stdout("no complete answer within 1s"),
        max_seconds=40,
    ),
    # -- claim ----------------------------------------------------------------------------------
    case(
        "environment-a-path",
        ["claim", "--environment", "../prod", "--control", "policy.yaml", *KUBE],
        ["--environment"],
        files=POLICY,
        fake={},
        check=no_requests,
    ),
    case(
        "dry-run-not-a-boolean",
        ["claim", "--environment", "dev", "--control", "policy.yaml", "--dry-run", "maybe", *KUBE],
        ["--dry-run"],
        files=POLICY,
        fake={},
        check=no_requests,
    ),
    case(
        "kubeconfig-missing",
        ["claim", "--environment", "dev", "--control", "policy.yaml", "--kubeconfig", "no.yaml"],
        ["no.yaml"],
        files=POLICY,
    ),
    case(
        "server-trickles",
        ["claim", "--environment", "dev", "--control", "policy.yaml", *KUBE, "--request-timeout", "1"],
        ["no complete answer within 1s"],
        files=POLICY,
        fake={"trickle": 0.2},
        max_seconds=40,
    ),
    # -- init -----------------------------------------------------------------------------------
    case("suite-without-a-commit", ["init", "new", "--suite", "acme/gitops-suite"], ["--suite"]),
    case("suite-with-a-branch", ["init", "new", "--suite", "acme/gitops-suite@main"], ["--suite"]),
    case("suite-a-path", ["init", "new", "--suite", "../../x@" + "a" * 40], ["--suite"]),
    case("suite-not-hex", ["init", "new", "--suite", "acme/gitops-suite@" + "g" * 40], ["--suite"]),
    case(
        "suite-with-a-line-break",
        ["init", "new", "--suite", "acme/gitops-suite@" + "a" * 40 + "\nx"],
        ["--suite"],
    ),
    case(
        "version-not-a-version",
        ["init", "new", "--suite", "acme/gitops-suite@" + "a" * 40, "--version", "latest; rm -rf /"],
        ["--version"],
    ),
    case(
        "dir-a-file",
        ["init", "f.txt", "--suite", "acme/gitops-suite@" + "a" * 40, "--version", "v1.0.0"],
        ["f.txt"],
        files={"f.txt": "x\n"},
    ),
]
