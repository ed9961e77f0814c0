"""Writing a benchmark's figures: `bench/results/<name>.json` (everything) and `<name>.md` (the summary)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def write(name: str, report: dict[str, Any], summary: str) -> None:
    """Save both files and print the summary."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(summary)
    print(summary)
