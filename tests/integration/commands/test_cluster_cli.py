"""gitops cluster with a stand-in hetzner-k3s that records what it was given and writes a kubeconfig."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import stat
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.github import all_text, assert_no_leak

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
DEV_CONFIG = ROOT / "infra/k8s/hetzner/dev/cluster/cluster-config.yaml"
HCLOUD = "hcloud-TESTtoken-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
GH = "ghp_TESTshouldNeverReachTheChild000000000000"

# The stand-in: records argv, environment and the files it was pointed at, prints a few lines
# (including the secrets, to prove the log masks them), writes the kubeconfig, exits STANDIN_EXIT.
STANDIN = """\
#!{python}
import json, os, stat, sys
import yaml

record = {{"argv": sys.argv[1:], "env": {{k: os.environ.get(k) for k in
    ("HCLOUD_TOKEN", "HETZNER_TOKEN", "HOME", "GH_TOKEN", "GITHUB_TOKEN", "HETZNER_SSH_PRIVATE_KEY",
     "HETZNER_SSH_PUBLIC_KEY", "PATH")}}}}
config_path = sys.argv[sys.argv.index("--config") + 1]
config = yaml.safe_load(open(config_path))
ssh = config["networking"]["ssh"]
record["config"] = config
record["modes"] = {{name: oct(stat.S_IMODE(os.stat(path).st_mode)) for name, path in (
    ("config", config_path), ("dir", os.path.dirname(config_path)),
    ("private_key", ssh["private_key_path"]), ("public_key", ssh["public_key_path"]))}}
record["private_key"] = open(ssh["private_key_path"]).read()
record["public_key"] = open(ssh["public_key_path"]).read()
open(os.environ["STANDIN_RECORD"], "w").write(json.dumps(record))
print("[Configuration] Validating configuration...", flush=True)
print("[Debug] token " + os.environ.get("HCLOUD_TOKEN", ""), flush=True)
print(record["private_key"], flush=True)
if os.environ.get("STANDIN_EXIT", "0") != "0":
    print("[Instance] failed to create server", flush=True)
    sys.exit(int(os.environ["STANDIN_EXIT"]))
with open(config["kubeconfig_path"], "w") as out:
    out.write(os.environ["STANDIN_KUBECONFIG"])
print("[Control plane] ...kubeconfig file generated as " + config["kubeconfig_path"] + ".", flush=True)
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

    def recorded(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.record.read_text(encoding="utf-8"))
        return data

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
    record = tmp_path / "record.json"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HCLOUD_TOKEN", HCLOUD)
    monkeypatch.setenv("HETZNER_SSH_PRIVATE_KEY", private.strip())  # secrets often lose the final newline
    monkeypatch.setenv("HETZNER_SSH_PUBLIC_KEY", public)
    monkeypatch.setenv("GH_TOKEN", GH)
    monkeypatch.setenv("STANDIN_RECORD", str(record))
    monkeypatch.setenv("STANDIN_KUBECONFIG", KUBECONFIG)
    monkeypatch.setenv("GITOPS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(ROOT)
    return Cluster(bin_dir, standin, record, private, public, Path(gha_env.root))


def secrets_of(c: Cluster) -> tuple[str, ...]:
    return (HCLOUD, GH, c.private_key, KUBECONFIG)


# -- a run -------------------------------------------------------------------------------------


def test_runs_create_with_the_token_only_as_hcloud_token_and_keys_in_private_files(
    cluster: Cluster, cli: Any, gha_env: Any
) -> None:
    result = cli(["cluster", "--environment", "dev", "--hetzner-k3s", "hetzner-k3s", "--format", "json"])
    assert result.code == 0, result.stderr
    seen = cluster.recorded()
    config_copy = seen["argv"][2]
    assert seen["argv"] == ["create", "--config", config_copy]
    assert Path(config_copy).parent.parent == cluster.runner_temp  # $RUNNER_TEMP/gitops-hetzner-dev-*/
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
    assert Path(env["HOME"]).parent == Path(config_copy).parent  # a private HOME, not the runner's
    assert seen["modes"] == {"config": "0o600", "dir": "0o700", "private_key": "0o600", "public_key": "0o600"}
    assert seen["private_key"] == cluster.private_key.strip() + "\n"  # final newline restored
    assert seen["public_key"] == cluster.public_key + "\n"

    config = seen["config"]
    committed = yaml.safe_load(DEV_CONFIG.read_text(encoding="utf-8"))
    kubeconfig = cluster.runner_temp / "gitops-kubeconfig-dev" / "hetzner-dev-cluster.yaml"
    assert config["kubeconfig_path"] == str(kubeconfig)
    assert config["networking"]["ssh"]["private_key_path"].startswith(str(Path(config_copy).parent))
    assert "hetzner_token" not in config
    assert HCLOUD not in json.dumps(config)  # the token is never written into the copy
    for key in ("cluster_name", "k3s_version", "masters_pool", "worker_node_pools", "addons"):
        assert config[key] == committed[key]

    assert cluster.leftovers() == []  # keys and config copy removed
    assert kubeconfig.read_text(encoding="utf-8") == KUBECONFIG
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
    assert gha_env.outputs() == {"kubeconfig": str(kubeconfig), "cluster-name": "hetzner-dev-cluster"}
    data = json.loads(result.stdout)
    assert data["hetzner_k3s"]["source"] == "path" and data["hetzner_k3s"]["verified"] is False
    assert "[Configuration] Validating configuration..." in result.stderr  # streamed
    assert "[Debug] token ***" in result.stderr
    assert "idempotent" in gha_env.summary()
    assert gha_env.summary().startswith(
        "### :white_check_mark: gitops cluster: cluster hetzner-dev-cluster of environment dev "
        "created or updated"
    )
    assert_no_leak(all_text(result, gha_env), *secrets_of(cluster))


def test_a_failing_create_exits_2_and_still_removes_the_keys(
    cluster: Cluster, cli: Any, gha_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_EXIT", "3")
    result = cli(["cluster", "--environment", "dev", "--hetzner-k3s", "hetzner-k3s"])
    assert result.code == 2
    assert "hetzner-k3s create failed for hetzner-dev-cluster (exit 3)" in result.stderr
    assert "[Instance] failed to create server" in result.stderr
    assert cluster.leftovers() == []
    assert "kubeconfig" not in gha_env.outputs()
    assert gha_env.summary().startswith(
        "### :x: gitops cluster: cluster hetzner-dev-cluster of environment dev: hetzner-k3s create failed "
        "(exit 3); re-running is safe"
    )
    assert_no_leak(all_text(result, gha_env), *secrets_of(cluster))


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
    }
