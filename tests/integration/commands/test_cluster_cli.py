"""gitops cluster with a stand-in hetzner-k3s that records what it was given and writes a kubeconfig.

The stand-in behaves as hetzner-k3s does where it matters (facts from hetzner-k3s's source, tags
v2.4.6, v2.4.9 and v2.6.0, cited per case): it prints its progress as ``[Prefix] message`` lines
(the log_line calls of each class), writes a shell script to ``File.tempname`` under ``$TMPDIR``
(src/util/shell.cr), reads ``$HOME/.hetzner-k3s/k3s-releases.yaml`` (src/k3s.cr), answers
``--version`` with the bare version (admiral's define_version), and ``upgrade`` asks for the cluster
name on stdin and aborts on a mismatch (src/cluster/upgrade.cr). ``STANDIN_FAIL_IN`` /
``STANDIN_HANG_IN`` make it fail or hang (with a child process of its own) in one phase.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import stat
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fakekube import FakeKube
from tests.support.github import all_text, assert_no_leak

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
DEV_CONFIG = ROOT / "infra/k8s/hetzner/dev/cluster/cluster-config.yaml"
DEV_K3S = yaml.safe_load(DEV_CONFIG.read_text(encoding="utf-8"))["k3s_version"]
HCLOUD = "hcloud-TESTtoken-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
GH = "ghp_TESTshouldNeverReachTheChild000000000000"

# The stand-in. Each run appends one JSON line to $STANDIN_RECORD (argv, environment, stdin, the
# files it was pointed at), prints hetzner-k3s's lines of each phase (and the secrets, to prove the
# log masks them), and on create writes the kubeconfig.
STANDIN = """\
#!{python}
import json, os, stat, subprocess, sys, tempfile, time
import yaml

args = sys.argv[1:]
if args == ["--version"]:
    print(os.environ.get("STANDIN_VERSION", "2.4.9"))
    sys.exit(0)
command = args[0]
config_path = args[args.index("--config") + 1]
config = yaml.safe_load(open(config_path))
ssh = config["networking"]["ssh"]
record = {{"argv": args, "env": {{k: os.environ.get(k) for k in
    ("HCLOUD_TOKEN", "HETZNER_TOKEN", "HOME", "TMPDIR", "GH_TOKEN", "GITHUB_TOKEN", "HETZNER_SSH_PRIVATE_KEY",
     "HETZNER_SSH_PUBLIC_KEY", "PATH")}}}}
record["config"] = config
record["modes"] = {{name: oct(stat.S_IMODE(os.stat(path).st_mode)) for name, path in (
    ("config", config_path), ("dir", os.path.dirname(config_path)), ("tmpdir", os.environ["TMPDIR"]),
    ("private_key", ssh["private_key_path"]), ("public_key", ssh["public_key_path"]))}}
record["private_key"] = open(ssh["private_key_path"]).read()
record["public_key"] = open(ssh["public_key_path"]).read()
cache = os.path.join(os.environ["HOME"], ".hetzner-k3s", "k3s-releases.yaml")
record["release_cache"] = yaml.safe_load(open(cache)) if os.path.exists(cache) else None
# As src/util/shell.cr does for every command: a 0755 script (holding the token) from File.tempname.
handle, script = tempfile.mkstemp(prefix="hetzner_k3s_", suffix=".sh")
os.write(handle, ("HCLOUD_TOKEN=" + os.environ.get("HCLOUD_TOKEN", "") + " kubectl apply").encode())
os.close(handle)
os.chmod(script, 0o755)
record["script_dir"] = os.path.dirname(script)
if command == "upgrade":
    record["kubeconfig"] = open(config["kubeconfig_path"]).read()
    record["modes"]["kubeconfig"] = oct(stat.S_IMODE(os.stat(config["kubeconfig_path"]).st_mode))
    print("Please enter the cluster name to confirm that you want to upgrade it: ", end="", flush=True)
    answer = sys.stdin.readline()
    record["stdin"] = answer
    record["child"] = None
    open(os.environ["STANDIN_RECORD"], "a").write(json.dumps(record) + "\\n")
    if answer.strip() != config["cluster_name"]:
        print("Cluster name '" + answer.strip() + "' does not match. Aborting upgrade.", flush=True)
        sys.exit(1)
    print("[K3s upgrade] k3s version upgrade started", flush=True)
    sys.exit(int(os.environ.get("STANDIN_UPGRADE_EXIT", "0")))
os.unlink(script)
name = config["cluster_name"]
PHASES = [
    ("config", ["[Configuration] Validating configuration...",
                "[Configuration] ...configuration seems valid."]),
    ("network", ["[Private Network] Creating private network...",
                 "[Private Network] ...private network created",
                 "[SSH key] Creating SSH key...", "[Firewall] Creating firewall..."]),
    ("server", ["[Instance " + name + "-master1] Creating instance " + name + "-master1 (attempt 1)..."]),
    ("ssh", ["[Instance " + name + "-master1] Instance " + name + "-master1 not ready, retrying..."]),
    ("k3s", ["[Instance " + name + "-master1] [INFO]  Using " + config["k3s_version"] + " as release",
             "[Instance " + name + "-master1] Waiting for the control plane to be ready..."]),
    ("kubeconfig", ["[Control plane] Generating the kubeconfig file to "
                    + config["kubeconfig_path"] + "..."]),
    ("addons", ["[Hetzner Cloud Secret] Creating secret for Hetzner Cloud token...",
                "[Hetzner CSI Driver] Installing Hetzner CSI Driver..."]),
    ("workers", ["[Instance " + name + "-pool-workers-worker1] [INFO]  systemd: Starting k3s-agent"]),
]
print("[Debug] token " + os.environ.get("HCLOUD_TOKEN", ""), flush=True)
print(record["private_key"], flush=True)
record["child"] = None
for phase, lines in PHASES:
    for line in lines:
        print(line, flush=True)
    if os.environ.get("STANDIN_HANG_IN") == phase:
        # Like a server creation retried forever: hang, with a child process of our own (ssh, kubectl).
        sleeper = ["sleep", "300"]
        if os.environ.get("STANDIN_CHILD_IGNORES_TERM"):  # an ssh that does not die on SIGTERM
            sleeper = ["sh", "-c", "trap '' TERM; exec sleep 300"]
        child = subprocess.Popen(sleeper)
        record["child"] = child.pid
        open(os.environ["STANDIN_RECORD"], "a").write(json.dumps(record) + "\\n")
        time.sleep(300)
    if os.environ.get("STANDIN_FAIL_IN") == phase:
        open(os.environ["STANDIN_RECORD"], "a").write(json.dumps(record) + "\\n")
        print("Error: the stand-in fails in phase " + phase, flush=True)
        sys.exit(int(os.environ.get("STANDIN_EXIT", "1")))
with open(config["kubeconfig_path"], "w") as out:
    out.write(os.environ["STANDIN_KUBECONFIG"])
print("[Control plane] ...kubeconfig file generated as " + config["kubeconfig_path"] + ".", flush=True)
open(os.environ["STANDIN_RECORD"], "a").write(json.dumps(record) + "\\n")
"""

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: hetzner-dev-cluster-master1
  cluster:
    server: https://203.0.113.7:6443
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkZBS0U=
contexts:
- name: hetzner-dev-cluster-master1
  context: {cluster: hetzner-dev-cluster-master1, user: hetzner-dev-cluster-master1}
current-context: hetzner-dev-cluster-master1
users:
- name: hetzner-dev-cluster-master1
  user:
    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNMSUVOVA==
    client-key-data: LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tClNFQ1JFVEtFWQ==
"""


def ssh_key_pair() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    return private, public + " ci@gitops"


@dataclass
class Cluster:
    bin: Path
    standin: Path
    record: Path
    private_key: str
    public_key: str
    runner_temp: Path

    def runs(self) -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text(encoding="utf-8").splitlines()]

    def recorded(self) -> dict[str, Any]:
        """The last run of the stand-in."""
        return self.runs()[-1]

    def leftovers(self) -> list[Path]:
        return sorted(self.runner_temp.glob("gitops-hetzner-*"))


def write_exe(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)
    return path


@pytest.fixture
def cluster(tmp_path: Path, gha_env: Any, monkeypatch: pytest.MonkeyPatch) -> Cluster:
    """A stand-in hetzner-k3s and helm on PATH, secrets in the environment, a private tool cache."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    standin = write_exe(bin_dir / "hetzner-k3s", STANDIN.format(python=sys.executable))
    write_exe(bin_dir / "helm", "#!/bin/sh\nexit 0\n")
    private, public = ssh_key_pair()
    record = tmp_path / "record.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HCLOUD_TOKEN", HCLOUD)
    monkeypatch.setenv("HETZNER_SSH_PRIVATE_KEY", private.strip())  # secrets often lose the final newline
    monkeypatch.setenv("HETZNER_SSH_PUBLIC_KEY", public)
    monkeypatch.setenv("GH_TOKEN", GH)
    monkeypatch.setenv("STANDIN_RECORD", str(record))
    monkeypatch.setenv("STANDIN_KUBECONFIG", KUBECONFIG)
    monkeypatch.setenv("GITOPS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the runner's shared temp dir: hetzner-k3s must not use it
    monkeypatch.chdir(ROOT)
    return Cluster(bin_dir, standin, record, private, public, Path(gha_env.root))


def secrets_of(c: Cluster) -> tuple[str, ...]:
    return (HCLOUD, GH, c.private_key, KUBECONFIG)


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie (a container's init may not reap at once)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


# -- a run -------------------------------------------------------------------------------------


def test_runs_create_with_the_token_only_as_hcloud_token_and_keys_in_private_files(
    cluster: Cluster, cli: Any, gha_env: Any
) -> None:
    result = cli(["cluster", "--environment", "dev", "--hetzner-k3s", "hetzner-k3s", "--format", "json"])
    assert result.code == 0, result.stderr
    seen = cluster.recorded()
    config_copy = seen["argv"][2]
    # --skip-current-ip-validation: a flag of `create` since 2.4.6 (src/hetzner-k3s.cr, class Create)
    assert seen["argv"] == ["create", "--config", config_copy, "--skip-current-ip-validation"]
    private = Path(config_copy).parent
    assert private.parent == cluster.runner_temp  # $RUNNER_TEMP/gitops-hetzner-dev-*/
    env = seen["env"]
    assert env["HCLOUD_TOKEN"] == HCLOUD
    for name in (
        "GH_TOKEN",
        "GITHUB_TOKEN",
        "HETZNER_TOKEN",
        "HETZNER_SSH_PRIVATE_KEY",
        "HETZNER_SSH_PUBLIC_KEY",
    ):
        assert env[name] is None, name
    assert Path(env["HOME"]).parent == private  # a private HOME, not the runner's
    # TMPDIR: the 0755 scripts holding the token land in the private 0700 directory, not in /tmp
    assert Path(env["TMPDIR"]).parent == private
    assert seen["script_dir"] == env["TMPDIR"]
    assert seen["modes"] == {
        "config": "0o600",
        "dir": "0o700",
        "tmpdir": "0o700",
        "private_key": "0o600",
        "public_key": "0o600",
    }
    assert seen["private_key"] == cluster.private_key.strip() + "\n"  # final newline restored
    assert seen["public_key"] == cluster.public_key + "\n"
    # The k3s release list is seeded (no GitHub API call): the config's version, and v1.23.6+k3s1,
    # whose index master_generator.cr looks up; oldest first like `releases.reverse` in src/k3s.cr.
    assert seen["release_cache"] == ["v1.23.6+k3s1", DEV_K3S]

    config = seen["config"]
    committed = yaml.safe_load(DEV_CONFIG.read_text(encoding="utf-8"))
    kubeconfig = cluster.runner_temp / "gitops-kubeconfig-dev" / "hetzner-dev-cluster.yaml"
    assert config["kubeconfig_path"] == str(kubeconfig)
    assert config["networking"]["ssh"]["private_key_path"].startswith(str(private))
    assert "hetzner_token" not in config
    assert HCLOUD not in json.dumps(config)  # the token is never written into the copy
    for key in ("cluster_name", "k3s_version", "masters_pool", "worker_node_pools", "addons"):
        assert config[key] == committed[key]

    assert cluster.leftovers() == []  # keys, config copy, HOME and TMPDIR removed
    assert kubeconfig.read_text(encoding="utf-8") == KUBECONFIG
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
    assert gha_env.outputs() == {
        "kubeconfig": str(kubeconfig),
        "cluster-name": "hetzner-dev-cluster",
        "node-count": "3",  # 1 master + 2 workers in dev's config
    }
    data = json.loads(result.stdout)
    assert data["hetzner_k3s"]["source"] == "path" and data["hetzner_k3s"]["verified"] is False
    assert data["k3s"]["check"] == "no running cluster given"
    assert "[Configuration] Validating configuration..." in result.stderr  # streamed
    assert "[Debug] token ***" in result.stderr
    assert "k3s version not compared: no kubeconfig of a running cluster was given" in result.stderr
    assert "idempotent" in gha_env.summary()
    assert gha_env.summary().startswith(
        "### :white_check_mark: gitops cluster: cluster hetzner-dev-cluster of environment dev "
        "created or updated"
    )
    assert_no_leak(all_text(result, gha_env), *secrets_of(cluster))


def test_a_failing_create_exits_2_names_its_phase_and_still_removes_the_keys(
    cluster: Cluster, cli: Any, gha_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_FAIL_IN", "server")
    monkeypatch.setenv("STANDIN_EXIT", "3")
    result = cli(["cluster", "--environment", "dev", "--hetzner-k3s", "hetzner-k3s"])
    assert result.code == 2
    assert (
        "hetzner-k3s create failed (exit 3) while creating server hetzner-dev-cluster-master1. Re-running is "
        "safe: create continues from the cluster's current state" in result.stderr
    )
    assert "Error: the stand-in fails in phase server" in result.stderr
    assert cluster.leftovers() == []
    assert "kubeconfig" not in gha_env.outputs()
    assert gha_env.summary().startswith(
        "### :x: gitops cluster: cluster hetzner-dev-cluster of environment dev: hetzner-k3s create failed "
        "(exit 3) while creating server hetzner-dev-cluster-master1; re-running is safe"
    )
    assert_no_leak(all_text(result, gha_env), *secrets_of(cluster))


# The lines before each hang or failure are hetzner-k3s's own log_line messages (v2.4.6):
# configuration/loader.cr, hetzner/network|ssh_key|firewall/create.cr, hetzner/instance/create.cr:96,
# util/ssh.cr:66 (SSH not up yet), control_plane/setup.cr:46, kubeconfig_manager.cr:23,
# software/hetzner/secret.cr and csi_driver.cr; then SSH output of the workers' install script.
PHASES = [
    pytest.param("config", "validating the configuration", id="config"),
    pytest.param("network", "creating the cloud resources (firewall)", id="network"),
    pytest.param("server", "creating server hetzner-dev-cluster-master1", id="server"),
    pytest.param("ssh", "waiting for server hetzner-dev-cluster-master1 to accept SSH", id="ssh"),
    pytest.param("k3s", "waiting for the control plane to be ready", id="k3s"),
    pytest.param("kubeconfig", "setting up the control plane", id="kubeconfig"),
    pytest.param("addons", "installing the add-ons (CSI driver)", id="addons"),
    pytest.param("workers", "installing k3s on hetzner-dev-cluster-pool-workers-worker1", id="workers"),
]


@pytest.mark.parametrize(("phase", "named"), PHASES)
def test_a_hang_in_any_phase_is_stopped_at_the_timeout_with_its_children_and_named(  # noqa: PLR0917
    cluster: Cluster, cli: Any, gha_env: Any, monkeypatch: pytest.MonkeyPatch, phase: str, named: str
) -> None:
    monkeypatch.setenv("STANDIN_HANG_IN", phase)
    started = time.monotonic()
    result = cli(["cluster", "--environment", "dev", "--hetzner-k3s", "hetzner-k3s", "--timeout", "3"])
    elapsed = time.monotonic() - started
    assert result.code == 2, result.stderr
    assert elapsed < 30, elapsed  # stopped, not waited for (the stand-in would sleep 300 s)
    assert (
        f"hetzner-k3s create did not finish within the deadline and was stopped; it was {named}. Re-running "
        "is safe" in result.stderr
    )
    child = cluster.recorded()["child"]
    assert child
    # Killed is not yet gone: a SIGKILLed process exits when next scheduled (and a busy machine
    # may take a moment), so allow it a few seconds; a survivor stays alive for 300 s.
    gone_by = time.monotonic() + 5
    while alive(child) and time.monotonic() < gone_by:
        time.sleep(0.05)
    assert not alive(child), "the child of hetzner-k3s outlived it"
    assert cluster.leftovers() == []
    assert gha_env.summary().startswith(":x: gitops cluster", 4)
    assert "| create | timed out |" in gha_env.summary()
    assert "re-running is safe" in gha_env.summary()


def test_a_child_that_ignores_sigterm_is_killed_with_its_group(
    cluster: Cluster, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The leader exits on SIGTERM; its child ignores it (SIG_IGN survives exec, POSIX): the group is
    # killed again once the leader is gone, so nothing it started runs past the job's deadline.
    monkeypatch.setenv("STANDIN_HANG_IN", "ssh")
    monkeypatch.setenv("STANDIN_CHILD_IGNORES_TERM", "1")
    result = cli(["cluster", "--environment", "dev", "--hetzner-k3s", "hetzner-k3s", "--timeout", "3"])
    assert result.code == 2, result.stderr
    child = cluster.recorded()["child"]
    assert child
    gone_by = time.monotonic() + 5
    while alive(child) and time.monotonic() < gone_by:
        time.sleep(0.05)
    assert not alive(child), "a child that ignores SIGTERM outlived the run"


@pytest.mark.parametrize(("phase", "named"), PHASES)
def test_a_failure_in_any_phase_names_it(
    cluster: Cluster, cli: Any, monkeypatch: pytest.MonkeyPatch, phase: str, named: str
) -> None:
    monkeypatch.setenv("STANDIN_FAIL_IN", phase)
    result = cli(["cluster", "--environment", "dev", "--hetzner-k3s", "hetzner-k3s"])
    assert result.code == 2
    assert f"hetzner-k3s create failed (exit 1) while {named}" in result.stderr


def test_the_default_timeout_is_well_under_the_jobs(cluster: Cluster, cli: Any) -> None:
    workflow = yaml.safe_load((ROOT / ".github/workflows/hetzner-cluster-environment.yml").read_text())
    job_minutes = workflow["jobs"]["cluster"]["timeout-minutes"]
    result = cli(["cluster", "--environment", "dev", "--hetzner-k3s", "hetzner-k3s", "--format", "json"])
    assert result.code == 0, result.stderr
    timeout = json.loads(result.stdout)["timeout_seconds"]
    # room left in the job for cluster-ready (600 s), the upload and the dispatch
    assert timeout + 600 + 300 <= job_minutes * 60


def test_a_given_binary_is_verified_when_a_checksum_is_given(cluster: Cluster, cli: Any) -> None:
    good = hashlib.sha256(cluster.standin.read_bytes()).hexdigest()
    result = cli(["cluster", "--environment", "dev", "--hetzner-k3s", str(cluster.standin), "--sha256", good])
    assert result.code == 0, result.stderr
    assert "verified" in result.stdout


def test_a_wrong_checksum_refuses_to_run_and_writes_no_key(cluster: Cluster, cli: Any) -> None:
    result = cli(["cluster", "--environment", "dev", "--hetzner-k3s", "hetzner-k3s", "--sha256", "0" * 64])
    assert result.code == 1
    assert "refusing to run it" in result.stderr
    assert not cluster.record.exists()  # never executed
    assert cluster.leftovers() == []


# -- the running cluster's k3s version -----------------------------------------------------------------

MASTER, WORKERS = (
    "hetzner-dev-cluster-master1",
    ("hetzner-dev-cluster-pool-workers-worker1", "hetzner-dev-cluster-pool-workers-worker2"),
)
OLDER = "v1.35.6+k3s1"  # one minor below dev's k3s_version


@pytest.fixture
def running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKube]:
    """dev's cluster as the fake API server: 1 master + 2 workers, each reporting its kubelet version."""
    fake = FakeKube(nodes=0).start()
    kubeconfig = fake.write_kubeconfig(tmp_path / "running-kubeconfig")
    monkeypatch.setenv("RUNNING_KUBECONFIG", kubeconfig.read_text(encoding="utf-8"))
    yield fake
    fake.stop()
    assert not fake.bugs


def seed(fake: FakeKube, *versions: str) -> None:
    for name, version in zip((MASTER, *WORKERS), versions, strict=True):
        fake.seed_node(name, version=version)


def with_running(*args: str) -> list[str]:
    return ["cluster", "--environment", "dev", "--hetzner-k3s", "hetzner-k3s",
            "--cluster-kubeconfig-env", "RUNNING_KUBECONFIG", *args]  # fmt: skip


def test_create_runs_when_every_node_runs_the_configs_version(
    cluster: Cluster, cli: Any, running: FakeKube, gha_env: Any
) -> None:
    seed(running, DEV_K3S, DEV_K3S, DEV_K3S)
    result = cli([*with_running(), "--format", "json"])
    assert result.code == 0, result.stderr
    assert cluster.recorded()["argv"][0] == "create"
    k3s = json.loads(result.stdout)["k3s"]
    assert (k3s["check"], k3s["decision"], k3s["reason"]) == (
        "compared",
        "create",
        f"all 3 node(s) run {DEV_K3S}",
    )
    assert running.requests(verb="list", path="/api/v1/nodes$")
    assert f"compared: all 3 node(s) run {DEV_K3S}" in gha_env.summary()


def test_a_k3s_version_change_is_refused_with_the_upgrade_to_run(
    cluster: Cluster, cli: Any, running: FakeKube, gha_env: Any
) -> None:
    # create would re-run the install script with the new version on every node at once
    # (hetzner-k3s src/kubernetes/installer.cr): two of prod's three masters restarting together.
    seed(running, OLDER, OLDER, OLDER)
    result = cli(with_running())
    assert result.code == 1
    assert not cluster.record.exists(), "hetzner-k3s must not run"
    assert (
        "::error title=k3s upgrade needed,file=infra/k8s/hetzner/dev/cluster/cluster-config.yaml::"
        in result.stderr
    )
    assert (
        f"k3s version change: the config's k3s_version is {DEV_K3S} but the cluster runs {OLDER} on "
        f"{MASTER}, {', '.join(WORKERS)}; create would reinstall k3s on every node at once" in result.stderr
    )
    assert (
        "How to fix: upgrade instead, node by node with draining: "
        "`gitops cluster --environment dev --upgrade`" in (result.stderr)
    )
    assert "upgrade: true" in gha_env.summary()
    assert cluster.leftovers() == []


def test_a_half_finished_upgrade_is_refused_too(cluster: Cluster, cli: Any, running: FakeKube) -> None:
    seed(running, DEV_K3S, OLDER, DEV_K3S)
    result = cli(with_running())
    assert result.code == 1
    assert f"{OLDER} on {WORKERS[0]}; {DEV_K3S} on {MASTER}, {WORKERS[1]}" in result.stderr
    assert "--upgrade" in result.stderr


def test_a_downgrade_is_refused(cluster: Cluster, cli: Any, running: FakeKube) -> None:
    seed(running, "v1.37.1+k3s1", "v1.37.1+k3s1", "v1.37.1+k3s1")
    result = cli(with_running())
    assert result.code == 1
    assert "k3s cannot be downgraded in place" in result.stderr
    assert not cluster.record.exists()


def test_an_unreachable_running_cluster_refuses_unless_the_check_is_skipped(
    cluster: Cluster, cli: Any, running: FakeKube
) -> None:
    running.stop()
    result = cli(with_running())
    assert result.code == 1
    assert "cannot read the running cluster's nodes" in result.stderr
    assert "--skip-version-check" in result.stderr
    assert not cluster.record.exists()
    skipped = cli(with_running("--skip-version-check"))
    assert skipped.code == 0, skipped.stderr
    assert "k3s version not compared (--skip-version-check)" in skipped.stderr
    running.start()  # the fixture stops it again


def test_an_empty_kubeconfig_secret_means_a_first_create(
    cluster: Cluster, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNNING_KUBECONFIG", "")  # the environment's KUBECONFIG secret does not exist yet
    result = cli(with_running())
    assert result.code == 0, result.stderr
    assert "k3s version not compared: no kubeconfig of a running cluster was given" in result.stderr


# -- --upgrade -------------------------------------------------------------------------------------------


class UpgradeController(threading.Thread):
    """Plays the system-upgrade-controller once hetzner-k3s upgrade has run: one node at a time,
    cordoned, kubelet restarted at the new version, uncordoned (templates/upgrade_plan_for_*.yaml:
    concurrency 1 for masters, cordon: true)."""

    def __init__(self, fake: FakeKube, cluster: Cluster, version: str, nodes: tuple[str, ...]) -> None:
        super().__init__(daemon=True)
        self.fake, self.cluster, self.version, self.nodes = fake, cluster, version, nodes

    def run(self) -> None:
        deadline = time.monotonic() + 30
        while not any(r["argv"][0] == "upgrade" for r in self.cluster.runs()):
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)
        for name in self.nodes:
            node = self.fake.get("v1", "Node", None, name)
            assert node is not None
            node["spec"]["unschedulable"] = True
            self.fake.put(node)
            self.fake.set_node_version(name, self.version)
            node = self.fake.get("v1", "Node", None, name)
            assert node is not None
            node["spec"]["unschedulable"] = False
            self.fake.put(node)
            time.sleep(0.1)


@pytest.fixture
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    from gitops.operations import hetzner_cluster

    monkeypatch.setattr(hetzner_cluster, "UPGRADE_POLL_SECONDS", 0.1)


def test_upgrade_answers_the_prompt_waits_for_every_node_then_creates_and_reports_versions(
    cluster: Cluster, cli: Any, running: FakeKube, gha_env: Any, fast_polls: None
) -> None:
    seed(running, OLDER, OLDER, OLDER)
    controller = UpgradeController(running, cluster, DEV_K3S, (MASTER, *WORKERS))
    controller.start()
    result = cli([*with_running("--upgrade"), "--format", "json"])
    controller.join(timeout=30)
    assert result.code == 0, result.stderr
    upgrade, create = cluster.runs()
    copy = upgrade["argv"][2]
    # hetzner-k3s upgrade --config FILE --new-k3s-version VERSION (docs/Maintenance.md); the copy's
    # k3s_version is what runs now: NewK3sVersion wants the new one to be more recent than it.
    assert upgrade["argv"] == ["upgrade", "--config", copy, "--new-k3s-version", DEV_K3S]
    assert upgrade["config"]["k3s_version"] == OLDER
    assert upgrade["stdin"] == "hetzner-dev-cluster\n"  # src/cluster/upgrade.cr reads the name with gets
    assert yaml.safe_load(upgrade["kubeconfig"]) == yaml.safe_load(os.environ["RUNNING_KUBECONFIG"])
    assert upgrade["modes"]["kubeconfig"] == "0o600"
    assert upgrade["release_cache"] == ["v1.23.6+k3s1", OLDER, DEV_K3S]  # current before new
    assert Path(upgrade["env"]["TMPDIR"]).parent == Path(copy).parent
    # then create, as hetzner-k3s's upgrade procedure requires (docs/Maintenance.md, step 4)
    assert create["argv"][0] == "create" and create["config"]["k3s_version"] == DEV_K3S
    data = json.loads(result.stdout)
    assert data["mode"] == "upgrade"
    assert data["k3s"]["before"] == dict.fromkeys((MASTER, *WORKERS), OLDER)
    assert data["k3s"]["after"] == dict.fromkeys((MASTER, *WORKERS), DEV_K3S)
    assert [s["command"] for s in data["steps"]] == ["upgrade", "wait", "create"]
    assert f"{MASTER}: {DEV_K3S}, Ready" in result.stderr  # progress per node
    summary = gha_env.summary()
    assert summary.startswith(
        "### :white_check_mark: gitops cluster: cluster hetzner-dev-cluster of environment dev upgraded to "
        f"k3s {DEV_K3S} and updated"
    )
    assert f"| {MASTER} | {OLDER} | {DEV_K3S} |" in summary
    assert cluster.leftovers() == []
    assert_no_leak(all_text(result, gha_env), *secrets_of(cluster), os.environ["RUNNING_KUBECONFIG"])


def test_an_upgrade_run_again_after_the_nodes_were_upgraded_goes_straight_to_create(
    cluster: Cluster, cli: Any, running: FakeKube
) -> None:
    seed(running, DEV_K3S, DEV_K3S, DEV_K3S)
    result = cli(with_running("--upgrade"))
    assert result.code == 0, result.stderr
    assert [r["argv"][0] for r in cluster.runs()] == ["create"]


def test_an_upgrade_whose_nodes_do_not_all_upgrade_in_time_fails_naming_them(
    cluster: Cluster, cli: Any, running: FakeKube, gha_env: Any, fast_polls: None
) -> None:
    seed(running, OLDER, OLDER, OLDER)
    controller = UpgradeController(running, cluster, DEV_K3S, (MASTER,))  # the workers' plan never runs
    controller.start()
    result = cli(with_running("--upgrade", "--timeout", "3"))
    controller.join(timeout=30)
    assert result.code == 2
    assert (
        f"the nodes did not all reach {DEV_K3S} within 3s (not yet on {DEV_K3S}: {WORKERS[0]} ({OLDER})"
        in (result.stderr)
    )
    assert "Re-running is safe: the upgrade goes on from the nodes' current versions" in result.stderr
    assert [r["argv"][0] for r in cluster.runs()] == ["upgrade"]  # no create on a half-upgraded cluster
    assert f"| {MASTER} | {OLDER} | {DEV_K3S} |" in gha_env.summary()


def test_upgrade_refuses_a_hetzner_k3s_older_than_2_4_9(
    cluster: Cluster, cli: Any, running: FakeKube, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 2.4.6's plans select masters by node-role.kubernetes.io/master (templates/upgrade_plan_for_*.yaml)
    monkeypatch.setenv("STANDIN_VERSION", "2.4.6")
    seed(running, OLDER, OLDER, OLDER)
    result = cli(with_running("--upgrade"))
    assert result.code == 1
    assert "hetzner-k3s 2.4.6" in result.stderr and "2.4.9 or later is needed" in result.stderr
    assert cluster.runs() == []


def test_upgrade_with_the_pinned_release_needs_a_published_checksum(cluster: Cluster, cli: Any) -> None:
    result = cli(["cluster", "--environment", "dev", "--upgrade", "--hetzner-k3s", ""])
    assert result.code == 1
    assert "no sha256 is recorded for hetzner-k3s 2.4.9" in result.stderr


def test_upgrade_refuses_skipping_a_minor_version(cluster: Cluster, cli: Any, running: FakeKube) -> None:
    seed(running, "v1.34.9+k3s1", "v1.34.9+k3s1", "v1.34.9+k3s1")
    result = cli(with_running("--upgrade"))
    assert result.code == 1
    assert "skips a minor version" in result.stderr and "v1.35.x+k3sN" in result.stderr
    assert cluster.runs() == []


def test_upgrade_needs_the_running_clusters_kubeconfig(cluster: Cluster, cli: Any) -> None:
    result = cli(["cluster", "--environment", "dev", "--upgrade", "--hetzner-k3s", "hetzner-k3s"])
    assert result.code == 1
    assert "--upgrade needs the running cluster's kubeconfig" in result.stderr
    assert "How to fix: in the workflow it is the environment's KUBECONFIG secret" in result.stderr


def test_a_failing_upgrade_names_its_phase_and_runs_no_create(
    cluster: Cluster, cli: Any, running: FakeKube, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(running, OLDER, OLDER, OLDER)
    monkeypatch.setenv("STANDIN_UPGRADE_EXIT", "1")  # e.g. "Failed to create upgrade plan for controlplane"
    result = cli(with_running("--upgrade"))
    assert result.code == 2
    assert "hetzner-k3s upgrade failed (exit 1) while creating the upgrade plans" in result.stderr
    assert [r["argv"][0] for r in cluster.runs()] == ["upgrade"]


# -- installing the pinned release -----------------------------------------------------------------


class Releases:
    """A tiny HTTP server standing in for GitHub's release downloads."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                body = outer.files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: Any) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.template = (
            f"http://127.0.0.1:{self.server.server_address[1]}/v{{version}}/hetzner-k3s-{{platform}}"
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def releases(cluster: Cluster) -> Iterator[Releases]:
    import platform as plat

    from gitops.core.hetzner_k3s import platform_key

    key = platform_key(plat.system(), plat.machine())
    server = Releases({f"/v9.9.9/hetzner-k3s-{key}": cluster.standin.read_bytes()})
    cluster.standin.unlink()  # only the download can provide it now
    yield server
    server.close()


def download_args(releases: Releases, sha: str) -> list[str]:
    return [
        "cluster",
        "--environment",
        "dev",
        "--version",
        "9.9.9",
        "--sha256",
        sha,
        "--download-url",
        releases.template,
    ]


def test_download_is_verified_cached_and_reused(
    cluster: Cluster, releases: Releases, cli: Any, tmp_path: Path
) -> None:
    [body] = releases.files.values()
    sha = hashlib.sha256(body).hexdigest()
    first = cli([*download_args(releases, sha), "--format", "json"])
    assert first.code == 0, first.stderr
    cached = tmp_path / "cache" / "hetzner-k3s" / sha / "hetzner-k3s"
    assert cached.read_bytes() == body and os.access(cached, os.X_OK)
    assert json.loads(first.stdout)["hetzner_k3s"] == {
        "path": str(cached),
        "version": "9.9.9",
        "sha256": sha,
        "verified": True,
        "source": "download",
    }
    second = cli([*download_args(releases, sha), "--format", "json"])
    assert second.code == 0, second.stderr
    assert json.loads(second.stdout)["hetzner_k3s"]["source"] == "cache"
    assert len(releases.requests) == 1


def test_a_download_with_the_wrong_checksum_is_never_made_executable(
    cluster: Cluster, releases: Releases, cli: Any, tmp_path: Path
) -> None:
    result = cli(download_args(releases, "f" * 64))
    assert result.code == 1
    assert "Checksum mismatch" in result.stderr and "refusing to run it" in result.stderr
    entry = tmp_path / "cache" / "hetzner-k3s" / ("f" * 64)
    assert list(entry.iterdir()) == []  # the partial download is gone, nothing cached
    assert not cluster.record.exists()
    assert cluster.leftovers() == []


def test_a_tampered_cache_entry_is_refused(
    cluster: Cluster, releases: Releases, cli: Any, tmp_path: Path
) -> None:
    [body] = releases.files.values()
    sha = hashlib.sha256(body).hexdigest()
    assert cli(download_args(releases, sha)).code == 0
    cached = tmp_path / "cache" / "hetzner-k3s" / sha / "hetzner-k3s"
    cached.write_bytes(body + b"\n# changed\n")
    cluster.record.unlink()
    result = cli(download_args(releases, sha))
    assert result.code == 1
    assert "the cached" in result.stderr and "refusing to run it" in result.stderr
    assert not cluster.record.exists()


def test_another_version_needs_a_checksum(cluster: Cluster, cli: Any) -> None:
    result = cli(["cluster", "--environment", "dev", "--version", "2.6.0"])
    assert result.code == 1
    assert "no checksum is recorded for hetzner-k3s 2.6.0" in result.stderr


# -- refusals ---------------------------------------------------------------------------------------


def test_a_token_committed_in_the_config_is_refused(cluster: Cluster, cli: Any, tmp_path: Path) -> None:
    config = tmp_path / "cluster-config.yaml"
    config.write_text(
        DEV_CONFIG.read_text(encoding="utf-8") + "hetzner_token: committed-by-mistake\n", encoding="utf-8"
    )
    result = cli(["cluster", "--environment", "dev", "--config", str(config), "--hetzner-k3s", "hetzner-k3s"])
    assert result.code == 1
    assert "`hetzner_token` holds a token in a committed file" in result.stderr
    assert not cluster.record.exists()


def test_an_empty_committed_token_is_dropped_so_hcloud_token_wins(
    cluster: Cluster, cli: Any, tmp_path: Path
) -> None:
    config = tmp_path / "cluster-config.yaml"
    config.write_text(DEV_CONFIG.read_text(encoding="utf-8") + 'hetzner_token: ""\n', encoding="utf-8")
    result = cli(["cluster", "--environment", "dev", "--config", str(config), "--hetzner-k3s", "hetzner-k3s"])
    assert result.code == 0, result.stderr
    assert "hetzner_token" not in cluster.recorded()["config"]


@pytest.mark.parametrize(
    ("unset", "words"),
    [
        pytest.param(["HCLOUD_TOKEN"], "no Hetzner Cloud token", id="token"),
        pytest.param(["HETZNER_SSH_PUBLIC_KEY"], "HETZNER_SSH_PUBLIC_KEY is empty", id="public-key"),
        pytest.param(["HETZNER_SSH_PRIVATE_KEY", "HETZNER_SSH_PUBLIC_KEY"], "no SSH key", id="both-keys"),
    ],
)
def test_missing_secrets_are_named(
    cluster: Cluster, cli: Any, monkeypatch: pytest.MonkeyPatch, unset: list[str], words: str
) -> None:
    for name in unset:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(cluster.runner_temp))  # no ~/.ssh keys to fall back on
    result = cli(["cluster", "--environment", "dev", "--hetzner-k3s", "hetzner-k3s"])
    assert result.code == 1
    assert words in result.stderr
    assert not cluster.record.exists()


def test_without_key_secrets_the_configs_own_key_files_are_used(
    cluster: Cluster, cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    for name, content in (
        ("hetzner_k3s_ed25519", cluster.private_key),
        ("hetzner_k3s_ed25519.pub", cluster.public_key),
    ):
        (home / ".ssh" / name).write_text(content, encoding="utf-8")
        (home / ".ssh" / name).chmod(0o600)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("HETZNER_SSH_PRIVATE_KEY")
    monkeypatch.delenv("HETZNER_SSH_PUBLIC_KEY")
    result = cli(
        [
            "cluster",
            "--environment",
            "dev",
            "--hetzner-k3s",
            "hetzner-k3s",
            "--kubeconfig-path",
            str(tmp_path / "kc"),
        ]
    )
    assert result.code == 0, result.stderr
    ssh = cluster.recorded()["config"]["networking"]["ssh"]
    assert ssh["private_key_path"] == str(
        home / ".ssh" / "hetzner_k3s_ed25519"
    )  # absolute: the child's HOME is private
    assert cluster.recorded()["private_key"] == cluster.private_key


def test_gitops_hetzner_k3s_names_the_binary_job_wide(
    cluster: Cluster, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITOPS_HETZNER_K3S", str(cluster.standin))
    monkeypatch.setenv("GITOPS_INPUT_HETZNER_K3S", "")  # what the action passes for an empty input
    result = cli(["cluster", "--environment", "dev"])
    assert result.code == 0, result.stderr
    assert cluster.recorded()["argv"][0] == "create"


def test_the_hetzner_token_variable_is_accepted_too(
    cluster: Cluster, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HCLOUD_TOKEN")
    monkeypatch.setenv("HETZNER_TOKEN", HCLOUD)
    result = cli(["cluster", "--environment", "dev", "--hetzner-k3s", "hetzner-k3s"])
    assert result.code == 0, result.stderr
    assert cluster.recorded()["env"]["HCLOUD_TOKEN"] == HCLOUD
    assert cluster.recorded()["env"]["HETZNER_TOKEN"] is None


def test_a_private_key_that_is_not_one_is_refused_without_echo(
    cluster: Cluster, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HETZNER_SSH_PRIVATE_KEY", "not-a-key-but-secret-anyway")
    result = cli(["cluster", "--environment", "dev", "--hetzner-k3s", "hetzner-k3s"])
    assert result.code == 1
    assert "does not hold a private key" in result.stderr
    assert_no_leak(all_text(result), "not-a-key-but-secret-anyway")


def test_an_unknown_environment_lists_the_configured_ones(cluster: Cluster, cli: Any) -> None:
    result = cli(["cluster", "--environment", "staging", "--hetzner-k3s", "hetzner-k3s"])
    assert result.code == 1
    assert (
        "cluster config infra/k8s/hetzner/staging/cluster/cluster-config.yaml does not exist" in result.stderr
    )
    assert "dev, prod, test" in result.stderr


def test_a_missing_environment_or_binary_says_what_to_pass(cluster: Cluster, cli: Any) -> None:
    result = cli(["cluster"])
    assert result.code == 1
    assert "::error title=Missing argument::--environment is required" in result.stderr
    assert "How to fix: e.g. --environment dev" in result.stderr
    result = cli(["cluster", "--environment", "dev", "--hetzner-k3s", "no-such-hetzner-k3s"])
    assert result.code == 1
    assert "'no-such-hetzner-k3s' is not an executable file or a command on PATH" in result.stderr
    assert "leave --hetzner-k3s (and $GITOPS_HETZNER_K3S) empty to download the pinned" in result.stderr
    assert not cluster.record.exists()


def test_helm_must_be_on_path(cluster: Cluster, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    (cluster.bin / "helm").unlink()
    monkeypatch.setenv(
        "PATH",
        os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if not (Path(p) / "helm").exists()),
    )
    result = cli(["cluster", "--environment", "dev", "--hetzner-k3s", str(cluster.standin)])
    assert result.code == 1
    assert "needs helm on PATH" in result.stderr
    assert not cluster.record.exists()


def test_action_inputs_come_from_the_environment(
    cluster: Cluster, cli: Any, gha_env: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GITOPS_INPUT_ENVIRONMENT", "prod")
    monkeypatch.setenv("GITOPS_INPUT_HETZNER_K3S", "hetzner-k3s")
    monkeypatch.setenv("GITOPS_INPUT_KUBECONFIG_PATH", str(tmp_path / "out" / "prod.yaml"))
    result = cli(["cluster"])
    assert result.code == 0, result.stderr
    assert gha_env.outputs() == {
        "kubeconfig": str(tmp_path / "out" / "prod.yaml"),
        "cluster-name": "hetzner-prod-cluster",
        "node-count": "6",  # prod: 3 masters + 3 workers
    }
