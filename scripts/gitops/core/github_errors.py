"""Turn a GitHub API refusal into a sentence a user can act on (pure).

The token kind is read from its documented prefix
(https://github.blog/engineering/platform-security/behind-githubs-new-authentication-token-formats/):
``ghp_`` classic personal access token, ``github_pat_`` fine-grained one, ``gho_`` OAuth,
``ghu_`` GitHub App user token, ``ghs_`` GitHub App installation token, which is also what the
workflow's own ``GITHUB_TOKEN`` is. ``GITHUB_TOKEN`` can never write secrets, whatever its
``permissions:`` say, so a 403 on a secret with a ``ghs_`` token taken from ``$GITHUB_TOKEN``
says exactly that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gitops.errors import ConfigurationError

CLASSIC_PAT = "classic personal access token"
FINE_GRAINED_PAT = "fine-grained personal access token"
OAUTH = "OAuth token"
APP_USER = "GitHub App user token"
INSTALLATION = "GitHub App installation token"
UNKNOWN = "token"

_PREFIXES = (
    ("github_pat_", FINE_GRAINED_PAT),
    ("ghp_", CLASSIC_PAT),
    ("gho_", OAUTH),
    ("ghu_", APP_USER),
    ("ghs_", INSTALLATION),
)


def token_kind(token: str) -> str:
    """The kind of a GitHub token from its prefix (never returns any part of the token)."""
    for prefix, kind in _PREFIXES:
        if token.startswith(prefix):
            return kind
    return UNKNOWN


@dataclass(frozen=True)
class TokenInfo:
    """Where the token came from, and what kind it is; never the token itself."""

    kind: str
    source: str  # "GH_TOKEN", "GITHUB_TOKEN" or "GitHub App <id>"
    minted: bool = False  # we created it from a GitHub App key

    @property
    def maybe_workflow_token(self) -> bool:
        return self.kind == INSTALLATION and not self.minted

    def describe(self) -> str:
        return f"the {self.kind} from {self.source}"


@dataclass(frozen=True)
class Needs:
    """What one operation needs, per token kind (shown when GitHub says 403)."""

    fine_grained: str  # e.g. 'repository permissions "Environments: Read and write" and ...'
    classic: str  # e.g. "the `repo` scope"
    app: str  # e.g. 'the "Secrets" and "Environments" repository permissions (Read and write)'
    workflow_token: str | None = None  # None: GITHUB_TOKEN cannot do it at all; else the grant


SECRETS_WRITE = Needs(
    fine_grained='the repository permissions "Environments: Read and write" and "Secrets: Read and write"',
    classic="the `repo` scope",
    app='the repository permissions "Secrets: Read and write" and "Environments: Read and write"',
    workflow_token=None,
)
ACTIONS_WRITE = Needs(
    fine_grained='the repository permission "Actions: Read and write"',
    classic="the `repo` scope (or `public_repo` for a public repository) and `workflow`",
    app='the repository permission "Actions: Read and write"',
    workflow_token="`permissions: actions: write` in the calling job (same repository only)",  # noqa: S106
)
READ_REPO = Needs(
    fine_grained='the repository permission "Metadata: Read" (granted with any repository access)',
    classic="the `repo` scope for a private repository",
    app='access to this repository (install the App on it) and "Metadata: Read"',
    workflow_token="`permissions: contents: read` in the calling job",  # noqa: S106
)


def body_message(body: object) -> str:
    """GitHub's ``message`` plus every ``errors[].message``/``code``, as one line."""
    if not isinstance(body, Mapping):
        return str(body)[:300] if body else ""
    parts = [str(body.get("message") or "").strip()]
    errors = body.get("errors")
    if isinstance(errors, list):
        for err in errors:
            if isinstance(err, Mapping):
                detail = err.get("message") or " ".join(
                    str(err[k]) for k in ("resource", "field", "code") if err.get(k)
                )
                if detail:
                    parts.append(str(detail))
            elif err:
                parts.append(str(err))
    return "; ".join(p for p in parts if p)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def explain(
    status: int,
    body: object,
    headers: Mapping[str, str],
    *,
    operation: str,
    token: TokenInfo,
    needs: Needs,
) -> ConfigurationError:
    """A :class:`ConfigurationError` for a 401/403/404/422 answer to ``operation``.

    404s that need a probe to tell "repository" from "environment" are resolved by the caller
    (it knows how to probe); this handles the generic wording.
    """
    message = body_message(body)
    said = f" (GitHub said: {message})" if message else ""
    docs = body.get("documentation_url") if isinstance(body, Mapping) else None
    if status == 401:
        return _unauthorized(operation, token, said)
    if status == 403:
        return _forbidden(headers, operation, token, needs, said)
    if status == 404:
        return ConfigurationError(
            f"GitHub answered 404 Not Found to {operation}{said}: it does not exist, or "
            f"{token.describe()} cannot see it (GitHub hides what a token may not read)",
            title="Not found on GitHub",
            hint=f"check the names; the token needs {needs.fine_grained} (fine-grained) or "
            f"{needs.classic} (classic)" + (f"; see {docs}" if docs else ""),
        )
    if status in (400, 409, 422):
        return ConfigurationError(
            f"GitHub refused to {operation}: {message or f'HTTP {status}'}",
            title="GitHub rejected the request",
            hint=f"see {docs}" if docs else None,
        )
    return ConfigurationError(f"GitHub answered HTTP {status} to {operation}{said}", title="GitHub error")


def _unauthorized(operation: str, token: TokenInfo, said: str) -> ConfigurationError:
    """401: the token itself is wrong, expired or revoked; how to get a new one depends on its kind."""
    hint = {
        INSTALLATION: "an installation token lives one hour and the workflow's GITHUB_TOKEN only as long "
        "as its job; mint a fresh one",
        FINE_GRAINED_PAT: "fine-grained tokens expire; check its expiry date under Settings > Developer "
        "settings, or create a new one",
        CLASSIC_PAT: "create a new token under Settings > Developer settings if it expired or was revoked",
    }.get(token.kind, "pass a valid token in GH_TOKEN (or GITHUB_TOKEN)")
    return ConfigurationError(
        f"GitHub rejected {token.describe()} while trying to {operation}: it is wrong, expired or "
        f"revoked (HTTP 401){said}",
        title="GitHub token rejected",
        hint=hint,
    )


def _forbidden(
    headers: Mapping[str, str], operation: str, token: TokenInfo, needs: Needs, said: str
) -> ConfigurationError:
    """403: the token lacks a permission; what GitHub says it needs, and the grant for this kind of token."""
    accepted = _header(headers, "x-accepted-github-permissions")
    lines = [f"GitHub refused to {operation} with {token.describe()} (HTTP 403){said}."]
    if accepted:
        lines.append(f"GitHub says this call needs the permissions: {accepted}.")
    if token.maybe_workflow_token and needs.workflow_token is None:
        who = (
            "This looks like the workflow's GITHUB_TOKEN (a ghs_ token in $GITHUB_TOKEN)"
            if token.source == "GITHUB_TOKEN"
            else "If this is the workflow's GITHUB_TOKEN (a ghs_ token is that or a GitHub App token)"
        )
        lines.append(
            f"{who}: GITHUB_TOKEN can never do this, whatever `permissions:` grant. Use a fine-grained "
            "personal access token or a GitHub App installation token."
        )
    hint = _grant(token, needs, _header(headers, "x-oauth-scopes"))
    return ConfigurationError(" ".join(lines), title="GitHub permission missing", hint=hint)


def _grant(token: TokenInfo, needs: Needs, scopes: str | None) -> str:
    """What to give this kind of token (``scopes``: a classic token's, as GitHub reported them)."""
    if token.kind == CLASSIC_PAT:
        have = f" (it has: {scopes or 'no scopes'})" if scopes is not None else ""
        return f"give the token {needs.classic}{have}"
    if token.kind == FINE_GRAINED_PAT:
        return (
            f"give the token {needs.fine_grained} on this repository (and, for an organization, make "
            "sure the organization approved the token)"
        )
    if token.kind == INSTALLATION:
        hint = f"grant the GitHub App {needs.app}, and accept the new permissions on the installation"
        if token.maybe_workflow_token:
            hint += (
                f"; for the workflow's GITHUB_TOKEN grant {needs.workflow_token}"
                if needs.workflow_token
                else "; GITHUB_TOKEN cannot be used for this"
            )
        return hint
    return (
        f"fine-grained token: {needs.fine_grained}; classic token: {needs.classic}; GitHub App: {needs.app}"
    )
