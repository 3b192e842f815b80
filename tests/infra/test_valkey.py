"""The Valkey ACL users of infra/k8s, loaded by a real redis-server 7.

From the RENDERED dev overlay: the init container's script (ConfigMap redis-config) is run
with /bin/sh exactly as the init container's command says, with the paths of its volume
mounts mapped to a temporary directory, to write the ACL file; redis-server then starts with
the rendered valkey.conf, changed only where a test must (bind, port, dir, aclfile path), and
the container's own arguments. Each user then does its job, and gets NOPERM outside it.
"""

from __future__ import annotations

import hashlib
import re
import stat
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.infra import container, container_env, find, render
from tests.support.pg import free_port
from tests.support.redis import RedisServer, RespClient, RespError, require_redis

pytestmark = pytest.mark.integration

PASSWORDS = {
    "REDIS_ADMIN_PASSWORD": 'adm-Pw\'1 "q" \\ $HOME ü',
    "REDIS_PUBSUB_PASSWORD": "pub-Pw'2 >plain nopass",
    "REDIS_CACHE_PASSWORD": "cache-Pw'3 {{REDIS_ADMIN_PASSWORD}} &",
    "REDIS_RATELIMIT_PASSWORD": "rl-Pw'4 `id` $(id) ;",
    "REDIS_MONITOR_PASSWORD": "mon-Pw'5 #hash ~*",
}
USERS = {
    "admin": "REDIS_ADMIN_PASSWORD",
    "pubsub_user": "REDIS_PUBSUB_PASSWORD",
    "cache_user": "REDIS_CACHE_PASSWORD",
    "ratelimit_user": "REDIS_RATELIMIT_PASSWORD",
    "monitor": "REDIS_MONITOR_PASSWORD",
}
GET_CACHED = "return redis.call('GET', KEYS[1])"
TOUCH_UNDECLARED = "return redis.call('SET', ARGV[1], 'x')"
RATE_LIMIT = "local n = redis.call('INCR', KEYS[1]); redis.call('EXPIRE', KEYS[1], 60); return n"


@dataclass
class Valkey:
    server: RedisServer
    acl_file: Path
    script_output: str
    statefulset: dict[str, Any]

    def client(self, user: str | None = None) -> RespClient:
        return self.server.client(user, PASSWORDS[USERS[user]] if user else None)


def expand(argument: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion in container args."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m[1], m[0]), argument)


def memory_mib(quantity: str) -> int:
    """A memory quantity (Ki/Mi/Gi) in MiB, rounded up like resourceFieldRef with divisor 1Mi."""
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi)", quantity)
    assert match, f"unexpected memory quantity {quantity!r}"
    kib = int(match[1]) * {"Ki": 1, "Mi": 1024, "Gi": 1024 * 1024}[match[2]]
    return -(-kib // 1024)


def run_acl_script(
    statefulset: dict, configmap: dict, workdir: Path, env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The init container's command, with its volume mounts mapped into ``workdir``."""
    init = container(statefulset, "acl", init=True)
    volumes = {v["name"]: v for v in statefulset["spec"]["template"]["spec"]["volumes"]}
    mapping: dict[str, Path] = {}
    for mount in init["volumeMounts"]:
        local = workdir / mount["name"]
        local.mkdir(parents=True, exist_ok=True)
        source = volumes[mount["name"]]
        if "configMap" in source:
            assert source["configMap"]["name"] == configmap["metadata"]["name"]
            for key, text in configmap["data"].items():
                (local / key).write_text(text, encoding="utf-8")
        else:
            assert source["emptyDir"] == {"medium": "Memory", "sizeLimit": "1Mi"}
        mapping[mount["mountPath"]] = local

    def local_path(argument: str) -> str:
        for mount_path, local in mapping.items():
            if argument.startswith(mount_path + "/"):
                return str(local / argument[len(mount_path) + 1 :])
        return argument

    command = [local_path(a) for a in init["command"]]
    assert command[0] == "/bin/sh"
    done = subprocess.run(
        command,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return done, Path(command[-1])


@pytest.fixture(scope="module")
def valkey(
    redis_server_factory: Callable[..., RedisServer], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Valkey]:
    require_redis()
    objects = render("dev")
    statefulset = find(objects, "StatefulSet", "redis")
    configmap = find(objects, "ConfigMap", "redis-config")
    workdir = tmp_path_factory.mktemp("valkey")
    env = container_env(container(statefulset, "acl", init=True), PASSWORDS)
    done, acl_file = run_acl_script(statefulset, configmap, workdir, env)
    assert done.returncode == 0, done.stdout + done.stderr

    main = container(statefulset, "valkey")
    config_path = next(m["mountPath"] for m in main["volumeMounts"] if m["name"] == "config")
    acl_path = next(m["mountPath"] for m in main["volumeMounts"] if m["name"] == "acl")
    data_dir = workdir / "data"
    data_dir.mkdir()
    port = free_port()
    config = configmap["data"]["valkey.conf"]
    assert re.search(rf"(?m)^aclfile {re.escape(acl_path)}/{acl_file.name}$", config)
    for directive, value in {
        "bind": "127.0.0.1",
        "port": str(port),
        "dir": str(data_dir),
        "aclfile": str(acl_file),
    }.items():
        config, count = re.subn(rf"(?m)^{directive} .*$", f"{directive} {value}", config)
        assert count == 1, directive
    # The container's arguments after the config file, $(VALKEY_MAXMEMORY_MIB) resolved as the
    # kubelet does it (resourceFieldRef requests.memory, divisor 1Mi).
    assert main["args"][0] == f"{config_path}/valkey.conf"
    resolved = {"VALKEY_MAXMEMORY_MIB": str(memory_mib(main["resources"]["requests"]["memory"]))}
    args = [expand(a, resolved) for a in main["args"][1:]]
    server = redis_server_factory(config, args, port)
    yield Valkey(server, acl_file, done.stdout + done.stderr, statefulset)
    server.stop()


def test_acl_file_holds_hashes_only(valkey: Valkey) -> None:
    data = valkey.acl_file.read_text(encoding="utf-8")
    for value in PASSWORDS.values():
        assert value not in data
        assert f"#{hashlib.sha256(value.encode()).hexdigest()}" in data
    assert "{{" not in data
    assert stat.S_IMODE(valkey.acl_file.stat().st_mode) == 0o600
    assert [value for value in PASSWORDS.values() if value in valkey.script_output] == []


def test_default_user_cannot_log_in(valkey: Valkey) -> None:
    with valkey.client() as anonymous:
        with pytest.raises(RespError) as unauthenticated:
            anonymous.call("PING")
        assert unauthenticated.value.code == "NOAUTH"
        for attempt in (
            ["AUTH", "default", "anything"],
            ["AUTH", "anything"],
            ["HELLO", "2", "AUTH", "default", ""],
        ):
            with pytest.raises(RespError) as refused:
                anonymous.call(*attempt)
            assert refused.value.code == "WRONGPASS", attempt


@pytest.mark.parametrize("user", sorted(USERS))
def test_each_user_logs_in_with_its_password_only(valkey: Valkey, user: str) -> None:
    with valkey.client(user) as client:
        assert client.call("PING") == "PONG"
    another_users_password = PASSWORDS[
        "REDIS_MONITOR_PASSWORD" if user != "monitor" else "REDIS_ADMIN_PASSWORD"
    ]
    with valkey.client() as client, pytest.raises(RespError) as refused:
        client.auth(user, another_users_password)
    assert refused.value.code == "WRONGPASS"


ALLOWED = [
    # cache_user: cache entries and sessions
    ("cache_user", ["SET", "cache:product:1", "v1", "EX", "60"]),
    ("cache_user", ["GET", "cache:product:1"]),
    ("cache_user", ["EXPIRE", "cache:product:1", "120"]),
    ("cache_user", ["TTL", "cache:product:1"]),
    ("cache_user", ["MGET", "cache:product:1", "cache:product:2"]),
    ("cache_user", ["HSET", "session:abc", "user", "42"]),
    ("cache_user", ["HGETALL", "session:abc"]),
    ("cache_user", ["SADD", "cache:tags:product:1", "a"]),
    ("cache_user", ["EVAL", GET_CACHED, "1", "cache:product:1"]),
    ("cache_user", ["DEL", "cache:product:1", "session:abc"]),
    ("cache_user", ["CLIENT", "SETNAME", "property-service"]),
    ("cache_user", ["INFO", "server"]),
    # ratelimit_user: fixed windows, token buckets, sliding windows
    ("ratelimit_user", ["INCR", "ratelimit:ip:10.0.0.1"]),
    ("ratelimit_user", ["EXPIRE", "ratelimit:ip:10.0.0.1", "60"]),
    ("ratelimit_user", ["PTTL", "ratelimit:ip:10.0.0.1"]),
    ("ratelimit_user", ["HINCRBY", "ratelimit:bucket:key1", "tokens", "-1"]),
    ("ratelimit_user", ["ZADD", "ratelimit:window:key1", "1700000000", "req-1"]),
    ("ratelimit_user", ["ZREMRANGEBYSCORE", "ratelimit:window:key1", "0", "1600000000"]),
    ("ratelimit_user", ["ZCARD", "ratelimit:window:key1"]),
    ("ratelimit_user", ["EVAL", RATE_LIMIT, "1", "ratelimit:api:key1"]),
    # pubsub_user: messages, streams and the data around them
    ("pubsub_user", ["PUBLISH", "messaging:room:1", "hello"]),
    ("pubsub_user", ["PUBLISH", "pubsub:notifications", "hello"]),
    ("pubsub_user", ["XADD", "messaging:events", "*", "type", "created"]),
    ("pubsub_user", ["XLEN", "messaging:events"]),
    ("pubsub_user", ["SET", "pubsub:presence:user:1", "online", "EX", "30"]),
    ("pubsub_user", ["LPUSH", "messaging:outbox", "m1"]),
    ("pubsub_user", ["HSET", "messaging:unread:user:1", "room:1", "3"]),
    # monitor: read-only server state
    ("monitor", ["PING"]),
    ("monitor", ["INFO", "all"]),
    ("monitor", ["DBSIZE"]),
    ("monitor", ["CLIENT", "LIST"]),
    ("monitor", ["SLOWLOG", "GET", "10"]),
    ("monitor", ["LATENCY", "LATEST"]),
    ("monitor", ["MEMORY", "STATS"]),
    ("monitor", ["CONFIG", "GET", "maxmemory"]),
    # admin: everything
    ("admin", ["SET", "anything:at:all", "1"]),
    ("admin", ["KEYS", "*"]),
    ("admin", ["ACL", "LIST"]),
    ("admin", ["CONFIG", "GET", "appendonly"]),
]

DENIED = [
    ("cache_user", ["GET", "ratelimit:ip:10.0.0.1"]),
    ("cache_user", ["SET", "messaging:x", "1"]),
    ("cache_user", ["PUBLISH", "cache:product:1", "x"]),
    ("cache_user", ["LPUSH", "cache:list", "x"]),
    ("cache_user", ["XADD", "cache:stream", "*", "f", "v"]),
    ("cache_user", ["EVAL", GET_CACHED, "1", "messaging:x"]),
    ("cache_user", ["SCRIPT", "FLUSH"]),
    ("cache_user", ["FUNCTION", "FLUSH"]),
    ("ratelimit_user", ["GET", "cache:product:1"]),
    ("ratelimit_user", ["SET", "session:abc", "x"]),
    ("ratelimit_user", ["SADD", "ratelimit:set", "x"]),
    ("ratelimit_user", ["PUBLISH", "ratelimit:events", "x"]),
    ("pubsub_user", ["GET", "cache:product:1"]),
    ("pubsub_user", ["INCR", "ratelimit:ip:10.0.0.1"]),
    ("pubsub_user", ["PUBLISH", "cache:invalidate", "x"]),
    ("pubsub_user", ["PUBSUB", "CHANNELS"]),
    ("pubsub_user", ["EVAL", "return 1", "0"]),
    ("monitor", ["GET", "cache:product:1"]),
    ("monitor", ["SET", "monitor:x", "1"]),
    ("monitor", ["PUBLISH", "messaging:room:1", "x"]),
    ("monitor", ["CONFIG", "SET", "maxmemory", "1"]),
    ("monitor", ["ACL", "LIST"]),
    ("monitor", ["EVAL", "return 1", "0"]),
] + [
    # Commands that ignore key patterns (SCAN, KEYS, RANDOMKEY) or reach beyond a user's keys
    # (flushes, configuration, other clients, shutdown): no application user may run them.
    (user, command)
    for user in ("cache_user", "ratelimit_user", "pubsub_user", "monitor")
    for command in (
        ["KEYS", "*"],
        ["SCAN", "0"],
        ["RANDOMKEY"],
        ["FLUSHALL"],
        ["FLUSHDB"],
        ["CONFIG", "SET", "appendonly", "no"],
        ["CLIENT", "KILL", "TYPE", "normal"],
        ["BGSAVE"],
        ["REPLICAOF", "NO", "ONE"],
        ["MONITOR"],
        ["SHUTDOWN", "NOSAVE"],
        ["ACL", "SETUSER", user, "+@all"],
    )
]


@pytest.mark.parametrize(
    ("user", "command"), [pytest.param(u, c, id=f"{u}-{' '.join(c[:2])}") for u, c in ALLOWED]
)
def test_user_can_do_its_job(valkey: Valkey, user: str, command: list[str]) -> None:
    with valkey.client(user) as client:
        client.call(*command)  # raises RespError on NOPERM (or any other error)


@pytest.mark.parametrize(
    ("user", "command"), [pytest.param(u, c, id=f"{u}-{' '.join(c[:2])}-{c[-1][:12]}") for u, c in DENIED]
)
def test_user_gets_noperm_outside_its_job(valkey: Valkey, user: str, command: list[str]) -> None:
    with valkey.client(user) as client, pytest.raises(RespError) as denied:
        client.call(*command)
    assert "NOPERM" in str(denied.value), str(denied.value)


def test_scripts_only_reach_the_users_keys(valkey: Valkey) -> None:
    with valkey.client("cache_user") as client, pytest.raises(RespError) as denied:
        client.call("EVAL", TOUCH_UNDECLARED, "0", "ratelimit:ip:10.0.0.1")
    assert "can't access at least one of the keys" in str(denied.value), str(denied.value)
    with valkey.client("admin") as admin:
        assert admin.call("GET", "ratelimit:ip:10.0.0.1") != b"x"


def test_transactions_work_for_application_users(valkey: Valkey) -> None:
    with valkey.client("cache_user") as client:
        assert client.call("MULTI") == "OK"
        client.call("SET", "cache:counter", "1")
        client.call("INCR", "cache:counter")
        assert client.call("EXEC") == ["OK", 2]


def test_pubsub_user_receives_what_it_publishes_on_its_channels(valkey: Valkey) -> None:
    with valkey.client("pubsub_user") as subscriber, valkey.client("pubsub_user") as publisher:
        assert subscriber.call("SUBSCRIBE", "messaging:room:7") == [b"subscribe", b"messaging:room:7", 1]
        subscriber.send("PSUBSCRIBE", "pubsub:*")
        assert subscriber.read() == [b"psubscribe", b"pubsub:*", 2]
        assert publisher.call("PUBLISH", "messaging:room:7", "hi") == 1
        assert subscriber.read() == [b"message", b"messaging:room:7", b"hi"]
        assert publisher.call("PUBLISH", "pubsub:alerts", "ping") == 1
        assert subscriber.read() == [b"pmessage", b"pubsub:*", b"pubsub:alerts", b"ping"]
        for forbidden in (["SUBSCRIBE", "cache:invalidate"], ["PSUBSCRIBE", "*"]):
            subscriber.send(*forbidden)
            with pytest.raises(RespError) as denied:
                subscriber.read()
            assert "NOPERM" in str(denied.value)


def test_pubsub_user_uses_streams_with_consumer_groups(valkey: Valkey) -> None:
    with valkey.client("pubsub_user") as client:
        client.call("DEL", "messaging:jobs")
        entry = client.call("XADD", "messaging:jobs", "*", "job", "send-email")
        assert client.call("XGROUP", "CREATE", "messaging:jobs", "workers", "0") == "OK"
        reply = client.call(
            "XREADGROUP", "GROUP", "workers", "w1", "COUNT", "1", "STREAMS", "messaging:jobs", ">"
        )
        assert reply == [[b"messaging:jobs", [[entry, [b"job", b"send-email"]]]]]
        assert client.call("XACK", "messaging:jobs", "workers", entry) == 1


def test_persistence_is_aof_with_rdb_preamble_plus_snapshots(valkey: Valkey) -> None:
    def config(name: str) -> bytes:
        reply = admin.call("CONFIG", "GET", name)
        assert isinstance(reply, list)
        value = reply[1]
        assert isinstance(value, bytes)
        return value

    with valkey.client("admin") as admin:
        assert config("appendonly") == b"yes"
        assert config("aof-use-rdb-preamble") == b"yes"
        assert config("appendfsync") == b"everysec"
        assert config("save") == b"3600 1 300 100 60 10000"
        assert config("maxmemory-policy") == b"volatile-lru"
        # dev's memory request (256Mi) became maxmemory through the container's arguments.
        assert config("maxmemory") == str(256 * 1024 * 1024).encode()
        aof_dir = Path(config("dir").decode()) / config("appenddirname").decode()
        aof_name = config("appendfilename").decode()
    # Multi-part AOF: the manifest names the base file, which is an RDB image (.rdb, "REDIS"
    # magic) exactly when aof-use-rdb-preamble is in effect; increments follow as AOF.
    manifest = (aof_dir / f"{aof_name}.manifest").read_text(encoding="utf-8")
    [base] = [line.split()[1] for line in manifest.splitlines() if line.endswith("type b")]
    assert base.endswith(".base.rdb")
    assert (aof_dir / base).read_bytes()[:5] == b"REDIS"


def test_probe_command_authenticates_as_monitor(valkey: Valkey) -> None:
    main = container(valkey.statefulset, "valkey")
    commands = {kind: main[kind]["exec"]["command"] for kind in ("startupProbe", "readinessProbe")}
    assert len({tuple(c) for c in commands.values()}) == 1
    shell, flag, script = commands["startupProbe"]
    assert (shell, flag) == ("/bin/sh", "-c")
    _, cli = require_redis()
    script = script.replace("valkey-cli", cli).replace("-p 6379", f"-p {valkey.server.port}")
    assert "REDISCLI_AUTH" in {e["name"] for e in main["env"]}

    def probe(env: dict[str, str]) -> int:
        return subprocess.run(
            [shell, flag, script], env={"PATH": "/usr/bin:/bin", **env}, timeout=10, check=False
        ).returncode

    assert probe({"REDISCLI_AUTH": PASSWORDS["REDIS_MONITOR_PASSWORD"]}) == 0
    assert probe({"REDISCLI_AUTH": "wrong"}) != 0
    assert probe({}) != 0


def test_a_busy_server_stays_alive_but_not_ready(valkey: Valkey) -> None:
    """maxclients reached: the authenticated PING (readiness) fails, so the pod leaves the Service,
    but liveness, a TCP connect like the kubelet's tcpSocket probe
    (https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/#define-a-tcp-liveness-probe),
    still passes, so the kubelet does not restart a healthy, merely overloaded server."""
    import socket

    main = container(valkey.statefulset, "valkey")
    assert main["livenessProbe"]["tcpSocket"] == {"port": "redis"}
    assert {p["name"]: p["containerPort"] for p in main["ports"]}["redis"] == 6379
    shell, flag, script = main["readinessProbe"]["exec"]["command"]
    _, cli = require_redis()
    script = script.replace("valkey-cli", cli).replace("-p 6379", f"-p {valkey.server.port}")
    env = {"PATH": "/usr/bin:/bin", "REDISCLI_AUTH": PASSWORDS["REDIS_MONITOR_PASSWORD"]}
    with valkey.client("admin") as admin:
        original = admin.call("CONFIG", "GET", "maxclients")
        assert isinstance(original, list)
        admin.call("CONFIG", "SET", "maxclients", "1")  # this admin connection is the one client
        try:
            ready = subprocess.run([shell, flag, script], env=env, timeout=10, check=False)
            assert ready.returncode != 0, "an overloaded server must not be Ready"
            with socket.create_connection(("127.0.0.1", valkey.server.port), timeout=5):
                pass  # the liveness check: the TCP connection is accepted
        finally:
            admin.call("CONFIG", "SET", "maxclients", original[1])
    assert subprocess.run([shell, flag, script], env=env, timeout=10, check=False).returncode == 0


def test_acl_script_refuses_a_missing_password(tmp_path: Path, valkey: Valkey) -> None:
    objects = render("dev")
    env = {k: v for k, v in PASSWORDS.items() if k != "REDIS_CACHE_PASSWORD"}
    done, output = run_acl_script(
        find(objects, "StatefulSet", "redis"), find(objects, "ConfigMap", "redis-config"), tmp_path, env
    )
    assert done.returncode == 1
    assert "REDIS_CACHE_PASSWORD is not set or empty" in done.stderr
    assert not output.exists()
    assert [value for value in PASSWORDS.values() if value in done.stdout + done.stderr] == []


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        pytest.param(
            "user app on >plain-text-password ~app:* +get", "plain-text password", id="plain-password"
        ),
        pytest.param("user app on nopass ~app:* +get", "'nopass' users", id="nopass"),
        pytest.param(
            "user app on #{{UNSET_VARIABLE}} ~app:* +get", "UNSET_VARIABLE is not set", id="unset-variable"
        ),
    ],
)
def test_acl_script_refuses_unsafe_templates(tmp_path: Path, rule: str, message: str) -> None:
    objects = render("dev")
    configmap = find(objects, "ConfigMap", "redis-config")
    configmap["data"]["users.acl.template"] += rule + "\n"
    done, output = run_acl_script(find(objects, "StatefulSet", "redis"), configmap, tmp_path, PASSWORDS)
    assert done.returncode == 1
    assert message in done.stderr
    assert not output.exists()
