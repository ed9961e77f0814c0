"""Schemathesis over the merged OpenAPI document, through the real gateway: whatever a client sends that the
document allows, and the odd things it does not (`--mode all`: positive and negative data), no answer is a
server error.

The real `schemathesis run` command, with a fixed seed and a bounded number of examples per operation, so a
run is repeatable and takes a minute or two; its report names any failing request.

The document must also state what the API accepts (patterns, ranges, sizes, `oneOf` for the analyze body,
examples where a valid value is data — a symbol, an address), so that generated requests reach the
handlers: Schemathesis warns about an operation that rejects most of what its schema allows. One is
expected: price history, whose rule ties two parameters together (`to` after `from`, at most 1000 points
between them), which OpenAPI cannot express; its parameter descriptions say it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from harness import Suite

SEED = 20261201
EXAMPLES_PER_OPERATION = 50


def test_no_request_gets_a_server_error(suite: Suite, tmp_path: Path) -> None:
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{suite.gateway_url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--mode",
        "all",
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        str(SEED),
        "--request-timeout",
        "30",
        # One worker: Python 3.11.7's ast.parse (which Hypothesis calls) can fail in threads (CPython #106905).
        "--workers",
        "1",
        "--report-dir",
        str(tmp_path),
        "--no-color",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    mismatched = re.search(r"Schema validation mismatch:.*?\n((?:\s+- .+\n)+)", done.stdout)
    operations = set(re.findall(r"- (\S+ \S+)", mismatched[1])) if mismatched else set()
    assert operations <= {"GET /api/history/price/{symbol}"}, done.stdout[-3000:]
    counts = re.search(r"(\d+) generated, (\d+) passed", done.stdout)
    assert counts is not None and int(counts[1]) == int(counts[2]) >= 1000, done.stdout[-3000:]
