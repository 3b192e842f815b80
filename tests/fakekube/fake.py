"""``FakeKube``: the fake Kubernetes API server as a Python object (lifecycle, knobs, seeding, assertions)."""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
import random
import re
import secrets
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from tests.fakekube import authz, errors, openapi, schema, tables, validation
from tests.fakekube.api import Api, Request, Response, decode_body
from tests.fakekube.controllers import Controllers, controller_ref
from tests.fakekube.errors import ApiError
from tests.fakekube.resources import Registry, Resource
from tests.fakekube.selectors import parse_label_selector, requirements_match
from tests.fakekube.server import Dropped, FakeHTTPServer
from tests.fakekube.store import Store

FAULT_KINDS = ("500", "503", "429", "504", "drop")
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")


@dataclasses.dataclass
class Knobs:
    """Behaviour switches; every field can be passed to ``FakeKube(...)`` and changed at runtime.

    Targets (``never_ready``, ``crashloop``, ``image_pull_backoff``) are strings, each one of:
    ``statefulset/NAME`` ``deployment/NAME`` ``daemonset/NAME`` ``job/NAME`` ``replicaset/NAME`` ``pod/NAME``
    (a workload matches the pods it owns, or would own after an orphaning delete), ``image=EXACT``,
    ``image~SUBSTRING`` (a container image), or a label selector such as ``app.kubernetes.io/name=redis``.
    """

    never_ready: list[str] = dataclasses.field(default_factory=list)
    crashloop: list[str] = dataclasses.field(default_factory=list)
    image_pull_backoff: list[str] = dataclasses.field(default_factory=list)
    readiness_delay: float = 0.0  # seconds from a pod's first sighting to Running+Ready
    # What a failed container of a `crashloop` target leaves as state.terminated.message (the kubelet
    # copies its termination log there, or with terminationMessagePolicy FallbackToLogsOnError the end
    # of its output when the log is empty). Empty: no message.
    termination_message: str = ""
    pod_termination_seconds: float = 0.0  # graceful deletion time of pods (deletionTimestamp -> gone)
    sts_forced_rollback_required: bool = True  # mimic the real "forced rollback" StatefulSet issue
    fault_rate: float = 0.0  # fraction of matching requests that fail
    fault_kinds: list[str] = dataclasses.field(default_factory=lambda: ["500", "429", "504", "drop"])
    fault_verbs: list[str] = dataclasses.field(default_factory=list)  # empty: every verb
    fault_path: str = ""  # regex searched in the URL path; empty: every path
    fault_phase: str = (
        "before"  # before (nothing happens) | after (the write happens, the answer is lost) | random
    )
    fault_seed: int = 0
    fault_limit: int | None = None  # at most this many faults in total
    # At most this many faults in a row for one request (verb + path), then it passes: faults are
    # transient, as real ones are; a client's bounded retries always get through. None = no cap.
    fault_max_streak: int | None = None
    retry_after: int = 1  # Retry-After seconds of 429 answers
    fault_timeout_delay: float = 0.0  # seconds to wait before a 504 answer
    # Latency: seconds added to each matching request (a network round trip), in the handler thread
    # of its own connection, so the other connections are answered meanwhile; stop() ends the wait.
    delay: float = 0.0
    delay_verbs: list[str] = dataclasses.field(default_factory=list)
    delay_path: str = ""
    # The garbage collector's pace with the `orphan` finalizer of an orphaning delete: it lingers this
    # many seconds after the deletionTimestamp (a real GC takes seconds on a busy cluster), or forever
    # while `gc_stalled` (a stuck or overloaded kube-controller-manager).
    orphan_finalizer_seconds: float = 0.0
    gc_stalled: bool = False
    # Validating admission: writes (create, update, patch; dry runs too) of KIND/NAME are denied,
    # "KIND/NAME=policy[/POLICY]:MESSAGE" as a ValidatingAdmissionPolicy,
    # "KIND/NAME=webhook[/WEBHOOK]:MESSAGE" as a webhook.
    deny: list[str] = dataclasses.field(default_factory=list)
    # A server that trickles: every answer to a matching request (status line, headers, body) is
    # written one byte at a time, this many seconds apart. Each read gets a byte well within any
    # read timeout, so only a total deadline ends the request.
    trickle: float = 0.0
    trickle_verbs: list[str] = dataclasses.field(default_factory=list)
    trickle_path: str = ""
    # A broken or hostile server's answers: each entry "PATH_REGEX POINTER" removes, and
    # "PATH_REGEX POINTER=JSON" sets, the field at the JSON pointer (RFC 6901) in the JSON answer to
    # every GET whose path matches, e.g. "^/api/v1/nodes$ /items/0/metadata" (a Node without metadata).
    answer_edits: list[str] = dataclasses.field(default_factory=list)

    def update(self, values: dict[str, Any]) -> None:
        fields = {f.name: f for f in dataclasses.fields(self)}
        for key, raw in values.items():
            if key not in fields:
                raise ValueError(f"unknown knob {key!r}; known: {', '.join(sorted(fields))}")
            current = getattr(self, key)
            value: Any = raw
            if isinstance(current, list) or (fields[key].default_factory is not dataclasses.MISSING):
                value = [raw] if isinstance(raw, str) else list(raw or [])
            elif isinstance(current, bool):
                value = bool(raw)
            elif isinstance(current, float):
                value = float(raw)
            elif key in ("fault_limit", "fault_max_streak"):
                value = None if raw is None else int(raw)
            elif isinstance(current, int):
                value = int(raw)
            setattr(self, key, value)
        for kind in self.fault_kinds:
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        if self.fault_phase not in ("before", "after", "random"):
            raise ValueError("fault_phase must be before, after or random")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


DEFAULT_STORAGE_CLASSES: tuple[dict[str, Any], ...] = (
    {
        "name": "hcloud-volumes",
        "provisioner": "csi.hetzner.cloud",
        "allowVolumeExpansion": True,
        "default": True,
        "volumeBindingMode": "WaitForFirstConsumer",
    },
    {
        "name": "local-path",
        "provisioner": "rancher.io/local-path",
        "allowVolumeExpansion": False,
        "default": False,
        "volumeBindingMode": "WaitForFirstConsumer",
    },
)


class FakeKube:
    """A wire-level fake Kubernetes API server on 127.0.0.1 (HTTPS + bearer token by default)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = True,
        token: str | None = None,
        auth: bool | None = None,
        nodes: int | Iterable[str] = 1,
        storage_classes: Iterable[dict[str, Any]] | None = None,
        csi_drivers: Iterable[str] = ("csi.hetzner.cloud",),
        csi_node_plugin: bool = False,
        namespaces: Iterable[str] = ("default", "kube-system", "kube-public", "kube-node-lease"),
        state_file: Path | str | None = None,
        tick: float | None = 0.05,
        server_version: str = validation.DEFAULT_MINOR,
        **knobs: Any,
    ) -> None:
        if server_version not in validation.SERVER_MINORS:
            raise ValueError(
                f"server_version must be one of {', '.join(validation.SERVER_MINORS)}, not {server_version!r}"
            )
        self.server_version = server_version
        self.host = host
        self.port = port
        self.tls = tls
        self.token = token or secrets.token_urlsafe(24)
        # kubectl 1.37 sends no bearer token over plain HTTP, so without TLS auth is off by default.
        self.auth = tls if auth is None else auth
        self.state_file = Path(state_file) if state_file else None
        self.tick_interval = tick
        self.knobs = Knobs()
        self.knobs.update(knobs)
        self.store = Store()
        self.registry = Registry()
        self.api = Api(self.store, self.registry, minor=server_version)
        self.controllers = Controllers(self)
        self.request_log: list[dict[str, Any]] = []
        self.bugs: list[str] = []
        self.faults_injected = 0
        self._streaks: dict[tuple[str, str], int] = {}  # (verb, path) -> faults in a row
        self._rng = random.Random(self.knobs.fault_seed)
        self._rng_lock = threading.Lock()
        self._log_lock = threading.Lock()
        self.watch_epoch = 0
        self._server: FakeHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._last_save = 0.0
        self._crd_names: set[tuple[str, str]] = set()
        self.kubeconfig_path: Path | None = None
        self.crd_openapi: dict[str, Any] = {}
        loaded = False
        if self.state_file is not None and self.state_file.exists():
            self.store.load(json.loads(self.state_file.read_text(encoding="utf-8")))
            loaded = True
            self.sync_crds()
        if not loaded:
            self._seed(nodes, storage_classes, csi_drivers, namespaces)
            if csi_node_plugin:
                self.seed_csi_node_plugin()

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> FakeKube:
        from tests.fakekube.tls import server_context

        context = server_context() if self.tls else None
        self._server = FakeHTTPServer((self.host, self.port), self, context)
        self.port = self._server.server_address[1]
        serve = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fakekube-http-{self.port}",
            daemon=True,
        )
        serve.start()
        self._threads.append(serve)
        if self.tick_interval:
            loop = threading.Thread(target=self._loop, name=f"fakekube-controllers-{self.port}", daemon=True)
            loop.start()
            self._threads.append(loop)
        return self

    def stop(self) -> None:
        self._stop.set()
        self.store.close_watchers()
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        if self.state_file is not None:
            self.save_state()

    def __enter__(self) -> FakeKube:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` began (connections are being closed under their handlers)."""
        return self._stop.is_set()

    def _loop(self) -> None:
        assert self.tick_interval
        while not self._stop.wait(self.tick_interval):
            try:
                self.controllers.tick()
            except Exception:
                self.bugs.append(traceback.format_exc())
            if self.state_file is not None and self.store.dirty and time.monotonic() - self._last_save > 0.5:
                self.save_state()

    def save_state(self) -> None:
        if self.state_file is not None:
            self._last_save = time.monotonic()
            self.store.save(self.state_file)

    # --- addresses and kubeconfig ---------------------------------------------------------------

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.address}"

    @property
    def ca_pem(self) -> bytes:
        from tests.fakekube.tls import certs

        return certs().ca_pem

    def kubeconfig(
        self, *, context: str = "fakekube", namespace: str = "default", token: str | None = None
    ) -> dict[str, Any]:
        """A kubeconfig for the admin token, or ``token`` (a ServiceAccount's, see authz.py)."""
        cluster: dict[str, Any] = {"server": self.url}
        if self.tls:
            cluster["certificate-authority-data"] = base64.b64encode(self.ca_pem).decode()
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": cluster}],
            "users": [{"name": context, "user": {"token": token or self.token} if self.auth else {}}],
            "contexts": [
                {"name": context, "context": {"cluster": context, "user": context, "namespace": namespace}}
            ],
            "current-context": context,
            "preferences": {},
        }

    def write_kubeconfig(
        self,
        path: Path | str,
        *,
        context: str = "fakekube",
        namespace: str = "default",
        token: str | None = None,
    ) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        config = self.kubeconfig(context=context, namespace=namespace, token=token)
        target.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        target.chmod(0o600)
        if token is None:
            self.kubeconfig_path = target
        return target

    def service_account_token(self, namespace: str, secret: str, timeout: float = 10.0) -> str:
        """The token the token controller put into a ServiceAccount token Secret (waits for it)."""

        def token() -> str | None:
            found = self.get("v1", "Secret", namespace, secret) or {}
            value = (found.get("data") or {}).get("token")
            return base64.b64decode(value).decode() if value else None

        return str(self.wait_for(token, timeout=timeout))

    # --- seeding and direct store access ---------------------------------------------------------

    def _seed(
        self,
        nodes: int | Iterable[str],
        storage_classes: Iterable[dict[str, Any]] | None,
        csi_drivers: Iterable[str],
        namespaces: Iterable[str],
    ) -> None:
        for name in namespaces:
            self.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        node_names = (
            [f"fakekube-node-{i + 1}" for i in range(nodes)] if isinstance(nodes, int) else list(nodes)
        )
        for name in node_names:
            self.seed_node(name)
        for sc in DEFAULT_STORAGE_CLASSES if storage_classes is None else storage_classes:
            self.seed_storage_class(**sc)
        for driver in csi_drivers:
            self.seed_csi_driver(driver)

    def seed_node(self, name: str, *, ready: bool = True, version: str = "v1.37.0+k3s1") -> dict[str, Any]:
        """A Node as a k3s kubelet registers it, and its (empty) CSINode as the kubelet creates it."""
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        ready_cond = {
            "type": "Ready",
            "status": "True" if ready else "False",
            "reason": "KubeletReady" if ready else "KubeletNotReady",
            "message": "kubelet is posting ready status" if ready else "container runtime is down",
            "lastHeartbeatTime": now,
            "lastTransitionTime": now,
        }
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "labels": {
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "node.kubernetes.io/instance-type": "cpx31",
                },
            },
            "spec": {"providerID": f"hcloud://{abs(hash(name)) % 10**8}"},
            "status": {
                "conditions": [
                    {
                        "type": "MemoryPressure",
                        "status": "False",
                        "reason": "KubeletHasSufficientMemory",
                        "message": "kubelet has sufficient memory available",
                        "lastHeartbeatTime": now,
                        "lastTransitionTime": now,
                    },
                    {
                        "type": "DiskPressure",
                        "status": "False",
                        "reason": "KubeletHasNoDiskPressure",
                        "message": "kubelet has no disk pressure",
                        "lastHeartbeatTime": now,
                        "lastTransitionTime": now,
                    },
                    {
                        "type": "PIDPressure",
                        "status": "False",
                        "reason": "KubeletHasSufficientPID",
                        "message": "kubelet has sufficient PID available",
                        "lastHeartbeatTime": now,
                        "lastTransitionTime": now,
                    },
                    ready_cond,
                ],
                "addresses": [
                    {"type": "InternalIP", "address": "10.0.0.10"},
                    {"type": "Hostname", "address": name},
                ],
                "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110", "ephemeral-storage": "150Gi"},
                "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110", "ephemeral-storage": "150Gi"},
                "nodeInfo": {
                    "kubeletVersion": version,
                    "kubeProxyVersion": version,
                    "containerRuntimeVersion": "containerd://2.1.4-k3s1",
                    "operatingSystem": "linux",
                    "architecture": "amd64",
                    "osImage": "Ubuntu 24.04.3 LTS",
                    "kernelVersion": "6.8.0-87-generic",
                    "machineID": "",
                    "systemUUID": "",
                    "bootID": "",
                },
            },
        }
        stored = self.put(node)
        if self.get("storage.k8s.io/v1", "CSINode", None, name) is None:
            # The kubelet creates its node's CSINode at start, with no drivers until a CSI node plugin
            # registers (https://kubernetes-csi.github.io/docs/csi-node-object.html).
            self.put(
                {
                    "apiVersion": "storage.k8s.io/v1",
                    "kind": "CSINode",
                    "metadata": {
                        "name": name,
                        "ownerReferences": [
                            {
                                "apiVersion": "v1",
                                "kind": "Node",
                                "name": name,
                                "uid": stored["metadata"]["uid"],
                            }
                        ],
                    },
                    "spec": {"drivers": []},
                },
                actor="kubelet",
            )
        return stored

    def set_node_version(self, name: str, version: str) -> dict[str, Any]:
        """What a node's kubelet reports after k3s was upgraded on it."""
        node = self.get("v1", "Node", None, name)
        if node is None:
            raise KeyError(name)
        node["status"]["nodeInfo"]["kubeletVersion"] = version
        node["status"]["nodeInfo"]["kubeProxyVersion"] = version
        return self.put(node, subresource="status", actor="kubelet")

    def register_csi_driver(self, node: str, driver: str, *, registered: bool = True) -> dict[str, Any]:
        """The kubelet adds (or drops) ``driver`` in ``node``'s CSINode when the node plugin (un)registers."""
        csi_node = self.get("storage.k8s.io/v1", "CSINode", None, node)
        if csi_node is None:
            raise KeyError(node)
        drivers = [d for d in csi_node["spec"].get("drivers") or [] if d.get("name") != driver]
        if registered:
            drivers.append(
                {
                    "name": driver,
                    "nodeID": node,
                    "topologyKeys": ["csi.hetzner.cloud/location"],
                    "allocatable": {"count": 16},
                }
            )
        csi_node["spec"]["drivers"] = drivers
        return self.put(csi_node, actor="kubelet")

    def seed_csi_node_plugin(
        self,
        driver: str = "csi.hetzner.cloud",
        *,
        namespace: str = "kube-system",
        name: str = "hcloud-csi-node",
    ) -> dict[str, Any]:
        """The CSI driver's node plugin: its DaemonSet (one pod per node) registered on every node."""
        labels = {"app": "hcloud-csi", "app.kubernetes.io/component": "node"}
        daemonset = self.put(
            {
                "apiVersion": "apps/v1",
                "kind": "DaemonSet",
                "metadata": {"name": name, "namespace": namespace, "labels": labels},
                "spec": {
                    "selector": {"matchLabels": {"app": "hcloud-csi"}},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "containers": [
                                {
                                    "name": "hcloud-csi-driver",
                                    "image": "docker.io/hetznercloud/hcloud-csi-driver:v2.22.1",
                                }
                            ]
                        },
                    },
                },
            }
        )
        for node in self.list_objects("v1", "Node"):
            self.register_csi_driver(node["metadata"]["name"], driver)
        return daemonset

    def set_node_ready(self, name: str, ready: bool) -> dict[str, Any]:
        node = self.get("v1", "Node", None, name)
        if node is None:
            raise KeyError(name)
        for cond in node["status"]["conditions"]:
            if cond["type"] == "Ready":
                cond["status"] = "True" if ready else "False"
                cond["reason"] = "KubeletReady" if ready else "KubeletNotReady"
        return self.put(node, subresource="status")

    def seed_storage_class(  # noqa: PLR0917 - keyword names mirror the StorageClass fields
        self,
        name: str,
        provisioner: str = "csi.hetzner.cloud",
        allowVolumeExpansion: bool = False,  # noqa: N803
        default: bool = False,
        volumeBindingMode: str = "Immediate",  # noqa: N803
        reclaimPolicy: str = "Delete",  # noqa: N803
    ) -> dict[str, Any]:
        sc: dict[str, Any] = {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": name},
            "provisioner": provisioner,
            "allowVolumeExpansion": allowVolumeExpansion,
            "reclaimPolicy": reclaimPolicy,
            "volumeBindingMode": volumeBindingMode,
        }
        if default:
            sc["metadata"]["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
        return self.put(sc)

    def seed_csi_driver(self, name: str) -> dict[str, Any]:
        return self.put(
            {
                "apiVersion": "storage.k8s.io/v1",
                "kind": "CSIDriver",
                "metadata": {"name": name},
                "spec": {
                    "attachRequired": True,
                    "podInfoOnMount": True,
                    "volumeLifecycleModes": ["Persistent"],
                },
            }
        )

    def resource(self, api_version: str, kind: str) -> Resource:
        found = self.registry.by_kind(api_version, kind)
        if found is None:
            raise KeyError(f"{api_version} {kind} is not served")
        return found

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        res = self.resource(api_version, kind)
        return self.store.get(self.api.key(res, namespace, name))

    def list_objects(self, api_version: str, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        res = self.resource(api_version, kind)
        return self.store.list_objects(res.group, res.kind, namespace if res.namespaced else None)

    def put(self, obj: dict[str, Any], *, subresource: str = "", actor: str = "seed") -> dict[str, Any]:
        """Create or replace ``obj`` through the API's write path (defaults, hooks, validation)."""
        obj = copy.deepcopy(obj)
        res = self.resource(obj["apiVersion"], obj["kind"])
        meta = obj.setdefault("metadata", {})
        if res.namespaced:
            meta.setdefault("namespace", "default")
        namespace = meta.get("namespace") if res.namespaced else None
        body = json.dumps(obj).encode()
        req = Request(
            "PUT",
            res,
            namespace,
            meta["name"],
            subresource,
            {"fieldManager": "fakekube-seed"},
            body,
            "application/json",
            "fakekube-seed",
        )
        with self.store.lock:
            if self.store.get(self.api.key(res, namespace, meta["name"])) is None and not subresource:
                req.method = "POST"
                if res.namespaced and namespace and self.store.peek(("", "Namespace", "", namespace)) is None:
                    self.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
                stored = self.api.create(req, actor=actor).body
            else:
                meta.pop("resourceVersion", None)
                req.body = json.dumps(obj).encode()
                stored = self.api.update(req, actor=actor).body
            if (
                res.has_status
                and not subresource
                and "status" in obj
                and stored.get("status") != obj["status"]
            ):
                status_obj = {**stored, "status": obj["status"]}
                status_req = Request(
                    "PUT",
                    res,
                    namespace,
                    meta["name"],
                    "status",
                    {"fieldManager": "fakekube-seed"},
                    json.dumps(status_obj).encode(),
                    "application/json",
                    "fakekube-seed",
                )
                stored = self.api.update(status_req, actor=actor).body
            return stored

    def delete(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        name: str,
        *,
        propagation: str = "Background",
    ) -> dict[str, Any]:
        res = self.resource(api_version, kind)
        body = json.dumps({"propagationPolicy": propagation}).encode()
        req = Request("DELETE", res, namespace, name, "", {}, body, "application/json", "fakekube-test")
        return self.api.delete(req, actor="test").body

    def history(
        self,
        *,
        kind: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
        uid: str | None = None,
        action: str | None = None,
    ) -> list[dict[str, Any]]:
        with self.store.lock:
            entries = list(self.store.history)
        return [
            e
            for e in entries
            if (kind is None or e["kind"] == kind)
            and (name is None or e["name"] == name)
            and (namespace is None or e["namespace"] == namespace)
            and (uid is None or e["uid"] == uid)
            and (action is None or e["action"] == action)
        ]

    @property
    def delete_events(self) -> list[dict[str, Any]]:
        """Every DELETE (client, controller or garbage collector) with its propagationPolicy and actor."""
        with self.store.lock:
            return list(self.store.delete_log)

    def requests(
        self, *, verb: str | None = None, path: str | None = None, method: str | None = None
    ) -> list[dict[str, Any]]:
        return [
            r
            for r in list(self.request_log)
            if (verb is None or r["verb"] == verb)
            and (method is None or r["method"] == method)
            and (path is None or re.search(path, r["path"]))
        ]

    def reset_logs(self) -> None:
        with self.store.lock:
            self.request_log.clear()
            self.store.history.clear()
            self.store.delete_log.clear()

    def compact(self) -> None:
        self.store.compact()

    def drop_watches(self) -> None:
        """Cut every open watch stream (the socket is closed without the final chunk)."""
        self.watch_epoch += 1
        self.store.close_watchers()

    def step(self) -> int:
        """Run the controllers once (deterministic tests can use ``tick=None`` and call this)."""
        return self.controllers.tick()

    def settle(self, timeout: float = 10.0) -> bool:
        """Tick until two consecutive ticks change nothing; False when ``timeout`` passes first."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline:
            changes = self.controllers.tick()
            quiet = quiet + 1 if changes == 0 else 0
            if quiet >= 2:
                return True
            time.sleep(0.01)
        return False

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
        """Poll ``predicate`` until it returns something truthy; raise TimeoutError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout}s")
            if not self.tick_interval:
                self.controllers.tick()
            time.sleep(interval)

    def set_knobs(self, **values: Any) -> None:
        with self._rng_lock:
            self.knobs.update(values)
            if "fault_seed" in values:
                self._rng = random.Random(self.knobs.fault_seed)
                self.faults_injected = 0
                self._streaks.clear()

    # --- request handling hooks used by the HTTP layer ----------------------------------------

    def authorized(self, header: str) -> bool:
        """Is the bearer token known: the admin's, or a ServiceAccount's (tests/fakekube/authz.py)?"""
        if not self.auth:
            return True
        return authz.authenticate(self, header.removeprefix("Bearer ").strip()) is not None

    def user_name(self, header: str) -> str | None:
        """Who a request's bearer token is, for the request log (None without auth)."""
        if not self.auth:
            return None
        user = authz.authenticate(self, header.removeprefix("Bearer ").strip())
        return None if user is None else user.name

    def authorize_request(self, header: str, verb: str, match: re.Match[str] | None) -> None:
        """RBAC for ServiceAccount tokens (the admin token may do anything); raises the 403."""
        if not self.auth:
            return
        user = authz.authenticate(self, header.removeprefix("Bearer ").strip())
        if user is None or user.admin or match is None:
            return  # the admin; or a non-resource path (discovery, version, OpenAPI): open to all
        namespace, plural, name, sub = match.group("ns", "plural", "name", "sub")
        group = match.group("g") or ""
        if not group and namespace and plural in ("status", "finalize") and name is None:
            namespace, plural, name, sub = None, "namespaces", namespace, plural  # the Namespace itself
        attrs = authz.Attributes(verb, group, plural, sub or "", namespace, name)
        authz.authorize(self, user, attrs)

    def log_request(self, entry: dict[str, Any]) -> None:
        with self._log_lock:
            entry["seq"] = len(self.request_log) + 1
            self.request_log.append(entry)

    def maybe_delay(self, verb: str, path: str) -> None:
        knobs = self.knobs
        if knobs.delay <= 0:
            return
        if knobs.delay_verbs and verb not in knobs.delay_verbs:
            return
        if knobs.delay_path and not re.search(knobs.delay_path, path):
            return
        if self._stop.wait(knobs.delay):
            raise Dropped  # stopping: no answer

    def trickles(self, verb: str, path: str) -> float:
        """Seconds between the bytes of the answer to this request (0: written at once)."""
        knobs = self.knobs
        if knobs.trickle <= 0:
            return 0.0
        if knobs.trickle_verbs and verb not in knobs.trickle_verbs:
            return 0.0
        if knobs.trickle_path and not re.search(knobs.trickle_path, path):
            return 0.0
        return knobs.trickle

    def edit_answer(self, method: str, path: str, payload: Any) -> Any:
        """``payload`` with the ``answer_edits`` for this request applied (a copy; unchanged if none)."""
        edits = [e.split(" ", 1) for e in self.knobs.answer_edits if " " in e]
        matching = [rule for pattern, rule in edits if method == "GET" and re.search(pattern, path)]
        if not matching:
            return payload
        payload = json.loads(json.dumps(payload))
        for rule in matching:
            pointer, has_value, value = rule.partition("=")
            *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in pointer.strip("/").split("/")]
            node: Any = payload
            for part in parents:
                node = node[int(part)] if isinstance(node, list) else node.get(part, {})
            key: Any = int(last) if isinstance(node, list) else last
            if has_value:
                node[key] = json.loads(value)
            elif isinstance(node, dict):
                node.pop(key, None)
            elif isinstance(node, list) and key < len(node):
                del node[key]
        return payload

    def pick_fault(self, verb: str, path: str) -> tuple[str | None, str]:
        knobs = self.knobs
        if knobs.fault_rate <= 0:
            return None, ""
        if knobs.fault_verbs and verb not in knobs.fault_verbs:
            return None, ""
        if knobs.fault_path and not re.search(knobs.fault_path, path):
            return None, ""
        with self._rng_lock:
            if knobs.fault_limit is not None and self.faults_injected >= knobs.fault_limit:
                return None, ""
            streak_key = (verb, path)
            streak = self._streaks.pop(streak_key, 0)
            if knobs.fault_max_streak is not None and streak >= knobs.fault_max_streak:
                return None, ""
            if self._rng.random() >= knobs.fault_rate:
                return None, ""
            self._streaks[streak_key] = streak + 1
            kind = self._rng.choice(knobs.fault_kinds)
            phase = (
                knobs.fault_phase if knobs.fault_phase != "random" else self._rng.choice(["before", "after"])
            )
            self.faults_injected += 1
        if verb in ("get", "list", "watch"):
            phase = "before"
        return kind, phase

    def raise_fault(self, kind: str) -> None:
        if kind == "drop":
            raise Dropped
        if kind == "429":
            raise errors.too_many_requests(self.knobs.retry_after)
        if kind == "504":
            if self.knobs.fault_timeout_delay > 0:
                time.sleep(self.knobs.fault_timeout_delay)
            raise errors.gateway_timeout()
        if kind == "503":
            raise ApiError(
                503,
                "ServiceUnavailable",
                "the server is currently unable to handle the request",
                {"retryAfterSeconds": self.knobs.retry_after},
                {"Retry-After": str(self.knobs.retry_after)},
            )
        raise errors.internal_error("etcdserver: request timed out (injected by fakekube)")

    def dispatch(self, req: Request, verb: str) -> Response:
        actor = None
        if req.subresource in ("eviction", "binding"):
            if verb != "create":
                raise errors.method_not_allowed()
            return self.api.pod_subresource(req)
        if verb == "get":
            return self.api.get(req)
        if verb == "list":
            return self.api.list_(req)
        if verb in ("create", "update", "patch") and not req.subresource:
            self._admit(req)
        if verb == "create":
            return self.api.create(req, actor=actor)
        if verb == "update":
            return self.api.update(req, actor=actor)
        if verb == "patch":
            return self.api.patch(req, actor=actor)
        if verb == "delete":
            return self.api.delete(req, actor=actor)
        if verb == "deletecollection":
            return self.api.delete_collection(req, actor=actor)
        raise errors.method_not_allowed()

    def _admit(self, req: Request) -> None:
        """Validating admission (knob ``deny``). The real chain validates the object first and admits it
        after; here the denial comes first, so deny only writes of valid objects."""
        if not self.knobs.deny:
            return
        body = decode_body(req.body, yaml_ok=True)
        name = req.name
        if name is None:
            meta = (body.get("metadata") or {}) if isinstance(body, dict) else {}
            name = str(meta.get("name") or "")
        for rule in self.knobs.deny:
            target, _, how = rule.partition("=")
            who, _, message = how.partition(":")
            mode, _, by = who.partition("/")
            if target.lower() != f"{req.res.kind.lower()}/{name}":
                continue
            # Admission sees the whole object and may quote it back ({object}: the JSON the client
            # sent), which is how a Secret's value can reach an error message.
            message = message.replace("{object}", json.dumps(body, separators=(",", ":"), sort_keys=True))
            if mode == "policy":
                raise errors.policy_denied(req.res, name, message, by or "fakekube-policy")
            if mode == "webhook":
                raise errors.webhook_denied(message, by or "deny.fakekube.example.com")
            raise ValueError(f"deny rule {rule!r}: expected KIND/NAME=policy:TEXT or KIND/NAME=webhook:TEXT")

    def openapi(self, path: str, query: dict[str, str]) -> dict[str, Any] | None:
        return openapi.document(self.registry, path, self.crd_openapi)

    def table(self, req: Request, body: dict[str, Any], verb: str) -> dict[str, Any]:
        return tables.table(req, body, verb)

    # --- knob targets -----------------------------------------------------------------------

    def targets_pod(self, targets: list[str], pod: dict[str, Any]) -> bool:
        if not targets:
            return False
        meta = pod.get("metadata") or {}
        labels = meta.get("labels") or {}
        images = [c.get("image", "") for c in (pod.get("spec") or {}).get("containers") or []]
        owners = self._owner_chain(pod)
        for target in targets:
            if target.startswith("image="):
                if target[6:] in images:
                    return True
            elif target.startswith("image~"):
                if any(target[6:] in image for image in images):
                    return True
            elif "/" in target and "=" not in target and " " not in target and len(target.split("/")) == 2:
                kind, name = target.split("/", 1)
                kind = _KIND_ALIASES.get(kind.lower(), kind.lower())
                if kind == "pod" and meta.get("name") == name:
                    return True
                if (kind, name) in owners:
                    return True
                if (
                    kind == "statefulset"
                    and re.match(rf"^{re.escape(name)}-\d+$", meta.get("name", ""))
                    and ("controller-revision-hash" in labels)
                ):
                    return True
                if (
                    kind == "deployment"
                    and meta.get("name", "").startswith(f"{name}-")
                    and ("pod-template-hash" in labels)
                ):
                    return True
            elif requirements_match(parse_label_selector(target), labels):
                return True
        return False

    def _owner_chain(self, obj: dict[str, Any]) -> set[tuple[str, str]]:
        chain: set[tuple[str, str]] = set()
        current: dict[str, Any] | None = obj
        for _ in range(4):
            ref = controller_ref(current) if current else None
            if ref is None:
                break
            chain.add((str(ref.get("kind", "")).lower(), str(ref.get("name", ""))))
            current = self.store.by_uid(str(ref.get("uid")))
        return chain

    # --- CRDs ----------------------------------------------------------------------------------

    def sync_crds(self) -> None:
        """Serve the kinds of every Established CRD (and stop serving removed ones)."""
        wanted: dict[tuple[str, str], tuple[Resource, dict[str, Any] | None]] = {}
        for crd in self.store.iter_type("apiextensions.k8s.io", "CustomResourceDefinition"):
            established = any(
                c.get("type") == "Established" and c.get("status") == "True"
                for c in (crd.get("status") or {}).get("conditions") or []
            )
            if not established:
                continue
            spec = crd.get("spec") or {}
            names = spec.get("names") or {}
            for version in spec.get("versions") or []:
                if not version.get("served", True):
                    continue
                subresources = tuple(
                    k for k in (version.get("subresources") or {}) if k in ("status", "scale")
                )
                res = Resource(
                    spec.get("group", ""),
                    version["name"],
                    names.get("kind", ""),
                    names.get("plural", ""),
                    spec.get("scope", "Namespaced") == "Namespaced",
                    tuple(names.get("shortNames") or ()),
                    tuple(names.get("categories") or ()),
                    subresources,
                    True,
                    True,
                )
                open_api = (version.get("schema") or {}).get("openAPIV3Schema")
                wanted[(res.api_version, res.kind)] = (res, open_api)
                if open_api:
                    self.crd_openapi[f"{res.api_version}/{res.kind}"] = open_api
        for key in list(self._crd_names):
            if key not in wanted:
                res_old = self.registry.by_kind(*key)
                if res_old is not None:
                    self.registry.remove(res_old)
                self.api.custom_schemas.pop(key, None)
                self.crd_openapi.pop(f"{key[0]}/{key[1]}", None)
                self._crd_names.discard(key)
        for key, (res, open_api) in wanted.items():
            if self.registry.by_kind(*key) != res:
                self.registry.add(res)
            if key not in self._crd_names:
                self.api.custom_schemas[key] = schema.from_crd_schema(open_api)
                self._crd_names.add(key)

    # --- control endpoint ---------------------------------------------------------------------

    def control(self, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[int, Any]:
        """``/__fake__/...``: drive and inspect the fake from another process (no auth, 127.0.0.1 only)."""
        action = path[len("/__fake__/") :].strip("/")
        payload: Any = json.loads(body) if body.strip() else None
        if action == "healthz":
            return 200, {"ok": True, "url": self.url}
        if action == "knobs":
            if method in ("POST", "PATCH", "PUT"):
                try:
                    self.set_knobs(**(payload or {}))
                except (ValueError, TypeError) as exc:
                    raise errors.bad_request(str(exc)) from exc
            return 200, self.knobs.to_json()
        if action == "requests":
            since = int(query.get("since", 0))
            return 200, [r for r in list(self.request_log) if r["seq"] > since]
        if action == "deletes":
            return 200, self.delete_events
        if action == "history":
            return 200, self.history(
                kind=query.get("kind"),
                namespace=query.get("namespace"),
                name=query.get("name"),
                uid=query.get("uid"),
            )
        if action == "objects":
            if method == "POST":
                items = payload if isinstance(payload, list) else [payload]
                try:
                    return 200, [self.put(item) for item in items]
                except ApiError as exc:
                    return exc.code, exc.status()
            return 200, self.store.dump()["objects"]
        if action == "reset-logs" and method == "POST":
            self.reset_logs()
            return 200, {"ok": True}
        if action == "compact" and method == "POST":
            self.compact()
            return 200, {"ok": True, "resourceVersion": self.store.rv}
        if action == "drop-watches" and method == "POST":
            self.drop_watches()
            return 200, {"ok": True}
        if action == "tick" and method == "POST":
            return 200, {"changes": self.step()}
        if action == "settle" and method == "POST":
            return 200, {"settled": self.settle(float(query.get("timeout", 10)))}
        if action == "save" and method == "POST":
            self.save_state()
            return 200, {"ok": True, "stateFile": str(self.state_file) if self.state_file else None}
        if action == "bugs":
            return 200, list(self.bugs)
        if action == "nodes" and method == "POST":
            name = (payload or {}).get("name")
            if not name:
                raise errors.bad_request("name is required")
            if self.get("v1", "Node", None, name) is None:
                return 200, self.seed_node(name, ready=bool((payload or {}).get("ready", True)))
            return 200, self.set_node_ready(name, bool((payload or {}).get("ready", True)))
        raise errors.path_not_found()


_KIND_ALIASES = {
    "sts": "statefulset",
    "statefulsets": "statefulset",
    "deploy": "deployment",
    "deployments": "deployment",
    "ds": "daemonset",
    "daemonsets": "daemonset",
    "rs": "replicaset",
    "replicasets": "replicaset",
    "jobs": "job",
    "po": "pod",
    "pods": "pod",
}

__all__ = ["FakeKube", "Knobs"]
