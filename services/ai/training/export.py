"""Writing models: ONNX files and the JSON metadata beside each, in the runtime's artifacts folder."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import onnx
import onnxruntime as ort

ARTIFACTS = Path(__file__).resolve().parents[1] / "src" / "ai_service" / "artifacts"


# What a build is made from: the training code and data and the service code it exports for. What the build
# itself writes (artefacts, report, card, plots) does not count.
BUILD_INPUTS = (
    "services/ai/training",
    "services/ai/src",
    ":(exclude)services/ai/src/ai_service/artifacts",
    ":(exclude)services/ai/training/REPORT.md",
    ":(exclude)services/ai/training/figures",
)


def git_commit() -> str | None:
    """HEAD's short hash, with "+uncommitted" when the build's inputs differ from it (then the hash alone
    would name code that did not make these files)."""
    try:
        root = _git(ARTIFACTS, "rev-parse", "--show-toplevel")
        changed = _git(Path(root), "status", "--porcelain", "--", *BUILD_INPUTS)
        return _git(ARTIFACTS, "rev-parse", "--short", "HEAD") + ("+uncommitted" if changed else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True, cwd=cwd).stdout.strip()


def canonical(model: onnx.ModelProto) -> onnx.ModelProto:
    """Opset imports sorted by domain: skl2onnx lists them in set order, which changes with Python's string
    hash seed from run to run, and so would the file's bytes."""
    opsets = sorted(model.opset_import, key=lambda opset: opset.domain)
    del model.opset_import[:]
    model.opset_import.extend(opsets)
    return model


def save(model: onnx.ModelProto, name: str, metadata: dict[str, Any]) -> Path:
    """Write `<name>.onnx` (canonical: the same model gives the same bytes) and `<name>.json` (metadata plus
    file size and build provenance)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.onnx"
    path.write_bytes(canonical(model).SerializeToString())
    metadata = {
        **metadata,
        "file": path.name,
        "file_bytes": path.stat().st_size,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "built_from_commit": git_commit(),
    }
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(metadata, indent=2, sort_keys=False) + "\n")
    return path


def session(model: onnx.ModelProto) -> ort.InferenceSession:
    """A session configured as the service configures its own (one thread, no spinning)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
