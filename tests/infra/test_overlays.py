"""The RENDERED infra/k8s overlays (kubectl kustomize): what each environment really gets.

Every assertion reads kustomize's output, not the source files, so a patch that does not
apply, a label that reaches a selector or a base that leaks sizes shows up here.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.support.infra import BASE, HETZNER, OVERLAYS, PLACEHOLDER, SERVICES, container, find, render

pytestmark = pytest.mark.integration

ENVS = sorted(OVERLAYS)
IMAGES = {
    "postgres": {"postgres": "postgis/postgis:18-3.6"},
    "redis": {"acl": "valkey/valkey:9.0-alpine", "valkey": "valkey/valkey:9.0-alpine"},
    "jaeger": {"jaeger": "jaegertracing/jaeger:2.21.0"},
}
MAIN_CONTAINER = {"postgres": "postgres", "redis": "valkey", "jaeger": "jaeger"}
SECRET_KEYS = {
    "postgres-credentials": {
        "POSTGRES_SA_PASSWORD",
        "ACCOUNT_SERVICE_DB_USER_PASSWORD",
        "MESSAGING_SERVICE_DB_USER_PASSWORD",
        "PROPERTY_SERVICE_DB_USER_PASSWORD",
    },
    "redis-credentials": {
        "REDIS_ADMIN_PASSWORD",
        "REDIS_PUBSUB_PASSWORD",
        "REDIS_CACHE_PASSWORD",
        "REDIS_RATELIMIT_PASSWORD",
        "REDIS_MONITOR_PASSWORD",
    },
}
# (storage class, size) per environment and service; None = the cluster's default class.
STORAGE = {
    "local": {"postgres": (None, "2Gi"), "redis": (None, "1Gi"), "jaeger": (None, "2Gi")},
    "dev": {
        "postgres": ("hcloud-volumes", "10Gi"),
        "redis": ("hcloud-volumes", "10Gi"),
        "jaeger": ("hcloud-volumes", "10Gi"),
    },
    "test": {
        "postgres": ("hcloud-volumes", "10Gi"),
        "redis": ("hcloud-volumes", "10Gi"),
        "jaeger": ("hcloud-volumes", "10Gi"),
    },
    "prod": {
        "postgres": ("hcloud-volumes", "50Gi"),
        "redis": ("hcloud-volumes", "20Gi"),
        "jaeger": ("hcloud-volumes", "20Gi"),
    },
}
PROVIDER = {"local": "podman", "dev": "hetzner", "test": "hetzner", "prod": "hetzner"}
UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "m": 1e-3, "": 1}


def quantity(value: str | int) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|m|)", str(value))
    assert match, f"unexpected quantity {value!r}"
    return float(match[1]) * UNITS[match[2]]


def statefulsets(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == "StatefulSet"}


def pod_spec(sts: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = sts["spec"]["template"]["spec"]
    return spec


def all_containers(sts: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod_spec(sts).get("initContainers", []), *pod_spec(sts)["containers"]]


@pytest.mark.parametrize("env", ENVS)
def test_overlay_renders_the_expected_objects_and_each_validates(env: str) -> None:
    objects = render(env)
    names = sorted((o["kind"], o["metadata"]["name"]) for o in objects)
    expected = [
        *(("ConfigMap", n) for n in ("jaeger-config", "postgres-init", "postgres-verify", "redis-config")),
        *(("Secret", n) for n in ("postgres-credentials", "redis-credentials")),
        *(("Service", n) for s in SERVICES for n in (s, f"{s}-headless")),
        *(("StatefulSet", s) for s in SERVICES),
        *((("PodDisruptionBudget", s) for s in SERVICES) if env == "prod" else ()),
    ]
    assert names == sorted(expected)
    for obj in objects:
        kubernetes_validate.validate(obj, "1.37.0", strict=True)


def test_base_holds_no_sizes_replicas_placement_or_budgets() -> None:
    objects = render(BASE)
    assert {o["kind"] for o in objects} == {"ConfigMap", "Secret", "Service", "StatefulSet"}
    for sts in statefulsets(objects).values():
        assert "replicas" not in sts["spec"]
        assert "persistentVolumeClaimRetentionPolicy" not in sts["spec"]
        for key in ("affinity", "nodeSelector", "topologySpreadConstraints", "tolerations"):
            assert key not in pod_spec(sts), key
        for c in all_containers(sts):
            assert "resources" not in c, c["name"]
        for claim in sts["spec"]["volumeClaimTemplates"]:
            assert "storageClassName" not in claim["spec"]
            assert "resources" not in claim["spec"]


@pytest.mark.parametrize("env", ENVS)
def test_images_are_pinned_exactly(env: str) -> None:
    for name, sts in statefulsets(render(env)).items():
        assert {c["name"]: c["image"] for c in all_containers(sts)} == IMAGES[name]


@pytest.mark.parametrize("env", ENVS)
def test_postgres_volume_is_mounted_at_var_lib_postgresql(env: str) -> None:
    sts = find(render(env), "StatefulSet", "postgres")
    mounts = {m["name"]: m["mountPath"] for m in container(sts, "postgres")["volumeMounts"]}
    assert mounts["data"] == "/var/lib/postgresql"
    assert "/var/lib/postgresql/data" not in mounts.values()
    assert [c["metadata"]["name"] for c in sts["spec"]["volumeClaimTemplates"]] == ["data"]


@pytest.mark.parametrize(("env", "service"), [(e, s) for e in ENVS for s in SERVICES])
def test_storage_class_and_size_per_environment(env: str, service: str) -> None:
    [claim] = find(render(env), "StatefulSet", service)["spec"]["volumeClaimTemplates"]
    storage_class, size = STORAGE[env][service]
    assert claim["spec"].get("storageClassName") == storage_class
    assert claim["spec"]["resources"]["requests"]["storage"] == size
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    if PROVIDER[env] == "hetzner":
        assert quantity(size) >= quantity("10Gi"), "Hetzner volumes are at least 10Gi"
    # The overlay restates the whole claim template; it must keep the service's labels.
    assert claim["metadata"]["labels"]["app.kubernetes.io/name"] == service


@pytest.mark.parametrize("env", ENVS)
def test_one_replica_and_volumes_retained(env: str) -> None:
    for sts in statefulsets(render(env)).values():
        assert sts["spec"]["replicas"] == 1
        assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {
            "whenDeleted": "Retain",
            "whenScaled": "Retain",
        }


@pytest.mark.parametrize("env", ENVS)
def test_every_container_has_requests_and_limits(env: str) -> None:
    for sts in statefulsets(render(env)).values():
        for c in all_containers(sts):
            resources = c["resources"]
            for kind in ("requests", "limits"):
                assert set(resources[kind]) == {"cpu", "memory"}, (sts["metadata"]["name"], c["name"], kind)
            for resource in ("cpu", "memory"):
                assert quantity(resources["limits"][resource]) >= quantity(resources["requests"][resource])


@pytest.mark.parametrize("env", ENVS)
def test_valkey_limit_leaves_headroom_above_maxmemory(env: str) -> None:
    # maxmemory is the memory request; fork copy-on-write and buffers need room above it.
    resources = container(find(render(env), "StatefulSet", "redis"), "valkey")["resources"]
    assert quantity(resources["limits"]["memory"]) >= 1.5 * quantity(resources["requests"]["memory"])


@pytest.mark.parametrize("service", SERVICES)
def test_prod_gets_more_than_dev_and_local_least(service: str) -> None:
    def memory(env: str) -> float:
        c = container(find(render(env), "StatefulSet", service), MAIN_CONTAINER[service])
        return quantity(c["resources"]["limits"]["memory"])

    assert memory("prod") > memory("dev") == memory("test") > memory("local")


@pytest.mark.parametrize("env", ENVS)
def test_anti_affinity_only_in_prod_keeping_stateful_pods_apart(env: str) -> None:
    for name, sts in statefulsets(render(env)).items():
        affinity = pod_spec(sts).get("affinity")
        if env != "prod":
            assert affinity is None
            continue
        anti = affinity["podAntiAffinity"]
        [required] = anti["requiredDuringSchedulingIgnoredDuringExecution"]
        assert required == {
            "labelSelector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "topologyKey": "kubernetes.io/hostname",
        }
        [preferred] = anti["preferredDuringSchedulingIgnoredDuringExecution"]
        term = preferred["podAffinityTerm"]
        assert term["topologyKey"] == "kubernetes.io/hostname"
        [expression] = term["labelSelector"]["matchExpressions"]
        assert (expression["key"], expression["operator"]) == ("app.kubernetes.io/name", "In")
        assert sorted(expression["values"]) == sorted(set(SERVICES) - {name})


def test_prod_budgets_select_each_service_and_never_block_a_drain() -> None:
    objects = render("prod")
    for name, sts in statefulsets(objects).items():
        pdb = find(objects, "PodDisruptionBudget", name)
        assert pdb["spec"]["selector"] == sts["spec"]["selector"]
        assert pdb["spec"]["maxUnavailable"] == 1
        assert "minAvailable" not in pdb["spec"]
        assert pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
        pod_labels = sts["spec"]["template"]["metadata"]["labels"]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


@pytest.mark.parametrize("env", ENVS)
def test_labels_on_objects_and_templates_but_not_in_selectors(env: str) -> None:
    objects = render(env)
    for obj in objects:
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] in SERVICES, obj["metadata"]["name"]
        assert labels["app.kubernetes.io/part-of"] == "infra"
        assert (labels["environment"], labels["provider"]) == (env, PROVIDER[env])
    for name, sts in statefulsets(objects).items():
        template = sts["spec"]["template"]["metadata"]["labels"]
        assert (template["environment"], template["provider"]) == (env, PROVIDER[env])
        assert sts["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/name": name}}
        for service in (find(objects, "Service", name), find(objects, "Service", f"{name}-headless")):
            assert service["spec"]["selector"] == {"app.kubernetes.io/name": name}
    assert find(objects, "Service", "postgres-headless")["spec"]["clusterIP"] == "None"


def test_selectors_are_identical_in_every_overlay_and_base() -> None:
    def selectors(objects: list[dict[str, Any]]) -> dict[tuple[str, str], Any]:
        found = {}
        for o in objects:
            selector = o["spec"].get("selector") if "spec" in o else None
            if selector is not None:
                found[(o["kind"], o["metadata"]["name"])] = selector
        return found

    base = selectors(render(BASE))
    for env in ENVS:
        rendered = selectors(render(env))
        assert {k: v for k, v in rendered.items() if k[0] != "PodDisruptionBudget"} == base, env


@pytest.mark.parametrize("env", ENVS)
def test_secret_templates_hold_the_placeholder_under_the_workflow_variable_names(env: str) -> None:
    objects = render(env)
    for name, keys in SECRET_KEYS.items():
        secret = find(objects, "Secret", name)
        assert "data" not in secret
        assert secret["stringData"] == dict.fromkeys(keys, PLACEHOLDER)


@pytest.mark.parametrize("env", ENVS)
def test_every_secret_key_reference_exists(env: str) -> None:
    objects = render(env)
    for sts in statefulsets(objects).values():
        for c in all_containers(sts):
            for entry in c.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in find(objects, "Secret", ref["name"])["stringData"]


@pytest.mark.parametrize("env", ENVS)
def test_every_mount_has_its_volume_and_every_configmap_exists(env: str) -> None:
    objects = render(env)
    for sts in statefulsets(objects).values():
        volumes = {v["name"]: v for v in pod_spec(sts)["volumes"]}
        claims = {c["metadata"]["name"] for c in sts["spec"]["volumeClaimTemplates"]}
        for c in all_containers(sts):
            for mount in c["volumeMounts"]:
                assert mount["name"] in volumes.keys() | claims, (c["name"], mount["name"])
        for volume in volumes.values():
            if "configMap" in volume:
                find(objects, "ConfigMap", volume["configMap"]["name"])


@pytest.mark.parametrize("env", ENVS)
def test_pods_run_hardened(env: str) -> None:
    for name, sts in statefulsets(render(env)).items():
        pod = pod_spec(sts)["securityContext"]
        assert pod["runAsNonRoot"] is True
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["fsGroup"] == pod["runAsGroup"]
        assert pod_spec(sts)["automountServiceAccountToken"] is False
        for c in all_containers(sts):
            security = c["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, (name, c["name"])
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"] == {"drop": ["ALL"]}


@pytest.mark.parametrize("env", ENVS)
def test_every_main_container_has_startup_liveness_and_readiness_probes(env: str) -> None:
    for name, sts in statefulsets(render(env)).items():
        c = container(sts, MAIN_CONTAINER[name])
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert probe in c, (name, probe)
        if name == "postgres":
            assert c["readinessProbe"]["exec"]["command"][0] == "pg_isready"


@pytest.mark.parametrize(
    ("configmap", "statefulset"), [("redis-config", "redis"), ("jaeger-config", "jaeger")]
)
def test_config_checksum_annotation_is_current(configmap: str, statefulset: str) -> None:
    objects = render("dev")
    data = find(objects, "ConfigMap", configmap)["data"]
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    annotations = find(objects, "StatefulSet", statefulset)["spec"]["template"]["metadata"]["annotations"]
    key = f"checksum/{configmap}"
    assert annotations[key] == digest, (
        f'{configmap} changed: set `{key}: "{digest}"` in '
        f"infra/k8s/base/statefulsets/{statefulset}.statefulset.yaml, "
        "so the pod restarts with the new configuration"
    )


@pytest.mark.parametrize(
    ("configmap", "key", "shell"),
    [("postgres-init", "10-init-databases.sh", "bash"), ("redis-config", "generate-acl.sh", "sh")],
)
def test_init_scripts_pass_shellcheck(
    require_binary: Any, tmp_path: Path, configmap: str, key: str, shell: str
) -> None:
    shellcheck = require_binary("shellcheck")
    script = tmp_path / key
    script.write_text(find(render("dev"), "ConfigMap", configmap)["data"][key], encoding="utf-8")
    done = subprocess.run(
        [shellcheck, "--shell", shell, str(script)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout


def test_the_acl_guide_is_documentation_not_a_resource_and_covers_every_user() -> None:
    guide = (BASE / "configmaps" / "redis-acl-guide.md").read_text(encoding="utf-8")
    kustomization = (BASE / "kustomization.yaml").read_text(encoding="utf-8")
    assert "redis-acl-guide.md" not in [line.strip(" -") for line in kustomization.splitlines()]
    template = find(render("dev"), "ConfigMap", "redis-config")["data"]["users.acl.template"]
    for line in template.splitlines():
        if not line.startswith("user "):
            continue
        user = line.split()[1]
        assert f"`{user}`" in guide, user
        for pattern in re.findall(r"(?:^| )([~&][^ ]+)", line):
            assert pattern in guide, (user, pattern)
    for language in ("Python", "Node.js", ".NET"):
        assert f"### {language}" in guide


@pytest.mark.parametrize("env", ENVS)
def test_each_overlay_ignores_rendered_and_credential_files(env: str) -> None:
    ignored = (OVERLAYS[env] / ".gitignore").read_text(encoding="utf-8").split()
    assert {"*.rendered.yaml", "kubeconfig", "*.env"} <= set(ignored)


def test_hetzner_overlays_are_the_ones_with_cluster_configs() -> None:
    assert sorted(
        p.parent.parent.name for p in (BASE.parent / "hetzner").glob("*/cluster/cluster-config.yaml")
    ) == sorted(HETZNER)


@pytest.mark.parametrize("env", ENVS)
def test_every_service_port_reaches_a_named_container_port(env: str) -> None:
    objects = render(env)
    for service in (o for o in objects if o["kind"] == "Service"):
        sts = find(objects, "StatefulSet", service["spec"]["selector"]["app.kubernetes.io/name"])
        named = {
            p["name"]: p["containerPort"] for c in pod_spec(sts)["containers"] for p in c.get("ports", [])
        }
        for port in service["spec"]["ports"]:
            assert named.get(port["targetPort"]) == port["port"], (service["metadata"]["name"], port)
    assert find(objects, "StatefulSet", "postgres")["spec"]["serviceName"] == "postgres-headless"


def test_jaeger_config_listens_where_the_pod_expects_and_stores_on_the_volume() -> None:
    objects = render("dev")
    sts = find(objects, "StatefulSet", "jaeger")
    jaeger = container(sts, "jaeger")
    config = yaml.safe_load(find(objects, "ConfigMap", "jaeger-config")["data"]["config.yaml"])
    ports = {p["name"]: p["containerPort"] for p in jaeger["ports"]}
    receivers = config["receivers"]["otlp"]["protocols"]
    assert receivers["grpc"]["endpoint"] == f"0.0.0.0:{ports['otlp-grpc']}"
    assert receivers["http"]["endpoint"] == f"0.0.0.0:{ports['otlp-http']}"
    assert config["extensions"]["jaeger_query"]["http"]["endpoint"] == f"0.0.0.0:{ports['ui']}"
    assert config["extensions"]["healthcheckv2"]["http"]["endpoint"] == f"0.0.0.0:{ports['health']}"
    assert jaeger["readinessProbe"]["httpGet"] == {"path": "/status", "port": "health"}
    # Every pipeline component is defined, and the store the pipeline writes is the one queried.
    pipeline = config["service"]["pipelines"]["traces"]
    for kind in ("receivers", "processors", "exporters"):
        assert set(pipeline[kind]) <= set(config[kind]), kind
    assert set(config["service"]["extensions"]) <= set(config["extensions"])
    store = config["exporters"]["jaeger_storage_exporter"]["trace_storage"]
    assert config["extensions"]["jaeger_query"]["storage"]["traces"] == store
    badger = config["extensions"]["jaeger_storage"]["backends"][store]["badger"]
    data_mount = next(m["mountPath"] for m in jaeger["volumeMounts"] if m["name"] == "data")
    assert badger["ephemeral"] is False
    for directory in badger["directories"].values():
        assert directory.startswith(data_mount + "/"), "Badger must write to the persistent volume"
    assert jaeger["args"] == ["--config", "/etc/jaeger/config.yaml"]
    assert next(m["mountPath"] for m in jaeger["volumeMounts"] if m["name"] == "config") == "/etc/jaeger"


# -- what keeps the services alive (and the nodes' disks) ------------------------------------------


def probes(sts: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (c["name"], kind, c[kind])
        for c in all_containers(sts)
        for kind in ("startupProbe", "livenessProbe", "readinessProbe")
        if kind in c
    ]


@pytest.mark.parametrize("env", ENVS)
def test_no_probe_may_outlast_its_period(env: str) -> None:
    # A probe whose timeoutSeconds exceeds periodSeconds overlaps the next one (the kubelet runs
    # them on a periodSeconds ticker: https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#Probe)
    for name, sts in statefulsets(render(env)).items():
        for container_name, kind, probe in probes(sts):
            assert probe.get("timeoutSeconds", 1) < probe.get("periodSeconds", 10), (
                name,
                container_name,
                kind,
            )


@pytest.mark.parametrize("env", ENVS)
def test_jaeger_gets_at_least_512mi_and_gomemlimit_about_80_percent(env: str) -> None:
    jaeger = container(find(render(env), "StatefulSet", "jaeger"), "jaeger")
    limit = quantity(jaeger["resources"]["limits"]["memory"])
    assert limit >= quantity("512Mi"), "Badger's default caches and memtables need more than 256Mi"
    [gomemlimit] = [e for e in jaeger["env"] if e["name"] == "GOMEMLIMIT"]
    # GOMEMLIMIT takes bytes with an optional B/KiB/MiB/GiB/TiB suffix (https://pkg.go.dev/runtime)
    match = re.fullmatch(r"(\d+)(B|KiB|MiB|GiB|TiB)?", gomemlimit["value"])
    assert match, gomemlimit
    value = (
        int(match[1]) * {None: 1, "B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}[match[2]]
    )
    assert 0.75 <= value / limit <= 0.85, (gomemlimit["value"], jaeger["resources"]["limits"]["memory"])


@pytest.mark.parametrize("env", ENVS)
def test_valkey_liveness_is_a_tcp_check_not_an_authenticated_ping(env: str) -> None:
    # An authenticated PING fails on a healthy but busy server: "ERR max number of clients reached"
    # at maxclients, "BUSY" while a script runs; liveness would restart it and lose unsynced data.
    valkey = container(find(render(env), "StatefulSet", "redis"), "valkey")
    assert valkey["livenessProbe"]["tcpSocket"] == {"port": "redis"}
    assert "exec" not in valkey["livenessProbe"]
    assert "PING" in " ".join(valkey["readinessProbe"]["exec"]["command"])  # readiness still asks


@pytest.mark.parametrize("env", ENVS)
def test_every_scratch_emptydir_has_a_size_limit(env: str) -> None:
    for name, sts in statefulsets(render(env)).items():
        mounted_at = {
            m["name"]: m["mountPath"] for c in all_containers(sts) for m in c.get("volumeMounts", [])
        }
        for volume in pod_spec(sts)["volumes"]:
            if "emptyDir" in volume and mounted_at.get(volume["name"]) in ("/tmp", "/var/run/postgresql"):
                assert "sizeLimit" in volume["emptyDir"], (name, volume["name"])


def test_rollout_timeouts_outlast_postgresqls_start_up_allowance() -> None:
    policy = yaml.safe_load((BASE.parent.parent / "deploy-control.yaml").read_text(encoding="utf-8"))
    for env in HETZNER:
        startup = container(find(render(env), "StatefulSet", "postgres"), "postgres")["startupProbe"]
        # The kubelet gives a container initialDelaySeconds + failureThreshold x periodSeconds to
        # pass its startup probe before it kills it (Kubernetes docs, "Protect slow starting
        # containers with startup probes").
        allowance = (
            startup.get("initialDelaySeconds", 0) + startup["failureThreshold"] * startup["periodSeconds"]
        )
        assert allowance >= 600, "initdb, the init script or crash recovery may take 10 minutes"
        timeout = policy["environments"][env]["rollout_timeout_seconds"]
        # + scheduling, attaching the Hetzner volume and pulling the image
        assert timeout >= allowance + 60, (env, timeout, allowance)
