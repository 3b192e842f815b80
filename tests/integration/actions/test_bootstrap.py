"""scripts/bootstrap.sh PROFILE: the hash-locked venv every composite action sources, and
scripts/uv.sh, the hash-pinned uv that builds it.

Every script runs as GitHub's runner runs a `run:` step (`bash -eo pipefail`). Stand-ins for
python/uv are small shell scripts that log their arguments; the real builds (uv from its
hash-pinned wheel, a profile's lock, the pip fallback) run once each.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
BOOTSTRAP = ROOT / "scripts" / "bootstrap.sh"
UV_SH = ROOT / "scripts" / "uv.sh"
PY_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
# The interpreter a runner has (with pip), not the dev venv's (which uv made without pip).
RUNNER_PYTHON = os.path.realpath(sys.executable)


def lock_key(profile: str) -> str:
    return hashlib.sha256((ROOT / "requirements" / f"{profile}.txt").read_bytes()).hexdigest()[:16]


def venv_path(cache: Path, profile: str) -> Path:
    return cache / f"venv-{profile}-py{PY_VERSION}-{lock_key(profile)}"


def fake_venv(cache: Path, profile: str) -> Path:
    """A completed venv for ``profile`` whose python is this test's interpreter."""
    venv = venv_path(cache, profile)
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    (venv / ".gitops-complete").touch()
    return venv


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "GITOPS_CACHE_DIR": str(tmp_path / "cache"),
        **extra,
    }


def bash_step(script: str) -> list[str]:
    """argv of a `run:` step as GitHub's runner starts it (errexit and pipefail on)."""
    return ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script]


def source(
    profile: str, script: str, env: dict[str, str], before: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        bash_step(f'{before}source "{BOOTSTRAP}" {profile}\n{script}'),
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def logging_python(tmp_path: Path, calls: Path, extra: str = "") -> Path:
    """A python3 that logs its arguments, then runs this interpreter (``extra`` runs first)."""
    stub = tmp_path / "bin" / "python3"
    stub.parent.mkdir(parents=True, exist_ok=True)
    stub.write_text(f'#!/bin/sh\necho "$*" >> "{calls}"\n{extra}exec "{sys.executable}" "$@"\n')
    stub.chmod(0o755)
    return stub


def stand_in_uv(tmp_path: Path, calls: Path, venv_cmd: str = "") -> Path:
    """A uv that logs its arguments; `uv venv ... DIR` makes DIR a venv of this interpreter (or
    runs ``venv_cmd``); `uv pip install` does nothing. Fast and deterministic for lock tests."""
    stub = tmp_path / "bin" / "uv"
    stub.parent.mkdir(parents=True, exist_ok=True)
    make = venv_cmd or f'mkdir -p "$last/bin" && ln -sf "{sys.executable}" "$last/bin/python"'
    stub.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{calls}"\n'
        'for a in "$@"; do last=$a; done\n'
        'case "$1" in\n'
        "  --version) echo 'uv (stand-in)' ;;\n"
        f"  venv) {make} ;;\n"
        "esac\n"
    )
    stub.chmod(0o755)
    return stub


def wait_for(condition: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


# -- platform and Python ----------------------------------------------------------------------------
def test_refuses_python_older_than_3_11(tmp_path: Path) -> None:
    stub = tmp_path / "python3.10"
    stub.write_text(
        '#!/bin/sh\ncase "$*" in\n  *-c*) echo 3.10; echo /usr/bin/python3.10 ;;\n  *) exit 1 ;;\nesac\n'
    )
    stub.chmod(0o755)
    result = source("core", "echo reached", base_env(tmp_path, GITOPS_PYTHON=str(stub)))
    assert result.returncode != 0
    assert "reached" not in result.stdout
    assert "Python >= 3.11 is required, found 3.10" in result.stderr
    assert "::error title=gitops bootstrap::" in result.stderr


def test_missing_python_is_named(tmp_path: Path) -> None:
    result = source("core", "echo reached", base_env(tmp_path, GITOPS_PYTHON="python-does-not-exist"))
    assert result.returncode != 0
    assert "python-does-not-exist not found" in result.stderr


def test_an_unknown_profile_names_the_profiles_there_are(tmp_path: Path) -> None:
    result = source("kubernetes", "echo reached", base_env(tmp_path))
    assert result.returncode != 0
    assert "reached" not in result.stdout
    assert "unknown profile 'kubernetes'" in result.stderr
    assert "core, kube, github, validate, all" in result.stderr
    assert not (tmp_path / "cache").exists(), "nothing may be created for a typo"


@pytest.mark.parametrize(
    ("before", "extra_env", "named"),
    [
        pytest.param("", {"RUNNER_OS": "Windows"}, "Windows", id="runner-os-windows"),
        pytest.param("OSTYPE=msys; ", {}, "msys", id="git-bash"),
        pytest.param("OSTYPE=cygwin; ", {}, "cygwin", id="cygwin"),
    ],
)
def test_windows_fails_at_once_naming_the_runners_that_work(
    tmp_path: Path, before: str, extra_env: dict[str, str], named: str
) -> None:
    """Before: `python -m venv` made Scripts/, not bin/, and the step failed later with a
    message about a missing file. Now nothing runs and the message says what to use."""
    calls = tmp_path / "calls.log"
    env = base_env(tmp_path, GITOPS_PYTHON=str(logging_python(tmp_path, calls)), **extra_env)
    result = source("core", "echo reached", env, before=before)
    assert result.returncode != 0
    assert "reached" not in result.stdout
    assert "Windows runners are not supported" in result.stderr
    assert named in result.stderr
    assert "runs-on: ubuntu-latest" in result.stderr
    assert not calls.exists(), "the interpreter must not even be asked"


def test_an_unsupported_processor_fails_at_once(tmp_path: Path) -> None:
    result = source("core", "echo reached", base_env(tmp_path), before="HOSTTYPE=armv7l; ")
    assert result.returncode != 0
    assert "unsupported processor 'armv7l'" in result.stderr
    assert "x86_64 and arm64" in result.stderr


@pytest.mark.parametrize("profile", ["github", "all"])
def test_intel_macos_refuses_the_profiles_that_need_cryptography(tmp_path: Path, profile: str) -> None:
    """cryptography 50 publishes macOS wheels for arm64 only (its files on PyPI); without a wheel
    the install would try to compile it from source."""
    result = source(profile, "echo reached", base_env(tmp_path), before="OSTYPE=darwin23; HOSTTYPE=x86_64; ")
    assert result.returncode != 0
    assert "macOS x86_64 (Intel)" in result.stderr
    assert "cryptography" in result.stderr


def test_intel_macos_runs_the_profiles_without_cryptography(tmp_path: Path) -> None:
    env = base_env(tmp_path, GITOPS_PYTHON=sys.executable)
    fake_venv(tmp_path / "cache", "kube")
    result = source("kube", "echo reached", env, before="OSTYPE=darwin23; HOSTTYPE=x86_64; ")
    assert result.returncode == 0, result.stderr
    assert "reached" in result.stdout


# -- reuse and PATH -----------------------------------------------------------------------------------
def test_second_call_reuses_the_venv_without_installing(tmp_path: Path) -> None:
    """A completed venv for this lock is reused: one interpreter start, no uv, no pip, no venv.
    Without GITOPS_CACHE_DIR the venvs live in the runner's tool cache."""
    calls = tmp_path / "calls.log"
    uv_calls = tmp_path / "uv.log"
    env = base_env(
        tmp_path,
        GITOPS_PYTHON=str(logging_python(tmp_path, calls)),
        GITOPS_UV=str(stand_in_uv(tmp_path, uv_calls)),
        RUNNER_TOOL_CACHE=str(tmp_path / "toolcache"),
    )
    del env["GITOPS_CACHE_DIR"]
    venv = fake_venv(tmp_path / "toolcache" / "gitops", "kube")
    result = source(
        "kube", 'echo "VENV=$GITOPS_VENV PROFILE=$GITOPS_PROFILE"; command -v python; gitops --version', env
    )
    assert result.returncode == 0, result.stderr
    assert f"VENV={venv} PROFILE=kube" in result.stdout
    assert f"{venv}/bin/python" in result.stdout
    assert "gitops 0.1.0" in result.stdout
    assert result.stderr == ""
    logged = calls.read_text().splitlines()
    assert len(logged) == 1 and logged[0].startswith("-S -c"), logged
    assert not uv_calls.exists()


def test_each_profile_has_its_venv_and_the_last_one_sourced_comes_first(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    core, kube = fake_venv(cache, "core"), fake_venv(cache, "kube")
    env = base_env(tmp_path, GITOPS_PYTHON=sys.executable, RUNNER_TOOL_CACHE=str(tmp_path / "elsewhere"))
    script = f"""
        echo "1 $(command -v python) $GITOPS_PROFILE"
        source "{BOOTSTRAP}" kube
        echo "2 $(command -v python) $GITOPS_PROFILE"
        source "{BOOTSTRAP}" core
        echo "3 $(command -v python) $GITOPS_PROFILE"
        echo "PATH=$PATH"
    """
    result = source("core", script, env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"1 {core}/bin/python core"
    assert lines[1] == f"2 {kube}/bin/python kube"
    assert lines[2] == f"3 {core}/bin/python core"
    path = lines[3].removeprefix("PATH=").split(":")
    assert path.count(f"{core}/bin") == 1 and path.count(f"{kube}/bin") == 1
    assert path.count(str(ROOT / "scripts" / "bin")) == 1
    assert not (tmp_path / "elsewhere").exists(), "GITOPS_CACHE_DIR wins over RUNNER_TOOL_CACHE"


# -- builds that fail -----------------------------------------------------------------------------
def test_a_failed_build_is_reported_removed_and_its_lock_released(tmp_path: Path) -> None:
    """An incomplete venv (a build that died half way) is rebuilt, not trusted. Here uv fails,
    so pip takes over with a notice; pip fails too, and the step fails saying so."""
    cache = tmp_path / "cache"
    venv = venv_path(cache, "core")
    (venv / "bin").mkdir(parents=True)  # no .gitops-complete marker
    calls, uv_calls = tmp_path / "calls.log", tmp_path / "uv.log"
    python = logging_python(
        tmp_path,
        calls,
        # answers the version probe with itself as sys.executable, so the build runs it too
        extra=f'[ "$1" = "-S" ] && {{ echo {PY_VERSION}; echo "$0"; exit 0; }}\n'
        '[ "$1" = "-m" ] && [ "$2" = "venv" ] && exit 97\n',
    )
    uv = stand_in_uv(tmp_path, uv_calls, venv_cmd="exit 3")
    result = source("core", "echo reached", base_env(tmp_path, GITOPS_PYTHON=str(python), GITOPS_UV=str(uv)))
    assert result.returncode != 0
    assert "reached" not in result.stdout
    assert "uv could not install" in result.stderr and "installing with pip instead" in result.stderr
    assert "::error title=gitops bootstrap::installing" in result.stderr and "failed" in result.stderr
    assert [c for c in uv_calls.read_text().splitlines() if c.startswith("venv ")], "uv was tried first"
    assert "-m venv" in calls.read_text()
    assert not venv.exists(), "a half-built venv is removed"
    assert not Path(f"{venv}.lock").exists(), "the build lock must be released on failure"


@pytest.mark.integration
def test_without_uv_pip_builds_the_same_lock_with_a_notice(tmp_path: Path) -> None:
    env = base_env(tmp_path, GITOPS_PYTHON=RUNNER_PYTHON, GITOPS_UV=str(tmp_path / "no-such-uv"))
    env["HOME"] = os.environ.get("HOME", str(tmp_path))  # the user's pip cache
    result = source(
        "core", 'python -c "import yaml, tzdata; print(yaml.__version__)"; echo VENV=$GITOPS_VENV', env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "::notice title=gitops bootstrap::uv is not available here" in result.stderr
    assert "GITOPS_UV=" in result.stderr and "does not run" in result.stderr
    venv = Path(result.stdout.split("VENV=")[1].strip())
    assert venv == venv_path(tmp_path / "cache", "core")
    assert (venv / ".gitops-complete").exists()
    assert pinned(ROOT / "requirements" / "core.txt")["pyyaml"] in result.stdout


# -- the real build, with uv from its hash-pinned wheel --------------------------------------------------
def pinned(lock: Path) -> dict[str, str]:
    """name -> version of every package pinned in a lock file."""
    found = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith((" ", "#", "-")):
            name, _, rest = line.partition("==")
            found[name.strip().lower()] = rest.split()[0].split(";")[0]
    return found


def installed(venv: Path) -> dict[str, str]:
    found = {}
    for info in venv.glob("lib/python*/site-packages/*.dist-info"):
        name, _, version = info.name.removesuffix(".dist-info").rpartition("-")
        found[name.lower().replace("_", "-")] = version
    return found


@pytest.fixture(scope="module")
def core_build(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, subprocess.CompletedProcess[str]]]:
    """ONE real `source scripts/bootstrap.sh core` in a fresh cache: scripts/uv.sh installs uv from
    requirements/uv.txt with the interpreter's pip, and uv installs requirements/core.txt."""
    tmp_path = tmp_path_factory.mktemp("core-build")
    env = base_env(tmp_path, GITOPS_PYTHON=RUNNER_PYTHON)
    result = source("core", "echo VENV=$GITOPS_VENV", env)
    yield tmp_path, result


@pytest.mark.integration
def test_real_build_installs_exactly_the_profile_lock_with_uv(
    core_build: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    tmp_path, result = core_build
    assert result.returncode == 0, result.stderr[-3000:]
    cache = tmp_path / "cache"
    venv = venv_path(cache, "core")
    assert f"VENV={venv}" in result.stdout
    assert (venv / ".gitops-complete").exists()
    assert "creating the core venv from requirements/core.txt (hash-locked)" in result.stderr
    assert "notice" not in result.stderr, "uv ran: no pip fallback"
    assert installed(venv) == pinned(ROOT / "requirements" / "core.txt")
    uv = next(cache.glob(f"uv-*-{platform.system()}-{platform.machine()}/bin/uv"))
    done = subprocess.run([str(uv), "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.split()[1] == pinned(ROOT / "requirements" / "uv.txt")["uv"]
    assert (cache / "packages" / "uv").is_dir(), "uv's downloads go to the cache the workflows keep"
    assert list((cache / "packages" / "wheels").glob("uv-*.whl")), "and so does the uv wheel"
    again = source("core", "echo again", base_env(tmp_path, GITOPS_PYTHON=RUNNER_PYTHON))
    assert again.returncode == 0
    assert again.stderr == "", "a second sourcing builds nothing and says nothing"


@pytest.mark.integration
def test_a_verb_run_without_its_profile_says_which_profile_to_bootstrap(
    core_build: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    tmp_path, built = core_build
    assert built.returncode == 0, built.stderr[-3000:]
    env = base_env(tmp_path, GITOPS_PYTHON=RUNNER_PYTHON)
    result = source(
        "core",
        "gitops gate --help >/dev/null && echo help-ok\n"
        "gitops apply --overlay infra/k8s/hetzner/dev && exit 9\n"
        "echo apply-exit=$?",
        {**env, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert "help-ok" in result.stdout
    assert "apply-exit=1" in result.stdout, result.stderr
    assert "Traceback" not in result.stderr
    assert "`gitops apply` needs the 'kube' profile" in result.stderr
    assert "lacks kubernetes, jsonpath-ng" in result.stderr
    assert "(this step sourced scripts/bootstrap.sh core)" in result.stderr
    assert "source scripts/bootstrap.sh kube" in result.stderr


# -- the build lock: a cancelled job must not block the next one -------------------------------------
def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def write_lock(cache: Path, profile: str, pid: int, host: str | None = None) -> Path:
    lock = Path(f"{venv_path(cache, profile)}.lock")
    lock.mkdir(parents=True)
    (lock / "owner").write_text(f"pid={pid}\nhost={host or platform.node()}\n")
    return lock


def test_a_lock_whose_owner_is_gone_is_stale_and_removed(tmp_path: Path) -> None:
    """A builder killed without a chance to clean up (SIGKILL, a lost runner) left its lock."""
    cache = tmp_path / "cache"
    pid = dead_pid()
    lock = write_lock(cache, "core", pid)
    uv_calls = tmp_path / "uv.log"
    env = base_env(tmp_path, GITOPS_PYTHON=sys.executable, GITOPS_UV=str(stand_in_uv(tmp_path, uv_calls)))
    result = source("core", "echo reached", env)
    assert result.returncode == 0, result.stderr
    assert (
        f"removing the stale lock {lock}: its owner, process {pid} on {platform.node()}, is gone"
        in result.stderr
    )
    assert "waiting" not in result.stderr
    assert (venv_path(cache, "core") / ".gitops-complete").exists()
    assert not lock.exists()


def test_a_lock_older_than_five_minutes_is_stale_whoever_owns_it(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    lock = write_lock(cache, "core", os.getpid(), host="another-runner")
    old = time.time() - 6 * 60
    os.utime(lock, (old, old))
    uv_calls = tmp_path / "uv.log"
    env = base_env(tmp_path, GITOPS_PYTHON=sys.executable, GITOPS_UV=str(stand_in_uv(tmp_path, uv_calls)))
    result = source("core", "echo reached", env)
    assert result.returncode == 0, result.stderr
    assert "older than 5 minutes (owner: " in result.stderr and "another-runner" in result.stderr
    assert (venv_path(cache, "core") / ".gitops-complete").exists()


def test_a_live_builders_lock_is_waited_for_and_its_venv_reused(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    builder = subprocess.Popen(["sleep", "120"])
    try:
        lock = write_lock(cache, "core", builder.pid)
        uv_calls = tmp_path / "uv.log"
        env = base_env(tmp_path, GITOPS_PYTHON=sys.executable, GITOPS_UV=str(stand_in_uv(tmp_path, uv_calls)))
        stderr = tmp_path / "stderr.log"
        with stderr.open("w") as err:
            waiter = subprocess.Popen(
                bash_step(f'source "{BOOTSTRAP}" core && echo "VENV=$GITOPS_VENV"'),
                env=env,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
            wait_for(lambda: "waiting" in stderr.read_text(), "the waiter to say it waits")
            fake_venv(cache, "core")  # the other job finishes its build ...
            shutil.rmtree(lock)  # ... and releases its lock
            out, _ = waiter.communicate(timeout=60)
        assert waiter.returncode == 0, stderr.read_text()
        assert f"VENV={venv_path(cache, 'core')}" in out
        assert "another job is building this venv" in stderr.read_text()
        assert not uv_calls.exists(), "the waiter must not build what the other job built"
    finally:
        builder.kill()
        builder.wait()


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_cancelled_build_stops_the_install_and_releases_the_lock(
    tmp_path: Path, sig: signal.Signals, status: int
) -> None:
    """GitHub cancels a step with SIGINT, then SIGTERM: the install is stopped, the lock removed."""
    cache = tmp_path / "cache"
    started = tmp_path / "install.pid"
    uv = stand_in_uv(
        tmp_path,
        tmp_path / "uv.log",
        venv_cmd=f'echo $$ > "{started}.tmp"; mv "{started}.tmp" "{started}"; exec sleep 120',
    )
    env = base_env(tmp_path, GITOPS_PYTHON=sys.executable, GITOPS_UV=str(uv))
    step = subprocess.Popen(
        bash_step(f'source "{BOOTSTRAP}" core && echo reached'),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(started.exists, "the install to start")
    lock = Path(f"{venv_path(cache, 'core')}.lock")
    assert (lock / "owner").read_text().startswith(f"pid={step.pid}\n")
    step.send_signal(sig)
    out, err = step.communicate(timeout=60)
    assert step.returncode == status, err
    assert "reached" not in out
    assert "interrupted; the venv was not built and its lock is released" in err
    assert not lock.exists()
    assert not (venv_path(cache, "core") / ".gitops-complete").exists()
    install = int(started.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(install, 0)


def test_the_callers_traps_are_restored_after_a_build(tmp_path: Path) -> None:
    env = base_env(
        tmp_path, GITOPS_PYTHON=sys.executable, GITOPS_UV=str(stand_in_uv(tmp_path, tmp_path / "uv.log"))
    )
    result = source("core", "trap -p TERM INT", env, before="trap 'echo mine' TERM\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "trap -- 'echo mine' SIGTERM"


# -- scripts/uv.sh --------------------------------------------------------------------------------------
@pytest.mark.integration
def test_uv_sh_installs_one_uv_for_concurrent_callers(tmp_path: Path) -> None:
    env = {**base_env(tmp_path), "GITOPS_PYTHON": RUNNER_PYTHON}
    callers = [
        subprocess.Popen(
            ["bash", str(UV_SH)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    answers = [c.communicate(timeout=300) for c in callers]
    assert [c.returncode for c in callers] == [0, 0], [err for _, err in answers]
    paths = {out.strip() for out, _ in answers}
    assert len(paths) == 1
    cache = tmp_path / "cache"
    assert [p.name for p in cache.iterdir() if p.name.startswith(("uv-", ".uv-"))] == [
        Path(paths.pop()).parents[1].name
    ]


@pytest.mark.integration
def test_uv_sh_refuses_a_wheel_whose_hash_is_not_in_the_lock(tmp_path: Path) -> None:
    root = tmp_path / "suite"
    (root / "scripts").mkdir(parents=True)
    (root / "requirements").mkdir()
    shutil.copy(UV_SH, root / "scripts" / "uv.sh")
    version = pinned(ROOT / "requirements" / "uv.txt")["uv"]
    (root / "requirements" / "uv.txt").write_text(f"uv=={version} \\\n    --hash=sha256:{'0' * 64}\n")
    env = {**base_env(tmp_path), "GITOPS_PYTHON": RUNNER_PYTHON}
    env["HOME"] = os.environ.get("HOME", str(tmp_path))
    result = subprocess.run(
        ["bash", str(root / "scripts" / "uv.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1
    assert "DO NOT MATCH THE HASHES" in result.stderr
    assert "could not install uv" in result.stderr
    assert not list((tmp_path / "cache").glob("uv-*"))


@pytest.mark.integration
def test_uv_sh_brings_its_own_pip_when_the_interpreter_has_none(tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    subprocess.run([RUNNER_PYTHON, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=120)
    env = {**base_env(tmp_path), "GITOPS_PYTHON": str(bare / "bin" / "python")}
    env["HOME"] = os.environ.get("HOME", str(tmp_path))
    result = subprocess.run(
        ["bash", str(UV_SH)], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_file()
    assert not list((tmp_path / "cache").glob(".uv-*")), (
        "the throwaway pip venv and the staging directory are gone"
    )
