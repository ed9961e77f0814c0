"""Loading the shipped models once at start-up: one ONNX Runtime session per model, with its metadata.

A model whose file is missing or corrupt does not stop the service: it is recorded as unavailable, the
critical health check reports it (so /health answers 503 "unhealthy" and orchestrators take the replica
out), and the endpoints that need it answer 503 SERVICE_UNAVAILABLE.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import onnxruntime as ort

from suite_shared.errors import ServiceUnavailable
from suite_shared.health import ComponentHealth

log = logging.getLogger(__name__)

ARTIFACTS = Path(__file__).parent / "artifacts"
ONNX_MODELS = ("sentiment", "forecast")
JSON_ONLY = ("signals",)  # the signal rule's calibration: metadata without a graph


@dataclass
class LoadedModel:
    name: str
    metadata: dict[str, Any]
    session: ort.InferenceSession | None = None


@dataclass
class ModelRegistry:
    """The service's models by name, and why any could not be loaded."""

    models: dict[str, LoadedModel] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    def require(self, name: str) -> LoadedModel:
        """The model, or the contract's 503 when it failed to load."""
        model = self.models.get(name)
        if model is None:
            raise ServiceUnavailable(
                f"The {name} model is not available on this replica.",
                {"model": name, "reason": self.failures.get(name, "not loaded")},
            )
        return model

    async def health(self) -> ComponentHealth:
        detail: dict[str, Any] = {name: model.metadata.get("version") for name, model in self.models.items()}
        detail.update({name: f"failed: {reason}" for name, reason in self.failures.items()})
        return ComponentHealth(status="down" if self.failures else "up", critical=True, detail=detail)


def session_options() -> ort.SessionOptions:
    """One thread per session and no spinning: requests run side by side in a thread pool, and idle
    sessions must not burn a core."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def load_registry(directory: Path = ARTIFACTS) -> ModelRegistry:
    registry = ModelRegistry()
    for name in (*ONNX_MODELS, *JSON_ONLY):
        try:
            registry.models[name] = _load(directory, name, with_graph=name in ONNX_MODELS)
        except Exception as exc:  # any failure (missing, truncated, wrong format) makes the model unavailable
            registry.failures[name] = f"{type(exc).__name__}: {exc}"[:300]
            log.error("model %s could not be loaded from %s: %s", name, directory, exc)
    return registry


def _load(directory: Path, name: str, with_graph: bool) -> LoadedModel:
    metadata = json.loads((directory / f"{name}.json").read_text())
    if not with_graph:
        return LoadedModel(name, metadata)
    session = ort.InferenceSession(
        str(directory / f"{name}.onnx"), session_options(), providers=["CPUExecutionProvider"]
    )
    return LoadedModel(name, metadata, session)
