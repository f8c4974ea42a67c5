"""A real three-master Redis Cluster on free local ports, for the cluster tests (RRBOT_TEST_REDIS=cluster).

Started once per test session (or by hand: `python -m tests.redis_cluster`), killed at the end.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

MASTERS = 3
# A node also listens on its port + 10000 (the cluster bus), so both must be free and below 65536.
PORTS = range(20000, 55000)


def free_node_port(taken: set[int]) -> int:
    for _ in range(1000):
        port = random.choice(PORTS)
        if port not in taken and _free(port) and _free(port + 10000):
            return port
    raise RuntimeError("no free port pair for a cluster node")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def raw_client(url: str):  # type: ignore[no-untyped-def]
    """An asyncio client keeping bytes (pickled jobs), to one Redis or to a cluster (a redis+cluster:// URL)."""
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster

    from bot.ground.redis_client import is_cluster_url

    if is_cluster_url(url):
        return RedisCluster.from_url("redis://" + url.partition("://")[2])
    return Redis.from_url(url)


class ClusterMissingError(RuntimeError):
    """redis-server or redis-cli is not installed: the cluster tests are skipped with this reason."""


class RedisClusterProcesses:
    """Three redis-server processes in cluster mode, joined by `redis-cli --cluster create`."""

    def __init__(self, directory: Path) -> None:
        self.server = shutil.which("redis-server")
        self.cli = shutil.which("redis-cli")
        if not self.server or not self.cli:
            raise ClusterMissingError("a Redis Cluster needs redis-server and redis-cli on PATH (apt install redis)")
        self.directory = directory
        self.ports: list[int] = []
        for _ in range(MASTERS):
            self.ports.append(free_node_port(set(self.ports)))
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.ports[0]}/0"

    def start(self) -> None:
        for port in self.ports:
            node = self.directory / str(port)
            node.mkdir(parents=True, exist_ok=True)
            self.procs.append(
                subprocess.Popen(
                    [
                        str(self.server),
                        "--port",
                        str(port),
                        "--bind",
                        "127.0.0.1",
                        "--dir",
                        str(node),
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        str(node / "nodes.conf"),
                        "--cluster-node-timeout",
                        "5000",
                        "--appendonly",
                        "no",
                        "--save",
                        "",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        for port in self.ports:
            self._wait(lambda p=port: redis.Redis(port=p, socket_connect_timeout=1).ping(), f"node {port} answering")
        subprocess.run(
            [str(self.cli), "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports)]
            + ["--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=30,
        )
        for port in self.ports:
            self._wait(lambda p=port: self._state_ok(p), f"cluster_state:ok on {port}")

    @staticmethod
    def _state_ok(port: int) -> bool:
        return redis.Redis(port=port, decode_responses=True).cluster("INFO").get("cluster_state") == "ok"

    @staticmethod
    def _wait(check, what: str, timeout: float = 20) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if check():
                    return
            except redis.RedisError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"Redis Cluster: no {what} within {timeout:g} s")

    def stop(self) -> None:
        for proc in self.procs:
            proc.kill()
        for proc in self.procs:
            proc.wait(timeout=10)
        self.procs.clear()


if __name__ == "__main__":
    # By hand: start one, print its URL, keep it until Enter.
    with tempfile.TemporaryDirectory() as tmp:
        cluster = RedisClusterProcesses(Path(tmp))
        cluster.start()
        print(cluster.url, flush=True)
        try:
            sys.stdin.readline()
        finally:
            cluster.stop()
