"""gitops.core.github_http: which GitHub answers are retried, after how long, and which never are."""

from __future__ import annotations

import pytest

from gitops.core.github_http import RetryPolicy, decide, is_rate_limited, rate_limit_wait

NOW = 1_800_000_000.0
EXHAUSTED = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 30)}


@pytest.mark.parametrize(
    ("sent", "retry", "delay"),
    [
        pytest.param(("GET", 502, {}, 1), True, 1.0, id="get-502-first"),
        pytest.param(("GET", 503, {}, 3), True, 4.0, id="get-503-backoff-doubles"),
        pytest.param(("PUT", 500, {}, 2), True, 2.0, id="put-500"),
        pytest.param(("DELETE", 504, {}, 1), True, 1.0, id="delete-504"),
        pytest.param(("GET", None, {}, 1), True, 1.0, id="get-no-answer"),
        pytest.param(("GET", 502, {}, 5), False, 0.0, id="get-last-attempt"),
        pytest.param(("POST", 502, {}, 1), False, 0.0, id="post-502-never"),
        pytest.param(("POST", None, {}, 1), False, 0.0, id="post-no-answer-never"),
        pytest.param(("PATCH", 500, {}, 1), False, 0.0, id="patch-never"),
        pytest.param(("GET", 404, {}, 1), False, 0.0, id="404-not-retried"),
        pytest.param(("GET", 422, {}, 1), False, 0.0, id="422-not-retried"),
        pytest.param(("GET", 501, {}, 1), False, 0.0, id="501-not-retried"),
        pytest.param(("GET", 503, {"Retry-After": "9"}, 1), True, 9.0, id="503-honours-retry-after"),
        pytest.param(("GET", 429, {"Retry-After": "5"}, 1), True, 5.0, id="429-retry-after"),
        pytest.param(("POST", 429, {"Retry-After": "5"}, 1), True, 5.0, id="post-429-was-refused-so-retried"),
        pytest.param(("GET", 403, EXHAUSTED, 1), True, 31.0, id="403-primary-limit-waits-for-reset"),
        pytest.param(("PUT", 403, {"Retry-After": "60"}, 2), True, 60.0, id="403-secondary-with-retry-after"),
        pytest.param(("GET", 429, {}, 1), True, 60.0, id="429-without-headers-waits-a-minute"),
    ],
)
def test_decide(sent: tuple[str, int | None, dict[str, str], int], retry: bool, delay: float) -> None:
    method, status, headers, attempt = sent
    decision = decide(method, status, headers, attempt, NOW)
    assert (decision.retry, decision.delay) == (retry, delay)
    assert decision.rate_limited is None


def test_backoff_is_capped() -> None:
    policy = RetryPolicy(max_attempts=20, backoff_cap=30.0)
    assert decide("GET", 502, {}, 10, NOW, policy=policy).delay == 30.0


def test_a_403_that_is_not_a_rate_limit_is_not_retried() -> None:
    decision = decide(
        "GET", 403, {"X-RateLimit-Remaining": "4999"}, 1, NOW, message="Resource not accessible"
    )
    assert not decision.retry and decision.rate_limited is None


def test_a_403_whose_message_says_rate_limit_is_one() -> None:
    assert is_rate_limited(403, {}, "You have exceeded a secondary rate limit")
    assert decide("GET", 403, {}, 1, NOW, message="You have exceeded a secondary rate limit").delay == 60.0


def test_a_far_reset_fails_at_once_saying_when() -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 3600)}
    decision = decide("GET", 403, headers, 1, NOW, policy=RetryPolicy(max_wait=300))
    assert not decision.retry
    assert decision.rate_limited is not None
    assert "2027-01-15 09:00:01 UTC" in decision.rate_limited
    assert "in 60 minutes" in decision.rate_limited


def test_a_rate_limit_that_persists_gives_up_after_the_last_attempt() -> None:
    decision = decide("GET", 429, {"Retry-After": "1"}, 5, NOW)
    assert not decision.retry
    assert decision.rate_limited is not None and "after 5 attempts" in decision.rate_limited


def test_reset_in_the_past_waits_one_second() -> None:
    assert (
        rate_limit_wait({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) - 10)}, NOW)[0]
        == 1.0
    )
