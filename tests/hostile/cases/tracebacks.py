"""Input that used to end in a traceback (issue 13, "tracebacks (exit 3) on input"): instants at
the edges of the calendar, JSON nested 100,000 deep, an unwritable ``$GITHUB_OUTPUT`` or
``$GITHUB_STEP_SUMMARY``, a Node without ``metadata`` and other answers an API server should
never send, push payloads whose commits are not SHAs.

Python's ``datetime`` spans years 1-9999, so ``9999-12-31T23:59:59-14:00`` cannot even be turned
into UTC, and the next window after ``9999-12-31`` does not exist: such an instant is refused by
the flag. The payload SHAs: GitHub's push payload carries 40-hex ``before``/``after``
("Webhook events and payloads", docs.github.com); git reads ``--output=x`` as an option unless it
follows ``--end-of-options``.
"""

from __future__ import annotations

import json

from tests.hostile import builders as b
from tests.hostile.cases.common import (
    DISPATCH,
    FAST,
    GH_TOKEN,
    KUBE,
    NO_GITHUB,
    READY,
    absent,
    both,
    summary_has,
    warned,
)
from tests.hostile.harness import Case

POLICY = {"policy.yaml": b.POLICY}
GATE = ["gate", "--env", "dev", "--control", "policy.yaml", "--event", "push", "--ref", "dev"]
PLAN = ["plan", "--control", "policy.yaml"]
DEPLOY = ["deploy", "--environment", "dev", "--control", "policy.yaml", "--event", "push", "--ref", "dev"]
INSTANTS = {
    "year-9999": "9999-12-31T23:59:59+00:00",
    "year-9999-west": "9999-12-31T23:59:59-14:00",
    "year-1": "0001-01-01T00:00:00+00:00",
    "year-1-east": "0001-01-01T00:00:00+14:00",
    "year-3000": "3000-01-01T00:00:00Z",
    "year-1969": "1969-12-31T23:59:59Z",
}
SHA = "a" * 40


def _push(**fields: object) -> str:
    payload: dict[str, object] = {"ref": "refs/heads/dev", "before": SHA, "after": SHA}
    payload.update(fields)
    return json.dumps(payload)


def _instants() -> list[Case]:
    cases = []
    for verb, argv in (("gate", GATE), ("plan", PLAN), ("deploy", DEPLOY)):
        for label, at in INSTANTS.items():
            cases.append(
                Case(
                    f"{verb}-at-{label}",
                    [*argv, "--at", at],
                    issue="13.tracebacks",
                    names=["--at", "outside the years 1970-2999"],
                    files=POLICY,
                    git=verb == "plan",
                )
            )
    return cases


def _unwritable() -> list[Case]:
    cases = []
    for verb, argv, files, git in (
        ("gate", GATE, POLICY, False),
        ("changes", ["changes", "--base", "HEAD~1", "--head", "HEAD"], {}, True),
        ("render", ["render", "--overlay", "overlay", "--check"], b.OVERLAY, False),
    ):
        for label, path in (("a-directory", "{dir}/github"), ("in-a-missing-directory", "{dir}/gone/out")):
            cases.append(
                Case(
                    f"{verb}-github-output-{label}",
                    argv,
                    issue="13.tracebacks",
                    names=["GITHUB_OUTPUT", "cannot be written"],
                    env={"GITHUB_OUTPUT": path},
                    files=files,
                    git=git,
                )
            )
            cases.append(
                Case(
                    f"{verb}-github-step-summary-{label}",
                    argv,
                    issue="13.tracebacks",
                    exit=0,
                    env={"GITHUB_STEP_SUMMARY": path},
                    files=files,
                    git=git,
                    check=warned("GITHUB_STEP_SUMMARY", "cannot be written"),
                )
            )
    return cases


def _answers() -> list[Case]:
    """cluster-ready against a server whose Node list is not what the API promises."""
    ready = ["cluster-ready", *KUBE, "--timeout", "3", "--interval", "1", "--format", "json"]
    cases = []
    for label, edit, code in (
        # a node without a name cannot be matched to its CSINode: not ready, said, no traceback
        ("node-without-metadata", "/items/0/metadata", 2),
        ("node-without-a-name", "/items/0/metadata/name", 2),
        ("node-status-a-string", '/items/0/status="Ready"', 2),
        ("node-conditions-a-mapping", '/items/0/status/conditions={"type": "Ready"}', 2),
        ("node-condition-a-number", "/items/0/status/conditions=[5]", 2),
        ("node-taints-of-strings", '/items/0/spec/taints=["x"]', 0),
        ("items-a-number", "/items=5", 2),
        ("an-item-a-string", '/items/0="node"', 2),
    ):
        cases.append(
            Case(
                f"cluster-ready-answer-{label}",
                ready,
                issue="13.tracebacks",
                exit=code,
                fake={"answer_edits": [f"^/api/v1/nodes$ {edit}"], **READY},
                json_stdout=True,
                max_seconds=20,
            )
        )
    return cases


def _payloads() -> list[Case]:
    cases = []
    for label, payload, key in (
        ("before-an-option", _push(before="--output=/tmp/gitops-hostile-Zq9"), "before"),
        ("before-upload-pack", _push(before="--upload-pack=touch pwned-Zq9"), "before"),
        ("after-an-option", _push(after="--exec=touch pwned-Zq9"), "after"),
        ("before-a-number", _push(before=5), "before"),
        ("before-a-branch-name", _push(before="HEAD~1"), "before"),
        ("after-a-list", _push(after=[SHA]), "after"),
        (
            "pr-head-an-option",
            json.dumps({"pull_request": {"base": {"sha": SHA}, "head": {"sha": "-x"}}}),
            "head",
        ),
    ):
        for verb, argv in (("changes", ["changes"]), ("plan", ["plan", "--control", "policy.yaml"])):
            cases.append(
                Case(
                    f"{verb}-event-{label}",
                    [*argv, "--event", "event.json"],
                    issue="13.before",
                    names=["--event", key, "not a commit SHA"],
                    files={"event.json": payload, **POLICY},
                    git=True,
                    check=absent("pwned-Zq9", "gitops-hostile-Zq9"),
                )
            )
    return cases


CASES: list[Case] = [
    *_instants(),
    *_unwritable(),
    *_answers(),
    *_payloads(),
    # -- JSON nested 100,000 deep: the loader's depth error, not a RecursionError ------------------
    Case(
        "plan-event-payload-nested-100000-deep",
        ["plan", "--control", "policy.yaml", "--event", "event.json"],
        issue="13.tracebacks",
        names=["event.json", "nested too deeply"],
        files={"event.json": b.deep_json(), **POLICY},
        git=True,
    ),
    Case(
        "changes-event-payload-an-object-nested-100000-deep",
        ["changes", "--event", "event.json"],
        issue="13.tracebacks",
        names=["event.json", "nested too deeply"],
        files={"event.json": '{"a":' * 100_000 + "1" + "}" * 100_000},
        git=True,
    ),
    Case(
        "dispatch-inputs-nested-100000-deep",
        [*DISPATCH, "--inputs", b.deep_json()],
        issue="13.tracebacks",
        names=["--inputs", "too large"],
        env=NO_GITHUB,
    ),
    Case(
        "dispatch-inputs-input-nested-20000-deep",
        [*DISPATCH],
        issue="13.tracebacks",
        names=["--inputs", "nested too deeply"],
        env={**NO_GITHUB, "GITOPS_INPUT_INPUTS": b.deep_json(20_000)},
    ),
    # -- apply: stdin that is not UTF-8, and nothing to apply (a failed pipe is not a deploy) -----
    Case(
        "apply-stdin-not-utf8",
        ["apply", "-f", "-", *KUBE],
        issue="13.tracebacks",
        names=["stdin", "not UTF-8"],
        stdin="kind: ConfigMap\nmetadata: {name: café}\n".encode("latin-1"),
        fake={},
    ),
    *[
        Case(
            f"apply-stdin-{label}",
            ["apply", "-f", "-", *KUBE, "--format", "json", *FAST],
            issue="13.empty",
            names=["stdin", "nothing to apply"],
            stdin=text,
            fake={},
            check=both(absent('"applied"'), summary_has("Nothing to apply")),
        )
        for label, text in (
            ("empty", ""),
            ("only-white-space", "\n\n  \n"),
            ("only-document-markers", "---\n---\n...\n"),
            ("only-comments", "# kustomize build failed\n"),
            ("null-documents", "null\n---\n~\n"),
        )
    ],
    Case(
        "apply-overlay-that-renders-nothing",
        ["apply", "--overlay", "empty", *KUBE, *FAST],
        issue="13.empty",
        names=["nothing to apply"],
        files={"empty/kustomization.yaml": "resources: []\n"},
        fake={},
    ),
    Case(
        "dispatch-token-is-masked-even-when-refused",
        [*DISPATCH, "--inputs", "[1]"],
        issue="13.tracebacks",
        names=["--inputs"],
        env={"GH_TOKEN": GH_TOKEN},
    ),
]
