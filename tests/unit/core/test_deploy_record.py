"""gitops.core.deploy_record: the last 20 deploys and the last successful one, in a ConfigMap.

The merge patches are checked against RFC 7386 (JSON Merge Patch): a key set to ``null`` is
removed, other keys are replaced, keys not named are kept.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from gitops.core.cluster_identity import RecordUnreadable
from gitops.core.deploy_record import KEEP, DeployEntry, DeployHistory, condensed_gate, entry_key, parse


def entry(number: int, result: str = "applied", **changes: Any) -> DeployEntry:
    fields: dict[str, Any] = {
        "id": f"id{number:04d}",
        "seq": number + 1,
        "environment": "prod",
        "commit": f"{number:040x}",
        "ref": "refs/heads/main",
        "event": "push",
        "actor": "alice",
        "triggering_actor": "alice",
        "started_at": f"2026-11-26T10:{number // 60:02d}:{number % 60:02d}Z",
        "result": result,
    }
    return DeployEntry(**(fields | changes))


def merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7386, section 2 (the MergePatch pseudo-code), as written there."""
    result = dict(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            result[key] = merge_patch(result.get(key) or {}, value)
        else:
            result[key] = value
    return result


def test_the_key_sorts_in_deploy_order_and_is_a_valid_configmap_key() -> None:
    key = entry_key(entry(3))
    assert key == "deploy-000004-id0003"
    assert all(ch.isalnum() or ch in "-._" for ch in key)  # ConfigMap keys: [-._a-zA-Z0-9]+
    # two deploys started in the same second still sort in the order they were recorded
    same_second = [entry(n, started_at="2026-11-26T10:00:00Z", id=f"z{9 - n}") for n in range(1, 4)]
    assert sorted(same_second, key=entry_key) == same_second


def test_the_next_deploy_number_follows_the_highest_recorded_even_the_trimmed_last_success() -> None:
    assert DeployHistory().next_seq() == 1
    history, _ = DeployHistory().record(entry(41))
    assert history.next_seq() == 43
    assert DeployHistory({}, entry(99)).next_seq() == 101


def test_a_running_entry_is_replaced_by_its_finished_form() -> None:
    running = entry(1, "running")
    history, _ = DeployHistory().record(running)
    history, patch = history.record(running.finish("failed", "2026-11-26T10:05:00Z", 2))
    assert [e.result for e in history.deploys] == ["failed"]
    assert history.last_successful is None
    assert list(patch["data"]) == [entry_key(running)]


def test_only_the_last_20_are_kept_and_the_last_success_survives_20_failures() -> None:
    history, _ = DeployHistory().record(entry(0, "applied"))
    data: dict[str, Any] = history.to_data()
    for number in range(1, KEEP + 3):
        history, patch = history.record(entry(number, "failed"))
        data = merge_patch(data, patch["data"])
    assert len(history.deploys) == KEEP
    assert history.deploys[0].id == "id0003"
    assert history.last_successful is not None and history.last_successful.id == "id0000"
    # the patches applied one by one leave exactly what the history holds: parse() keeps only the
    # newest KEEP, so compare the ConfigMap's keys too, or a key never nulled would grow it forever
    assert parse({"data": data}) == history
    assert data == history.to_data()


def test_a_success_becomes_the_last_successful() -> None:
    history, patch = DeployHistory().record(entry(1, "running"))
    history, patch = history.record(entry(1, "applied"))
    assert history.last_successful == entry(1, "applied")
    assert json.loads(patch["data"]["last-successful"])["commit"] == entry(1).commit


def test_every_field_survives_the_round_trip() -> None:
    full = entry(
        7,
        finished_at="2026-11-26T10:09:00Z",
        automatic=True,
        override={"actor": "bob", "reason": "INC-42", "bypassed_window": True},
        older_than="f" * 40,
        gate={"allowed": True},
        run_url="https://github.com/acme/platform/actions/runs/1/attempts/2",
        changed=3,
    )
    history, _ = DeployHistory().record(full)
    assert parse({"data": history.to_data()}).deploys == [full]


def test_keys_that_are_not_ours_are_ignored() -> None:
    history, _ = DeployHistory().record(entry(1))
    assert parse({"data": {**history.to_data(), "note": "kept by a person"}}) == history


@pytest.mark.parametrize(
    ("data", "words"),
    [
        pytest.param({"deploy-1-x": "{not json"}, "data.deploy-1-x", id="not-json"),
        pytest.param({"deploy-1-x": "[]"}, "not a JSON object", id="not-an-object"),
        pytest.param({"deploy-1-x": json.dumps({"id": "x"})}, "environment, commit", id="fields-missing"),
        pytest.param({"last-successful": "{"}, "data.last-successful", id="bad-last-successful"),
    ],
)
def test_a_damaged_record_says_which_key(data: dict[str, str], words: str) -> None:
    with pytest.raises(RecordUnreadable, match=words):
        parse({"data": data})


def test_the_gate_is_condensed_to_its_verdict_and_checks() -> None:
    decision = {
        "allowed": True,
        "automatic": False,
        "requires_approval": True,
        "checks": [{"name": "branch", "passed": True, "detail": "long text"}],
        "next_allowed_at": None,
    }
    assert condensed_gate(decision, ["jaeger"]) == {
        "allowed": True,
        "automatic": False,
        "requires_approval": True,
        "checks": {"branch": True},
        "skipped_services": ["jaeger"],
    }
