"""`python -m suite_launcher`: start the whole suite in the foreground under honcho.

Resolves the environment (ports, URLs, DATA_SOURCE), puts the virtualenv's binaries (nats-server,
redis-server, traefik) on PATH and hands the Procfile to honcho, which prefixes each process's log lines
and stops every process on Ctrl-C or SIGTERM. `python -m suite_launcher gateway` runs Traefik alone
(the Procfile's gateway line).
"""

from __future__ import annotations

import os
import sys
import time
import urllib.request
from pathlib import Path

from suite_shared.settings import replica_urls

from .env import SERVICES, SuiteEnv, build_env
from .procfile import PROCFILE, ROOT, processes_for


def _prepare_env() -> dict[str, str]:
    env = build_env().values
    run_dir = Path(env.get("RUN_DIR") or ROOT / ".run")
    (run_dir / "nats").mkdir(parents=True, exist_ok=True)
    env["RUN_DIR"] = str(run_dir)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def run_suite() -> None:
    env = _prepare_env()
    names = processes_for(env["DATA_SOURCE"])
    gateway = f"http://{env['GATEWAY_HOST']}:{env['GATEWAY_PORT']}"
    print(f"starting {', '.join(names)} (DATA_SOURCE={env['DATA_SOURCE']}); gateway on {gateway}", flush=True)
    honcho = str(Path(sys.executable).parent / "honcho")
    # Replaces this process with honcho (no shell): our own binary with our own arguments.
    os.execve(honcho, [honcho, "--procfile", str(PROCFILE), "--app-root", str(ROOT), "start", *names], env)  # noqa: S606


def wait_for_services(env: SuiteEnv, timeout_s: float = 60.0) -> list[str]:
    """Wait until every service replica answers its liveness probe; return those that never did.

    Traefik's per-service circuit breakers would trip on connection errors from services still starting,
    leaving the suite half-available for seconds after boot; so the gateway opens only once they answer.
    """
    pending = {url: f"{url}/health/live" for name in SERVICES for url in replica_urls(env.url(name))}
    deadline = time.monotonic() + timeout_s
    while pending and time.monotonic() < deadline:
        for name, url in list(pending.items()):
            try:
                with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - our own loopback URL
                    if response.status == 200:
                        del pending[name]
            except OSError:
                pass
        if pending:
            time.sleep(0.2)
    return sorted(pending)


def run_gateway() -> None:
    from .gateway import traefik_command

    env = build_env()
    missing = wait_for_services(env)
    if missing:
        print(f"gateway: starting although {', '.join(missing)} did not answer yet", file=sys.stderr, flush=True)
    command = traefik_command(env, ROOT)
    os.execve(command[0], command, {**os.environ, **env.values})  # noqa: S606 - Traefik, from our own wheel


def main() -> None:
    if sys.argv[1:] == ["gateway"]:
        run_gateway()
    elif not sys.argv[1:]:
        run_suite()
    else:
        sys.exit("usage: python -m suite_launcher [gateway]")


if __name__ == "__main__":
    main()
