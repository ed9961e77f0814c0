"""Offline checks of the Kubernetes manifests in k8s/ (no cluster, no network).

Each overlay is rendered by a small kustomize renderer below (only the features k8s/ uses; anything else
fails loudly), every core resource is validated against the Kubernetes 1.37 OpenAPI schemas with
kubernetes-validate (strict: unknown fields fail), the Traefik CRD objects get structural checks, and the
references between objects are followed (Service -> pods, HPA -> Deployment, IngressRoute -> Middleware /
Service). Deliberately broken copies prove the validators reject bad input. When a `kubectl` binary is on
PATH, the renderer's output is also compared with `kubectl kustomize`.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from suite_launcher.env import DEFAULT_LIMITS, DEFAULT_PORTS, SERVICES
from suite_shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
OVERLAYS = ("dev", "prod")
K8S_VERSION = "1.37.0"
TRAEFIK_API = "traefik.io/v1alpha1"
HPA_SERVICES = ("market", "stream", "ai")
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume"}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}

Obj = dict[str, Any]


# --- a minimal kustomize ------------------------------------------------------------------------------

SUPPORTED_KEYS = {"apiVersion", "kind", "namespace", "labels", "resources", "images", "replicas", "patches"}
# Strategic-merge list keys for the built-in kinds we patch (containers and friends merge by name).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
}


def load_docs(path: Path) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def strategic_merge(base: Any, patch: Any, builtin: bool) -> Any:
    """Merge `patch` into `base`: maps recursively, known lists by merge key (built-in kinds), others replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged and builtin and key in MERGE_KEYS and isinstance(value, list):
                merged[key] = merge_list(merged[key], value, MERGE_KEYS[key])
            elif key in merged:
                merged[key] = strategic_merge(merged[key], value, builtin)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    return copy.deepcopy(patch)


def merge_list(base: list[Obj], patch: list[Obj], key: str) -> list[Obj]:
    result = [dict(item) for item in base]
    for item in patch:
        match = next((i for i, existing in enumerate(result) if existing.get(key) == item.get(key)), None)
        if match is None:
            result.append(copy.deepcopy(item))
        else:
            result[match] = strategic_merge(result[match], item, True)
    return result


def pod_spec(obj: Obj) -> Obj | None:
    if obj["kind"] in WORKLOADS:
        return obj["spec"]["template"]["spec"]
    return None


def render(directory: Path) -> list[Obj]:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unsupported = set(kustomization) - SUPPORTED_KEYS
    assert not unsupported, f"{directory}: the test renderer does not support {sorted(unsupported)}"

    objects: list[Obj] = []
    for entry in kustomization.get("resources", []):
        target = (directory / entry).resolve()
        objects.extend(render(target) if target.is_dir() else load_docs(target))

    for patch_entry in kustomization.get("patches", []):
        assert set(patch_entry) == {"path"}, f"only `patches: - path:` is supported, got {patch_entry}"
        for patch in load_docs(directory / patch_entry["path"]):
            kind, name = patch["kind"], patch["metadata"]["name"]
            matches = [i for i, o in enumerate(objects) if o["kind"] == kind and o["metadata"]["name"] == name]
            assert len(matches) == 1, f"patch {patch_entry['path']} targets {kind}/{name}: {len(matches)} matches"
            builtin = not patch["apiVersion"].startswith(TRAEFIK_API.split("/")[0])
            objects[matches[0]] = strategic_merge(objects[matches[0]], patch, builtin)

    if "namespace" in kustomization:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = kustomization["namespace"]

    for label in kustomization.get("labels", []):
        assert not label.get("includeSelectors") and not label.get("includeTemplates"), "metadata labels only"
        for obj in objects:
            obj["metadata"].setdefault("labels", {}).update(label["pairs"])

    for image in kustomization.get("images", []):
        for obj in objects:
            spec = pod_spec(obj)
            for container in (spec or {}).get("containers", []) + (spec or {}).get("initContainers", []):
                name = re.split(r"[@]|:(?=[^/]*$)", container["image"])[0]
                if name == image["name"]:
                    new = image.get("newName", name)
                    if "digest" in image:
                        new += "@" + image["digest"]
                    elif "newTag" in image:
                        new += ":" + str(image["newTag"])
                    else:
                        new = container["image"].replace(name, new, 1)
                    container["image"] = new

    for replica in kustomization.get("replicas", []):
        hits = [o for o in objects if o["kind"] in WORKLOADS and o["metadata"]["name"] == replica["name"]]
        assert hits, f"replicas: no workload named {replica['name']}"
        for obj in hits:
            obj["spec"]["replicas"] = replica["count"]
    return objects


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


MIDDLEWARE_TYPES = {
    "headers",
    "rateLimit",
    "errors",
    "compress",
    "retry",
    "replacePath",
    "replacePathRegex",
    "stripPrefix",
    "circuitBreaker",
    "chain",
    "redirectScheme",
    "ipAllowList",
    "buffering",
    "inFlightReq",
}
DURATION = re.compile(r"^\d+(ms|s|m|h)$")


def check_traefik(objects: list[Obj]) -> list[str]:
    """Structural checks of the Traefik CRD objects; returns the problems found (empty = fine)."""
    problems: list[str] = []
    services = by_kind(objects, "Service")
    middlewares: dict[str, Obj] = {}
    for obj in objects:
        if obj["kind"] not in ("Middleware", "IngressRoute"):
            continue
        where = f"{obj['kind']}/{obj['metadata'].get('name')}"
        if obj.get("apiVersion") != TRAEFIK_API:
            problems.append(f"{where}: apiVersion {obj.get('apiVersion')!r} is not {TRAEFIK_API}")
        if not obj["metadata"].get("name") or not isinstance(obj.get("spec"), dict):
            problems.append(f"{where}: needs metadata.name and a spec")
            continue
        if obj["kind"] == "Middleware":
            middlewares[obj["metadata"]["name"]] = obj
            kinds = set(obj["spec"])
            if len(kinds) != 1 or not kinds <= MIDDLEWARE_TYPES:
                problems.append(f"{where}: spec must hold exactly one known middleware type, got {sorted(kinds)}")
            limit = obj["spec"].get("rateLimit")
            if limit is not None:
                if not (isinstance(limit.get("average"), int) and limit["average"] > 0):
                    problems.append(f"{where}: rateLimit.average must be a positive integer")
                if not (isinstance(limit.get("burst"), int) and 0 < limit["burst"] <= limit["average"]):
                    problems.append(f"{where}: rateLimit.burst must be in 1..average")
                if not DURATION.match(str(limit.get("period", ""))):
                    problems.append(f"{where}: rateLimit.period must be a duration")
            errors = obj["spec"].get("errors")
            if errors is not None:
                target = errors.get("service", {})
                if target.get("name") not in services:
                    problems.append(f"{where}: errors.service {target.get('name')!r} is not a Service")
                if not errors.get("status") or "{status}" not in errors.get("query", ""):
                    problems.append(f"{where}: errors needs status and a query with {{status}}")
    for route_obj in by_kind(objects, "IngressRoute").values():
        where = f"IngressRoute/{route_obj['metadata']['name']}"
        spec = route_obj.get("spec", {})
        if not spec.get("entryPoints"):
            problems.append(f"{where}: no entryPoints")
        if not spec.get("routes"):
            problems.append(f"{where}: no routes")
        for i, route in enumerate(spec.get("routes", [])):
            if route.get("kind") != "Rule" or not route.get("match"):
                problems.append(f"{where} route {i}: needs kind Rule and a match")
            if route.get("match", "").count("(") != route.get("match", "").count(")"):
                problems.append(f"{where} route {i}: unbalanced parentheses in match")
            for ref in route.get("middlewares", []):
                if ref.get("name") not in middlewares:
                    problems.append(f"{where} route {i}: middleware {ref.get('name')!r} does not exist")
            if not route.get("services"):
                problems.append(f"{where} route {i}: no services")
            for ref in route.get("services", []):
                svc = services.get(ref.get("name"))
                if svc is None:
                    problems.append(f"{where} route {i}: service {ref.get('name')!r} does not exist")
                elif ref.get("port") not in [p["port"] for p in svc["spec"]["ports"]] + [
                    p.get("name") for p in svc["spec"]["ports"]
                ]:
                    problems.append(f"{where} route {i}: service {ref['name']} has no port {ref.get('port')}")
    return problems


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


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl binary to compare with")
@pytest.mark.parametrize("name", OVERLAYS)
def test_renderer_agrees_with_kubectl_kustomize(name: str) -> None:
    try:
        done = subprocess.run(
            ["kubectl", "kustomize", str(K8S / "overlays" / name)], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"kubectl kustomize unusable: {exc}")
    if done.returncode != 0:
        pytest.skip(f"kubectl kustomize failed: {done.stderr[:300]}")
    theirs = keyed([d for d in yaml.safe_load_all(done.stdout) if d])
    ours = keyed(render(K8S / "overlays" / name))
    assert set(ours) == set(theirs)
    for key, obj in ours.items():
        assert obj == theirs[key], f"{key} differs from kubectl kustomize"


# --- schema validation --------------------------------------------------------------------------------


def test_core_resources_match_the_kubernetes_schema(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    core = [o for o in objects if not o["apiVersion"].startswith("traefik.io/")]
    assert len(core) >= 20
    for obj in core:
        validate_core(obj)


def test_traefik_objects_are_well_formed(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    assert check_traefik(objects) == []
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
    shutil.copy(K8S / "examples" / "cors-origins.yaml", tmp_path / "cors-origins.yaml")
    kustomization = {"resources": [str(K8S / "overlays" / "prod")], "patches": [{"path": "cors-origins.yaml"}]}
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    objects = render(tmp_path)
    assert check_traefik(objects) == []
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


def test_broken_traefik_objects_are_caught(rendered: dict[str, list[Obj]]) -> None:
    objects = copy.deepcopy(rendered["prod"])
    routes = by_kind(objects, "IngressRoute")
    routes["crypto-suite-api"]["spec"]["routes"][0]["middlewares"].append({"name": "does-not-exist"})
    routes["crypto-suite-ws"]["spec"]["routes"][0]["services"][0]["name"] = "nowhere"
    by_kind(objects, "Middleware")["ip-limit"]["spec"]["rateLimit"]["burst"] = 0
    by_kind(objects, "Middleware")["cors"]["apiVersion"] = "traefik.containo.us/v1alpha1"
    problems = "\n".join(check_traefik(objects))
    for expected in ("does-not-exist", "nowhere", "burst", "traefik.containo.us"):
        assert expected in problems


def test_broken_references_are_caught(rendered: dict[str, list[Obj]]) -> None:
    objects = copy.deepcopy(rendered["dev"])
    by_kind(objects, "HorizontalPodAutoscaler")["ai"]["spec"]["scaleTargetRef"]["name"] = "a1"
    with pytest.raises(AssertionError):
        test_references_resolve(("dev", objects))
    objects = copy.deepcopy(rendered["dev"])
    by_kind(objects, "Service")["news"]["spec"]["selector"] = {"app.kubernetes.io/name": "newz"}
    with pytest.raises(AssertionError):
        test_references_resolve(("dev", objects))
