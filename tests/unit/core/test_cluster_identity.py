"""gitops.core.cluster_identity: which environment a cluster belongs to."""

from __future__ import annotations

from typing import Any

import pytest

from gitops.core.cluster_identity import (
    DELETE_COMMAND,
    Identity,
    RecordUnreadable,
    Verdict,
    check,
    configmap_body,
    parse,
)

CLAIM = "`gitops claim --environment prod --kubeconfig /k/prod.yaml`"


def test_a_missing_record_is_none() -> None:
    assert parse(None) is None


def test_the_record_as_a_cluster_holds_it() -> None:
    # what `kubectl get configmap -o json` returns for a record written by an earlier version
    found = parse(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "gitops-cluster-identity", "namespace": "gitops-system"},
            "data": {"environment": "dev", "claimed-at": "2026-11-01T09:00:00Z", "claimed-by": "alice"},
        }
    )
    assert found == Identity("dev", "2026-11-01T09:00:00Z", "alice")


@pytest.mark.parametrize(
    "configmap",
    [
        pytest.param({"data": None}, id="no-data"),
        pytest.param({"data": {"claimed-by": "alice"}}, id="no-environment"),
        pytest.param({"data": {"environment": "  "}}, id="blank-environment"),
        pytest.param({"data": {"environment": 3}}, id="not-a-string"),
    ],
)
def test_a_record_that_names_no_environment_is_unreadable(configmap: dict[str, Any]) -> None:
    with pytest.raises(RecordUnreadable):
        parse(configmap)


def test_what_a_claim_writes_reads_back() -> None:
    identity = Identity("prod", "2026-11-26T10:00:00Z", "alice", "gitops claim", "acme/platform")
    body = configmap_body(identity)
    assert (body["metadata"]["namespace"], body["metadata"]["name"]) == (
        "gitops-system",
        "gitops-cluster-identity",
    )
    assert parse(body) == identity


@pytest.mark.parametrize(
    ("identity", "verdict", "words"),
    [
        pytest.param(Identity("prod"), Verdict.OURS, ["is prod's"], id="ours"),
        pytest.param(
            Identity("dev", "2026-11-01T09:00:00Z", "hetzner-k8s"),
            Verdict.OTHER,
            ["belongs to environment 'dev'", "not to 'prod'", "nothing was written"],
            id="another-environments",
        ),
        pytest.param(
            None, Verdict.UNCLAIMED, ["has no identity record", "nothing was written"], id="unclaimed"
        ),
    ],
)
def test_check(identity: Identity | None, verdict: Verdict, words: list[str]) -> None:
    binding = check(identity, "prod", host="https://10.0.0.1:6443", claim_command=CLAIM)
    assert binding.verdict is verdict
    assert binding.allowed is (verdict is Verdict.OURS)
    for word in words:
        assert word in binding.message
    assert "https://10.0.0.1:6443" in binding.message


def test_environment_names_compare_exactly() -> None:
    assert check(Identity("Prod"), "prod", host="h", claim_command=CLAIM).verdict is Verdict.OTHER


def test_the_refusal_of_a_foreign_cluster_says_why_it_happens_and_how_to_rebind() -> None:
    binding = check(Identity("dev"), "prod", host="h", claim_command=CLAIM)
    assert "falls back to the repository secret of the same name" in binding.hint
    assert DELETE_COMMAND in binding.hint and CLAIM in binding.hint


def test_the_refusal_of_an_unbound_cluster_gives_the_exact_claim_command() -> None:
    binding = check(None, "prod", host="h", claim_command=CLAIM)
    assert CLAIM in binding.hint
