from __future__ import annotations

from typing import Any

import pytest

from gitops.core.retry import (
    RetryDecision,
    RetryPolicy,
    classify_response,
    classify_transport,
    delay_for,
    parse_retry_after,
)


@pytest.mark.parametrize(
    ("status", "body", "retry"),
    [
        pytest.param(
            409, {"reason": "Conflict", "message": "the object has been modified"}, True, id="409-conflict"
        ),
        pytest.param(409, {"reason": "AlreadyExists"}, False, id="409-already-exists"),
        pytest.param(
            409,
            {
                "reason": "Conflict",
                "details": {"causes": [{"reason": "FieldManagerConflict", "field": ".spec"}]},
            },
            False,
            id="409-field-manager-conflict",
        ),
        pytest.param(429, {"reason": "TooManyRequests"}, True, id="429"),
        pytest.param(500, {"reason": "InternalError"}, True, id="500"),
        pytest.param(502, None, True, id="502"),
        pytest.param(503, {"reason": "ServiceUnavailable"}, True, id="503"),
        pytest.param(504, {"reason": "Timeout"}, True, id="504"),
        pytest.param(400, {"reason": "BadRequest"}, False, id="400"),
        pytest.param(401, {"reason": "Unauthorized"}, False, id="401"),
        pytest.param(403, {"reason": "Forbidden"}, False, id="403"),
        pytest.param(404, {"reason": "NotFound"}, False, id="404"),
        pytest.param(415, None, False, id="415"),
        pytest.param(422, {"reason": "Invalid"}, False, id="422-never"),
        pytest.param(501, None, False, id="501-not-implemented"),
    ],
)
def test_which_responses_retry(status: int, body: dict[str, Any] | None, retry: bool) -> None:
    assert classify_response(status, body).retry is retry


def test_transport_errors_retry() -> None:
    decision = classify_transport("ProtocolError")
    assert decision.retry and "ProtocolError" in decision.why


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        pytest.param("3", 3.0, id="int"),
        pytest.param(" 1.5 ", 1.5, id="float"),
        pytest.param("Wed, 21 Oct 2015 07:28:00 GMT", None, id="http-date-ignored"),
        pytest.param("-1", None, id="negative"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_retry_after_is_honoured_but_capped() -> None:
    policy = RetryPolicy(max_retry_after_seconds=10)
    assert delay_for(policy, classify_response(429, None, "4"), 1, 0.9) == 4
    assert delay_for(policy, classify_response(429, None, "600"), 1, 0.9) == 10
    assert delay_for(policy, classify_response(503, None, "2"), 1, 0.9) == 2


@pytest.mark.parametrize(
    ("retry", "random", "expected"),
    [
        pytest.param(1, 0.0, 0.125, id="first-low"),
        pytest.param(1, 1.0, 0.25, id="first-high"),
        pytest.param(3, 0.5, 0.75, id="third-middle"),
        pytest.param(20, 1.0, 8.0, id="capped"),
        pytest.param(20, 0.0, 4.0, id="capped-low"),
    ],
)
def test_backoff_is_bounded_with_jitter(retry: int, random: float, expected: float) -> None:
    policy = RetryPolicy(base_seconds=0.25, cap_seconds=8.0)
    assert delay_for(policy, RetryDecision(True, "x"), retry, random) == pytest.approx(expected)
