"""The fake GitHub REST API server (see the package docstring)."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

# Grant names follow GitHub's fine-grained permission names.
ALL_GRANTS = frozenset({"secrets", "environments", "administration", "actions", "contents"})
DOCS = "https://docs.github.com/rest"

# A run moves one state per GET until it is completed (queued -> in_progress -> completed).
DEFAULT_RUN_STATES: tuple[tuple[str, str | None], ...] = (
    ("queued", None),
    ("in_progress", None),
    ("completed", "success"),
)


class ApiError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message, "documentation_url": DOCS, **extra}
        self.headers: dict[str, str] = {}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it. ``token`` is the LABEL of the token, never its value."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    token: str | None
    status: int


@dataclass
class StoredSecret:
    encrypted_value: str
    key_id: str
    created_at: str
    updated_at: str


@dataclass
class WorkflowRun:
    id: int
    workflow_id: int
    workflow_path: str
    name: str
    event: str
    ref: str
    head_sha: str
    inputs: dict[str, Any]
    actor: str
    created_at: str
    states: list[tuple[str, str | None]] = field(default_factory=lambda: list(DEFAULT_RUN_STATES))
    polls: int = 0

    @property
    def status(self) -> str:
        return self.states[min(self.polls, len(self.states) - 1)][0]

    @property
    def conclusion(self) -> str | None:
        return self.states[min(self.polls, len(self.states) - 1)][1]


@dataclass(frozen=True)
class Token:
    label: str
    grants: frozenset[str]


@dataclass
class GitHubApp:
    """A GitHub App: installation tokens minted for a JWT signed with the app's private key."""

    app_id: int
    public_key_pem: str
    installation_id: int = 4242
    grants: frozenset[str] = ALL_GRANTS
    minted: list[str] = field(default_factory=list)


@dataclass
class _Workflow:
    id: int
    name: str
    path: str
    state: str
    dispatch_inputs: dict[str, dict[str, Any]] | None  # None: no workflow_dispatch trigger


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _load_workflows(directory: Path | None) -> list[_Workflow]:
    if directory is None or not directory.is_dir():
        return []
    found: list[_Workflow] = []
    files = sorted(p for p in directory.iterdir() if p.suffix in (".yml", ".yaml"))
    for number, path in enumerate(files, start=1):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        # PyYAML reads the bare key `on` as the boolean True (YAML 1.1).
        triggers = doc.get("on", doc.get(True, {}))
        dispatch: dict[str, dict[str, Any]] | None = None
        if isinstance(triggers, str):
            triggers = {triggers: None}
        elif isinstance(triggers, list):
            triggers = dict.fromkeys(triggers)
        if isinstance(triggers, dict) and "workflow_dispatch" in triggers:
            dispatch = dict(((triggers["workflow_dispatch"] or {}).get("inputs") or {}).items())
        rel = f".github/workflows/{path.name}"
        found.append(_Workflow(161_000 + number, str(doc.get("name") or rel), rel, "active", dispatch))
    return found


class FakeGitHub:
    """In-process fake of the GitHub REST API on 127.0.0.1 (a thread of this process)."""

    def __init__(
        self,
        repo: str = "acme/platform",
        *,
        environments: Iterable[str] = ("dev", "test", "prod"),
        workflows_dir: Path | None = None,
        repo_dir: Path | None = None,
        branches: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        default_branch: str = "main",
        tokens: Mapping[str, tuple[str, Iterable[str]]] | None = None,
        app: GitHubApp | None = None,
        return_run_details: bool = True,
        run_states: Iterable[tuple[str, str | None]] = DEFAULT_RUN_STATES,
        on_dispatch: Callable[[WorkflowRun], None] | None = None,
        trickle: float = 0.0,
    ) -> None:
        from nacl.public import PrivateKey

        self._private_key_cls = PrivateKey
        self.owner, self.name = repo.split("/", 1)
        self.repo = repo
        self.default_branch = default_branch
        self.repo_dir = repo_dir
        self.branches: dict[str, str] = dict(branches or {default_branch: "0" * 40})
        self.tags: dict[str, str] = dict(tags or {})
        if workflows_dir is None and repo_dir is not None:
            workflows_dir = repo_dir / ".github" / "workflows"
        self.workflows = _load_workflows(workflows_dir)
        self.tokens: dict[str, Token] | None = (
            None
            if tokens is None
            else {value: Token(label, frozenset(g)) for value, (label, g) in tokens.items()}
        )
        self.app = app
        self.return_run_details = return_run_details
        self.run_states = list(run_states)
        self.on_dispatch = on_dispatch
        # Seconds between the bytes of every answer (status line and headers included): a server
        # that trickles, so no read ever times out and only a total deadline ends a request.
        self.trickle = trickle
        self.requests: list[RecordedRequest] = []
        self.environments: dict[str, dict[str, Any]] = {}
        self.secrets: dict[str, dict[str, StoredSecret]] = {}
        self.runs: list[WorkflowRun] = []
        self._keys: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._ids = itertools.count(9_000_001)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for env in environments:
            self._create_environment(env)

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> FakeGitHub:
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-github", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeGitHub is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- assertions helpers ----------------------------------------------------------
    def decrypt_secret(self, environment: str, name: str) -> str:
        """Open the sealed box that was uploaded, with this environment's private key."""
        from nacl.public import SealedBox

        stored = self.secrets[environment][name]
        box = SealedBox(self._keys[environment])
        return box.decrypt(base64.b64decode(stored.encrypted_value)).decode("utf-8")

    @property
    def dispatches(self) -> list[WorkflowRun]:
        return [run for run in self.runs if run.event == "workflow_dispatch"]

    def calls(self, method: str | None = None, pattern: str = "") -> list[RecordedRequest]:
        """Recorded requests, optionally filtered by method and a regex on the path."""
        rx = re.compile(pattern)
        with self._lock:
            return [r for r in self.requests if (method is None or r.method == method) and rx.search(r.path)]

    def public_key(self, environment: str) -> tuple[str, str]:
        """(key_id, base64 public key) of an environment, as the API returns them."""
        key = self._keys[environment]
        raw = bytes(key.public_key)
        return hashlib.sha256(raw).hexdigest()[:20], base64.b64encode(raw).decode()

    # -- the repository's git data ------------------------------------------------------
    def _git(self, *args: str) -> str | None:
        assert self.repo_dir is not None
        done = subprocess.run(
            ["git", "-C", str(self.repo_dir), *args], capture_output=True, text=True, timeout=30, check=False
        )
        return done.stdout if done.returncode == 0 else None

    def ref_sha(self, kind: str, name: str) -> str | None:
        """SHA of a branch (`heads`) or tag (`tags`): live from ``repo_dir`` when given."""
        if self.repo_dir is not None:
            out = self._git("rev-parse", "--verify", "--quiet", f"refs/{kind}/{name}^{{commit}}")
            return out.strip() if out else None
        return (self.branches if kind == "heads" else self.tags).get(name)

    def file_at(self, ref: str, path: str) -> bytes | None:
        if self.repo_dir is None:
            return None
        done = subprocess.run(
            ["git", "-C", str(self.repo_dir), "show", f"{ref}:{path}"],
            capture_output=True,
            timeout=30,
            check=False,
        )
        return done.stdout if done.returncode == 0 else None

    # -- state -------------------------------------------------------------------------
    def _create_environment(self, name: str) -> dict[str, Any]:
        if name not in self.environments:
            now = _now()
            self.environments[name] = {
                "id": 500_000 + len(self.environments),
                "node_id": f"EN_{len(self.environments)}",
                "name": name,
                "created_at": now,
                "updated_at": now,
                "protection_rules": [],
                "deployment_branch_policy": None,
                "can_admins_bypass": True,
            }
            self._keys[name] = self._private_key_cls.generate()
            self.secrets[name] = {}
        return self.environments[name]

    def _base(self) -> str:
        return self.url

    def _repo_url(self) -> str:
        return f"{self._base()}/repos/{self.repo}"

    def _repo_json(self) -> dict[str, Any]:
        return {
            "id": 1296269,
            "node_id": "R_kgDOfake",
            "name": self.name,
            "full_name": self.repo,
            "private": True,
            "owner": {
                "login": self.owner,
                "id": 1,
                "type": "Organization",
                "url": f"{self._base()}/users/{self.owner}",
            },
            "html_url": f"https://github.com/{self.repo}",
            "url": self._repo_url(),
            "default_branch": self.default_branch,
            "visibility": "private",
            "archived": False,
            "disabled": False,
            "permissions": {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True},
        }

    def _env_json(self, name: str) -> dict[str, Any]:
        env = dict(self.environments[name])
        env["url"] = f"{self._repo_url()}/environments/{name}"
        env["html_url"] = (
            f"https://github.com/{self.repo}/deployments/activity_log?environments_filter={name}"
        )
        return env

    def _workflow_json(self, wf: _Workflow) -> dict[str, Any]:
        return {
            "id": wf.id,
            "node_id": f"W_{wf.id}",
            "name": wf.name,
            "path": wf.path,
            "state": wf.state,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "url": f"{self._repo_url()}/actions/workflows/{wf.id}",
            "html_url": f"https://github.com/{self.repo}/blob/{self.default_branch}/{wf.path}",
            "badge_url": f"https://github.com/{self.repo}/workflows/{wf.name}/badge.svg",
        }

    def _run_json(self, run: WorkflowRun) -> dict[str, Any]:
        url = f"{self._repo_url()}/actions/runs/{run.id}"
        branch = run.ref.removeprefix("refs/heads/")
        return {
            "id": run.id,
            "name": run.name,
            "node_id": f"WFR_{run.id}",
            "head_branch": branch,
            "head_sha": run.head_sha,
            "path": run.workflow_path,
            "display_title": run.name,
            "run_number": run.id - 9_000_000,
            "run_attempt": 1,
            "event": run.event,
            "status": run.status,
            "conclusion": run.conclusion,
            "workflow_id": run.workflow_id,
            "url": url,
            "html_url": f"https://github.com/{self.repo}/actions/runs/{run.id}",
            "jobs_url": f"{url}/jobs",
            "logs_url": f"{url}/logs",
            "cancel_url": f"{url}/cancel",
            "rerun_url": f"{url}/rerun",
            "workflow_url": f"{self._repo_url()}/actions/workflows/{run.workflow_id}",
            "created_at": run.created_at,
            "updated_at": run.created_at,
            "run_started_at": run.created_at,
            "actor": {"login": run.actor, "id": 2, "type": "User"},
            "triggering_actor": {"login": run.actor, "id": 2, "type": "User"},
            "repository": {"id": 1296269, "name": self.name, "full_name": self.repo, "url": self._repo_url()},
            "head_repository": {"id": 1296269, "name": self.name, "full_name": self.repo},
        }

    def _find_workflow(self, ident: str) -> _Workflow:
        for wf in self.workflows:
            if ident in (str(wf.id), wf.path.rsplit("/", 1)[-1]):
                return wf
        raise ApiError(404, "Not Found")

    # -- auth ----------------------------------------------------------------------------
    def _authenticate(self, header: str | None) -> Token | None:
        """Token for an ``Authorization`` header; raises 401 for an unknown or missing one."""
        if header is None:
            if self.tokens is None:
                return None
            raise ApiError(401, "Requires authentication")
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if self.app is not None and scheme.lower() == "bearer" and value.count(".") == 2:
            return self._app_jwt(value)
        if self.tokens is None:
            return Token("anonymous", ALL_GRANTS)
        token = self.tokens.get(value)
        if token is None:
            raise ApiError(401, "Bad credentials")
        return token

    def _app_jwt(self, jwt_value: str) -> Token:
        import jwt

        assert self.app is not None
        try:
            claims = jwt.decode(jwt_value, self.app.public_key_pem, algorithms=["RS256"])
        except jwt.PyJWTError as exc:
            raise ApiError(401, f"A JSON web token could not be decoded ({type(exc).__name__})") from exc
        if str(claims.get("iss")) != str(self.app.app_id):
            raise ApiError(401, "'Issuer' claim ('iss') must be an Integer")
        return Token("app-jwt", frozenset({"app"}))

    @staticmethod
    def _need(token: Token | None, *any_of: str) -> None:
        if token is None or not set(any_of) & token.grants:
            raise ApiError(403, "Resource not accessible by integration")

    # -- routing -------------------------------------------------------------------------
    def handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        split = urlsplit(raw_path)
        path = unquote(split.path).rstrip("/") or "/"
        if path.startswith("/api/v3/"):  # GitHub Enterprise Server layout
            path = path[len("/api/v3") :]
        query = parse_qs(split.query)
        parsed: Any = None
        status = 500
        label: str | None = None
        try:
            if body:
                try:
                    parsed = json.loads(body)
                except ValueError as exc:
                    raise ApiError(400, "Problems parsing JSON") from exc
            token = self._authenticate(headers.get("Authorization"))
            label = token.label if token else None
            with self._lock:
                status, payload, extra = self._route(method, path, query, parsed, token)
        except ApiError as err:
            status, payload, extra = err.status, err.body, err.headers
        finally:
            with self._lock:
                self.requests.append(RecordedRequest(method, path, query, parsed, label, status))
        return status, payload, extra

    _ROUTES: ClassVar[list[tuple[str, re.Pattern[str], str]]] = [
        (m, re.compile(p), h)
        for m, p, h in [
            ("GET", r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)$", "get_repo"),
            ("GET", r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/environments$", "list_environments"),
            ("GET", r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/environments/(?P<env>[^/]+)$", "get_environment"),
            ("PUT", r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/environments/(?P<env>[^/]+)$", "put_environment"),
            (
                "GET",
                r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/environments/(?P<env>[^/]+)/secrets/public-key$",
                "get_public_key",
            ),
            (
                "GET",
                r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/environments/(?P<env>[^/]+)/secrets$",
                "list_secrets",
            ),
            (
                "GET",
                r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/environments/(?P<env>[^/]+)/secrets/(?P<name>[^/]+)$",
                "get_secret",
            ),
            (
                "PUT",
                r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/environments/(?P<env>[^/]+)/secrets/(?P<name>[^/]+)$",
                "put_secret",
            ),
            ("GET", r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/actions/workflows$", "list_workflows"),
            ("GET", r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/actions/workflows/(?P<wf>[^/]+)$", "get_workflow"),
            (
                "POST",
                r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/actions/workflows/(?P<wf>[^/]+)/dispatches$",
                "dispatch",
            ),
            ("GET", r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/actions/workflows/(?P<wf>[^/]+)/runs$", "list_runs"),
            ("GET", r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/actions/runs$", "list_runs"),
            ("GET", r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/actions/runs/(?P<run>\d+)$", "get_run"),
            (
                "GET",
                r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/git/refs?/(?P<kind>heads|tags)/(?P<name>.+)$",
                "get_ref",
            ),
            ("GET", r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/contents/(?P<path>.+)$", "get_contents"),
            ("GET", r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/branches/(?P<branch>.+)$", "get_branch"),
            ("GET", r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/compare/(?P<basehead>.+)$", "compare"),
            ("GET", r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/installation$", "get_installation"),
            ("POST", r"^/app/installations/(?P<inst>\d+)/access_tokens$", "mint_installation_token"),
            ("GET", r"^/rate_limit$", "rate_limit"),
        ]
    ]

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any, token: Token | None
    ) -> tuple[int, Any, dict[str, str]]:
        allowed_methods: set[str] = set()
        for route_method, pattern, handler in self._ROUTES:
            match = pattern.match(path)
            if not match:
                continue
            if route_method != method:
                allowed_methods.add(route_method)
                continue
            params = match.groupdict()
            if "o" in params and f"{params['o']}/{params['r']}".lower() != self.repo.lower():
                raise ApiError(404, "Not Found")
            if (
                token is not None
                and token.label == "app-jwt"
                and handler
                not in (
                    "get_installation",
                    "mint_installation_token",
                )
            ):
                raise ApiError(
                    403, "A JSON web token cannot be used to access this resource; use an installation token"
                )
            result: tuple[int, Any, dict[str, str]] = getattr(self, f"_h_{handler}")(
                params, query, body, token
            )
            return result
        if allowed_methods:
            raise ApiError(404, "Not Found")
        raise ApiError(404, "Not Found")

    # -- handlers ------------------------------------------------------------------------
    def _h_get_repo(
        self, p: dict[str, str], q: Any, b: Any, t: Token | None
    ) -> tuple[int, Any, dict[str, str]]:
        return 200, self._repo_json(), {}

    def _h_rate_limit(
        self, p: dict[str, str], q: Any, b: Any, t: Token | None
    ) -> tuple[int, Any, dict[str, str]]:
        core = {"limit": 5000, "remaining": 4999, "reset": 4102444800, "used": 1}
        return 200, {"resources": {"core": core}, "rate": core}, {}

    def _env(self, name: str) -> str:
        if name not in self.environments:
            raise ApiError(404, "Not Found")
        return name

    def _h_list_environments(
        self, p: dict[str, str], q: Any, b: Any, t: Token | None
    ) -> tuple[int, Any, dict[str, str]]:
        envs = [self._env_json(n) for n in self.environments]
        return 200, {"total_count": len(envs), "environments": envs}, {}

    def _h_get_environment(
        self, p: dict[str, str], q: Any, b: Any, t: Token | None
    ) -> tuple[int, Any, dict[str, str]]:
        return 200, self._env_json(self._env(p["env"])), {}

    def _h_put_environment(
        self, p: dict[str, str], q: Any, b: Any, t: Token | None
    ) -> tuple[int, Any, dict[str, str]]:
        self._need(t, "administration")
        self._create_environment(p["env"])
        return 200, self._env_json(p["env"]), {}

    def _h_get_public_key(
        self, p: dict[str, str], q: Any, b: Any, t: Token | None
    ) -> tuple[int, Any, dict[str, str]]:
        self._need(t, "secrets", "environments")
        key_id, key = self.public_key(self._env(p["env"]))
        return 200, {"key_id": key_id, "key": key}, {}

    def _secret_json(self, env: str, name: str) -> dict[str, Any]:
        stored = self.secrets[env][name]
        return {"name": name, "created_at": stored.created_at, "updated_at": stored.updated_at}

    def _h_list_secrets(
        self, p: dict[str, str], q: Any, b: Any, t: Token | None
    ) -> tuple[int, Any, dict[str, str]]:
        self._need(t, "secrets", "environments")
        env = self._env(p["env"])
        items = [self._secret_json(env, n) for n in sorted(self.secrets[env])]
        return 200, {"total_count": len(items), "secrets": items}, {}

    def _h_get_secret(
        self, p: dict[str, str], q: Any, b: Any, t: Token | None
    ) -> tuple[int, Any, dict[str, str]]:
        self._need(t, "secrets", "environments")
        env = self._env(p["env"])
        if p["name"] not in self.secrets[env]:
            raise ApiError(404, "Not Found")
        return 200, self._secret_json(env, p["name"]), {}

    def _h_put_secret(
        self, p: dict[str, str], q: Any, b: Any, t: Token | None
    ) -> tuple[int, Any, dict[str, str]]:
        self._need(t, "secrets", "environments")
        env = self._env(p["env"])
        name = p["name"]
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name.upper().startswith("GITHUB_"):
            raise ApiError(422, "Secret names can only contain alphanumeric characters or underscores")
        if not isinstance(b, dict) or not isinstance(b.get("encrypted_value"), str) or "key_id" not in b:
            raise ApiError(422, 'Invalid request.\n\n"encrypted_value" and "key_id" are required.')
        key_id, _ = self.public_key(env)
        if b["key_id"] != key_id:
            raise ApiError(422, "Bad request: key_id does not match the environment's public key")
        if len(b["encrypted_value"]) > 64 * 1024:
            raise ApiError(422, "Secret value is too large (limit 48 KB)")
        try:
            from nacl.exceptions import CryptoError
            from nacl.public import SealedBox

            SealedBox(self._keys[env]).decrypt(base64.b64decode(b["encrypted_value"]))
        except (CryptoError, ValueError) as exc:
            raise ApiError(422, "Bad request: encrypted_value is not a sealed box for this key") from exc
        now = _now()
        existing = self.secrets[env].get(name)
        self.secrets[env][name] = StoredSecret(
            b["encrypted_value"], b["key_id"], existing.created_at if existing else now, now
        )
        return (204 if existing else 201), (None if existing else {}), {}

    def _h_list_workflows(
        self, p: dict[str, str], q: Any, b: Any, t: Token | None
    ) -> tuple[int, Any, dict[str, str]]:
        self._need(t, "actions", "contents")
        items = [self._workflow_json(wf) for wf in self.workflows]
        return 200, {"total_count": len(items), "workflows": items}, {}

    def _h_get_workflow(
        self, p: dict[str, str], q: Any, b: Any, t: Token | None
    ) -> tuple[int, Any, dict[str, str]]:
        self._need(t, "actions", "contents")
        return 200, self._workflow_json(self._find_workflow(p["wf"])), {}

    def _h_dispatch(
        self, p: dict[str, str], q: Any, b: Any, t: Token | None
    ) -> tuple[int, Any, dict[str, str]]:
        self._need(t, "actions")
        wf = self._find_workflow(p["wf"])
        if not isinstance(b, dict) or not isinstance(b.get("ref"), str):
            raise ApiError(422, 'Invalid request.\n\n"ref" wasn\'t supplied.')
        allowed_keys = {"ref", "inputs"} | ({"return_run_details"} if self.return_run_details else set())
        unknown = sorted(set(b) - allowed_keys)
        if unknown:
            raise ApiError(422, f'Invalid request.\n\n"{unknown[0]}" is not a permitted key.')
        if wf.dispatch_inputs is None:
            raise ApiError(422, "Workflow does not have 'workflow_dispatch' trigger")
        if wf.state != "active":
            raise ApiError(422, "Cannot trigger a 'workflow_dispatch' on a disabled workflow")
        ref = b["ref"]
        kind, name = ("tags", ref[len("refs/tags/") :]) if ref.startswith("refs/tags/") else ("heads", ref)
        head_sha = self.ref_sha(kind, name.removeprefix("refs/heads/"))
        if head_sha is None and kind == "heads" and not ref.startswith("refs/heads/"):
            head_sha = self.ref_sha("tags", name)
        if head_sha is None:
            raise ApiError(422, f"No ref found for: {ref}")
        inputs = b.get("inputs") or {}
        if not isinstance(inputs, dict):
            raise ApiError(422, "Invalid request.\n\nFor 'properties/inputs', is not an object.")
        extra = sorted(set(inputs) - set(wf.dispatch_inputs))
        if extra:
            raise ApiError(422, f"Unexpected inputs provided: {json.dumps(extra)}")
        if len(inputs) > 25:
            raise ApiError(422, "you may only define up to 25 `inputs` for a `workflow_dispatch` event")
        for name, declared in wf.dispatch_inputs.items():
            spec = declared or {}
            if spec.get("required") and name not in inputs and spec.get("default") in (None, ""):
                raise ApiError(422, f"Required input '{name}' not provided")
            if (
                name in inputs
                and spec.get("type") == "choice"
                and str(inputs[name]) not in map(str, spec.get("options") or [])
            ):
                raise ApiError(
                    422,
                    f"Provided value '{inputs[name]}' for input '{name}' not in the list of allowed values",
                )
            if (
                name in inputs
                and spec.get("type") == "boolean"
                and str(inputs[name]) not in ("true", "false")
            ):
                raise ApiError(422, f"Provided value '{inputs[name]}' for input '{name}' is not a boolean")
        run = WorkflowRun(
            id=next(self._ids),
            workflow_id=wf.id,
            workflow_path=wf.path,
            name=wf.name,
            event="workflow_dispatch",
            ref=ref,
            head_sha=head_sha,
            inputs=dict(inputs),
            actor="acme-bot" if t is None else t.label,
            created_at=_now(),
            states=list(self.run_states),
        )
        self.runs.append(run)
        if self.on_dispatch is not None:
            self.on_dispatch(run)
        if self.return_run_details and b.get("return_run_details"):
            return (
                200,
                {
                    "workflow_run_id": run.id,
                    "run_url": f"{self._repo_url()}/actions/runs/{run.id}",
                    "html_url": f"https://github.com/{self.repo}/actions/runs/{run.id}",
                },
                {},
            )
        return 204, None, {}

    def _h_list_runs(
        self, p: dict[str, str], q: dict[str, list[str]], b: Any, t: Token | None
    ) -> tuple[int, Any, dict[str, str]]:
        self._need(t, "actions")
        runs = list(reversed(self.runs))  # newest first, as GitHub lists them
        if "wf" in p:
            wf = self._find_workflow(p["wf"])
            runs = [r for r in runs if r.workflow_id == wf.id]
        if "event" in q:
            runs = [r for r in runs if r.event == q["event"][0]]
        if "branch" in q:
            runs = [r for r in runs if r.ref.removeprefix("refs/heads/") == q["branch"][0]]
        if "status" in q:
            runs = [r for r in runs if q["status"][0] in (r.status, r.conclusion)]
        per_page = int(q.get("per_page", ["30"])[0])
        items = [self._run_json(r) for r in runs[:per_page]]
        return 200, {"total_count": len(runs), "workflow_runs": items}, {}

    def _h_get_run(
        self, p: dict[str, str], q: Any, b: Any, t: Token | None
    ) -> tuple[int, Any, dict[str, str]]:
        self._need(t, "actions")
        for run in self.runs:
            if run.id == int(p["run"]):
                body = self._run_json(run)
                run.polls += 1
                return 200, body, {}
        raise ApiError(404, "Not Found")

    def _h_get_ref(
        self, p: dict[str, str], q: Any, b: Any, t: Token | None
    ) -> tuple[int, Any, dict[str, str]]:
        kind, name = p["kind"], p["name"]
        sha = self.ref_sha(kind, name)
        if sha is None:
            raise ApiError(404, "Not Found")
        return (
            200,
            {
                "ref": f"refs/{kind}/{name}",
                "node_id": f"REF_{kind}_{name}",
                "url": f"{self._repo_url()}/git/refs/{kind}/{name}",
                "object": {"sha": sha, "type": "commit", "url": f"{self._repo_url()}/git/commits/{sha}"},
            },
            {},
        )

    def _h_get_contents(
        self, p: dict[str, str], q: dict[str, list[str]], b: Any, t: Token | None
    ) -> tuple[int, Any, dict[str, str]]:
        ref = q.get("ref", [self.default_branch])[0]
        data = self.file_at(ref, p["path"])
        if data is None:
            raise ApiError(404, "Not Found")
        name = p["path"].rsplit("/", 1)[-1]
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - git's object id
        url = f"{self._repo_url()}/contents/{p['path']}?ref={ref}"
        return (
            200,
            {
                "type": "file",
                "encoding": "base64",
                "size": len(data),
                "name": name,
                "path": p["path"],
                "content": base64.encodebytes(data).decode(),
                "sha": blob,
                "url": url,
                "git_url": f"{self._repo_url()}/git/blobs/{blob}",
                "html_url": f"https://github.com/{self.repo}/blob/{ref}/{p['path']}",
                "download_url": None,
            },
            {},
        )

    def _h_get_branch(
        self, p: dict[str, str], q: Any, b: Any, t: Token | None
    ) -> tuple[int, Any, dict[str, str]]:
        branch = p["branch"]
        sha = self.ref_sha("heads", branch)
        if sha is None:
            raise ApiError(404, "Branch not found")
        return (
            200,
            {
                "name": branch,
                "commit": {"sha": sha, "url": f"{self._repo_url()}/commits/{sha}"},
                "protected": False,
                "_links": {"self": f"{self._repo_url()}/branches/{branch}"},
            },
            {},
        )

    def _h_compare(
        self, p: dict[str, str], q: dict[str, list[str]], b: Any, t: Token | None
    ) -> tuple[int, Any, dict[str, str]]:
        """Compare two commits (https://docs.github.com/en/rest/commits/commits#compare-two-commits),
        answered from the real git history of ``repo_dir``: ``status`` is ``identical``, ``ahead``
        (head has commits base lacks, and not the other way round), ``behind`` (the reverse: head is
        an ancestor of base) or ``diverged``; an unknown commit, or two with no common ancestor, is
        404. ``commits`` holds at most ``per_page`` (default 250) of the commits base..head."""
        self._need(t, "contents")
        base, sep, head = p["basehead"].partition("...")
        if not sep or not base or not head or self.repo_dir is None:
            raise ApiError(404, "Not Found")
        base_sha = (self._git("rev-parse", "--verify", "--quiet", f"{base}^{{commit}}") or "").strip()
        head_sha = (self._git("rev-parse", "--verify", "--quiet", f"{head}^{{commit}}") or "").strip()
        found = self._git("merge-base", base_sha, head_sha) if base_sha and head_sha else None
        merge_base = (found or "").strip()
        if not merge_base:
            raise ApiError(404, "Not Found")
        ahead = (self._git("rev-list", "--reverse", f"{base_sha}..{head_sha}") or "").split()
        behind = int((self._git("rev-list", "--count", f"{head_sha}..{base_sha}") or "0").strip())
        if not ahead and not behind:
            status = "identical"
        elif not behind:
            status = "ahead"
        elif not ahead:
            status = "behind"
        else:
            status = "diverged"
        per_page = int(q.get("per_page", ["250"])[0])
        url = f"{self._repo_url()}/compare/{base}...{head}"
        html = f"https://github.com/{self.repo}/compare/{base}...{head}"

        def commit(sha: str) -> dict[str, Any]:
            return {"sha": sha, "url": f"{self._repo_url()}/commits/{sha}"}

        return (
            200,
            {
                "url": url,
                "html_url": html,
                "permalink_url": f"https://github.com/{self.repo}/compare/{base_sha}...{head_sha}",
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "base_commit": commit(base_sha),
                "merge_base_commit": commit(merge_base),
                "status": status,
                "ahead_by": len(ahead),
                "behind_by": behind,
                "total_commits": len(ahead),
                "commits": [commit(sha) for sha in ahead[:per_page]],
                "files": [],
            },
            {},
        )

    def _h_get_installation(
        self, p: dict[str, str], q: Any, b: Any, t: Token | None
    ) -> tuple[int, Any, dict[str, str]]:
        if self.app is None or t is None or t.label != "app-jwt":
            raise ApiError(401, "A JSON web token could not be decoded")
        return (
            200,
            {
                "id": self.app.installation_id,
                "app_id": self.app.app_id,
                "account": {"login": self.owner},
                "access_tokens_url": f"{self.url}/app/installations/{self.app.installation_id}/access_tokens",
                "permissions": dict.fromkeys(sorted(self.app.grants), "write"),
                "repository_selection": "selected",
            },
            {},
        )

    def _h_mint_installation_token(
        self, p: dict[str, str], q: Any, b: Any, t: Token | None
    ) -> tuple[int, Any, dict[str, str]]:
        if self.app is None or t is None or t.label != "app-jwt":
            raise ApiError(401, "A JSON web token could not be decoded")
        if int(p["inst"]) != self.app.installation_id:
            raise ApiError(404, "Not Found")
        value = f"ghs_fake{next(self._ids)}"
        self.app.minted.append(value)
        if self.tokens is not None:
            self.tokens[value] = Token("app-installation", self.app.grants)
        return (
            201,
            {
                "token": value,
                "expires_at": "2099-01-01T00:00:00Z",
                "permissions": dict.fromkeys(sorted(self.app.grants), "write"),
                "repository_selection": "selected",
            },
            {},
        )


class _Handler(BaseHTTPRequestHandler):
    fake: ClassVar[FakeGitHub]
    protocol_version = "HTTP/1.1"
    server_version = "FakeGitHub/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, payload, extra = self.fake.handle(self.command, self.path, dict(self.headers.items()), body)
        data = b"" if payload is None or status == 204 else json.dumps(payload).encode()
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-GitHub-Api-Version-Selected", "2022-11-28")
        self.send_header("X-RateLimit-Limit", "5000")
        self.send_header("X-RateLimit-Remaining", "4999")
        self.send_header("X-RateLimit-Reset", "4102444800")
        self.send_header("X-RateLimit-Resource", "core")
        for key, value in extra.items():
            self.send_header(key, value)
        if self.fake.trickle > 0:
            self._trickle(data)
            return
        self.end_headers()
        if data:
            self.wfile.write(data)

    def _trickle(self, data: bytes) -> None:
        """A server too slow to wait for: the answer, headers included, one byte at a time."""
        buffer: list[bytes] = self._headers_buffer  # type: ignore[attr-defined]  # set by send_response
        answer = b"".join(buffer) + b"\r\n" + data
        self._headers_buffer = []  # type: ignore[attr-defined]
        for index in range(len(answer)):
            try:
                self.wfile.write(answer[index : index + 1])
                self.wfile.flush()
            except (OSError, ValueError):  # the client gave up, which is the point
                self.close_connection = True
                return
            time.sleep(self.fake.trickle)

    # http.server dispatches on these exact names.
    do_GET = _serve  # noqa: N815
    do_PUT = _serve  # noqa: N815
    do_POST = _serve  # noqa: N815
    do_PATCH = _serve  # noqa: N815
    do_DELETE = _serve  # noqa: N815
