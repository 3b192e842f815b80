"""gitops.core.github_errors: token kinds and the sentences a refusal turns into."""

from __future__ import annotations

import pytest

from gitops.core.github_errors import (
    ACTIONS_WRITE,
    CLASSIC_PAT,
    FINE_GRAINED_PAT,
    INSTALLATION,
    SECRETS_WRITE,
    UNKNOWN,
    TokenInfo,
    body_message,
    explain,
    token_kind,
)


@pytest.mark.parametrize(
    ("token", "kind"),
    [
        ("github_pat_11ABC", FINE_GRAINED_PAT),
        ("ghp_abc", CLASSIC_PAT),
        ("ghs_abc", INSTALLATION),
        ("gho_abc", "OAuth token"),
        ("ghu_abc", "GitHub App user token"),
        ("0123456789abcdef0123456789abcdef01234567", UNKNOWN),
    ],
)
def test_token_kind_from_prefix(token: str, kind: str) -> None:
    assert token_kind(token) == kind


def test_body_message_joins_validation_errors() -> None:
    body = {
        "message": "Validation Failed",
        "errors": [
            {"resource": "Secret", "field": "name", "code": "invalid"},
            {"message": "too long"},
            "plain",
        ],
    }
    assert body_message(body) == "Validation Failed; Secret name invalid; too long; plain"
    assert body_message(None) == ""


@pytest.mark.parametrize(
    ("token", "present", "absent"),
    [
        pytest.param(
            TokenInfo(INSTALLATION, "GITHUB_TOKEN"),
            ["This looks like the workflow's GITHUB_TOKEN", "can never do this"],
            [],
            id="ghs-from-GITHUB_TOKEN",
        ),
        pytest.param(
            TokenInfo(INSTALLATION, "GH_TOKEN"),
            ["If this is the workflow's GITHUB_TOKEN", "can never do this"],
            [],
            id="ghs-from-GH_TOKEN",
        ),
        pytest.param(
            TokenInfo(INSTALLATION, "GitHub App 1", minted=True), [], ["GITHUB_TOKEN"], id="minted-app-token"
        ),
        pytest.param(TokenInfo(FINE_GRAINED_PAT, "GH_TOKEN"), [], ["GITHUB_TOKEN"], id="fine-grained"),
    ],
)
def test_403_on_secrets_says_when_the_workflow_token_cannot_work(
    token: TokenInfo, present: list[str], absent: list[str]
) -> None:
    err = explain(
        403,
        {"message": "Resource not accessible by integration"},
        {},
        operation="write",
        token=token,
        needs=SECRETS_WRITE,
    )
    for words in present:
        assert words in err.message
    for words in absent:
        assert words not in err.message


def test_403_on_a_dispatch_tells_the_workflow_token_which_permission_to_grant() -> None:
    err = explain(
        403, {}, {}, operation="dispatch", token=TokenInfo(INSTALLATION, "GITHUB_TOKEN"), needs=ACTIONS_WRITE
    )
    assert "can never" not in err.message
    assert err.hint is not None and "`permissions: actions: write`" in err.hint


def test_403_shows_the_accepted_permissions_header() -> None:
    err = explain(
        403,
        {"message": "nope"},
        {"X-Accepted-GitHub-Permissions": "secrets=write"},
        operation="write",
        token=TokenInfo(FINE_GRAINED_PAT, "GH_TOKEN"),
        needs=SECRETS_WRITE,
    )
    assert "GitHub says this call needs the permissions: secrets=write." in err.message


@pytest.mark.parametrize(
    ("status", "title"),
    [
        (401, "GitHub token rejected"),
        (404, "Not found on GitHub"),
        (422, "GitHub rejected the request"),
        (409, "GitHub rejected the request"),
    ],
)
def test_titles(status: int, title: str) -> None:
    err = explain(
        status,
        {"message": "m"},
        {},
        operation="op",
        token=TokenInfo(CLASSIC_PAT, "GH_TOKEN"),
        needs=SECRETS_WRITE,
    )
    assert err.title == title
    assert "m" in err.message
