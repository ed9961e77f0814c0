"""The Procfile is the one definition of how each process of the suite starts.

`make run` hands it to honcho; the integration tests read it and start the same commands themselves
(on free ports), so what the tests exercise is what `make run` runs.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PROCFILE = ROOT / "Procfile"
INFRASTRUCTURE = ("nats", "redis", "redis-cache")


def read_procfile(path: Path = PROCFILE) -> dict[str, str]:
    """Process name → shell command, in file order."""
    processes: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            processes[name.strip()] = command.strip()
    return processes


def processes_for(data_source: str, path: Path = PROCFILE) -> list[str]:
    """Which processes `make run` starts: the sandbox only when DATA_SOURCE=sandbox."""
    return [name for name in read_procfile(path) if name != "sandbox" or data_source == "sandbox"]
