"""When to retry a GitHub REST call, and for how long (pure: status, headers and clock in; a decision out).

Rules (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api and
https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api):

* A rate-limited request (429, or 403 with ``x-ratelimit-remaining: 0``, a ``retry-after``
  header, or a "rate limit" message) was refused before GitHub did anything, so it is retried
  for every method, POST included: after ``retry-after`` seconds, else at ``x-ratelimit-reset``,
  else after one minute (GitHub's advice for a secondary limit without headers). If that moment
  is further away than ``max_wait`` the call fails at once, saying when the limit resets.
* A server error (5xx) or a dropped connection is retried with exponential backoff only for
  methods that are safe to repeat (GET, HEAD, PUT, DELETE). A POST is NEVER re-sent: GitHub may
  have acted on it before failing (a workflow dispatch would start a second run). The caller
  decides what to do (``gitops dispatch`` looks for the run it may have created).
* Everything is bounded: ``max_attempts`` sends in total.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})
RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
SECONDARY_RATE_LIMIT_WAIT = 60.0


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_base: float = 1.0
    backoff_cap: float = 30.0
    max_wait: float = 300.0  # longest single rate-limit wait before giving up


@dataclass(frozen=True)
class RetryDecision:
    retry: bool
    delay: float = 0.0
    reason: str = ""
    # Set when the request hit a rate limit we will not wait for: the user-facing sentence.
    rate_limited: str | None = None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def is_rate_limited(status: int, headers: Mapping[str, str], message: str = "") -> bool:
    if status == 429:
        return True
    if status != 403:
        return False
    return (
        _header(headers, "retry-after") is not None
        or _header(headers, "x-ratelimit-remaining") == "0"
        or "rate limit" in message.lower()
    )


def rate_limit_wait(headers: Mapping[str, str], now: float) -> tuple[float, str]:
    """Seconds to wait and a description of why, from the rate-limit headers."""
    retry_after = _number(_header(headers, "retry-after"))
    if retry_after is not None:
        return max(retry_after, 0.0), f"retry-after {retry_after:g}s"
    reset = _number(_header(headers, "x-ratelimit-reset"))
    if _header(headers, "x-ratelimit-remaining") == "0" and reset is not None:
        # +1: the reset second itself may not be over yet.
        return max(reset - now, 0.0) + 1.0, f"limit resets at {format_epoch(reset)}"
    return SECONDARY_RATE_LIMIT_WAIT, "secondary rate limit"


def format_epoch(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def decide(
    method: str,
    status: int | None,
    headers: Mapping[str, str],
    attempt: int,
    now: float,
    *,
    message: str = "",
    policy: RetryPolicy = RetryPolicy(),
) -> RetryDecision:
    """Retry or not after ``attempt`` (1-based) sends of ``method`` ended with ``status``.

    ``status`` is None when no response arrived (connection refused, reset, timeout).
    """
    method = method.upper()
    last = attempt >= policy.max_attempts
    if status is not None and is_rate_limited(status, headers, message):
        delay, why = rate_limit_wait(headers, now)
        if delay > policy.max_wait:
            resume = format_epoch(now + delay)
            minutes = delay / 60
            return RetryDecision(
                False,
                reason=why,
                rate_limited=f"GitHub's API rate limit is exhausted ({why}); it lifts at {resume}, in "
                f"{minutes:.0f} minutes, longer than the {policy.max_wait:.0f}s this command waits. "
                "Re-run after that time, or use a token with its own quota (a GitHub App installation "
                "token has a higher limit than a personal token).",
            )
        if last:
            return RetryDecision(
                False,
                reason=why,
                rate_limited=f"GitHub's API rate limit still applies after {attempt} attempts ({why}).",
            )
        return RetryDecision(True, delay, f"rate limited ({why})")
    if last or method not in IDEMPOTENT_METHODS:
        return RetryDecision(False)
    if status is None or status in RETRYABLE_STATUS:
        delay = min(policy.backoff_cap, policy.backoff_base * 2 ** (attempt - 1))
        retry_after = _number(_header(headers, "retry-after"))
        if retry_after is not None:
            delay = min(max(delay, retry_after), policy.max_wait)
        what = "no response" if status is None else f"HTTP {status}"
        return RetryDecision(True, delay, f"{what}; attempt {attempt + 1} of {policy.max_attempts}")
    return RetryDecision(False)
