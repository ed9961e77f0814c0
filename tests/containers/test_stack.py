"""The compose stack itself (`make test-containers`): the images as built, the containers' health, the
network they are confined to, Prometheus scraping them, and market scaled to three replicas, one killed.

The gateway smoke tests (tests/smoke) run against the same stack first; these tests change it (scaling,
killing), so they come last.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import yaml

from compose_stack import BUILT, ROOT, ComposeStack, image
from harness import containers_targeted, wait_for

if not containers_targeted():
    pytest.skip("the container tests run in `make test-containers`", allow_module_level=True)

PORTS = {"market": 8101, "news": 8102, "sentiment": 8103, "ai": 8104, "stream": 8105, "sandbox": 8199}
DEV_AND_TRAINING = (
    *("pytest", "ruff", "mypy", "uv", "suite_launcher"),
    *("torch", "transformers", "sklearn", "skl2onnx", "matplotlib", "onnx"),
)


def running(stack: ComposeStack, service: str) -> str:
    """One running container of the service."""
    return stack.containers(service)[0]


@pytest.mark.parametrize("service", BUILT)
def test_images_run_unprivileged_with_a_healthcheck_and_runtime_dependencies_only(
    stack: ComposeStack, service: str
) -> None:
    config = stack.inspect(image(service))["Config"]
    assert config["User"] == "app"
    assert "urllib.request" in " ".join(config["Healthcheck"]["Test"])
    assert f"{PORTS[service]}/tcp" in config["ExposedPorts"]
    container = running(stack, service)
    assert stack.python(container, "import os; print(os.getuid())").strip() == "10001"
    found = stack.python(
        container,
        f"import importlib.util as u; print(' '.join(m for m in {DEV_AND_TRAINING!r} if u.find_spec(m)))",
    )
    assert found.split() == [], f"{service} ships {found}"


def test_only_the_ai_image_carries_the_models_and_they_load(stack: ComposeStack) -> None:
    ai = stack.inspect(image("ai"))["Config"]["Env"]
    assert "AI_MODEL_DIR=/app/models" in ai
    health = stack.get_json(running(stack, "ai"), "http://127.0.0.1:8104/health")["dependencies"]
    models, headlines = health["models"], health["sentiment_model"]
    assert models["status"] == "up" and {"sentiment", "forecast", "signals"} <= set(models["detail"])
    # The transformer serves, not the TF-IDF fallback (which would leave the replica up but degraded).
    assert headlines["status"] == "up" and "fallback" not in headlines["detail"], headlines
    assert "MiniLM" in headlines["detail"]["serving"], headlines
    # Once in the image: the package's own copy is left out of the virtualenv.
    packaged = "import ai_service.registry as r; print(r.ARTIFACTS.exists())"
    assert stack.python(running(stack, "ai"), packaged).strip() == "False"
    market = running(stack, "market")
    assert stack.python(market, "import os; print(os.path.exists('/app/models'))").strip() == "False"


def test_every_container_is_healthy(stack: ComposeStack) -> None:
    for service in stack.services():
        for container in stack.containers(service):
            state = stack.inspect(container)["State"]
            assert state["Health"]["Status"] == "healthy", f"{service}: {state['Health']['Log'][-1:]}"


def test_the_services_cannot_reach_the_outside_world(stack: ComposeStack) -> None:
    """The services' network is internal: the smoke tests passed with the sandbox as the only upstream."""
    probe = (
        "import socket\n"
        "for address in (('deb.debian.org', 80), ('1.1.1.1', 443)):\n"
        "    try:\n"
        "        socket.create_connection(address, timeout=3).close()\n"
        "        print('reached', address)\n"
        "    except OSError:\n"
        "        pass\n"
    )
    assert stack.python(running(stack, "market"), probe).strip() == ""
    # ...while the stack's own names resolve and answer inside it.
    assert stack.get_json(running(stack, "market"), "http://sandbox:8199/_sandbox/health")


def test_prometheus_scrapes_traefik_and_every_service_and_loads_the_alerts(stack: ComposeStack) -> None:
    config = yaml.safe_load((ROOT / "ops/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}

    def targets_up() -> dict[str, str] | None:
        active = httpx.get(f"{stack.prometheus_url}/api/v1/targets").json()["data"]["activeTargets"]
        health = {target["labels"]["job"]: target["health"] for target in active}
        return health if set(health) == jobs and set(health.values()) == {"up"} else None

    wait_for(targets_up, timeout_s=90, every_s=2)  # the first scrape comes within one 15 s interval
    alerts = yaml.safe_load((ROOT / "ops/prometheus/alerts.yml").read_text())
    expected = {rule["alert"] for group in alerts["groups"] for rule in group["rules"]}
    groups = httpx.get(f"{stack.prometheus_url}/api/v1/rules").json()["data"]["groups"]
    assert {rule["name"] for group in groups for rule in group["rules"]} == expected


def ingest_state(stack: ComposeStack, container: str) -> str:
    """A market replica's ingest state (leader or standby), asked of the replica itself."""
    health = stack.get_json(container, "http://127.0.0.1:8101/health")
    return str(health["dependencies"]["ingest"]["detail"].get("state", "starting"))


def ingest_roles(stack: ComposeStack, expected: list[str]) -> dict[str, str]:
    """Wait until the running market replicas' ingest states are `expected`; returns container -> state."""

    def settled() -> dict[str, str] | None:
        states = {container: ingest_state(stack, container) for container in stack.containers("market")}
        return states if sorted(states.values()) == expected else None

    roles: dict[str, str] = wait_for(settled, timeout_s=30)
    return roles


def market_requests_served(stack: ComposeStack, container: str) -> float:
    """How many /api/market requests a market replica has answered, from its own /metrics."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in stack.get_text(container, "http://127.0.0.1:8101/metrics").splitlines()
        if line.startswith("http_requests_total{") and 'route="/api/market"' in line
    )


async def burst(gateway_url: str, requests: int = 30) -> None:
    """Concurrent requests through the gateway: each new gateway connection resolves `market` anew."""
    async with httpx.AsyncClient(base_url=gateway_url, timeout=15.0) as client:
        responses = await asyncio.gather(*(client.get("/api/market", params={"limit": 5}) for _ in range(requests)))
    assert all(response.status_code == 200 for response in responses)


def test_three_market_replicas_all_serve_and_exactly_one_ingests(stack: ComposeStack) -> None:
    stack.scale("market", 3)
    replicas = stack.containers("market")
    assert len(replicas) == 3
    # Docker's DNS answers `market` with every replica, in turns, so the gateway's new connections spread over
    # them: every replica's own request counter grows.
    before = {container: market_requests_served(stack, container) for container in replicas}

    def every_replica_served() -> bool:
        asyncio.run(burst(stack.gateway_url))
        return all(market_requests_served(stack, container) > before[container] for container in replicas)

    wait_for(every_replica_served, timeout_s=60, every_s=1)
    roles = ingest_roles(stack, ["leader", "standby", "standby"])
    assert set(roles) == set(replicas)


def test_the_gateway_keeps_answering_when_a_market_replica_is_killed(stack: ComposeStack) -> None:
    stack.scale("market", 3)
    roles = ingest_roles(stack, ["leader", "standby", "standby"])
    leader = next(container for container, role in roles.items() if role == "leader")
    stack.kill(leader)  # SIGKILL: no graceful shutdown, the lease is not released
    failures: list[tuple[str, int]] = []
    answered = 0
    started = time.monotonic()
    with httpx.Client(base_url=stack.gateway_url, timeout=15.0) as client:
        while time.monotonic() - started < 15:  # then ingest_roles waits past the lease's takeover (~22 s)
            for path in ("/api/providers", "/api/price/BTC", "/api/market?limit=5"):
                response = client.get(path)
                answered += 1
                if response.status_code != 200:
                    failures.append((path, response.status_code))
            time.sleep(0.1)
    assert answered > 30 and failures == []
    survivors = ingest_roles(stack, ["leader", "standby"])  # one of the two took the ingest over
    assert leader not in survivors


# A client inside the stack's network speaking the servers' own protocols, without logging in or with the
# services' login: what each server answered.
STRANGER = """
import json, socket, sys
def talk(host, port, send, lines=1):
    with socket.create_connection((host, port), timeout=5) as sock:
        reader = sock.makefile("rb")
        if port == 4222:
            lines_read = [reader.readline().decode()]  # NATS greets first (INFO)
        else:
            lines_read = []
        sock.sendall(send.encode())
        lines_read += [reader.readline().decode() for _ in range(lines)]
        return lines_read
user, redis_password, nats_password = sys.argv[1:4]
print(json.dumps({
    "redis": talk("redis", 6379, "GET news:latest\\r\\n"),
    "redis-cache": talk("redis-cache", 6379, "GET anything\\r\\n"),
    "redis-login": talk("redis", 6379, f"AUTH {user} {redis_password}\\r\\nPING\\r\\n", 2),
    "nats": talk("nats", 4222, 'CONNECT {"verbose":false}\\r\\nPING\\r\\n'),
    "nats-login": talk("nats", 4222, "CONNECT " + json.dumps({"verbose": False, "user": user, "pass": nats_password})
        + "\\r\\nPING\\r\\n"),
}))
"""


def test_redis_and_nats_refuse_clients_without_the_login(stack: ComposeStack) -> None:
    """Redis ACL and NATS auth are on in the stack: a stranger on the services' own network is refused by
    both Redis roles and by NATS; the services' login (the one compose gives them) is let in, and the smoke
    tests and the health checks above passed with it."""
    market = running(stack, "market")
    logins = (stack.variables["REDIS_PASSWORD"], stack.variables["NATS_PASSWORD"])
    answers = json.loads(stack.python(market, STRANGER, "suite", *logins))
    assert answers["redis"][0].startswith("-NOAUTH"), answers["redis"]
    assert answers["redis-cache"][0].startswith("-NOAUTH"), answers["redis-cache"]
    assert answers["redis-login"] == ["+OK\r\n", "+PONG\r\n"]
    greeting, refused = answers["nats"]
    assert '"auth_required":true' in greeting and "Authorization Violation" in refused
    assert answers["nats-login"][1] == "PONG\r\n"
    health = stack.get_json(market, "http://127.0.0.1:8101/health")["dependencies"]
    assert health["redis"]["status"] == "up" and health["nats"]["status"] == "up"
