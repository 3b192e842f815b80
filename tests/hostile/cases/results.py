"""Wrong results the issue names (besides those with their own module): a StatefulSet whose claim
template changes StorageClass, secrets too short or too common to mask, the override's words in
the job summary, filters that can never match.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import yaml

from tests.hostile import builders as b
from tests.hostile.cases.common import FAST, KUBE, both, output_is_json, summary_has, warned
from tests.hostile.harness import Case, Context, Result
from tests.support import manifests as m

OLD_CLASS, NEW_CLASS = "hcloud-volumes", "local-path"


def _seed_statefulset(ctx: Context) -> None:
    """The deployed StatefulSet, its claim made by the fake's controller on the old class."""
    ctx.fake.put(m.statefulset("postgres", storage="10Gi", storage_class=OLD_CLASS))
    ctx.fake.wait_for(lambda: ctx.fake.get("v1", "PersistentVolumeClaim", "default", "data-postgres-0"), 20)


def _warned_in_the_report(result: Result) -> list[str]:
    report = json.loads(result.stdout)
    warnings = [w for o in report.get("objects", []) for w in o.get("warnings", [])]
    wanted = f"data-postgres-0 stays on {OLD_CLASS} (the template asks for {NEW_CLASS})"
    return [] if any(wanted in w for w in warnings) else [f"the report does not say {wanted!r}"]


def _manifests_with(value: str) -> Callable[[Result], list[str]]:
    """stdout is YAML manifests (what render prints) and the Secret carries ``value`` unmasked."""

    def check(result: Result) -> list[str]:
        try:
            objects = [o for o in yaml.safe_load_all(result.stdout) if o]
        except yaml.YAMLError as exc:
            return [f"stdout is not valid YAML ({exc})"]
        values = [
            v for o in objects if o.get("kind") == "Secret" for v in (o.get("stringData") or {}).values()
        ]
        return [] if value in values else [f"no Secret value {value!r} in the manifests"]

    return check


def _summary_shows_as_written(result: Result) -> list[str]:
    """The reason and actor reach the job summary escaped: no HTML tag, link or heading of theirs."""
    summary = result.github_file("GITHUB_STEP_SUMMARY")
    found = [
        f"the summary has an unescaped {what!r}"
        for what in ("<img", "<script", "](http")
        if re.search(rf"(?<!\\){re.escape(what)}", summary)
    ]
    if re.search(r"^# Deployed", summary, re.MULTILINE):
        found.append("the reason's heading became a heading of the summary")
    if "override" not in summary.lower():
        found.append("the summary does not mention the override")
    return found


def _override(reason: str, actor: str, label: str) -> Case:
    return Case(
        f"gate-override-{label}-shown-as-written",
        [
            *("gate", "--env", "prod", "--control", "policy.yaml", "--event", "workflow_dispatch"),
            *("--ref", "main", "--at", "2026-11-28T12:00:00+01:00", "--override"),
            *("--reason", reason, "--actor", actor),
        ],
        issue="13.summary",
        exit=0,
        files={"policy.yaml": b.POLICY},
        check=_summary_shows_as_written,
    )


SHORT = {
    "true": "a YAML keyword",
    "x": "one character",
    "abc": "three characters",
    "null": "a keyword",
    "Yes": "a keyword",
}

CASES: list[Case] = [
    Case(
        "apply-statefulset-storage-class-change-is-said",
        ["apply", "-f", "sts.yaml", *KUBE, "--format", "json", "--timeout", "60", "--progress-interval", "1"],
        issue="13.storageclass",
        exit=0,
        files={
            "sts.yaml": yaml.safe_dump(m.statefulset("postgres", storage="10Gi", storage_class=NEW_CLASS))
        },
        fake={},
        setup=_seed_statefulset,
        json_stdout=True,
        check=both(
            _warned_in_the_report,
            summary_has(f"data-postgres-0 stays on {OLD_CLASS}"),
            output_is_json("report"),
        ),
        max_seconds=60,
    ),
    # -- secrets too short or too common to mask: not masked, warned about by name, output valid ---
    *[
        Case(
            f"apply-overlay-secret-{label.replace(' ', '-')}-{value}",
            ["apply", "--overlay", "overlay", *KUBE, "--format", "json", *FAST],
            issue="13.short",
            exit=0,
            env={"DB_PASSWORD": value, "API_KEY": b.API_KEY},
            files=b.OVERLAY,
            fake={},
            json_stdout=True,
            check=both(output_is_json("report"), warned("$DB_PASSWORD", "cannot be hidden")),
        )
        for value, label in SHORT.items()
    ],
    Case(
        "render-secret-of-three-characters-warns-and-keeps-json-valid",
        ["render", "--overlay", "overlay", "--format", "json"],
        issue="13.short",
        exit=0,
        env={"DB_PASSWORD": "abc", "API_KEY": "on"},
        files=b.OVERLAY,
        check=both(warned("$DB_PASSWORD", "$API_KEY"), _manifests_with("abc")),
    ),
    # -- the override's reason and actor are the user's words, not markdown --------------------------
    _override(
        "INC-42 <img src=https://evil.example/p.png> [docs](https://evil.example)", "alice", "html-and-link"
    ),
    _override("INC-42\n# Deployed successfully\n<script>alert(1)</script>", "alice", "heading-and-script"),
    _override("INC-42", "<img src=x onerror=alert(1)>", "actor-html"),
    # -- filters that can never match are refused ----------------------------------------------------
    *[
        Case(
            f"changes-filters-{label}",
            ["changes", "--filters", text, "--base", "HEAD~1", "--head", "HEAD"],
            issue="13.filters",
            names=["--filters", "a"],
            git=True,
        )
        for label, text in (
            ("a-number", "a: 5"),
            ("a-boolean", "a: true"),
            ("a-list-of-numbers", "a: [5]"),
            ("a-status-of-a-number", "a: [{added: 5}]"),
            ("a-date", "a: 2024-01-01"),
        )
    ],
]
