"""Durations (issue 13 item 8): every flag of every verb that takes seconds refuses what is not
plain, positive, finite and at most five days, naming the flag (and the action input it came from).

Python's ``float()`` accepts ``nan``, ``inf``, ``1e300``, ``1_0`` and digits of other scripts; a
``--timeout nan`` used to wait forever (every comparison with nan is false) and ``1e300``
overflowed ``threading.Event.wait``. Five days is the longest a job may run ("Usage limits for
self-hosted runners", docs.github.com), so no wait of a step can be longer.
"""

from __future__ import annotations

from tests.hostile import builders as b
from tests.hostile.cases.common import NO_GITHUB
from tests.hostile.harness import Case

BAD = {
    "nan": "nan",
    "inf": "inf",
    "negative": "-1",
    "zero": "0",
    "overflow": "1e400",
    "huge": "1e300",
    "six-days": "518400",
    "underscore": "1_0",
    "unit": "5m",
    "arabic-digit": "\u0663",
}

# (verb, flag, the rest of a command line that would otherwise run: the duration must fail first)
FLAGS: list[tuple[str, str, tuple[str, ...]]] = [
    ("apply", "--timeout", ("-f", "plain.yaml", "--kubeconfig", "missing.yaml")),
    ("apply", "--request-timeout", ("-f", "plain.yaml", "--kubeconfig", "missing.yaml")),
    ("apply", "--progress-interval", ("-f", "plain.yaml", "--kubeconfig", "missing.yaml")),
    ("deploy", "--request-timeout", ("--environment", "dev", "--control", "policy.yaml")),
    ("deploy", "--progress-interval", ("--environment", "dev", "--control", "policy.yaml")),
    ("cluster-ready", "--timeout", ("--kubeconfig", "missing.yaml")),
    ("cluster-ready", "--interval", ("--kubeconfig", "missing.yaml")),
    ("cluster-ready", "--request-timeout", ("--kubeconfig", "missing.yaml")),
    ("dispatch", "--timeout", ("--repo", "octo/infra", "--workflow", "deploy.yml", "--ref", "main")),
    ("dispatch", "--poll-interval", ("--repo", "octo/infra", "--workflow", "deploy.yml", "--ref", "main")),
    ("dispatch", "--find-timeout", ("--repo", "octo/infra", "--workflow", "deploy.yml", "--ref", "main")),
    ("upload-kubeconfig", "--request-timeout", ("--environment", "dev", "--file", "kubeconfig.yaml")),
    ("dispatch", "--request-timeout", ("--repo", "octo/infra", "--workflow", "deploy.yml", "--ref", "main")),
    ("cluster", "--timeout", ("--environment", "dev", "--config", "c.yaml", "--hetzner-k3s", "/bin/true")),
    (
        "diff",
        "--request-timeout",
        ("--environment", "dev", "--overlay", "overlay", "--kubeconfig", "missing.yaml"),
    ),
    (
        "preview-access",
        "--request-timeout",
        ("--environment", "dev", "--repo", "octo/infra", "--kubeconfig", "missing.yaml"),
    ),
    (
        "status",
        "--request-timeout",
        ("--environment", "dev", "--control", "policy.yaml", "--kubeconfig", "missing.yaml"),
    ),
    (
        "claim",
        "--request-timeout",
        ("--environment", "dev", "--control", "policy.yaml", "--kubeconfig", "missing.yaml"),
    ),
]

FILES = {
    "plain.yaml": b.CONFIGMAP,
    "policy.yaml": b.POLICY,
    "kubeconfig.yaml": "apiVersion: v1\n",
    "c.yaml": "cluster_name: x\n",
    **b.OVERLAY,
}
ENV = {**NO_GITHUB, "GITHUB_REPOSITORY": "octo/infra", "HCLOUD_TOKEN": "hcloud-Token-Zq9-0123456789"}

# The same mistakes arriving as action inputs (GITOPS_INPUT_<NAME>): the error names the input.
INPUTS: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("apply", "--timeout", "timeout", ("-f", "plain.yaml", "--kubeconfig", "missing.yaml")),
    ("cluster-ready", "--timeout", "timeout", ("--kubeconfig", "missing.yaml")),
    ("dispatch", "--timeout", "timeout", ("--repo", "octo/infra", "--workflow", "d.yml", "--ref", "main")),
    ("dispatch", "--poll-interval", "poll-interval", ("--repo", "octo/infra", "--workflow", "d.yml")),
]


def _cases() -> list[Case]:
    cases = []
    for verb, flag, rest in FLAGS:
        for label, value in BAD.items():
            cases.append(
                Case(
                    f"{verb}{flag}-{label}",
                    [verb, *rest, flag, value],
                    issue="13.8",
                    names=[flag, "seconds"],
                    env=ENV,
                    files=FILES,
                    max_seconds=20,
                )
            )
    for verb, flag, name, rest in INPUTS:
        variable = "GITOPS_INPUT_" + name.upper().replace("-", "_")
        cases.append(
            Case(
                f"{verb}-input-{name}-nan",
                [verb, *rest, "--ref", "main"]
                if verb == "dispatch" and "--ref" not in rest
                else [verb, *rest],
                issue="13.8",
                names=[f"{flag} (input `{name}`)", "'nan'"],
                env={**ENV, variable: "nan"},
                files=FILES,
                max_seconds=20,
            )
        )
    return cases


CASES: list[Case] = _cases()
