"""Session fixtures for the act end-to-end tests (see tests/e2e/harness.py for how runs work).

Shared per session, to keep the whole e2e set well under its budget: ONE template repository,
ONE tool cache in which scripts/bootstrap.sh builds one hash-locked venv per profile (built up
front by ``tool_cache``), and the secret values. Each scenario gets its own clone, fake servers and
act run directory.
"""

from __future__ import annotations

import os
import secrets as random
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.harness import (
    ACT,
    ROOT,
    ActResult,
    Leak,
    ScenarioRepo,
    build_template,
    run_act,
    scan_for_secrets,
)
from tests.support.infra import SECRET_VARIABLES

APP_SECRET_NAMES = SECRET_VARIABLES  # the nine variables the deploy workflow passes to apply


def _value(name: str) -> str:
    # Distinct, unguessable, and with YAML-special characters that in-memory substitution must keep.
    return f"e2e-{name.lower().replace('_', '-')}-{random.token_hex(6)}:#'\"!"


@pytest.fixture(scope="session")
def app_secrets() -> dict[str, str]:
    return {name: _value(name) for name in APP_SECRET_NAMES}


@pytest.fixture(scope="session")
def tokens() -> dict[str, str]:
    """Token secrets: a PAT for secret writes, the job's GITHUB_TOKEN, the Hetzner API token."""
    return {
        "INFRA_DEPLOY_TOKEN": f"github_pat_e2e{random.token_hex(16)}",
        "GITHUB_TOKEN": f"ghs_e2e{random.token_hex(16)}",
        "HETZNER_TOKEN": f"hcloud-e2e-{random.token_hex(20)}",
        "HETZNER_SSH_PRIVATE_KEY": (
            "-----BEGIN OPENSSH PRIVATE KEY-----\n"
            + "\n".join(random.token_urlsafe(48) for _ in range(4))
            + "\n-----END OPENSSH PRIVATE KEY-----\n"
        ),
    }


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not ACT.exists():
        pytest.fail(f"{ACT} is missing; run `bash scripts/dev.sh setup` (the e2e tests never skip)")
    return build_template(tmp_path_factory.mktemp("template") / "platform")


# The bootstrap profiles the workflows' actions source (scripts/bootstrap.sh); `all` is not one.
PROFILES = ("core", "kube", "github", "validate")


@pytest.fixture(scope="session")
def tool_cache(template: Path) -> Path:
    """ONE tool cache for every run; scripts/bootstrap.sh builds each profile's venv here once, up front.

    It lives in the repository's ignored `.cache/` so repeated local test sessions reuse the
    venvs (bootstrap keys each by its lock file's hash, so a changed lock builds a new one).
    Each venv is checked to hold its profile's packages and nothing of the others, so a run
    that passes proves its actions need no more than the profile they source.
    """
    cache = ROOT / ".cache" / "e2e-tool-cache"
    cache.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITOPS_", "VIRTUAL_ENV"))}
    env["GITOPS_CACHE_DIR"] = str(cache)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    imports = {
        "core": ("yaml", "not kubernetes"),
        "kube": ("kubernetes", "jsonpath_ng", "not github", "not kubernetes_validate", "not aiohttp"),
        "github": ("github", "nacl", "not kubernetes"),
        "validate": ("kubernetes_validate", "not kubernetes", "not github"),
    }
    for profile in PROFILES:
        checks = " && ".join(
            f"! python -c 'import {m[4:]}' 2>/dev/null" if m.startswith("not ") else f"python -c 'import {m}'"
            for m in imports[profile]
        )
        built = subprocess.run(
            ["bash", "-c", f"source scripts/bootstrap.sh {profile} && command -v gitops && {checks}"],
            cwd=template,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if built.returncode != 0:
            pytest.fail(
                f"scripts/bootstrap.sh {profile} could not build the action venv, or it holds the wrong "
                f"packages:\n{built.stderr[-4000:]}"
            )
    return cache


def check_cache_keys_cover_the_profiles(result: ActResult) -> None:
    """Every job with an actions/cache step keys it by exactly the profiles its actions sourced
    (`gitops-packages-<os>-<arch>-<profile>-...-<hash>`), so the cache holds what the job installs."""
    used = result.profiles()
    for job, keys in result.cache_keys().items():
        for key in keys:
            named = key.removeprefix("gitops-packages-").split("-")[2:-1]
            assert set(named) == set(used.get(job, [])), (
                f"job {job}: cache key {key} names {named}, but its steps sourced {used.get(job, [])}"
            )


@pytest.fixture
def scenario(template: Path, tmp_path: Path) -> ScenarioRepo:
    return ScenarioRepo.clone(template, tmp_path / "platform")


ActRunner = Callable[..., ActResult]


@pytest.fixture
def act(scenario: ScenarioRepo, tmp_path: Path, request: pytest.FixtureRequest) -> ActRunner:
    """``act(event_name=, event=, workflow=, secrets=, env=, job=, ...)`` in the scenario repo.

    The session tool cache (and so the venv build) is requested only by runs that need it.
    """
    counter = iter(range(1, 100))

    def run(**kwargs: Any) -> ActResult:
        kwargs.setdefault("run_dir", tmp_path / f"act-run-{next(counter)}")
        if "tool_cache" not in kwargs:
            kwargs["tool_cache"] = request.getfixturevalue("tool_cache")
        result = run_act(scenario, **kwargs)
        check_cache_keys_cover_the_profiles(result)
        return result

    return run


def assert_no_leaks(result: ActResult, values: Mapping[str, str], *, also: Sequence[Path] = ()) -> None:
    leaks: list[Leak] = scan_for_secrets(result, values, also=also)
    assert not leaks, "secret values found after the run:\n" + "\n".join(f"- {leak}" for leak in leaks)


@pytest.fixture
def no_leaks(app_secrets: dict[str, str], tokens: dict[str, str]) -> Iterator[Callable[..., None]]:
    """``no_leaks(result, extra={"KUBECONFIG": text})``: scan one run for every secret value."""

    def check(result: ActResult, extra: Mapping[str, str] | None = None, also: Sequence[Path] = ()) -> None:
        assert_no_leaks(result, {**app_secrets, **tokens, **(extra or {})}, also=also)

    yield check
