"""The ingest lease against a real nats-server (JetStream): one leader among contenders, takeover when the
leader dies or releases, a leader that cannot refresh stopping before its lease can expire, and one that
finds its lease moved: kept if the stored value is still its own, given up at once if it is another's.
(A leader whose node dies in a 3-node cluster keeping its lease: tests/test_nats_cluster.py.)"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from harness import free_port
from market_service.ingest.lease import LeaderLease, LeaseTimings
from suite_shared.bus import Bus

FAST = LeaseTimings(ttl_s=2.0, refresh_s=0.4, retry_s=0.3, call_timeout_s=0.5, hold_s=1.2)


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("nats-server", path=str(Path(sys.executable).parent)) or shutil.which("nats-server")
    assert binary, "nats-server binary not found"
    port = free_port()
    process = subprocess.Popen(
        [binary, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(tmp_path_factory.mktemp("nats"))],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    yield f"nats://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


@pytest.fixture
async def clients(nats_url: str) -> AsyncIterator[list[Bus]]:
    connected = [Bus(nats_url, f"lease-{index}") for index in range(3)]
    for bus in connected:
        bus.start()
        assert await bus.wait_connected(5)
    yield connected
    for bus in connected:
        await bus.close()


class Replica:
    """A contender whose 'work' just records that it is running."""

    def __init__(self, bus: Bus, key: str) -> None:
        self.lease = LeaderLease(bus, key=key, timings=FAST)
        self.working = False
        self.task = asyncio.create_task(self.lease.hold(self._work))

    async def _work(self) -> None:
        self.working = True
        try:
            await asyncio.Event().wait()
        finally:
            self.working = False

    async def stop(self, release: bool) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        if release:
            await self.lease.release()


async def wait_for(condition: object, timeout_s: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if condition():  # type: ignore[operator]
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout_s}s")


def leaders(replicas: list[Replica]) -> list[Replica]:
    return [replica for replica in replicas if replica.lease.state == "leader"]


async def test_exactly_one_of_three_contenders_leads(clients: list[Bus]) -> None:
    replicas = [Replica(client, "one-of-three") for client in clients]
    await wait_for(lambda: len(leaders(replicas)) == 1, 5)
    await asyncio.sleep(3 * FAST.refresh_s)  # refreshes keep it: still exactly one, and it works
    assert len(leaders(replicas)) == 1 and [r.working for r in replicas].count(True) == 1
    for replica in replicas:
        await replica.stop(release=True)


async def test_a_released_lease_is_taken_over_at_once(clients: list[Bus]) -> None:
    first, second = Replica(clients[0], "release"), Replica(clients[1], "release")
    await wait_for(lambda: len(leaders([first, second])) == 1, 5)
    leader, standby = (first, second) if first.lease.state == "leader" else (second, first)
    await leader.stop(release=True)
    took = await wait_for(lambda: standby.lease.state == "leader" and standby.working, 5)
    assert took < FAST.ttl_s  # did not have to wait for the lease to expire
    await standby.stop(release=True)


async def test_a_dead_leaders_lease_expires_and_a_standby_takes_over(clients: list[Bus]) -> None:
    first, second = Replica(clients[0], "dies"), Replica(clients[1], "dies")
    await wait_for(lambda: len(leaders([first, second])) == 1, 5)
    leader, standby = (first, second) if first.lease.state == "leader" else (second, first)
    await leader.stop(release=False)  # gone without a word: only the TTL frees the lease
    took = await wait_for(lambda: standby.lease.state == "leader", FAST.ttl_s + FAST.retry_s + 3)
    assert took >= FAST.ttl_s - 2 * FAST.refresh_s
    await standby.stop(release=True)


async def test_a_leader_that_cannot_refresh_stops_working_before_its_lease_can_expire(clients: list[Bus]) -> None:
    replica = Replica(clients[2], "cut-off")
    await wait_for(lambda: replica.working, 5)
    cut = time.monotonic()
    await clients[2].close()  # NATS gone for this replica: its refreshes fail from now on
    await wait_for(lambda: not replica.working and replica.lease.state == "standby", FAST.ttl_s)
    # It kept trying for a while (a node failover takes a moment), but stopped before the TTL could free the
    # lease for another replica.
    assert time.monotonic() - cut < FAST.ttl_s
    await replica.stop(release=False)


async def test_a_lease_whose_revision_moved_is_kept_if_still_ours_and_dropped_if_not(clients: list[Bus]) -> None:
    replica = Replica(clients[0], "moved")
    await wait_for(lambda: replica.working, 5)
    kv = await clients[1].key_value("market_leases", FAST.ttl_s)
    entry = await kv.get("moved")
    # Our own value at a new revision: as if a refresh was stored and its answer lost. Still ours.
    await kv.update("moved", replica.lease.owner.encode(), last=entry.revision)
    await asyncio.sleep(3 * FAST.refresh_s)
    assert replica.working and replica.lease.state == "leader"
    entry = await kv.get("moved")
    await kv.update("moved", b"someone-else", last=entry.revision)  # taken: stop at the next refresh
    await wait_for(lambda: not replica.working, FAST.refresh_s + FAST.call_timeout_s + 1)
    await replica.stop(release=False)
