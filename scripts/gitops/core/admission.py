"""Was a request refused by the cluster's admission control rather than by the API's own validation?

Three refusals a deploy meets, each recognised from the words upstream code puts in the
``Status`` message (the structured fields do not tell them apart from validation errors):

* a ValidatingAdmissionPolicy (``staging/src/k8s.io/apiserver/pkg/admission/plugin/policy/
  validating/dispatcher.go``, ``Dispatch``): ``<resource> "<name>" is forbidden:
  ValidatingAdmissionPolicy '<policy>' with binding '<binding>' denied request: <message>``.
  Its reason is the policy's (default ``Invalid``, so a 422), ``details.kind`` is the
  RESOURCE ("configmaps"), and its one cause has a message but no field or reason;
* a validating or mutating webhook (``.../admission/plugin/webhook/errors/statuserror.go``,
  ``ToStatusErr``): ``admission webhook "<name>" denied the request: <message>`` (or
  ``... denied the request without explanation``), with whatever code, reason and causes the
  webhook answered;
* the PersistentVolumeClaimResize admission plugin (``plugin/pkg/admission/storage/
  persistentvolume/resize/admission.go``): a 403 ``... is forbidden: only dynamically
  provisioned pvc can be resized and the storageclass that provisions the pvc must support resize``.

A denial is never an immutable field, whatever its causes name: nothing is re-created for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_POLICY = re.compile(
    r"ValidatingAdmissionPolicy '(?P<policy>[^']*)'(?: with binding '(?P<binding>[^']*)')? denied request: ?"
)
_WEBHOOK = re.compile(
    r'admission webhook "(?P<webhook>[^"]*)" denied the request(?::| without explanation) ?'
)
PVC_RESIZE_REFUSED = (
    "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc "
    "must support resize"
)


@dataclass(frozen=True)
class Denial:
    """Who refused the request and what they said."""

    by: str  # "ValidatingAdmissionPolicy 'p' (binding 'b')" or "admission webhook \"w\""
    message: str  # the policy's or webhook's own words

    def __str__(self) -> str:
        return f"denied by {self.by}: {self.message}" if self.message else f"denied by {self.by}"


def denial_of(status: Mapping[str, Any]) -> Denial | None:
    """The admission denial in a ``Status``, or None when the API's own validation answered."""
    message = str(status.get("message") or "")
    policy = _POLICY.search(message)
    if policy:
        binding = f" (binding '{policy['binding']}')" if policy["binding"] else ""
        by = f"ValidatingAdmissionPolicy '{policy['policy']}'{binding}"
        return Denial(by, message[policy.end() :].strip())
    webhook = _WEBHOOK.search(message)
    if webhook:
        return Denial(f'admission webhook "{webhook["webhook"]}"', message[webhook.end() :].strip())
    return None


def is_resize_refused(status: Mapping[str, Any]) -> bool:
    """The PersistentVolumeClaimResize plugin refused to grow a claim (its StorageClass cannot expand)."""
    return int(status.get("code") or 0) == 403 and PVC_RESIZE_REFUSED in str(status.get("message") or "")
