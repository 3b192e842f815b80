"""Hostile documents and small inputs the cases share (each builder says what it imitates)."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

import yaml

from tests.hostile.harness import Context
from tests.support.policy import GOOD_POLICY

# Distinctive secret values: a leak is unmistakable in any output.
DB_PASSWORD = "s3cr3t-Db-Pa55word-Zq9"
API_KEY = "ak-7f3e9c1d2b4a-Zq9"
URL_PASSWORD = "Url-Pa55w0rd-Zq9"
URL_USER = "admin-user"


def laughs(levels: int = 9, fanout: int = 10, leaf: str = '"x/**"') -> str:
    """The "billion laughs" YAML: ``levels`` anchors of ``fanout`` aliases each; 10^9 nodes at 9x10.

    The shape go-yaml's own limit tests use (gopkg.in/yaml.v3 limit_test.go); kubectl refuses
    it with "document contains excessive aliasing" (CVE-2019-11253).
    """
    lines = [f"a0: &a0 [{leaf}]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * fanout) + "]")
    return "\n".join(lines) + "\n"


def laughs_in(document: dict[str, Any], path: tuple[str, ...], levels: int = 9) -> str:
    """A real document with the laughs hung under ``path``: the bomb goes off only if it is read."""
    document = copy.deepcopy(document)
    node = document
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = "__BOMB__"
    text = yaml.safe_dump(document, sort_keys=False)
    anchors = "".join(f"  {line}\n" for line in laughs(levels).splitlines())
    return "x-anchors:\n" + anchors + text.replace("__BOMB__", f"*a{levels}")


def recursive_alias(key: str = "a") -> str:
    """An alias inside the node it names (go-yaml: "anchor 'x' value contains itself")."""
    return f"{key}: &x\n  b: *x\n"


def deep_yaml(depth: int = 300) -> str:
    """Block lists nested ``depth`` deep (PyYAML's recursive composer needs ~3 frames a level)."""
    return "".join("  " * i + "-\n" for i in range(depth - 1)) + "  " * (depth - 1) + "- x\n"


def deep_json(depth: int = 100_000) -> str:
    """``[[[...]]]`` nested ``depth`` deep: ``json.loads`` raises RecursionError."""
    return "[" * depth + "]" * depth


def _filled(value: Any, ctx: Context) -> Any:
    if isinstance(value, str):
        for key, known in ctx.values().items():
            value = value.replace("{" + key + "}", known)
        return value
    if isinstance(value, dict):
        return {k: _filled(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, ctx) for v in value]
    return value


def kubeconfig(
    server: str | None = None, *, cluster: dict[str, Any] | None = None, **user: Any
) -> Callable[[Context], str]:
    """The fake API server's kubeconfig, with another server URL, more cluster fields and/or other
    user fields (a field set to None is removed); ``{placeholders}`` in values are filled."""

    def build(ctx: Context) -> str:
        config = copy.deepcopy(ctx.fake.kubeconfig(context="fakekube", namespace="default"))
        for entry in config["clusters"]:
            if server is not None:
                entry["cluster"]["server"] = _filled(server, ctx)
            entry["cluster"].update(_filled(cluster or {}, ctx))
            for key in [k for k, v in entry["cluster"].items() if v is None]:
                del entry["cluster"][key]
        for entry in config["users"]:
            entry["user"].update(_filled(user, ctx))
            for key in [k for k, v in entry["user"].items() if v is None]:
                del entry["user"][key]
        return yaml.safe_dump(config, sort_keys=False)

    return build


def exec_plugin(script: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """A kubeconfig ``exec`` plugin that runs ``sh -c script`` (client.authentication.k8s.io/v1)."""
    plugin: dict[str, Any] = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": "sh",
        "args": ["-c", script],
        "interactiveMode": "Never",
    }
    if env:
        plugin["env"] = [{"name": k, "value": v} for k, v in env.items()]
    return plugin


def exec_credential(token_variable: str) -> str:
    """A plugin script that prints an ExecCredential holding the token in ``$token_variable``."""
    body = '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}'
    return f"printf '{body}' \"${token_variable}\""


def with_userinfo(user: str = URL_USER, password: str = URL_PASSWORD) -> str:
    """The fake's URL with credentials in it: ``https://user:password@127.0.0.1:PORT``."""
    return "https://" + f"{user}:{password}@" + "{server_host}"


# A policy whose dev environment deploys the service `postgres` (the overlay's label).
POLICY = GOOD_POLICY

PLACEHOLDER = "StrongBase64Password"

OVERLAY = {
    "overlay/kustomization.yaml": "resources:\n- secret.yaml\n- configmap.yaml\n",
    "overlay/secret.yaml": f"""\
apiVersion: v1
kind: Secret
metadata:
  name: creds
  labels: {{app.kubernetes.io/name: postgres}}
stringData:
  DB_PASSWORD: {PLACEHOLDER}
  API_KEY: {PLACEHOLDER}
""",
    "overlay/configmap.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels: {app.kubernetes.io/name: postgres}
data:
  mode: "on"
""",
}

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: plain
data:
  greeting: hello
"""


def secret_manifest(**string_data: str) -> str:
    """A v1 Secret with these ``stringData`` values (a -f file may carry real ones)."""
    return yaml.safe_dump(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "given"}, "stringData": string_data},
        sort_keys=False,
    )


@functools.cache
def ssh_key_pair() -> tuple[str, str]:
    """An Ed25519 key pair in OpenSSH format (private, public), as hetzner-k3s is given one."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return private, public.decode() + " hostile@test"
