"""Session services for the infra tests: throwaway PostgreSQL 15 + PostGIS clusters and redis-server 7.

Both start on 127.0.0.1 on free ports in their own temporary directories and are stopped and
removed at the end of the session. A missing server binary fails the test with an install
hint; nothing is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.pg import PgCluster, free_port
from tests.support.redis import RedisServer


@pytest.fixture(scope="session")
def pg_cluster_factory() -> Iterator[Callable[[], PgCluster]]:
    """``make()`` -> a new, empty (not yet initialised) cluster directory; see PgCluster."""
    clusters: list[PgCluster] = []

    def make() -> PgCluster:
        cluster = PgCluster.create()
        clusters.append(cluster)
        return cluster

    yield make
    for cluster in clusters:
        cluster.destroy()


@pytest.fixture(scope="session")
def redis_server_factory() -> Iterator[Callable[..., RedisServer]]:
    """``make(config_text, args=[...], port=N)`` -> a started redis-server; see RedisServer.
    The configuration must listen on ``port`` (default: a free one, see RedisServer.port)."""
    servers: list[RedisServer] = []

    def make(config: str, args: list[str] | None = None, port: int | None = None) -> RedisServer:
        server = RedisServer(config, list(args or []), port or free_port())
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.stop()
