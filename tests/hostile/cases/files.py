"""Every file a verb reads, given as something no reader may choke on (issue 13, "tracebacks on
input": ``apply -f`` on a binary or non-UTF-8 file, and the same for every other file input).

Each file input of each verb gets: bytes that are not UTF-8, a binary file, ``/dev/zero`` (which
never ends: a reader that reads to the end fills the memory), a directory, a path that does not
exist, and an empty file. Every one must end in exit 1 naming the file (or its flag), without a
traceback, within the harness's time and memory bounds.
"""

from __future__ import annotations

from tests.hostile import builders as b
from tests.hostile.cases.common import NO_GITHUB
from tests.hostile.harness import Case

CONTENTS: dict[str, bytes | None] = {
    "not-utf8": "kind: Secret\nmetadata: {name: café}\n".encode("latin-1"),
    "binary": bytes(range(256)) * 8,
    "dev-zero": None,  # the path is /dev/zero itself
    "directory": None,  # the path is a directory
    "missing": None,  # the path does not exist
    "empty": b"",
}

GIT = {"git": True}
OVERLAY = {"files": b.OVERLAY}
UPLOAD = ["upload-kubeconfig", "--repo", "octo/infra", "--environment", "dev"]
CLUSTER = ["cluster", "--environment", "dev", "--hetzner-k3s", "/bin/true"]

# (flag, the command line with {file} where the path goes, and the case's other settings)
INPUTS: list[tuple[str, list[str], dict[str, object]]] = [
    ("--control", ["gate", "--env", "dev", "--control", "{file}"], {}),
    ("--control", ["deploy", "--environment", "dev", "--control", "{file}"], {}),
    ("--control", ["plan", "--control", "{file}"], GIT),
    (
        "--event",
        ["plan", "--event", "{file}", "--control", "policy.yaml"],
        {**GIT, "files": {"policy.yaml": b.POLICY}},
    ),
    ("--event", ["changes", "--event", "{file}"], GIT),
    ("--filters", ["changes", "--filters", "{file}", "--base", "HEAD~1", "--head", "HEAD"], GIT),
    ("--secret-map", ["render", "--overlay", "overlay", "--secret-map", "{file}", "--check"], OVERLAY),
    ("-f", ["apply", "-f", "{file}", "--kubeconfig", "missing.yaml"], {}),
    ("--secret-map", ["apply", "--overlay", "overlay", "--secret-map", "{file}"], OVERLAY),
    (
        "--kubeconfig",
        ["apply", "-f", "plain.yaml", "--kubeconfig", "{file}"],
        {"files": {"plain.yaml": b.CONFIGMAP}},
    ),
    ("--kubeconfig", ["cluster-ready", "--kubeconfig", "{file}", "--timeout", "5"], {}),
    ("--file", [*UPLOAD, "--file", "{file}"], {"env": NO_GITHUB}),
    ("--config", [*CLUSTER, "--config", "{file}"], {"env": {"HCLOUD_TOKEN": "hcloud-Token-Zq9-0123456789"}}),
]


def _path(kind: str) -> str:
    return {"dev-zero": "/dev/zero", "directory": "{dir}/a-folder", "missing": "{dir}/no-such-file"}.get(
        kind, "{dir}/given"
    )


def _cases() -> list[Case]:
    cases = []
    for flag, argv, settings in INPUTS:
        verb = argv[0]
        for kind, content in CONTENTS.items():
            path = _path(kind)
            given: dict[str, str | bytes] = dict(settings.get("files") or {})
            if content is not None:
                given["given"] = content
            if kind == "directory":
                given["a-folder/.keep"] = ""
            shown = path.replace("{dir}/", "")
            cases.append(
                Case(
                    f"{verb}{flag}-{kind}",
                    [a.replace("{file}", path) for a in argv],
                    issue="13.files",
                    names=[shown],
                    env=settings.get("env") or {},
                    files=given,
                    git=bool(settings.get("git")),
                    max_seconds=20,
                )
            )
    return cases


CASES: list[Case] = _cases()
