"""infra/k8s/hetzner/<env>/cluster/cluster-config.yaml: the hetzner-k3s 2.x cluster configurations.

Read as hetzner-k3s reads them (YAML; unknown keys are silently ignored by hetzner-k3s, so a
key in the wrong place is checked for explicitly).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HETZNER = ROOT / "infra" / "k8s" / "hetzner"
ENVS = ("dev", "test", "prod")
# What the cluster step must provide (documented at the top of each file).
PRIVATE_KEY = "~/.ssh/hetzner_k3s_ed25519"
PUBLIC_KEY = "~/.ssh/hetzner_k3s_ed25519.pub"


def load(env: str) -> tuple[dict[str, Any], str]:
    path = HETZNER / env / "cluster" / "cluster-config.yaml"
    text = path.read_text(encoding="utf-8")
    return yaml.safe_load(text), text


@pytest.mark.parametrize("env", ENVS)
def test_format_version_name_and_no_token(env: str) -> None:
    config, text = load(env)
    assert config["config_format_version"] == 1
    assert config["cluster_name"] == f"hetzner-{env}-cluster"
    assert "hetzner_token" not in config
    assert "HCLOUD_TOKEN" in text  # documented as the token's only source
    assert config["k3s_version"].startswith("v1.") and "+k3s" in config["k3s_version"]


@pytest.mark.parametrize("env", ENVS)
def test_ssh_key_and_kubeconfig_paths_are_the_documented_ones(env: str) -> None:
    config, text = load(env)
    ssh = config["networking"]["ssh"]
    assert (ssh["private_key_path"], ssh["public_key_path"]) == (PRIVATE_KEY, PUBLIC_KEY)
    assert ssh["use_agent"] is False
    assert PRIVATE_KEY in text.split("config_format_version")[0]  # named in the header comment
    assert config["kubeconfig_path"] == f"~/.kube/hetzner-{env}-cluster.yaml"


@pytest.mark.parametrize("env", ENVS)
def test_outbound_firewall_allows_all_tcp_and_udp(env: str) -> None:
    config, _ = load(env)
    rules = config["networking"]["allowed_networks"]["custom_firewall_rules"]
    outbound = {r["protocol"]: r for r in rules if r["direction"] == "out"}
    for protocol in ("tcp", "udp"):
        assert outbound[protocol]["port"] == "any"
        assert set(outbound[protocol]["destination_ips"]) == {"0.0.0.0/0", "::/0"}
    assert "custom_firewall_rules" not in config["networking"]  # hetzner-k3s would ignore it there


@pytest.mark.parametrize("env", ENVS)
def test_addons_csi_driver_and_registry_mirror_enabled_explicitly(env: str) -> None:
    config, _ = load(env)
    assert config["addons"]["csi_driver"]["enabled"] is True
    assert config["addons"]["embedded_registry_mirror"] == {"enabled": True}
    assert "embedded_registry_mirror" not in config  # ignored at the top level by hetzner-k3s 2.x
    assert config["protect_against_deletion"] is True


@pytest.mark.parametrize(("env", "masters"), [("dev", 1), ("test", 1), ("prod", 3)])
def test_control_plane_size(env: str, masters: int) -> None:
    config, _ = load(env)
    pool = config["masters_pool"]
    assert pool["instance_count"] == masters
    if masters > 1:
        assert len(set(pool["locations"])) == masters  # one per location
    assert config["schedule_workloads_on_masters"] is False


@pytest.mark.parametrize("env", ENVS)
def test_workers_share_one_location_because_volumes_do_not_move(env: str) -> None:
    config, _ = load(env)
    pools = config["worker_node_pools"]
    assert len({pool["location"] for pool in pools}) == 1
    minimum = 3 if env == "prod" else 1  # prod: anti-affinity keeps the three stateful pods apart
    assert sum(pool["instance_count"] for pool in pools) >= minimum


# The oldest release of each add-on that supports a Kubernetes minor, from the projects' own
# version policies and changelogs (read at hetznercloud/csi-driver v2.22.1 and
# hetznercloud/hcloud-cloud-controller-manager v1.35.0):
# - CSI: docs/kubernetes/reference/version-policy.md ("1.36 | v2.20.2+", "1.35 | v2.20.2+") and
#   CHANGELOG.md v2.21.0 "support Kubernetes v1.36"; v2.18.3 (hetzner-k3s 2.4.6's default) is
#   supported up to 1.34.
# - CCM: docs/reference/version-policy.md ("1.36 | latest", "1.32 | v1.30.1") and CHANGELOG.md
#   v1.31.0 "support Kubernetes v1.36", v1.28.0 (hetzner-k3s 2.4.6's default) predates 1.35.
SUPPORTS = {
    "1.36": {"csi": (2, 21, 0), "ccm": (1, 31, 0)},
    "1.35": {"csi": (2, 20, 2), "ccm": (1, 29, 0)},
}
CSI_URL = re.compile(
    r"^https://raw\.githubusercontent\.com/hetznercloud/csi-driver/v(\d+)\.(\d+)\.(\d+)"
    r"/deploy/kubernetes/hcloud-csi\.yml$"
)
CCM_URL = re.compile(
    r"^https://github\.com/hetznercloud/hcloud-cloud-controller-manager/releases/download/"
    r"v(\d+)\.(\d+)\.(\d+)/ccm-networks\.yaml$"
)


@pytest.mark.parametrize("env", ENVS)
def test_csi_and_ccm_are_pinned_to_releases_that_support_the_k3s_minor(env: str) -> None:
    config, _ = load(env)
    minor = ".".join(config["k3s_version"].lstrip("v").split(".")[:2])
    assert minor in SUPPORTS, (
        f"k3s {minor}: add its row to SUPPORTS from the CSI and CCM version policies, then pin releases "
        "that support it in the cluster configs"
    )
    csi = CSI_URL.match(config["addons"]["csi_driver"]["manifest_url"])
    ccm = CCM_URL.match(config["addons"]["cloud_controller_manager"]["manifest_url"])
    assert csi and ccm, "pinned release URLs (never latest/): the cluster must not change under a re-run"
    assert tuple(map(int, csi.groups())) >= SUPPORTS[minor]["csi"]
    assert tuple(map(int, ccm.groups())) >= SUPPORTS[minor]["ccm"]
    # ccm-networks.yaml because the private network is on (hetzner-k3s strips "-networks" otherwise)
    assert config["networking"]["private_network"]["enabled"] is True


@pytest.mark.parametrize("env", ENVS)
def test_the_header_says_what_hetzner_k3s_really_does_with_the_token(env: str) -> None:
    # Configuration::Main: `getter hetzner_token : String = ENV.fetch("HCLOUD_TOKEN", "")`: the
    # variable is only the default, a key in the file wins (hetzner-k3s src/configuration/main.cr).
    _, text = load(env)
    header = text.split("config_format_version")[0]
    assert "takes precedence" not in header
    assert "so a key here would win over it" in header
    assert f"gitops cluster --environment {env} --upgrade" in header  # how to change k3s_version
