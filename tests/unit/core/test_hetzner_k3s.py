"""gitops.core.hetzner_k3s: the pinned release, platforms, and the private config copy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gitops.core.hetzner_k3s import (
    MIN_UPGRADE_TOOL,
    PLATFORMS,
    Release,
    configured_paths,
    create_argv,
    expected_sha256,
    k3s_version_of,
    load_release,
    node_count,
    normalize_key,
    normalize_sha256,
    phase_of,
    platform_key,
    prepare_config,
    release_cache,
    tool_version,
    upgrade_argv,
    upgrade_controller_enabled,
)
from gitops.errors import ConfigurationError

DATA = Path(__file__).resolve().parents[3] / "scripts/gitops/data/hetzner-k3s.json"


def test_the_pinned_release_has_a_checksum_for_every_platform() -> None:
    release = load_release(json.loads(DATA.read_text(encoding="utf-8")))
    assert release.version == "2.4.6"
    assert set(release.sha256) == set(PLATFORMS)
    assert all(release.sha256.values())
    assert (
        release.download_url("linux-amd64")
        == "https://github.com/vitobotta/hetzner-k3s/releases/download/v2.4.6/hetzner-k3s-linux-amd64"
    )


def test_the_upgrade_pin_is_2_4_9_and_has_no_unpublished_checksum() -> None:
    # No published source lists v2.4.9's checksums yet (the Homebrew tap stops at 2.4.6): null, so
    # the pinned upgrade release installs only with a --sha256 the user verified.
    release = load_release(json.loads(DATA.read_text(encoding="utf-8")), section="upgrade")
    assert (release.version, release.sha256) == ("2.4.9", dict.fromkeys(PLATFORMS))
    assert tuple(int(p) for p in release.version.split(".")) >= MIN_UPGRADE_TOOL
    assert release.download_url("linux-arm64").endswith("/download/v2.4.9/hetzner-k3s-linux-arm64")


def test_a_missing_section_is_named() -> None:
    with pytest.raises(ConfigurationError, match="no `upgrade` entry"):
        load_release({"version": "2.4.6", "url": "x{platform}", "sha256": {}}, section="upgrade")


@pytest.mark.parametrize(
    ("data", "key"),
    [
        pytest.param({"version": "latest", "url": "x{platform}", "sha256": {}}, "version", id="version"),
        pytest.param(
            {"version": "2.4.6", "url": "https://x", "sha256": {}}, "url", id="url-without-platform"
        ),
        pytest.param(
            {"version": "2.4.6", "url": "x{platform}", "sha256": {"linux-amd64": "abc"}},
            "sha256.linux-amd64",
            id="short-sum",
        ),
        pytest.param({"version": "2.4.6", "url": "x{platform}", "sha256": []}, "sha256", id="not-a-map"),
    ],
)
def test_invalid_release_data_is_refused(data: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_release(data)
    assert key in [p.key for p in caught.value.problems]


def test_a_platform_without_checksum_is_not_installed_unless_one_is_given() -> None:
    release = Release("2.4.6", "x{platform}", {"linux-amd64": None})
    with pytest.raises(ConfigurationError, match="no sha256 is recorded"):
        expected_sha256(release, "linux-amd64", None)
    assert expected_sha256(release, "linux-amd64", "SHA256:" + "A" * 64) == "a" * 64


def test_normalize_sha256_refuses_garbage() -> None:
    with pytest.raises(ConfigurationError, match="64 hex digits"):
        normalize_sha256("deadbeef")


@pytest.mark.parametrize(
    ("system", "machine", "key"),
    [
        ("Linux", "x86_64", "linux-amd64"),
        ("Linux", "aarch64", "linux-arm64"),
        ("Darwin", "arm64", "macos-arm64"),
        ("Darwin", "x86_64", "macos-amd64"),
    ],
)
def test_platform_key(system: str, machine: str, key: str) -> None:
    assert platform_key(system, machine) == key


@pytest.mark.parametrize(("system", "machine"), [("Windows", "AMD64"), ("Linux", "riscv64")])
def test_unsupported_platforms(system: str, machine: str) -> None:
    with pytest.raises(ConfigurationError, match="publishes no binary"):
        platform_key(system, machine)


CONFIG = {
    "cluster_name": "c",
    "kubeconfig_path": "~/.kube/c.yaml",
    "networking": {
        "ssh": {"use_agent": False, "private_key_path": "~/.ssh/k", "public_key_path": "~/.ssh/k.pub"}
    },
    "masters_pool": {"instance_count": 1},
}


def test_prepare_config_points_at_the_private_files_and_keeps_the_rest() -> None:
    prepared = prepare_config(
        CONFIG,
        source="c.yaml",
        private_key_path="/p/id",
        public_key_path="/p/id.pub",
        kubeconfig_path="/k/c.yaml",
    )
    assert prepared.document["networking"]["ssh"] == {
        "use_agent": False,
        "private_key_path": "/p/id",
        "public_key_path": "/p/id.pub",
    }
    assert prepared.document["kubeconfig_path"] == "/k/c.yaml"
    assert prepared.document["masters_pool"] == CONFIG["masters_pool"]
    assert CONFIG["networking"]["ssh"]["private_key_path"] == "~/.ssh/k"  # the input is not modified
    assert prepared.cluster_name == "c" and prepared.warnings == ()


def test_prepare_config_without_keys_keeps_the_configs_own_paths() -> None:
    prepared = prepare_config(
        CONFIG, source="c.yaml", private_key_path=None, public_key_path=None, kubeconfig_path="/k"
    )
    assert prepared.document["networking"]["ssh"]["private_key_path"] == "~/.ssh/k"


def test_prepare_config_adds_the_ssh_section_when_missing_and_warns_about_agents() -> None:
    doc = {"cluster_name": "c", "kubeconfig_path": "k"}
    prepared = prepare_config(
        doc, source="c.yaml", private_key_path="/a", public_key_path="/b", kubeconfig_path="/k"
    )
    assert prepared.document["networking"]["ssh"] == {"private_key_path": "/a", "public_key_path": "/b"}
    agent = {**CONFIG, "networking": {"ssh": {"use_agent": True}}}
    assert (
        "use_agent"
        in prepare_config(
            agent, source="c", private_key_path="/a", public_key_path="/b", kubeconfig_path="/k"
        ).warnings[0]
    )


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        pytest.param({**CONFIG, "hetzner_token": "abc"}, "holds a token in a committed file", id="token"),
        pytest.param({"kubeconfig_path": "k"}, "`cluster_name` is missing", id="no-name"),
        pytest.param({"cluster_name": "c"}, "`kubeconfig_path` is missing", id="no-kubeconfig-path"),
        pytest.param(["not", "a", "mapping"], "not a YAML mapping", id="list"),
    ],
)
def test_prepare_config_refuses(doc: Any, words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        prepare_config(
            doc, source="c.yaml", private_key_path="/a", public_key_path="/b", kubeconfig_path="/k"
        )


def test_an_empty_token_is_dropped_so_hcloud_token_applies() -> None:
    prepared = prepare_config(
        {**CONFIG, "hetzner_token": ""},
        source="c",
        private_key_path="/a",
        public_key_path="/b",
        kubeconfig_path="/k",
    )
    assert "hetzner_token" not in prepared.document


def test_configured_paths_default_like_hetzner_k3s() -> None:
    assert configured_paths({"kubeconfig_path": "k"}) == ("~/.ssh/id_rsa", "~/.ssh/id_rsa.pub", "k")
    assert configured_paths(CONFIG) == ("~/.ssh/k", "~/.ssh/k.pub", "~/.kube/c.yaml")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("-----BEGIN X-----\r\nabc\r\n-----END X-----", "-----BEGIN X-----\nabc\n-----END X-----\n"),
        ("-----BEGIN X-----\\nabc\\n-----END X-----\\n", "-----BEGIN X-----\nabc\n-----END X-----\n"),
        ("ssh-ed25519 AAAA c\n\n", "ssh-ed25519 AAAA c\n"),
    ],
)
def test_normalize_key(raw: str, expected: str) -> None:
    assert normalize_key(raw) == expected


# -- running it ---------------------------------------------------------------------------------------


def test_create_skips_the_outside_ip_lookup_and_upgrade_names_the_new_version() -> None:
    # Flags as defined in src/hetzner-k3s.cr (admiral strips the leading "--" of `long:`).
    assert create_argv("/b/hetzner-k3s", "/p/c.yaml") == [
        "/b/hetzner-k3s", "create", "--config", "/p/c.yaml", "--skip-current-ip-validation"
    ]  # fmt: skip
    assert upgrade_argv("h", "c.yaml", "v1.36.4+k3s1") == [
        "h", "upgrade", "--config", "c.yaml", "--new-k3s-version", "v1.36.4+k3s1"
    ]  # fmt: skip


def test_the_release_cache_lists_what_is_validated_oldest_first() -> None:
    # src/k3s.cr stores `releases.reverse` of GitHub's newest-first tag list; NewK3sVersion compares
    # indexes (new after current); master_generator.cr looks up v1.23.6+k3s1's index.
    assert release_cache("v1.36.4+k3s1", "v1.35.6+k3s1", "v1.36.4+k3s1", "", "garbage") == (
        "---\n- v1.23.6+k3s1\n- v1.35.6+k3s1\n- v1.36.4+k3s1\n"
    )
    assert release_cache("v1.10.0+k3s1", "v1.9.9+k3s2").splitlines()[1:] == [
        "- v1.9.9+k3s2",
        "- v1.10.0+k3s1",
        "- v1.23.6+k3s1",
    ]  # fmt: skip  (numeric, not string order)


@pytest.mark.parametrize(
    ("printed", "version"),
    [("2.4.9\n", (2, 4, 9)), ("v2.6.0", (2, 6, 0)), ("hetzner-k3s 2.4.6", (2, 4, 6)), ("", None)],
)
def test_tool_version(printed: str, version: tuple[int, int, int] | None) -> None:
    assert tool_version(printed) == version


AUTOSCALED = {"enabled": True, "min_instances": 1, "max_instances": 5}


@pytest.mark.parametrize(
    ("doc", "count"),
    [
        pytest.param({"masters_pool": {"instance_count": 3},
                      "worker_node_pools": [{"instance_count": 3}, {"instance_count": 2}]}, 8, id="static"),
        pytest.param({"masters_pool": {"instance_count": 1},
                      "worker_node_pools": [{"instance_count": 9, "autoscaling": AUTOSCALED}]},
                     2, id="autoscaled-pool-counts-its-minimum"),
        pytest.param({"masters_pool": {"instance_count": "3"}}, 0, id="not-a-number"),
        pytest.param({}, 0, id="empty"),
    ],
)  # fmt: skip
def test_node_count(doc: dict[str, Any], count: int) -> None:
    assert node_count(doc) == count


def test_the_upgrade_controller_is_on_unless_disabled() -> None:
    # Configuration::Models::AddonsConfig::SystemUpgradeController: enabled defaults to true.
    assert upgrade_controller_enabled({})
    assert upgrade_controller_enabled({"addons": {"system_upgrade_controller": {"enabled": True}}})
    assert not upgrade_controller_enabled({"addons": {"system_upgrade_controller": {"enabled": False}}})


@pytest.mark.parametrize("value", [None, "latest", "v1.36.4", "1.36.4+k3s1", "v1.36.4-rc1+k3s1"])
def test_k3s_version_must_be_a_release_tag(value: Any) -> None:
    with pytest.raises(ConfigurationError, match="must be a k3s release"):
        k3s_version_of({"k3s_version": value}, "c.yaml")


def test_prepare_config_can_state_the_running_k3s_version() -> None:
    prepared = prepare_config(
        {**CONFIG, "k3s_version": "v1.36.4+k3s1"}, source="c", private_key_path=None, public_key_path=None,
        kubeconfig_path="/k", k3s_version="v1.35.6+k3s1",
    )  # fmt: skip
    assert prepared.document["k3s_version"] == "v1.35.6+k3s1"


# Lines as hetzner-k3s prints them (log_line "[prefix] message"), each from the file named.
@pytest.mark.parametrize(
    ("line", "phase"),
    [
        # configuration/loader.cr, hetzner/network|ssh_key|firewall/create.cr
        ("[Configuration] Validating configuration...", "validating the configuration"),
        ("[Private Network] Creating private network...", "creating the cloud resources (private network)"),
        ("[SSH key] Creating SSH key...", "creating the cloud resources (SSH key)"),
        ("[Firewall] Updating firewall...", "creating the cloud resources (firewall)"),
        # hetzner/instance/create.cr:96, :107, :178
        ("[Instance c-master1] Creating instance c-master1 (attempt 2)...", "creating server c-master1"),
        ("[Instance c-master1] Waiting 5 seconds before retry...", "creating server c-master1"),
        ("[Instance c-master1] Powering on instance (attempt 1)", "creating server c-master1"),
        ("[Instance c-master1] Instance c-master1 not ready, retrying...",
         "waiting for server c-master1 to accept SSH"),  # util/ssh.cr:66
        ("[Instance c-master1] Waiting for the control plane to be ready...",
         "waiting for the control plane to be ready"),  # kubernetes/control_plane/setup.cr:46
        ("[Instance c-pool-w-worker1] [INFO]  Using v1.36.4+k3s1 as release",
         "installing k3s on c-pool-w-worker1"),  # the install script's output over SSH
        ("[Control plane] Generating the kubeconfig file to /k...", "setting up the control plane"),
        ("[Hetzner CSI Driver] Installing Hetzner CSI Driver...", "installing the add-ons (CSI driver)"),
        ("[System Upgrade Controller] Installing System Upgrade Controller...",
         "installing the add-ons (system upgrade controller)"),
        ("[c-master1] Deploying local firewall...", "deploying the node firewall on c-master1"),
        ("\x1b[32m[Firewall] Creating firewall...\x1b[0m", "creating the cloud resources (firewall)"),
        # upgrade.cr `print`s its prompt without a newline, so the next log line shares its line
        ("Please enter the cluster name to confirm that you want to upgrade it: [K3s upgrade] k3s version "
         "upgrade started", "creating the upgrade plans"),
        ("╭─────────────────╮", None),  # the banner
        ("Version: 2.4.6", None),
        ("[Somebody] unknown prefix", None),
        ("", None),
    ],
)  # fmt: skip
def test_phase_of(line: str, phase: str | None) -> None:
    assert phase_of(line) == phase
