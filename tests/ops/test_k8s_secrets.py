"""k8s/make_secrets.py against what the overlays need, and the servers' credentials for real.

The Secrets it prints must hold every key the rendered overlays read (secretKeyRef, the files the Redis,
Sentinel and NATS configurations load), and their URLs must name existing Services. Then the real servers
(redis-server and nats-server from the wheels uv.lock pins) are started with the overlays' own
configuration files and those Secrets: an unauthenticated client is refused, the services' URL logs in,
the probes' user can only PING, a replica replicates with its user, a Sentinel watches with its user, and
the prod NATS configuration forms a 3-node JetStream cluster (routes logging in) that keeps an R3 stream.
Only host names and ports are moved to loopback; everything else is the files as a pod would see them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import nats
import pytest
import redis
from gateway_harness import free_port, kill_group, wait_until
from k8s_manifests import K8S, OVERLAYS, Obj, by_kind, render, with_api_keys
from nats.errors import NoServersError
from nats.js.api import StreamConfig

BIN = Path(sys.executable).parent
REDIS_SERVER, NATS_SERVER = BIN / "redis-server", BIN / "nats-server"


def make_secrets(*args: str) -> dict[str, dict[str, str]]:
    """Secret name -> decoded data, as `python3 k8s/make_secrets.py ...` prints them."""
    done = subprocess.run(
        [sys.executable, str(K8S / "make_secrets.py"), *args], capture_output=True, text=True, check=True
    )
    listed = json.loads(done.stdout)
    assert listed["kind"] == "List"
    secrets = {}
    for item in listed["items"]:
        assert item["kind"] == "Secret" and item["metadata"]["namespace"] == "crypto-suite"
        secrets[item["metadata"]["name"]] = {k: base64.b64decode(v).decode() for k, v in item["data"].items()}
    return secrets


@pytest.fixture(scope="module")
def overlays(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Obj]]:
    rendered = {name: render(K8S / "overlays" / name) for name in OVERLAYS}
    keyed = {f"{n}+keys": with_api_keys(tmp_path_factory.mktemp(f"keys-{n}"), n) for n in OVERLAYS}
    return rendered | keyed


@pytest.fixture(scope="module")
def secrets() -> dict[str, dict[str, dict[str, str]]]:
    return {name: make_secrets("--overlay", name, "--api-keys", "k1,k2") for name in OVERLAYS}


def needed_keys(objects: list[Obj]) -> set[tuple[str, str]]:
    """(Secret, key) pairs the overlay reads: env secretKeyRefs and the files its configs load from a
    Secret volume (mounted at /etc/redis/secret or /etc/nats/secret)."""
    needed = set()
    mounted: set[str] = set()
    for obj in objects:
        if obj["kind"] not in ("Deployment", "StatefulSet"):
            continue
        spec = obj["spec"]["template"]["spec"]
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                mounted.add(volume["secret"]["secretName"])
        for container in spec["containers"]:
            for variable in container.get("env", []):
                ref = variable.get("valueFrom", {}).get("secretKeyRef")
                if ref and not ref.get("optional"):
                    needed.add((ref["name"], ref["key"]))
    configs = "\n".join(v for c in by_kind(objects, "ConfigMap").values() for v in (c.get("data") or {}).values())
    for folder, secret in (("/etc/redis/secret/", "crypto-suite-redis"), ("../secret/", "crypto-suite-nats")):
        needed |= {(secret, name) for name in re.findall(re.escape(folder) + r"([\w.]+)", configs)}
    assert mounted == {"crypto-suite-redis", "crypto-suite-nats"}
    return needed


def test_the_secrets_hold_everything_each_overlay_reads(
    overlays: dict[str, list[Obj]], secrets: dict[str, dict[str, dict[str, str]]]
) -> None:
    for variant, objects in overlays.items():
        made = secrets[variant.split("+")[0]]
        needed = needed_keys(objects)
        assert ("crypto-suite-redis", "users.acl") in needed and ("crypto-suite-nats", "users.conf") in needed
        assert missing_keys(objects, made) == set(), variant
    assert secrets["dev"]["crypto-suite-api-keys"] == {"API_KEYS": "k1,k2", "ADMIN_API_KEYS": ""}
    assert "crypto-suite-api-keys" not in make_secrets("--overlay", "dev")
    assert {("crypto-suite-nats", "routes.conf"), ("crypto-suite-redis", "sentinel.conf")} <= needed_keys(
        overlays["prod"]
    )


def missing_keys(objects: list[Obj], made: dict[str, dict[str, str]]) -> set[tuple[str, str]]:
    return {(name, key) for name, key in needed_keys(objects) if key not in made.get(name, {})}


def test_a_missing_key_is_caught(overlays: dict[str, list[Obj]]) -> None:
    made = make_secrets("--overlay", "dev")
    assert missing_keys(overlays["dev"], made) == set()
    del made["crypto-suite-redis"]["CACHE_REDIS_URL"]
    assert missing_keys(overlays["dev"], made) == {("crypto-suite-redis", "CACHE_REDIS_URL")}
    # Secrets made for dev lack what prod reads (the cluster's and Sentinel's logins).
    assert {("crypto-suite-nats", "routes.conf"), ("crypto-suite-redis", "sentinel.conf")} <= missing_keys(
        overlays["prod"], make_secrets("--overlay", "dev")
    )


def test_the_urls_name_the_overlays_services_with_the_servers_credentials(
    overlays: dict[str, list[Obj]], secrets: dict[str, dict[str, dict[str, str]]]
) -> None:
    for name in OVERLAYS:
        objects, made = overlays[name], secrets[name]
        services = by_kind(objects, "Service")
        statefulsets = by_kind(objects, "StatefulSet")
        redis_secret, nats_secret = made["crypto-suite-redis"], made["crypto-suite-nats"]
        acl = redis_secret["users.acl"]
        for variable in ("REDIS_URL", "CACHE_REDIS_URL"):
            url = urlsplit(redis_secret[variable])
            assert f"user suite on >{url.password} " in acl, variable
            for host in url.netloc.rsplit("@", 1)[1].split(","):
                hostname, port = host.split(":")
                pod, _, service = hostname.partition(".")
                if service:  # a pod of a StatefulSet, by its headless Service
                    assert statefulsets[pod.rsplit("-", 1)[0]]["spec"]["serviceName"] == service
                    assert int(pod.rsplit("-", 1)[1]) < statefulsets[pod.rsplit("-", 1)[0]]["spec"]["replicas"]
                else:
                    service = hostname
                assert int(port) in [p["port"] for p in services[service]["spec"]["ports"]], (variable, host)
        assert redis_secret["REDIS_URL"].startswith("redis-sentinel://" if name == "prod" else "redis://")
        nats_url = urlsplit(nats_secret["NATS_URL"])
        assert f'{{user: suite, password: "{nats_url.password}"}}' in nats_secret["users.conf"]
        assert nats_url.hostname == "nats" and nats_url.port in [p["port"] for p in services["nats"]["spec"]["ports"]]
    first, second = (make_secrets("--overlay", "dev")["crypto-suite-nats"]["NATS_URL"] for _ in range(2))
    assert first != second, "fresh passwords on every run"


def test_the_prod_start_scripts_are_valid_shell(overlays: dict[str, list[Obj]]) -> None:
    scripts = by_kind(overlays["prod"], "ConfigMap")["redis-sentinel-scripts"]["data"]
    for name, script in scripts.items():
        done = subprocess.run(["sh", "-n"], input=script, capture_output=True, text=True)
        assert done.returncode == 0, (name, done.stderr)


# --- Redis, for real -------------------------------------------------------------------------------------


def start_redis(tmp: Path, config: str, *extra: str, sentinel: bool = False) -> tuple[subprocess.Popen[bytes], int]:
    """redis-server with an overlay's configuration, its paths and port moved into `tmp`."""
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    text = config.replace("/etc/redis/secret/", f"{tmp}/secret/").replace("dir /data", f"dir {tmp}")
    text = re.sub(r"^port \d+", f"port {port}", text, flags=re.MULTILINE)
    path = tmp / ("sentinel.conf" if sentinel else "redis.conf")
    path.write_text(text + "".join(f"{line}\n" for line in extra) + "bind 127.0.0.1\n")
    command = [str(REDIS_SERVER), str(path), *(["--sentinel"] if sentinel else [])]
    with (tmp / "redis.log").open("wb") as sink:
        process = subprocess.Popen(command, cwd=tmp, start_new_session=True, stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _answers(port), f"redis on {port}")
    except TimeoutError:
        kill_group(process)
        raise AssertionError((tmp / "redis.log").read_text()[-2000:]) from None
    return process, port


def _answers(port: int) -> bool:
    try:
        redis.Redis(port=port, socket_timeout=1).ping()
    except redis.AuthenticationError:
        return True  # up, and refusing strangers
    except redis.RedisError:
        return False
    return True


def write_secret(tmp: Path, files: dict[str, str]) -> None:
    (tmp / "secret").mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (tmp / "secret" / name).write_text(text)


def login(url: str, port: int) -> redis.Redis:
    """A client with a URL's credentials, at a local port."""
    parts = urlsplit(url)
    return redis.Redis(port=port, username=parts.username, password=parts.password, socket_timeout=2)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        kill_group(process)


@pytest.mark.parametrize("role", ["state.conf", "cache.conf"])
def test_redis_refuses_strangers_and_lets_the_services_in(
    overlays: dict[str, list[Obj]],
    secrets: dict[str, dict[str, dict[str, str]]],
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
    role: str,
) -> None:
    made = secrets["dev"]["crypto-suite-redis"]
    write_secret(tmp_path, made)
    process, port = start_redis(tmp_path, by_kind(overlays["dev"], "ConfigMap")["redis-config"]["data"][role])
    processes.append(process)
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=port).get("anything")
    health = redis.Redis(port=port, username="health", password="health")
    assert health.ping() is True
    with pytest.raises(redis.exceptions.NoPermissionError):
        health.get("anything")
    suite = login(made["REDIS_URL" if role == "state.conf" else "CACHE_REDIS_URL"], port)
    suite.set("news:1", "kept")
    assert suite.get("news:1") == b"kept" and suite.eval("return 7", 0) == 7
    assert list(suite.scan_iter("news:*")) == [b"news:1"]
    for forbidden in (suite.flushall, lambda: suite.config_get("*"), lambda: suite.keys("*")):
        with pytest.raises(redis.exceptions.NoPermissionError):
            forbidden()
    # The probes' command, as the pod runs it (redis-cli prints the error and exits 0: grep decides).
    probe = by_kind(overlays["dev"], "StatefulSet")["redis"]["spec"]["template"]["spec"]["containers"][0]
    shell = probe["readinessProbe"]["exec"]["command"][2].replace("redis-cli", f"{BIN / 'redis-cli'} -p {port}")
    assert subprocess.run(["sh", "-c", shell], capture_output=True).returncode == 0


def test_prod_replica_and_sentinel_log_in_with_their_users(
    overlays: dict[str, list[Obj]],
    secrets: dict[str, dict[str, dict[str, str]]],
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    made = secrets["prod"]["crypto-suite-redis"]
    state = by_kind(overlays["prod"], "ConfigMap")["redis-config"]["data"]["state.conf"]
    replication = made["replication.conf"].splitlines()
    write_secret(tmp_path / "primary", made)
    primary, primary_port = start_redis(tmp_path / "primary", state)
    processes.append(primary)
    write_secret(tmp_path / "replica", made)
    replica, replica_port = start_redis(
        tmp_path / "replica", state, *replication, f"replicaof 127.0.0.1 {primary_port}"
    )
    processes.append(replica)
    suite_primary = login(made["REDIS_URL"], primary_port)
    suite_primary.set("budget:binance", "41")
    suite_replica = login(made["REDIS_URL"], replica_port)
    wait_until(lambda: suite_replica.get("budget:binance") == b"41", "the replica to replicate", 15)
    # The replica user can replicate and nothing else.
    replica_user = made["replication.conf"].split("masterauth ")[1].strip()
    with pytest.raises(redis.exceptions.NoPermissionError):
        redis.Redis(port=primary_port, username="replica", password=replica_user).get("budget:binance")
    # A Sentinel with the overlay's settings and the Secret's login watches the primary and sees the replica.
    write_secret(tmp_path / "sentinel", made)
    sentinel_lines = [
        f"sentinel monitor suite 127.0.0.1 {primary_port} 1",
        "sentinel down-after-milliseconds suite 5000",
        *made["sentinel.conf"].splitlines(),
    ]
    sentinel, sentinel_port = start_redis(
        tmp_path / "sentinel", "port 26379\ndir /data\n", *sentinel_lines, sentinel=True
    )
    processes.append(sentinel)
    watcher = redis.Redis(port=sentinel_port, decode_responses=True)

    def watching() -> bool:
        master = watcher.sentinel_master("suite")
        return bool(master["is_master"]) and not master["is_sdown"] and master["num-slaves"] == 1

    wait_until(watching, "the Sentinel to watch the primary and find the replica", 20)


# --- NATS, for real --------------------------------------------------------------------------------------


def nats_files(objects: list[Obj], made: dict[str, str], tmp: Path, moved: dict[str, str] | None = None) -> Path:
    """The pod's /etc/nats/config and /etc/nats/secret in `tmp` (its store and pid file there too, and the
    `moved` host:port pairs replaced); returns nats.conf. (Files, not --cluster/--routes flags: those would
    replace the cluster's authorization from the file.)"""
    moved = {"/data/jetstream": str(tmp / "jetstream"), "/var/run/nats": str(tmp), **(moved or {})}
    for folder, files in (("config", by_kind(objects, "ConfigMap")["nats-config"]["data"]), ("secret", made)):
        (tmp / folder).mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            for old, new in moved.items():
                text = text.replace(old, new)
            (tmp / folder / name).write_text(text)
    return tmp / "config" / "nats.conf"


@pytest.mark.parametrize("name", OVERLAYS)
def test_nats_configuration_is_valid(
    overlays: dict[str, list[Obj]], secrets: dict[str, dict[str, dict[str, str]]], tmp_path: Path, name: str
) -> None:
    config = nats_files(overlays[name], secrets[name]["crypto-suite-nats"], tmp_path)
    done = subprocess.run(
        [str(NATS_SERVER), "-c", str(config), "-t"], env={"POD_NAME": "nats-0"}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr + done.stdout
    # And a configuration that is wrong is refused the same way (no POD_NAME: the variable cannot resolve).
    assert subprocess.run([str(NATS_SERVER), "-c", str(config), "-t"], env={}, capture_output=True).returncode != 0


def start_nats(config: Path, pod: str, tmp: Path, *extra: str) -> tuple[subprocess.Popen[bytes], int, int]:
    """nats-server with an overlay's configuration as pod `pod`; ports, store and pid file moved into `tmp`."""
    port, monitor = free_port(), free_port()
    moved = ["-p", str(port), "-m", str(monitor)]
    with (tmp / f"{pod}.log").open("wb") as sink:
        process = subprocess.Popen(
            [str(NATS_SERVER), "-c", str(config), *moved, *extra],
            env={"POD_NAME": pod},
            start_new_session=True,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return process, port, monitor


def local(url: str, port: int) -> str:
    parts = urlsplit(url)
    return f"nats://{parts.username}:{parts.password}@127.0.0.1:{port}"


async def jetstream_keeps(url: str, replicas: int) -> int:
    client = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=0)
    try:
        js = client.jetstream()
        await js.add_stream(StreamConfig(name="CHECK", subjects=["check.>"], num_replicas=replicas))
        await js.publish("check.one", b"kept")
        return int((await js.stream_info("CHECK")).state.messages)
    finally:
        await client.close()


async def refused(port: int) -> bool:
    try:
        await nats.connect(
            f"nats://127.0.0.1:{port}", connect_timeout=2, max_reconnect_attempts=0, allow_reconnect=False
        )
    except (NoServersError, nats.errors.Error, OSError) as error:
        return "Authorization" in str(error) or isinstance(error, NoServersError)
    return False


def test_dev_nats_refuses_strangers_and_lets_the_services_in(
    overlays: dict[str, list[Obj]],
    secrets: dict[str, dict[str, dict[str, str]]],
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    made = secrets["dev"]["crypto-suite-nats"]
    process, port, _ = start_nats(nats_files(overlays["dev"], made, tmp_path / "nats-0"), "nats-0", tmp_path)
    processes.append(process)
    wait_until(lambda: _listening(port), "nats")
    assert asyncio.run(refused(port))
    assert asyncio.run(jetstream_keeps(local(made["NATS_URL"], port), 1)) == 1


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_prod_nats_forms_a_three_node_jetstream_cluster_with_route_logins(
    overlays: dict[str, list[Obj]],
    secrets: dict[str, dict[str, dict[str, str]]],
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    made = secrets["prod"]["crypto-suite-nats"]
    # Each server as pod nats-N: the routes of routes.conf (with their credentials) and the cluster port
    # moved from nats-N.nats-headless:6222 to loopback.
    cluster_ports = [free_port() for _ in range(3)]
    hosts = {f"nats-{i}.nats-headless:6222": f"127.0.0.1:{port}" for i, port in enumerate(cluster_ports)}
    assert len(re.findall(r"nats-route://route:[0-9a-f]+@", made["routes.conf"])) == 3
    clients = []
    for i in range(3):
        config = nats_files(
            overlays["prod"], made, tmp_path / f"nats-{i}", {**hosts, "port: 6222": f"port: {cluster_ports[i]}"}
        )
        process, port, _ = start_nats(config, f"nats-{i}", tmp_path)
        processes.append(process)
        clients.append(port)
    for port in clients:
        wait_until(lambda port=port: _listening(port), "nats")

    def r3_kept() -> bool:
        try:
            return asyncio.run(jetstream_keeps(local(made["NATS_URL"], clients[0]), 3)) == 1
        except Exception:  # the meta leader is being elected
            return False

    wait_until(r3_kept, "an R3 stream on the cluster", 45)
    assert asyncio.run(refused(clients[1]))
    # A server without the Secret (no route credentials) is not admitted into the cluster.
    monitor = free_port()
    stranger_routes = ",".join(f"nats-route://{address}" for address in hosts.values())
    with (tmp_path / "stranger.log").open("wb") as sink:
        stranger = subprocess.Popen(
            [
                *(str(NATS_SERVER), "-p", str(free_port()), "-m", str(monitor), "--cluster_name", "crypto-suite"),
                *("--cluster", f"nats://127.0.0.1:{free_port()}", "--routes", stranger_routes),
            ],
            start_new_session=True,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    processes.append(stranger)
    wait_until(lambda: httpx.get(f"http://127.0.0.1:{monitor}/routez").status_code == 200, "the stranger's monitor")
    deadline = time.monotonic() + 5  # it retries its routes meanwhile
    while time.monotonic() < deadline:
        assert httpx.get(f"http://127.0.0.1:{monitor}/routez").json()["num_routes"] == 0
        time.sleep(0.5)
