"""Run this repository's real workflows with `act` on this host, and collect everything they leave.

How a run is set up (each choice says why):

* A **throwaway git repository** per scenario, cloned from ONE session template that holds the
  project's current working tree (tracked + untracked-but-not-ignored files). Its ``origin`` is
  ``https://github.com/acme/platform.git`` because act derives ``github.repository`` from it.
  One edit: act 0.2.89's workflow schema knows only ``group`` and ``cancel-in-progress`` in a
  ``concurrency`` block (nektos/act ``pkg/schema/workflow_schema.json``, ``concurrency-mapping``)
  and refuses the whole workflow for GitHub's ``queue: max`` (2026-05), so the template's copies
  of the workflows drop those lines (:func:`act_compatible`). act runs one job at a time anyway.
* ``act <event> -W <one workflow file> -P ubuntu-latest=-self-hosted``: steps run directly on
  this host. act ignores ``on.push.paths``, so each scenario names the workflow it triggers.
* ``actions/checkout`` is replaced (``--no-skip-checkout --local-repository``) by the stub in
  ``tests/e2e/stubs/checkout``: it clones the scenario repository into ``$GITHUB_WORKSPACE`` at
  ``$GITHUB_SHA`` with the requested ``fetch-depth``, and FAILS unless the workflow passed
  ``persist-credentials: false``. ``--action-offline-mode``: nothing is downloaded.
* ``GITHUB_API_URL`` is set with ``--env``: act lets an explicit ``--env GITHUB_API_URL``
  override the value it derives from ``--github-instance`` (which would be ``https://HOST/api/v3``,
  unusable for an http server on 127.0.0.1). The suite's GitHub client honours ``GITHUB_API_URL``.
* ``actions/cache`` is replaced the same way by ``tests/e2e/stubs/cache``: it restores nothing,
  checks the key's ``hashFiles(...)`` matched files, and records path and key per job
  (:meth:`ActResult.cache_keys`), so a test can compare the key with the profiles the job's
  actions sourced (:meth:`ActResult.profiles`, from ``$GITOPS_PROFILE`` after each step).
* ``GITOPS_CACHE_DIR`` points every run at ONE tool cache, so ``scripts/bootstrap.sh`` builds
  each profile's hash-locked venv once (the session fixture builds them before the first run).
* ``--insecure-secrets``: act then masks NOTHING in its log (neither ``-s`` values nor values
  registered with ``::add-mask::``; it only shows the registration lines as ``***``), so the
  secret scan checks that OUR code never prints a secret (``gitops.adapters.runner`` redacts registered
  values itself), not that act or GitHub would hide it. ``--json`` gives one record per log
  line with job, matrix, step and result.
* ``BASH_ENV`` points at ``stubs/capture.sh``: bash sources it in every ``run:`` step (also
  inside composite actions) and its EXIT trap snapshots, after EACH step, the step's
  ``$GITHUB_OUTPUT``, ``$GITHUB_STEP_SUMMARY``, ``$GITHUB_ENV``, ``$GITHUB_STATE``,
  ``$GITHUB_PATH`` (act truncates them per step) and hard-link copies of ``$GITHUB_WORKSPACE``
  and ``$RUNNER_TEMP`` (act deletes both when the job ends). ``TMPDIR`` is a per-run directory.
  Together these are what :func:`scan_for_secrets` reads.
* ``--concurrent-jobs 1``: act 0.2.89 can crash ("concurrent map writes") when matrix legs of a
  reusable workflow start at the same moment; on 2 cores running jobs one by one costs nothing.
* The steps see the host's environment minus the dev venv, GitHub/runner/kube variables and
  tokens (:func:`act_environment`); a scenario adds stand-ins to ``PATH`` with ``extra_path``
  (e.g. hetzner-k3s, selected by ``--env GITOPS_HETZNER_K3S=hetzner-k3s``).
* The fake Kubernetes and GitHub API servers run in the test process (threads) on 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STUBS = Path(__file__).resolve().parent / "stubs"
ACT = ROOT / ".venv" / "bin" / "act"
REPOSITORY = "acme/platform"
ORIGIN_URL = f"https://github.com/{REPOSITORY}.git"
# The third-party actions the workflows use, at TOOLING.md's pinned commits, and their stand-ins.
CHECKOUT = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1"
CACHE = "actions/cache@27d5ce7f107fe9357f9df03efb73ab90386fccae"
ZERO_SHA = "0" * 40
GIT_ENV = {
    "GIT_AUTHOR_NAME": "E2E Author",
    "GIT_AUTHOR_EMAIL": "e2e@example.com",
    "GIT_COMMITTER_NAME": "E2E Author",
    "GIT_COMMITTER_EMAIL": "e2e@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | GIT_ENV | {"HOME": str(repo)}
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=False, timeout=60
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {repo}: {done.stderr.strip()}")
    return done.stdout.strip()


# -- repositories ---------------------------------------------------------------------------------
def project_files(root: Path = ROOT) -> list[str]:
    """What `git` would hand a clone of the current working tree: tracked + new, minus ignored."""
    out = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    return sorted({name for name in out.decode().split("\0") if name and (root / name).is_file()})


QUEUE_LINE = re.compile(r"^[ \t]+queue:[ \t]*max[ \t]*(#.*)?\n", re.M)


def act_compatible(workflow: str) -> str:
    """A workflow without its ``queue: max`` lines, which act's schema refuses (see the module docstring)."""
    return QUEUE_LINE.sub("", workflow)


def build_template(dest: Path, root: Path = ROOT) -> Path:
    """One commit of the project's working tree on `main`, with `dev` and `test` branches."""
    dest.mkdir(parents=True)
    for name in project_files(root):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
        if name.startswith(".github/workflows/") and name.endswith((".yml", ".yaml")):
            target.write_text(act_compatible(target.read_text(encoding="utf-8")), encoding="utf-8")
    git(dest, "init", "-q", "-b", "main")
    # The checkout stub fetches single commits by SHA, as actions/checkout does.
    git(dest, "config", "uploadpack.allowAnySHA1InWant", "true")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "Platform repository as of this test session")
    git(dest, "branch", "dev")
    git(dest, "branch", "test")
    return dest


@dataclass
class ScenarioRepo:
    """A clone of the template that a scenario commits to, pushes and runs act in."""

    path: Path

    @classmethod
    def clone(cls, template: Path, dest: Path) -> ScenarioRepo:
        subprocess.run(
            ["git", "clone", "-q", "--no-local", str(template), str(dest)],
            check=True,
            timeout=120,
            env=os.environ | GIT_ENV,
        )
        repo = cls(dest)
        for branch in ("dev", "test"):
            git(dest, "branch", "-q", "--track", branch, f"origin/{branch}")
        git(dest, "remote", "set-url", "origin", ORIGIN_URL)
        git(dest, "config", "uploadpack.allowAnySHA1InWant", "true")
        return repo

    def head(self, ref: str = "HEAD") -> str:
        return git(self.path, "rev-parse", ref)

    def checkout(self, branch: str) -> None:
        git(self.path, "checkout", "-q", branch)

    def read(self, rel: str) -> str:
        return (self.path / rel).read_text(encoding="utf-8")

    def commit(self, branch: str, changes: Mapping[str, str | None], message: str) -> tuple[str, str]:
        """Commit file changes (None deletes) on `branch`; returns (before, after) SHAs."""
        self.checkout(branch)
        before = self.head()
        for rel, text in changes.items():
            target = self.path / rel
            if text is None:
                git(self.path, "rm", "-q", rel)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            git(self.path, "add", rel)
        git(self.path, "commit", "-q", "-m", message)
        return before, self.head()

    def replace(self, rel: str, old: str, new: str, count: int = 1) -> str:
        """The file's text with `old` replaced; fails loudly if `old` is not there."""
        text = self.read(rel)
        if old not in text:
            raise AssertionError(f"{rel} does not contain {old!r}; the scenario must be updated")
        return text.replace(old, new, count)


# -- events -------------------------------------------------------------------------------------------
def _repository_json() -> dict[str, Any]:
    owner, name = REPOSITORY.split("/")
    return {
        "id": 1296269,
        "name": name,
        "full_name": REPOSITORY,
        "owner": {"login": owner, "name": owner},
        "default_branch": "main",
        "html_url": f"https://github.com/{REPOSITORY}",
        "clone_url": ORIGIN_URL,
        "private": True,
    }


def push_event(
    repo: ScenarioRepo, branch: str, before: str, after: str, *, forced: bool = False
) -> dict[str, Any]:
    commits = (
        git(repo.path, "rev-list", "--reverse", f"{before}..{after}").split()
        if before != ZERO_SHA
        else [after]
    )
    return {
        "ref": f"refs/heads/{branch}",
        "before": before,
        "after": after,
        "created": before == ZERO_SHA,
        "deleted": False,
        "forced": forced,
        "base_ref": None,
        "compare": f"https://github.com/{REPOSITORY}/compare/{before[:12]}...{after[:12]}",
        "commits": [{"id": sha, "distinct": True} for sha in commits],
        "head_commit": {"id": after, "message": git(repo.path, "log", "-1", "--format=%s", after)},
        "repository": _repository_json(),
        "pusher": {"name": "platform-dev", "email": "dev@example.com"},
        "sender": {"login": "platform-dev", "type": "User"},
    }


def pull_request_event(repo: ScenarioRepo, base: str, head_branch: str, number: int = 7) -> dict[str, Any]:
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "state": "open",
            "draft": False,
            "head": {"ref": head_branch, "sha": repo.head(head_branch), "repo": _repository_json()},
            "base": {"ref": base, "sha": repo.head(base), "repo": _repository_json()},
            "user": {"login": "contributor"},
        },
        "repository": _repository_json(),
        "sender": {"login": "contributor", "type": "User"},
    }


def dispatch_event(ref: str, inputs: Mapping[str, str], actor: str = "platform-oncall") -> dict[str, Any]:
    return {
        "ref": ref if ref.startswith("refs/") else f"refs/heads/{ref}",
        "inputs": dict(inputs),
        "repository": _repository_json(),
        "sender": {"login": actor, "type": "User"},
        "workflow": ".github/workflows/deploy-k8s-resources.yml",
    }


# -- running act --------------------------------------------------------------------------------------
@dataclass
class Snapshot:
    """What capture.sh saved after one bash step."""

    directory: Path
    job: str
    action: str
    workspace: str
    sequence: int
    profile: str = ""  # $GITOPS_PROFILE after the step: the bootstrap profile it sourced, if any
    venv: str = ""  # $GITOPS_VENV after the step

    def file(self, name: str) -> str:
        path = self.directory / "files" / name
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


@dataclass
class ActResult:
    returncode: int
    stdout: str
    stderr: str
    run_dir: Path
    records: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for line in self.stdout.splitlines() + self.stderr.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                record = {"msg": line, "raw_line": True}
            if not isinstance(record, dict):
                record = {"msg": line, "raw_line": True}
            self.records.append(record)

    # jobs and steps
    def job_results(self) -> list[tuple[str, dict[str, Any], str]]:
        """(job id, matrix, result) for every job that ran to a result."""
        return [
            (r.get("jobID", ""), r.get("matrix") or {}, r["jobResult"])
            for r in self.records
            if "jobResult" in r
        ]

    def job_result(self, job: str, **matrix: str) -> str | None:
        for job_id, mat, result in self.job_results():
            if job_id == job and all(mat.get(k) == v for k, v in matrix.items()):
                return result
        return None

    def matrix_values(self, job: str, key: str) -> list[str]:
        return sorted({str(m.get(key)) for j, m, _ in self.job_results() if j == job and key in m})

    def step_results(self, job: str) -> list[tuple[str, str]]:
        return [
            (str(r.get("step", "")), r["stepResult"])
            for r in self.records
            if r.get("jobID") == job and "stepResult" in r
        ]

    def text(self, last: int | None = None, width: int = 400) -> str:
        """act's log as a person would read it (job prefix + message; long lines cut to `width`)."""
        lines = []
        for r in self.records:
            if r.get("level") == "debug":
                continue
            prefix = f"[{r['job']}] " if "job" in r else ""
            line = prefix + str(r.get("msg", "")).rstrip("\n")
            lines.append(line if len(line) <= width else line[:width] + " ...")
        shown = lines[-last:] if last else lines
        return "\n".join(shown) + f"\njobs: {self.job_results()}"

    # what the steps wrote
    def snapshots(self, job: str | None = None) -> list[Snapshot]:
        found: list[Snapshot] = []
        capture = self.run_dir / "capture"
        for meta in sorted(capture.glob("*/meta.json")):
            data = json.loads(meta.read_text(encoding="utf-8"))
            snap = Snapshot(
                meta.parent,
                data["job"],
                data["action"],
                data["workspace"],
                int(data["seq"]),
                data.get("profile", ""),
                data.get("venv", ""),
            )
            if job is None or snap.job == job:
                found.append(snap)
        return sorted(found, key=lambda s: s.sequence)

    def profiles(self) -> dict[str, list[str]]:
        """job -> the bootstrap profiles its steps sourced, in order of first use."""
        used: dict[str, list[str]] = {}
        for snap in self.snapshots():
            if snap.profile and snap.profile not in used.setdefault(snap.job, []):
                used[snap.job].append(snap.profile)
        return {job: profiles for job, profiles in used.items() if profiles}

    def cache_keys(self) -> dict[str, list[str]]:
        """job -> the keys its actions/cache steps were given (the stand-in records them)."""
        keys: dict[str, list[str]] = {}
        path = self.run_dir / "capture" / "cache-steps.jsonl"
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        for line in lines:
            record = json.loads(line)
            keys.setdefault(record["job"], []).append(record["key"])
        return keys

    def summaries(self, job: str | None = None) -> str:
        return "\n".join(s.file("summary") for s in self.snapshots(job) if s.file("summary"))

    def outputs(self, job: str | None = None) -> list[str]:
        return [s.file("output") for s in self.snapshots(job) if s.file("output")]

    def last_snapshot_per_job_run(self) -> list[Snapshot]:
        last: dict[str, Snapshot] = {}
        for snap in self.snapshots():
            last[snap.workspace] = snap
        return list(last.values())


def act_environment(extra_path: Sequence[Path], tmpdir: Path) -> dict[str, str]:
    """The host environment act (and so every step) gets: no dev venv, no host GitHub/kube state."""
    venv_bin = str(ROOT / ".venv" / "bin")
    path = [str(p) for p in extra_path] + [
        p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != venv_bin
    ]
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("GITHUB_", "RUNNER_", "INPUT_", "GITOPS_", "KUBE", "ACTIONS_", "VIRTUAL_ENV", "PYTHON")
        )
        and k not in ("CI", "GH_TOKEN", "HCLOUD_TOKEN")
    }
    env["PATH"] = os.pathsep.join(path)
    env["TMPDIR"] = str(tmpdir)
    return env


def run_act(
    repo: ScenarioRepo,
    *,
    event_name: str,
    event: Mapping[str, Any],
    workflow: str,
    run_dir: Path,
    tool_cache: Path,
    secrets: Mapping[str, str] = {},
    env: Mapping[str, str] = {},
    variables: Mapping[str, str] = {},
    job: str | None = None,
    actor: str = "platform-dev",
    extra_path: Sequence[Path] = (),
    local_repositories: Mapping[str, Path] = {},
    timeout: float = 300,
) -> ActResult:
    """Run one workflow file for one event; everything act prints and the steps leave is in the result.

    ``local_repositories`` maps more remote actions (``owner/repo@ref``) to directories, as the
    stand-ins are mapped: a repository that uses this suite's actions by ``owner/repo/actions/
    <name>@SHA`` gets them from a checkout of the suite (act resolves the subdirectory in it).
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "capture").mkdir()
    tmpdir = run_dir / "tmp"
    tmpdir.mkdir()
    event_file = run_dir / "event.json"
    event_file.write_text(json.dumps(event, indent=2), encoding="utf-8")
    step_env = {
        "GITOPS_CACHE_DIR": str(tool_cache),
        "BASH_ENV": str(STUBS / "capture.sh"),
        "E2E_CAPTURE_DIR": str(run_dir / "capture"),
        "E2E_CHECKOUT_SOURCE": str(repo.path),
        **env,
    }
    argv = [
        str(ACT),
        event_name,
        "-W",
        f".github/workflows/{workflow}",
        "-e",
        str(event_file),
        "-P",
        "ubuntu-latest=-self-hosted",
        "--json",
        "--insecure-secrets",
        "--no-skip-checkout",
        "--action-offline-mode",
        "--local-repository",
        f"{CHECKOUT}={STUBS / 'checkout'}",
        "--local-repository",
        f"{CACHE}={STUBS / 'cache'}",
        "--action-cache-path",
        str(run_dir / "act-cache"),
        "--no-cache-server",
        # One job at a time: act 0.2.89 can crash ("concurrent map writes" in getWorkflowSecrets)
        # when matrix legs of a reusable workflow start together; 2 cores gain little anyway.
        "--concurrent-jobs",
        "1",
        "--defaultbranch",
        "main",
        "--actor",
        actor,
        # Read no .env/.secrets/.vars/.input/.actrc from the scenario repository.
        "--env-file",
        os.devnull,
        "--secret-file",
        os.devnull,
        "--var-file",
        os.devnull,
        "--input-file",
        os.devnull,
    ]
    for action, directory in local_repositories.items():
        argv += ["--local-repository", f"{action}={directory}"]
    if job:
        argv += ["-j", job]
    for key, value in step_env.items():
        argv += ["--env", f"{key}={value}"]
    for key, value in secrets.items():
        argv += ["-s", f"{key}={value}"]
    for key, value in variables.items():
        argv += ["--var", f"{key}={value}"]
    done = subprocess.run(
        argv,
        cwd=repo.path,
        env=act_environment(extra_path, tmpdir),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    (run_dir / "act.stdout.jsonl").write_text(done.stdout, encoding="utf-8")
    (run_dir / "act.stderr.log").write_text(done.stderr, encoding="utf-8")
    return ActResult(done.returncode, done.stdout, done.stderr, run_dir)


# -- the secret scan ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Leak:
    secret: str  # the NAME of the secret, never its value
    form: str  # "plain", "base64", "line 3"
    where: str

    def __str__(self) -> str:
        return f"{self.secret} ({self.form}) in {self.where}"


def needles(name: str, value: str) -> Iterator[tuple[str, str, bytes]]:
    """Forms of a secret worth searching for: the value, its base64, and each line of it that
    is secret on its own (>= 16 characters, not PEM armour like ``-----BEGIN ...``, not a
    ``key: value`` line whose value may be public, such as a kubeconfig's ``server:``; give the
    credentials inside structured values as separate entries, e.g. the kubeconfig's token)."""
    yield name, "plain", value.encode()
    yield name, "base64", base64.b64encode(value.encode())
    lines = [ln.strip() for ln in value.splitlines()]
    if len(lines) > 1:
        for number, line in enumerate(lines, start=1):
            if len(line) >= 16 and not line.startswith("-----") and ": " not in line:
                yield name, f"line {number}", line.encode()


def _act_log_without_mask_registrations(result: ActResult) -> bytes:
    """act's --json log minus the fields in which act echoes ``::add-mask::`` arguments.

    Those records are the mask registrations themselves (``command: add-mask``): GitHub's runner
    never shows them, and act prints them as ``***``; only the JSON fields ``arg``/``raw`` keep
    the value. Every other byte act printed is scanned.
    """
    kept: list[str] = []
    for record in result.records:
        shown = record
        if record.get("command") == "add-mask":
            shown = {k: v for k, v in record.items() if k not in ("arg", "raw")}
        kept.append(json.dumps(shown, ensure_ascii=False))
    return "\n".join(kept).encode()


def _files_under(root: Path) -> Iterator[Path]:
    if not root.exists():
        return
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            yield path


def scan_for_secrets(
    result: ActResult, secrets: Mapping[str, str], *, also: Iterable[Path] = ()
) -> list[Leak]:
    """Every place a secret (plain, base64 or one of its lines) shows up after a run.

    Reads: act's whole output (JSON records and any non-JSON line), every per-step output,
    summary, env, state and path file, the final workspace and RUNNER_TEMP of every job, the
    run's TMPDIR, and any extra paths given.
    """
    search = [n for name, value in secrets.items() if value for n in needles(name, value)]
    leaks: list[Leak] = []

    def check(blob: bytes, where: str) -> None:
        for name, form, needle in search:
            if needle in blob:
                leaks.append(Leak(name, form, where))

    check(_act_log_without_mask_registrations(result), "act output")
    check(result.stderr.encode(), "act stderr")
    for snap in result.snapshots():
        for path in _files_under(snap.directory / "files"):
            check(path.read_bytes(), f"{snap.job}/{snap.action} {path.name}")
    for snap in result.last_snapshot_per_job_run():
        for sub in ("workspace", "temp"):
            for path in _files_under(snap.directory / sub):
                check(path.read_bytes(), f"{snap.job} {sub}/{path.relative_to(snap.directory / sub)}")
    for path in _files_under(result.run_dir / "tmp"):
        check(path.read_bytes(), f"TMPDIR {path.relative_to(result.run_dir / 'tmp')}")
    for extra in also:
        for path in [extra] if extra.is_file() else list(_files_under(extra)):
            check(path.read_bytes(), str(path))
    return leaks
