"""The apply report's vocabulary and JSON: the values README.md and actions/apply/action.yml
document for the ``result`` output and the ``report`` JSON (actions, rollout states)."""

from __future__ import annotations

import json

import pytest
import yaml

from gitops.core.apply_plan import ObjectRef, PlannedObject, Stage
from gitops.core.drift import Change
from gitops.operations.apply_engine import (
    Action,
    ApplyReport,
    ObjectResult,
    Result,
    RollbackRecord,
    RolloutState,
)
from tests.support import manifests as m


@pytest.mark.parametrize(
    ("change", "done", "foreseen"),
    [
        pytest.param(Change.CREATE, "created", "would-create", id="create"),
        pytest.param(Change.CONFIGURE, "configured", "would-configure", id="configure"),
        pytest.param(Change.UNCHANGED, "unchanged", "unchanged", id="unchanged"),
        pytest.param(Change.RECREATE, "recreated", "would-recreate", id="recreate"),
        pytest.param(Change.REFUSE, "failed", "would-fail", id="refuse"),
    ],
)
def test_one_change_reads_as_done_or_foreseen(change: Change, done: str, foreseen: str) -> None:
    assert Action.of(change, dry_run=False) == done
    assert Action.of(change, dry_run=True) == foreseen


def planned() -> PlannedObject:
    manifest = m.statefulset()
    return PlannedObject(ObjectRef.of(manifest), manifest, Stage.WORKLOADS, "postgres")


def report(*objects: ObjectResult, rollbacks: tuple[RollbackRecord, ...] = ()) -> ApplyReport:
    cluster = {"host": "https://127.0.0.1:6443", "context": "test", "namespace": "default"}
    made = ApplyReport("infra/k8s/hetzner/prod", cluster, "gitops", dry_run=False, objects=list(objects))
    made.rollbacks = list(rollbacks)
    return made


def test_the_json_is_plain_data_with_the_documented_values() -> None:
    recreated = ObjectResult(planned(), Action.RECREATED, rollout=RolloutState.READY)
    data = report(recreated).to_json()
    assert (data["result"], data["summary"]) == ("applied", {"recreated": 1})
    assert (data["objects"][0]["action"], data["objects"][0]["rollout"]) == ("recreated", "ready")
    # plain str, not enum members: YAML's safe dumper refuses anything else
    assert yaml.safe_load(yaml.safe_dump(data)) == json.loads(json.dumps(data))


@pytest.mark.parametrize(
    ("rollout", "performed", "result"),
    [
        pytest.param(RolloutState.READY, False, Result.APPLIED, id="applied"),
        pytest.param(RolloutState.TIMEOUT, False, Result.FAILED, id="failed"),
        pytest.param(RolloutState.ROLLED_BACK, True, Result.ROLLED_BACK, id="rolled-back"),
    ],
)
def test_the_result_output(rollout: RolloutState, performed: bool, result: Result) -> None:
    obj = ObjectResult(planned(), Action.CONFIGURED, rollout=rollout)
    rollbacks = (RollbackRecord(obj.ref, performed, "rolling back"),) if performed else ()
    made = report(obj, rollbacks=rollbacks)
    assert made.result is result and made.to_json()["result"] == result.value
    assert made.exit_code == (0 if result is Result.APPLIED else 2)
