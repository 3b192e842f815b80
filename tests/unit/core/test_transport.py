"""gitops.core.transport: a credential goes over https, or plain http to this machine only.

Loopback as the RFCs define it: 127.0.0.0/8 (RFC 1122 3.2.1.3), ::1 (RFC 4291 2.5.3), and the
name localhost (RFC 6761 6.3). Anything else over http, a name that only looks like loopback
included, is refused.
"""

from __future__ import annotations

import pytest

from gitops.core.transport import is_loopback, refuse_plain_http


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        pytest.param("127.0.0.1", True, id="ipv4-loopback"),
        pytest.param("127.255.0.9", True, id="anywhere-in-127/8"),
        pytest.param("::1", True, id="ipv6-loopback"),
        pytest.param("[::1]", True, id="ipv6-bracketed"),
        pytest.param("localhost", True, id="localhost"),
        pytest.param("LOCALHOST.", True, id="localhost-any-case-fqdn"),
        pytest.param("localhost.example.com", False, id="a-name-that-starts-like-localhost"),
        pytest.param("127.0.0.1.nip.io", False, id="a-name-that-starts-like-loopback"),
        pytest.param("10.0.0.1", False, id="private-is-not-loopback"),
        pytest.param("0.0.0.0", False, id="unspecified"),  # noqa: S104 - a host name to judge, not a bind
        pytest.param("", False, id="empty"),
    ],
)
def test_loopback(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected


@pytest.mark.parametrize(
    "url",
    [
        "https://api.github.com",
        "https://ghes.example/api/v3",
        "http://127.0.0.1:8080",
        "http://[::1]:6443/",
        "http://localhost/api/v3",
        "HTTP://127.0.0.1",
    ],
)
def test_allowed(url: str) -> None:
    assert refuse_plain_http(url) is None


@pytest.mark.parametrize(
    ("url", "words"),
    [
        pytest.param("http://api.github.com", "plain http to api.github.com", id="plain-http"),
        pytest.param("http://user:pw@10.0.0.5", "plain http to 10.0.0.5", id="private-address"),
        pytest.param("http://localhost.evil.example", "plain http", id="lookalike"),
        pytest.param("ftp://example", "must be an https:// URL (found ftp://)", id="other-scheme"),
        pytest.param("api.github.com", "found no scheme", id="no-scheme"),
        pytest.param("https://", "has no host", id="no-host"),
        pytest.param("https://host:99999", "not a valid URL", id="port-out-of-range"),
        pytest.param("http://[::1", "not a valid URL", id="unbalanced-bracket"),
    ],
)
def test_refused(url: str, words: str) -> None:
    problem = refuse_plain_http(url)
    assert problem is not None and words in problem
    assert "pw" not in problem  # the URL's userinfo is never repeated
