"""gitops.core.hetzner_k3s: the pinned release, platforms, and the private config copy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gitops.core.hetzner_k3s import (
    PLATFORMS,
    Release,
    configured_paths,
    expected_sha256,
    load_release,
    normalize_key,
    normalize_sha256,
    platform_key,
    prepare_config,
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
