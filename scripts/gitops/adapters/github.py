"""The GitHub REST API through PyGithub's requester, with our own retry policy.

The calls the verbs make are typed methods of :class:`GitHub`, each citing the REST endpoint it
speaks to: environments and their secrets (``gitops upload-kubeconfig``), workflows, refs,
contents and runs (``gitops dispatch``), and the comparison of two commits (``gitops deploy``,
when git cannot tell whether a commit is older than the deployed one). They return plain data;
deciding what a 404 means, or which run is ours, is the caller's (:mod:`gitops.operations`,
:mod:`gitops.core`).

Why one module of ~770 lines: it is one client. Every typed method is a few lines over the one
``request`` (retry policy, error explanation, the test clock), and authentication mints the
client those methods run on; apart, each piece would import the others' internals.

Why not PyGithub's defaults: its ``GithubRetry`` retries POST on 5xx, which can start a
workflow twice, and its throttle sleeps between calls. We build the client with
``retry=None`` (requests' adapter then makes exactly one attempt) and
``seconds_between_requests/writes=None``, and retry here, per
:mod:`gitops.core.github_http`: GET/PUT/DELETE on 5xx and dropped connections, any method on a
rate limit, never a POST on 5xx. All waiting goes through :data:`clock`, so tests never sleep.

Authentication: ``GH_TOKEN`` or ``GITHUB_TOKEN`` (masked as soon as it is read), or a GitHub App
(``--app-id`` + the PEM private key in an environment variable): a JWT signed with the key
finds the App's installation on the repository and mints an installation token limited to
that repository (https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app).
``GITHUB_API_URL`` selects GitHub Enterprise Server (``https://HOST/api/v3``) or a test server.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import quote

from gitops.adapters import deadline, runner
from gitops.core import documents, github_errors, github_http, transport
from gitops.core.github_errors import Needs, TokenInfo
from gitops.errors import ConfigurationError

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
REPO_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
TIMEOUT_SECONDS = 30.0  # the default --request-timeout: one request, answer included
# GitHub's answers, read with the limits of a webhook payload (never nested past 100 levels).
_ANSWER = documents.DocumentKind(title="Invalid GitHub answer", limits=documents.PAYLOAD)


class Clock(Protocol):
    def time(self) -> float: ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


# The clock every GitHub call and every poll loop uses; tests replace it with a fake one.
clock: Clock = SystemClock()


class GitHubUnavailable(Exception):  # noqa: N818 - the name says what happened
    """GitHub failed (5xx, no answer) after the retries we allow; not the user's mistake.

    ``maybe_applied`` is True for a POST that may have taken effect before it failed.
    """

    def __init__(self, message: str, *, status: int | None = None, maybe_applied: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.maybe_applied = maybe_applied


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: Any
    text: str = field(repr=False, default="")

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def server_time(self) -> float | None:
        """GitHub's clock (epoch seconds) from the ``Date`` header, if it sent a readable one."""
        value = self.header("date")
        if not value:
            return None
        try:
            return parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            return None

    @property
    def json_object(self) -> Mapping[str, Any]:
        """The body when it is a JSON object, else an empty one."""
        return self.body if isinstance(self.body, Mapping) else {}


def segment(value: str | int) -> str:
    """One URL path segment, escaped (environment and branch names may hold spaces or slashes)."""
    return quote(str(value), safe="")


@dataclass(frozen=True)
class Repo:
    """A repository, ``owner/name``."""

    owner: str
    name: str

    @property
    def full(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def path(self) -> str:
        """``/repos/{owner}/{repo}``, escaped."""
        return f"/repos/{segment(self.owner)}/{segment(self.name)}"


@dataclass(frozen=True)
class Access:
    """Which repository, and how to authenticate: a token from the environment, or a GitHub App."""

    repo: Repo
    app_id: str | None = None
    app_private_key_env: str = "GITHUB_APP_PRIVATE_KEY"
    request_timeout: float = TIMEOUT_SECONDS

    def connect(self) -> GitHub:
        return connect(
            self.repo.owner,
            self.repo.name,
            app_id=self.app_id,
            app_private_key_env=self.app_private_key_env,
            request_timeout=self.request_timeout,
        )


@dataclass(frozen=True)
class PublicKey:
    """An environment's public key for secrets (base64), and its id."""

    key_id: str
    key: str


@dataclass(frozen=True)
class StoredSecret:
    """A secret that was written, as GitHub reports it when read back."""

    created: bool  # 201: a new secret; 204: an existing one replaced
    created_at: str | None
    updated_at: str | None
    encrypted_size: int  # bytes of the base64 sealed value sent


def seal(public_key_b64: str, value: str) -> str:
    """libsodium ``crypto_box_seal`` of ``value`` for ``public_key_b64``, base64 (what GitHub expects)."""
    from nacl.public import PublicKey as NaclPublicKey
    from nacl.public import SealedBox

    sealed = SealedBox(NaclPublicKey(base64.b64decode(public_key_b64, validate=True))).encrypt(
        value.encode("utf-8")
    )
    return base64.b64encode(sealed).decode("ascii")


def parse_repo(value: str, *, flag: str = "--repo") -> tuple[str, str]:
    value = value.strip()
    if not REPO_PATTERN.match(value):
        raise ConfigurationError(
            f"{flag} must be OWNER/NAME (found {value!r})",
            key=flag,
            title="Invalid repository",
            hint="e.g. --repo octo-org/platform-infra; inside Actions it defaults to $GITHUB_REPOSITORY",
        )
    owner, name = value.split("/", 1)
    return owner, name.removesuffix(".git")


class GitHub:
    """One authenticated API client. Every call names the operation for error messages."""

    def __init__(
        self,
        auth: Any,
        token: TokenInfo,
        base_url: str,
        *,
        policy: github_http.RetryPolicy,
        request_timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        from github import Github

        self.token = token
        self.base_url = base_url
        self.policy = policy
        self.request_timeout = request_timeout
        self.calls: list[tuple[str, str]] = []  # (method, path) in order, for the report and tests
        # The permissions of a token we minted for a GitHub App (None for other tokens).
        self.app_permissions: dict[str, str] | None = None
        self._client = Github(
            auth=auth,
            base_url=base_url,
            retry=None,  # one attempt per send: retries are ours (see module docstring)
            seconds_between_requests=None,
            seconds_between_writes=None,
            timeout=max(1, math.ceil(request_timeout)),  # per read; deadline.request bounds it all
            user_agent="gitops-deploy-suite",
        )

    def close(self) -> None:
        self._client.close()

    # -- one call ------------------------------------------------------------------------------
    def _send(self, method: str, path: str, params: Mapping[str, str] | None, body: Any) -> Response:
        import requests

        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
        self.calls.append((method, path))
        try:
            with deadline.request(self.request_timeout) as armed:
                try:
                    status, resp_headers, text = self._client.requester.requestJson(
                        method, path, parameters=dict(params or {}), headers=headers, input=body
                    )
                except requests.RequestException as exc:
                    if armed.expired:
                        raise _NoAnswer(
                            f"no complete answer within {armed.seconds:g}s (--request-timeout): GitHub "
                            "sends too slowly, or nothing"
                        ) from None
                    raise _NoAnswer(type(exc).__name__) from None
        except deadline.VerbDeadlineExceeded as exc:
            raise GitHubUnavailable(f"{exc}; not sending {method} {path}") from None
        lowered = {str(k).lower(): str(v) for k, v in resp_headers.items()}
        parsed: Any = None
        if text:
            try:
                parsed = documents.parse_json(text, None, _ANSWER)
            except documents.DocumentError:
                parsed = None
        return Response(status, lowered, parsed, text)

    def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        needs: Needs,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        ok: Iterable[int] = (200,),
        handle: Iterable[int] = (),
    ) -> Response:
        """Send, retrying per policy; return a response whose status is in ``ok`` or ``handle``.

        Any other 4xx raises a :class:`ConfigurationError` that explains it; 5xx or no answer
        (after retries, or at once for a POST) raises :class:`GitHubUnavailable`.
        """
        method = method.upper()
        accepted = set(ok) | set(handle)
        attempt = 0
        while True:
            attempt += 1
            response: Response | None
            try:
                response = self._send(method, path, params, body)
                status: int | None = response.status
                headers = response.headers
                message = github_errors.body_message(response.body)
            except _NoAnswer as exc:
                response, status, headers, message = None, None, {}, str(exc)
            if response is not None and response.status in accepted:
                return response
            decision = github_http.decide(
                method, status, headers, attempt, clock.time(), message=message, policy=self.policy
            )
            if decision.rate_limited:
                raise ConfigurationError(
                    f"could not {operation}: {decision.rate_limited}", title="GitHub rate limit"
                )
            if decision.retry and not deadline.verb_has(decision.delay):
                raise GitHubUnavailable(
                    f"GitHub: {method} {path} -> {status or 'no answer'} ({message}), and "
                    f"{deadline.verb_exhausted_message(before_retry=True)}",
                    status=status,
                    maybe_applied=method not in github_http.IDEMPOTENT_METHODS,
                )
            if decision.retry:
                runner.current().log(
                    f"GitHub: {method} {path} -> {status or 'no answer'} ({message}): {decision.reason}; "
                    f"retrying in {decision.delay:.0f}s"
                )
                clock.sleep(decision.delay)
                continue
            if response is None:
                raise GitHubUnavailable(
                    f"GitHub did not answer {method} {path} ({message}) while trying to {operation}",
                    maybe_applied=method not in github_http.IDEMPOTENT_METHODS,
                )
            if response.status >= 500:
                raise GitHubUnavailable(
                    f"GitHub answered HTTP {response.status} to {method} {path} while trying to {operation}"
                    + (f" after {attempt} attempts" if attempt > 1 else ""),
                    status=response.status,
                    maybe_applied=method not in github_http.IDEMPOTENT_METHODS,
                )
            raise github_errors.explain(
                response.status,
                response.body,
                response.headers,
                operation=operation,
                token=self.token,
                needs=needs,
            )

    def require_app_permissions(self, *requirements: tuple[str, ...], operation: str) -> None:
        """Fail before any change when a minted App token lacks write access.

        Each requirement is a tuple of alternatives, e.g. ``("secrets", "environments")``: one of
        them must be granted ``write``.
        """
        if self.app_permissions is None:
            return
        granted = {k for k, v in self.app_permissions.items() if v in ("write", "admin")}
        missing = [
            " or ".join(f'"{name.replace("_", " ").capitalize()}"' for name in alternatives)
            + ": Read and write"
            for alternatives in requirements
            if not granted & set(alternatives)
        ]
        if missing:
            raise ConfigurationError(
                f"the GitHub App's installation token cannot {operation}: it lacks {'; '.join(missing)}",
                title="GitHub permission missing",
                hint="add the permissions on the App's settings page (Permissions & events), then approve "
                "them on the installation",
            )

    def repository_visible(self, owner: str, repo: str) -> bool:
        """True if the token can see the repository (used to explain a 404)."""
        response = self.request(
            "GET",
            f"/repos/{segment(owner)}/{segment(repo)}",
            operation=f"read {owner}/{repo}",
            needs=github_errors.READ_REPO,
            handle=(404, 403),
        )
        return response.status == 200

    # -- environments and their secrets ------------------------------------------------------
    # https://docs.github.com/en/rest/deployments/environments
    # https://docs.github.com/en/rest/actions/secrets (environment secrets)

    def environment_exists(self, repo: Repo, environment: str, *, needs: Needs) -> bool:
        """``GET /repos/{o}/{r}/environments/{env}``: 200 or 404."""
        found = self.request(
            "GET",
            _environment_path(repo, environment),
            operation=f"read {_environment_words(repo, environment)}",
            needs=needs,
            handle=(404,),
        )
        return found.status == 200

    def create_environment(self, repo: Repo, environment: str) -> None:
        """``PUT /repos/{o}/{r}/environments/{env}`` with no protection rules."""
        self.request(
            "PUT",
            _environment_path(repo, environment),
            operation=f"create {_environment_words(repo, environment)}",
            needs=Needs(
                fine_grained='the repository permission "Administration: Read and write" (creating '
                "environments)",
                classic="the `repo` scope",
                app='the repository permission "Administration: Read and write"',
            ),
            body={},
            ok=(200, 201),
        )

    def environment_public_key(self, repo: Repo, environment: str) -> PublicKey | None:
        """``GET .../environments/{env}/secrets/public-key``; None when GitHub answers 404."""
        where = _environment_words(repo, environment)
        key = self.request(
            "GET",
            f"{_environment_path(repo, environment)}/secrets/public-key",
            operation=f"read the public key of {where}",
            needs=github_errors.SECRETS_WRITE,
            handle=(404,),
        )
        if key.status == 404:
            return None
        body = key.json_object
        if isinstance(body.get("key"), str) and body.get("key_id") is not None:
            return PublicKey(str(body["key_id"]), str(body["key"]))
        raise GitHubUnavailable("GitHub's public-key answer has no `key` and `key_id`")

    def put_environment_secret(
        self, repo: Repo, environment: str, name: str, value: str, key: PublicKey
    ) -> StoredSecret:
        """Seal ``value`` with ``key``, ``PUT .../secrets/{name}`` (201 or 204), then read it back."""
        where = _environment_words(repo, environment)
        path = f"{_environment_path(repo, environment)}/secrets/{segment(name)}"
        try:
            encrypted = seal(key.key, value)
        except (binascii.Error, ValueError, TypeError) as exc:
            raise GitHubUnavailable(
                f"GitHub returned a public key for {where} that is not a 32-byte base64 key "
                f"({type(exc).__name__})"
            ) from None
        put = self.request(
            "PUT",
            path,
            operation=f"write secret {name} in {where}",
            needs=github_errors.SECRETS_WRITE,
            body={"encrypted_value": encrypted, "key_id": key.key_id},
            ok=(201, 204),
        )
        meta = self.request(
            "GET", path, operation=f"read back secret {name} in {where}", needs=github_errors.SECRETS_WRITE
        ).json_object
        return StoredSecret(
            created=put.status == 201,
            created_at=_text(meta.get("created_at")),
            updated_at=_text(meta.get("updated_at")),
            encrypted_size=len(encrypted),
        )

    # -- workflows, refs, contents, runs -----------------------------------------------------
    # https://docs.github.com/en/rest/actions/workflows, /rest/actions/workflow-runs,
    # /rest/git/refs, /rest/repos/contents, /rest/users/users, /rest/commits/commits (compare)

    def list_workflows(self, repo: Repo) -> list[dict[str, Any]] | None:
        """``GET .../actions/workflows``, every page (at most 1000); None when GitHub answers 404."""
        items: list[dict[str, Any]] = []
        for page in range(1, 11):
            response = self.request(
                "GET",
                f"{repo.path}/actions/workflows",
                operation=f"list the workflows of {repo.full}",
                needs=github_errors.ACTIONS_WRITE,
                params={"per_page": "100", "page": str(page)},
                handle=(404,),
            )
            if response.status == 404:
                return None
            body = response.json_object
            batch = [w for w in body.get("workflows", []) if isinstance(w, dict)]
            items.extend(batch)
            total = body.get("total_count")
            if len(batch) < 100 or (isinstance(total, int) and len(items) >= total):
                break
        return items

    def git_ref(self, repo: Repo, kind: str, name: str) -> Response | None:
        """``GET .../git/ref/{heads|tags}/{name}``; None when there is no such ref."""
        what = "branch" if kind == "heads" else "tag"
        response = self.request(
            "GET",
            f"{repo.path}/git/ref/{kind}/{quote(name, safe='/')}",
            operation=f"look up {what} {name!r} in {repo.full}",
            needs=github_errors.READ_REPO,
            handle=(404,),
        )
        return response if response.status == 200 else None

    def file_text(self, repo: Repo, path: str, ref: str) -> str | None:
        """``GET .../contents/{path}?ref=``, decoded; None when it is missing, forbidden or not text."""
        response = self.request(
            "GET",
            f"{repo.path}/contents/{quote(path, safe='/')}",
            operation=f"read {path} at {ref}",
            needs=github_errors.READ_REPO,
            params={"ref": ref},
            handle=(403, 404),
        )
        if response.status != 200:
            return None
        try:
            return base64.b64decode(str(response.json_object.get("content", ""))).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None

    def compare_commits(self, repo: Repo, base: str, head: str) -> str | None:
        """``GET .../compare/{base}...{head}``: GitHub's ``status`` of head against base, one of
        ``ahead``, ``behind`` (head is an ancestor of base), ``identical``, ``diverged``; None when
        GitHub does not know one of the commits (404). ``per_page=1``: only the status is read, not
        the commit list (https://docs.github.com/en/rest/commits/commits#compare-two-commits)."""
        response = self.request(
            "GET",
            f"{repo.path}/compare/{segment(base)}...{segment(head)}",
            operation=f"compare {base[:12]}...{head[:12]} in {repo.full}",
            needs=github_errors.READ_REPO,
            params={"per_page": "1"},
            handle=(404,),
        )
        if response.status == 404:
            return None
        status = response.json_object.get("status")
        if status not in ("ahead", "behind", "identical", "diverged"):
            raise GitHubUnavailable(f"GitHub's compare answer has no known `status` (got {status!r})")
        return str(status)

    def dispatch_workflow(
        self,
        repo: Repo,
        workflow: Mapping[str, Any],
        ref: str,
        inputs: Mapping[str, str],
        *,
        run_details: bool,
    ) -> Response:
        """``POST .../actions/workflows/{id}/dispatches``: 200 with the run's details (when asked
        for with ``return_run_details``), 204 without; a 400/422 is returned for the caller to read
        (an older GitHub Enterprise Server refuses ``return_run_details``). Never retried on 5xx."""
        body: dict[str, Any] = {"ref": ref, "inputs": dict(inputs)}
        if run_details:
            body["return_run_details"] = True
        return self.request(
            "POST",
            f"{repo.path}/actions/workflows/{workflow.get('id')}/dispatches",
            operation=dispatch_words(workflow, ref),
            needs=github_errors.ACTIONS_WRITE,
            body=body,
            ok=(200, 204),
            handle=(400, 422) if run_details else (),
        )

    def workflow_runs(self, repo: Repo, workflow: Mapping[str, Any], *, created_since: str) -> list[Any]:
        """``GET .../actions/workflows/{id}/runs`` of ``workflow_dispatch`` runs created since then."""
        response = self.request(
            "GET",
            f"{repo.path}/actions/workflows/{workflow.get('id')}/runs",
            operation=f"list the runs of {workflow.get('path')}",
            needs=github_errors.ACTIONS_WRITE,
            params={"event": "workflow_dispatch", "created": f">={created_since}", "per_page": "50"},
        )
        runs = response.json_object.get("workflow_runs", [])
        return list(runs) if isinstance(runs, list) else []

    def workflow_run(self, repo: Repo, run_id: int) -> Mapping[str, Any]:
        """``GET .../actions/runs/{id}``."""
        return self.request(
            "GET",
            f"{repo.path}/actions/runs/{run_id}",
            operation=f"read run {run_id}",
            needs=github_errors.ACTIONS_WRITE,
        ).json_object

    def user_login(self) -> str | None:
        """``GET /user``: the login behind a personal token; None when GitHub will not say."""
        response = self.request(
            "GET",
            "/user",
            operation="read the token's user",
            needs=github_errors.READ_REPO,
            handle=(401, 403, 404),
        )
        login = response.json_object.get("login") if response.status == 200 else None
        return str(login) if login else None


def dispatch_words(workflow: Mapping[str, Any], ref: str) -> str:
    """What a dispatch is called in messages: ``dispatch .github/workflows/x.yml on main``."""
    return f"dispatch {workflow.get('path', '')} on {ref}"


def _environment_path(repo: Repo, environment: str) -> str:
    return f"{repo.path}/environments/{segment(environment)}"


def _environment_words(repo: Repo, environment: str) -> str:
    return f"environment {environment!r} of {repo.full}"


def _text(value: object) -> str | None:
    return None if value is None else str(value)


class _NoAnswer(Exception):  # noqa: N818 - internal signal
    pass


# -- connecting --------------------------------------------------------------------------------


def api_url() -> str:
    """``GITHUB_API_URL`` (else github.com): https, or plain http to this machine only.

    The token travels in every request's ``Authorization`` header; over plain http anyone on the
    path reads it. A loopback address (a test server, an SSH tunnel) never leaves the machine.
    """
    run = runner.current()
    url = run.env("GITHUB_API_URL").strip() or DEFAULT_API_URL
    problem = transport.refuse_plain_http(url)
    if problem is not None:
        raise ConfigurationError(
            f"GITHUB_API_URL {problem}",
            key="GITHUB_API_URL",
            title="Insecure GitHub API URL",
            hint="unset it for github.com, or set https://HOST/api/v3 for GitHub Enterprise Server; "
            "plain http is accepted only for 127.0.0.1, ::1 or localhost",
        )
    return url.rstrip("/")


def connect(
    owner: str,
    repo: str,
    *,
    app_id: str | None = None,
    app_private_key_env: str = "GITHUB_APP_PRIVATE_KEY",
    policy: github_http.RetryPolicy | None = None,
    request_timeout: float = TIMEOUT_SECONDS,
) -> GitHub:
    """An authenticated client for ``owner/repo``: a token from the environment, or a GitHub App."""
    from github import Auth

    run = runner.current()
    policy = policy or github_http.RetryPolicy()
    base = api_url()
    if app_id:
        return _connect_app(
            owner,
            repo,
            app_id.strip(),
            app_private_key_env,
            base=base,
            policy=policy,
            request_timeout=request_timeout,
        )
    for name in ("GH_TOKEN", "GITHUB_TOKEN"):
        token = run.env(name).strip()
        if token:
            run.mask(token)
            info = TokenInfo(github_errors.token_kind(token), name)
            return GitHub(Auth.Token(token), info, base, policy=policy, request_timeout=request_timeout)
    raise ConfigurationError(
        "no GitHub token: set GH_TOKEN (or GITHUB_TOKEN), or use --app-id with a GitHub App private key",
        key="GH_TOKEN",
        title="GitHub token missing",
        hint="in a workflow: `env: GH_TOKEN: ${{ secrets.INFRA_DEPLOY_TOKEN }}` on the step; on your "
        "machine: `export GH_TOKEN=$(gh auth token)` or a fine-grained token (github_pat_...)",
    )


def _connect_app(
    owner: str,
    repo: str,
    app_id: str,
    key_env: str,
    *,
    base: str,
    policy: github_http.RetryPolicy,
    request_timeout: float = TIMEOUT_SECONDS,
) -> GitHub:
    from github import Auth

    run = runner.current()
    if not app_id.isdigit():
        raise ConfigurationError(
            f"--app-id must be the App's numeric ID (found {app_id!r})",
            key="--app-id",
            hint="the App ID is on the App's settings page (General > About)",
        )
    pem = run.env(key_env)
    if not pem.strip():
        raise ConfigurationError(
            f"--app-id is set but ${key_env} (the App's PEM private key) is empty",
            key=key_env,
            title="GitHub App key missing",
            hint=f"pass the key from a secret: `env: {key_env}: ${{{{ secrets.APP_PRIVATE_KEY }}}}`",
        )
    jwt = _app_jwt(app_id, pem, key_env)
    app_info = TokenInfo("GitHub App JWT", f"GitHub App {app_id}", minted=True)
    app = GitHub(Auth.AppAuthToken(jwt), app_info, base, policy=policy, request_timeout=request_timeout)
    app_needs = Needs(
        fine_grained="-",
        classic="-",
        app="to be installed on the repository",
        workflow_token="-",  # noqa: S106 - a sentence, not a password
    )
    try:
        found = app.request(
            "GET",
            f"/repos/{segment(owner)}/{segment(repo)}/installation",
            operation=f"find GitHub App {app_id}'s installation on {owner}/{repo}",
            needs=app_needs,
            handle=(401, 404),
        )
        if found.status == 401:
            raise ConfigurationError(
                f"GitHub rejected the JWT for App {app_id}: the App ID and the private key do not belong "
                "together, or the key was revoked",
                key=key_env,
                title="GitHub App authentication failed",
                hint="check --app-id and generate a new private key on the App's settings page if needed",
            )
        if found.status == 404:
            raise ConfigurationError(
                f"GitHub App {app_id} is not installed on {owner}/{repo} (or the repository does not exist)",
                title="GitHub App not installed",
                hint="install the App on the repository (App settings > Install App), granting it access "
                "to this repository",
            )
        installation = found.body.get("id") if isinstance(found.body, Mapping) else None
        # Minting a token twice is harmless, but the POST still is not retried on 5xx (policy).
        minted = app.request(
            "POST",
            f"/app/installations/{segment(str(installation))}/access_tokens",
            operation=f"create an installation token for {owner}/{repo}",
            needs=app_needs,
            body={"repositories": [repo]},
            ok=(201,),
        )
    finally:
        app.close()
    token = minted.body.get("token") if isinstance(minted.body, Mapping) else None
    if not isinstance(token, str) or not token:
        raise GitHubUnavailable("GitHub returned no token when creating the installation token")
    run.mask(token)
    info = TokenInfo(github_errors.INSTALLATION, f"GitHub App {app_id}", minted=True)
    client = GitHub(Auth.Token(token), info, base, policy=policy, request_timeout=request_timeout)
    granted = minted.body.get("permissions") if isinstance(minted.body, Mapping) else None
    client.app_permissions = dict(granted) if isinstance(granted, Mapping) else None
    return client


def _app_jwt(app_id: str, pem: str, key_env: str) -> str:
    """The App's JWT (RS256, signed with its private key), masked; a bad key is the user's to fix."""
    from github import Auth

    run = runner.current()
    run.mask(pem)
    pem = pem.strip().replace("\\n", "\n") + "\n"  # keys pasted as one line with literal \n
    try:
        jwt = Auth.AppAuth(int(app_id), pem).token
    except Exception as exc:  # a bad key surfaces as ValueError/InvalidKeyError/... from cryptography/jwt
        raise ConfigurationError(
            f"${key_env} is not a usable GitHub App private key ({type(exc).__name__})",
            key=key_env,
            title="GitHub App key invalid",
            hint="use the PEM file GitHub generated for the App (-----BEGIN RSA PRIVATE KEY----- ...)",
        ) from None
    run.mask(jwt)
    return jwt
