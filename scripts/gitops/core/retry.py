"""Which failed API requests to retry, and how long to wait: bounded exponential backoff with jitter.

Retried: ``409 Conflict`` from optimistic concurrency ("the object has been modified"),
``429 Too Many Requests`` (honouring ``Retry-After``, as client-go does), ``500``/``502``/
``503``/``504`` and transport failures (connection refused/reset, a dropped stream, a read
timeout). Never retried: every other 4xx; a 422 is a verdict on the manifest, a 409
``AlreadyExists`` (also "object is being deleted: ... already exists") is an answer, not a
race, and a 409 ``Conflict`` whose precondition failed says the object was replaced: asking
again with the same precondition cannot succeed. A stale uid is refused by ``rest.BeforeDelete``
("the UID in the precondition (...) does not match the UID in record (...)"), or, when the
object is replaced between that check and the delete, by ``storage.Preconditions.Check`` via
``storeerr.InterpretDeleteError`` ("Precondition failed: UID in precondition: ...").
Every request we send is idempotent by name (server-side apply, create of a named object,
delete with a uid precondition, GET), so a retry after a dropped connection cannot do
something twice.

Pure: the caller supplies the random number and does the sleeping.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # total tries, including the first
    base_seconds: float = 0.25
    cap_seconds: float = 8.0
    max_retry_after_seconds: float = 30.0

    def backoff(self, retry: int, random: float) -> float:
        """Delay before retry number ``retry`` (1-based): "equal jitter" in [d/2, d), d = base*2^(retry-1)."""
        ceiling = min(self.cap_seconds, self.base_seconds * float(2 ** max(retry - 1, 0)))
        return ceiling / 2 + ceiling / 2 * min(max(random, 0.0), 1.0)


@dataclass(frozen=True)
class RetryDecision:
    retry: bool
    why: str
    retry_after: float | None = None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds form; HTTP dates are not sent by kube)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def classify_response(
    status: int, body: Mapping[str, Any] | None = None, retry_after: str | None = None
) -> RetryDecision:
    """Decide for an HTTP error response (``status`` >= 400)."""
    reason = str((body or {}).get("reason") or "")
    if status == 429:
        return RetryDecision(True, "429 Too Many Requests", parse_retry_after(retry_after))
    if status == 409:
        causes = ((body or {}).get("details") or {}).get("causes") or []
        if any(c.get("reason") == "FieldManagerConflict" for c in causes if isinstance(c, Mapping)):
            return RetryDecision(False, "409 field manager conflict (server-side apply without force)")
        if is_precondition_failure(body):
            return RetryDecision(False, "409 Conflict: precondition failed (the object was replaced)")
        if reason == "Conflict":
            return RetryDecision(True, "409 Conflict (the object was modified concurrently)")
        return RetryDecision(False, f"409 {reason or 'Conflict'}")
    if status in RETRYABLE_STATUS:
        return RetryDecision(True, f"{status} {reason or 'server error'}", parse_retry_after(retry_after))
    return RetryDecision(False, f"{status} {reason}".strip())


# The texts of a failed uid or resourceVersion precondition, both sent as a 409 Conflict by
# errors.NewConflict: rest.BeforeDelete's early check (staging/src/k8s.io/apiserver/pkg/registry/
# rest/delete.go: "the UID in the precondition (%s) does not match the UID in record (%s)...", and
# the same for ResourceVersion), and storage.Preconditions.Check's (staging/src/k8s.io/apiserver/
# pkg/storage/interfaces.go: "Precondition failed: UID in precondition: %v, UID in object meta: %v").
_PRECONDITION_FAILED = re.compile(
    r"Precondition failed:"
    r"|the (UID|ResourceVersion) in the precondition \(.*\) does not match the \1 in record"
)


def is_precondition_failure(body: Mapping[str, Any] | None) -> bool:
    """A 409 whose uid or resourceVersion precondition did not hold (either server text)."""
    return _PRECONDITION_FAILED.search(str((body or {}).get("message") or "")) is not None


def is_being_deleted(body: Mapping[str, Any] | None) -> bool:
    """A 409 ``AlreadyExists`` for a name whose object is still terminating (registry ``Store.Create``)."""
    body = body or {}
    return body.get("reason") == "AlreadyExists" and str(body.get("message") or "").startswith(
        "object is being deleted:"
    )


def classify_transport(error_name: str) -> RetryDecision:
    """A request that got no HTTP answer (reset, refused, timeout, truncated body) is always retried."""
    return RetryDecision(True, f"connection problem ({error_name})")


def delay_for(policy: RetryPolicy, decision: RetryDecision, retry: int, random: float) -> float:
    """How long to sleep before retry number ``retry``; a server's Retry-After wins, within a cap."""
    if decision.retry_after is not None:
        return min(decision.retry_after, policy.max_retry_after_seconds)
    return policy.backoff(retry, random)
