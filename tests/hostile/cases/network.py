"""Plain http and slow servers (issue 13 items 5 and 7): the GitHub token never crosses the network
unencrypted, and a server that sends one byte at a time is cut off by the request's total deadline
and the verb's overall one, for Kubernetes and GitHub alike.

The fakes' ``trickle`` knob writes every answer (status line, headers, body) one byte at a time,
so each socket read succeeds well within urllib3's read timeout: before the deadlines these runs
were killed by the harness, whatever ``--request-timeout`` said.
"""

from __future__ import annotations

from tests.hostile import builders as b
from tests.hostile.cases.common import GH_TOKEN
from tests.hostile.harness import ROOT, Case

WORKFLOWS = {"workflows_dir": ROOT / ".github" / "workflows"}
DISPATCH = ("dispatch", "--repo", "acme/platform", "--workflow", "deploy-k8s-resources.yml", "--ref", "main")
DISPATCH_INPUTS = ("-f", "environment=dev")
UPLOAD = ("upload-kubeconfig", "--repo", "acme/platform", "--environment", "dev", "--check-server", "false")
KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://192.0.2.20:6443", certificate-authority-data: "Y2E="}
users:
- name: u
  user: {token: "uploaded-Token-Zq9-abcdef"}
contexts:
- name: c
  context: {cluster: c, user: u}
current-context: c
"""


def _github_url(label: str, url: str, verb: tuple[str, ...]) -> Case:
    return Case(
        f"{verb[0]}-github-api-url-{label}",
        [*verb, *(DISPATCH_INPUTS if verb[0] == "dispatch" else ("--file", "kc.yaml"))],
        issue="13.5",
        names=["GITHUB_API_URL", "plain http"],
        env={"GH_TOKEN": GH_TOKEN, "GITHUB_API_URL": url},
        files={"kc.yaml": KUBECONFIG},
        secrets=["uploaded-Token-Zq9-abcdef"],
    )


PLAIN_HTTP = [
    _github_url(label, url, verb)
    for verb in (DISPATCH, UPLOAD)
    for label, url in (
        ("plain-http", "http://api.github.example:80"),
        ("plain-http-ghes", "http://ghes.example/api/v3"),
        ("name-like-localhost", "http://localhost.example/api"),
        ("private-address", "http://10.0.0.5/api/v3"),
    )
]

CASES: list[Case] = [
    *PLAIN_HTTP,
    Case(
        "dispatch-github-api-url-not-http",
        [*DISPATCH, *DISPATCH_INPUTS],
        issue="13.5",
        names=["GITHUB_API_URL", "https://"],
        env={"GH_TOKEN": GH_TOKEN, "GITHUB_API_URL": "ftp://api.github.example"},
    ),
    Case(
        "dispatch-plain-http-to-loopback-is-allowed",
        [*DISPATCH, *DISPATCH_INPUTS, "--format", "json"],
        issue="13.5",
        exit=0,
        env={"GH_TOKEN": GH_TOKEN, "GITHUB_API_URL": "{github}"},
        github=WORKFLOWS,
        json_stdout=True,
    ),
    Case(
        "upload-kubeconfig-plain-http-to-loopback-is-allowed",
        [*UPLOAD, "--file", "kc.yaml", "--format", "json"],
        issue="13.5",
        exit=0,
        env={"GH_TOKEN": GH_TOKEN, "GITHUB_API_URL": "{github}"},
        files={"kc.yaml": KUBECONFIG},
        secrets=["uploaded-Token-Zq9-abcdef"],
        github={},
        json_stdout=True,
    ),
    # -- item 7: a server that trickles ------------------------------------------------------------
    Case(
        "cluster-ready-server-trickles",
        [*("cluster-ready", "--kubeconfig", "{kubeconfig}", "--request-timeout", "1"), "--timeout", "3"],
        issue="13.7",
        exit=2,
        names=["no complete answer within 1s"],
        fake={"trickle": 0.2},
        max_seconds=15,
    ),
    Case(
        "apply-server-trickles",
        ["apply", "-f", "plain.yaml", "--kubeconfig", "{kubeconfig}", "--request-timeout", "1"],
        issue="13.7",
        exit=2,
        names=["no complete answer within 1s"],
        files={"plain.yaml": b.CONFIGMAP},
        fake={"trickle": 0.2},
        max_seconds=30,
    ),
    Case(
        "apply-server-trickles-only-the-apply",
        [
            *("apply", "-f", "plain.yaml", "--kubeconfig", "{kubeconfig}", "--request-timeout", "1"),
            "--format",
            "json",
        ],
        issue="13.7",
        exit=2,
        names=["no complete answer within 1s"],
        files={"plain.yaml": b.CONFIGMAP},
        fake={"trickle": 0.2, "trickle_verbs": ["patch"]},
        json_stdout=True,
        max_seconds=30,
    ),
    Case(
        "dispatch-github-trickles",
        [*DISPATCH, *DISPATCH_INPUTS, "--request-timeout", "0.5", "--find-timeout", "1"],
        issue="13.7",
        exit=2,
        names=["no complete answer within 0.5s"],
        env={"GH_TOKEN": GH_TOKEN, "GITHUB_API_URL": "{github}"},
        github={**WORKFLOWS, "trickle": 0.2},
        max_seconds=30,
    ),
    Case(
        "upload-kubeconfig-github-trickles",
        [*UPLOAD, "--file", "kc.yaml", "--request-timeout", "0.5"],
        issue="13.7",
        exit=2,
        names=["time limit"],
        env={"GH_TOKEN": GH_TOKEN, "GITHUB_API_URL": "{github}"},
        files={"kc.yaml": KUBECONFIG},
        secrets=["uploaded-Token-Zq9-abcdef"],
        github={"trickle": 0.2},
        max_seconds=30,
    ),
]
