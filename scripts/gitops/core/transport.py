"""Where a credential may travel: https, or plain http to this machine only (pure).

A GitHub token or a Kubernetes credential goes in every request's headers (or the URL's
userinfo); over plain ``http://`` anyone on the network path reads it. A loopback address never
leaves the machine (a test server, ``kubectl proxy``, an SSH tunnel), so it is the one exception:
``127.0.0.0/8`` and ``::1`` as written (RFC 1122 3.2.1.3, RFC 4291 2.5.3) and the name
``localhost`` (RFC 6761 6.3: resolves to loopback). A name that merely starts with
``localhost.`` or ``127.`` is a DNS name like any other, and is not trusted.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and a literal loopback address (``127.0.0.1``, ``[::1]``)."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def refuse_plain_http(url: str) -> str | None:
    """Why a credential must not be sent to ``url`` (the end of a sentence), or None when it may.

    Only ``https://`` (anywhere) and ``http://`` to a loopback host pass; any other scheme, a
    URL without a host, or one that cannot be parsed is refused too.
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return "is not a valid URL"
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return f"must be an https:// URL (found {scheme + '://' if scheme else 'no scheme'})"
    if not host:
        return "has no host"
    if scheme == "http" and not is_loopback(host):
        return (
            f"uses plain http to {host}: the credential would cross the network unencrypted; use "
            "https:// (plain http is accepted only for this machine: 127.0.0.1, ::1, localhost)"
        )
    return None
