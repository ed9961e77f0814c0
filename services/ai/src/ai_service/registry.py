"""Loading the shipped models once at start-up: one ONNX Runtime session per model, with its metadata.

A model whose file is missing or corrupt does not stop the service: it is recorded as unavailable, the
critical health check reports it (so /health answers 503 "unhealthy" and orchestrators take the replica
out), and the endpoints that need it answer 503 SERVICE_UNAVAILABLE.

Headline sentiment has two models: the fine-tuned MiniLM transformer (`headlines.onnx`, int8, with its
WordPiece tokenizer `headlines.tokenizer.json`) and the TF-IDF model (`sentiment.onnx`). The transformer
serves when it loads; otherwise the TF-IDF model serves in its place and a non-critical health check says
so (the replica is "degraded", not out). Health and /api/models give a short reason, never exception text
(that goes to the log).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import onnxruntime as ort
from tokenizers import Tokenizer

from suite_shared.errors import ServiceUnavailable
from suite_shared.health import ComponentHealth

log = logging.getLogger(__name__)

ARTIFACTS = Path(__file__).parent / "artifacts"
ONNX_MODELS = ("sentiment", "forecast")
JSON_ONLY = ("signals",)  # the signal rule's calibration: metadata without a graph
TRANSFORMER = "headlines"  # artefact name of the transformer that serves as "sentiment" when it loads
TFIDF_NAME = "sentiment-tfidf"  # how /api/models lists the TF-IDF model while it stands by


@dataclass
class LoadedModel:
    name: str
    metadata: dict[str, Any]
    session: ort.InferenceSession | None = None
    tokenizer: Tokenizer | None = None  # the transformer's; None for graphs that take raw strings


@dataclass
class ModelRegistry:
    """The service's models by name, and why any could not be loaded."""

    models: dict[str, LoadedModel] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    standby: dict[str, LoadedModel] = field(default_factory=dict)  # loaded, not serving (the TF-IDF model)
    fallbacks: dict[str, str] = field(default_factory=dict)  # model name → why its fallback serves

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

    async def sentiment_health(self) -> ComponentHealth:
        """Which headline model serves: down (not critical, so "degraded") while the TF-IDF fallback does."""
        model = self.models.get("sentiment")
        detail: dict[str, Any] = {"serving": _variant(model) if model else None}
        if "sentiment" in self.fallbacks:
            detail["fallback"] = f"TF-IDF serves (transformer: {self.fallbacks['sentiment']})"
        return ComponentHealth(status="down" if self.fallbacks else "up", critical=False, detail=detail)


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
            registry.failures[name] = reason_of(exc)
            log.error("model %s could not be loaded from %s: %s", name, directory, exc)
    _load_transformer(registry, directory)
    return registry


def reason_of(exc: BaseException) -> str:
    """What health and /api/models say about a load failure: the kind of fault, not the exception text."""
    return "artefact missing" if isinstance(exc, FileNotFoundError) else "artefact unreadable or corrupt"


def _load_transformer(registry: ModelRegistry, directory: Path) -> None:
    """Serve the transformer as "sentiment" and keep the TF-IDF model on standby; or record why not."""
    try:
        transformer = _load(directory, TRANSFORMER, with_graph=True)
        transformer.tokenizer = Tokenizer.from_file(str(existing(directory / f"{TRANSFORMER}.tokenizer.json")))
    except Exception as exc:  # the TF-IDF model (if it loaded) serves instead
        registry.fallbacks["sentiment"] = reason_of(exc)
        log.error("transformer sentiment model could not be loaded from %s, TF-IDF serves: %s", directory, exc)
        return
    transformer.name = "sentiment"
    tfidf = registry.models.pop("sentiment", None)
    registry.failures.pop("sentiment", None)
    if tfidf is not None:
        tfidf.name = TFIDF_NAME
        registry.standby[TFIDF_NAME] = tfidf
    registry.models["sentiment"] = transformer


def _variant(model: LoadedModel) -> str:
    return f"{model.metadata.get('algorithm', model.name)} v{model.metadata.get('version')}"


def _load(directory: Path, name: str, with_graph: bool) -> LoadedModel:
    metadata = json.loads((directory / f"{name}.json").read_text())
    if not with_graph:
        return LoadedModel(name, metadata)
    session = ort.InferenceSession(
        str(existing(directory / f"{name}.onnx")), session_options(), providers=["CPUExecutionProvider"]
    )
    return LoadedModel(name, metadata, session)


def existing(path: Path) -> Path:
    """The path, or FileNotFoundError (onnxruntime and tokenizers raise their own kinds for a missing file)."""
    if not path.is_file():
        raise FileNotFoundError(path)
    return path
