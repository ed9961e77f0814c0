"""Offline checks of the container files: docker-compose.yml, the Dockerfiles, .dockerignore and .env.example.

No Docker and no network: the compose file is validated against the compose-spec schema bundled with
check-jsonschema, and everything else is read as text/YAML and compared with the code that consumes it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pydantic_settings import BaseSettings

from suite_launcher.env import DEFAULT_LIMITS, DEFAULT_PORTS, SANDBOX_KEYED, UPSTREAMS, build_env
from suite_shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"

# service name -> (Dockerfile dir, uv package, module run by CMD, port)
APPS = {
    "market": ("services/market", "market-service", "market_service", 8101),
    "news": ("services/news", "news-service", "news_service", 8102),
    "sentiment": ("services/sentiment", "sentiment-service", "sentiment_service", 8103),
    "ai": ("services/ai", "ai-service", "ai_service", 8104),
    "stream": ("services/stream", "stream-service", "stream_service", 8105),
    "sandbox": ("sandbox", "upstream-sandbox", "upstream_sandbox", 8199),
}
SERVICES = ("market", "news", "sentiment", "ai", "stream")
# Services that need nothing else to start (infrastructure and the self-contained sandbox).
ROOTS = {"nats", "redis", "sandbox"}
# Variables docker compose itself reads (not the code): enabling profiles from .env.
COMPOSE_OWN = {"COMPOSE_PROFILES"}


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    assert CHECK_JSONSCHEMA.exists(), f"check-jsonschema not installed next to {sys.executable}"
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


# --- (a), (b) schema validation, and proof that it rejects a broken file --------------------------------


def test_compose_validates_against_compose_spec() -> None:
    result = validate(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("breakage", ["ports-not-a-list", "unknown-service-key", "unknown-depends-on-condition"])
def test_broken_compose_fails_validation(tmp_path: Path, breakage: str) -> None:
    text = COMPOSE.read_text()
    if breakage == "ports-not-a-list":
        broken, count = re.subn(
            r"    ports:\n      - \"\$\{GATEWAY_HOST[^\n]*\n(?:      - [^\n]*\n)*", "    ports: 8080\n", text
        )
    elif breakage == "unknown-service-key":
        broken, count = re.subn(r"\n  redis:\n", "\n  redis:\n    imagee: typo\n", text)
    else:
        broken, count = re.subn(
            r"(\n  grafana:\n(?:    .*\n)*?        condition: )service_healthy", r"\1service_happy", text
        )
    assert count == 1, "the breakage no longer applies; update the test"
    assert yaml.safe_load(broken), "the broken copy must still be valid YAML (the schema must catch it)"
    path = tmp_path / "docker-compose.yml"
    path.write_text(broken)
    result = validate(path)
    assert result.returncode != 0, f"validation accepted a broken file ({breakage}):\n{result.stdout}"


# --- (c) structure: health checks, dependencies, build paths, mounts ------------------------------------


def test_every_service_has_a_healthcheck() -> None:
    for name, service in compose()["services"].items():
        check = service.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), f"{name} has no healthcheck"


def test_dependencies_use_conditions() -> None:
    services = compose()["services"]
    for name, service in services.items():
        depends = service.get("depends_on")
        if name in ROOTS:
            assert not depends, f"{name} should not wait for anything"
            continue
        assert isinstance(depends, dict) and depends, f"{name}: depends_on must be the long form with conditions"
        for target, spec in depends.items():
            assert target in services, f"{name} depends on unknown service {target}"
            assert not services[target].get("profiles"), f"{name} depends on profile-gated {target}"
            assert spec.get("condition") in ("service_healthy", "service_started", "service_completed_successfully"), (
                f"{name} -> {target}"
            )
    for name in SERVICES:
        depends = services[name]["depends_on"]
        for infra in ("nats", "redis"):
            assert depends[infra]["condition"] == "service_healthy", f"{name} must wait for a healthy {infra}"
    assert set(services["traefik"]["depends_on"]) == set(SERVICES)


def test_build_paths_and_dockerfiles_exist() -> None:
    services = compose()["services"]
    for name, (directory, _, _, _) in APPS.items():
        build = services[name]["build"]
        context = ROOT / build["context"]
        assert context.resolve() == ROOT, f"{name}: the build context must be the repository root"
        assert build["dockerfile"] == f"{directory}/Dockerfile"
        assert (context / build["dockerfile"]).is_file(), f"{name}: {build['dockerfile']} missing"
    for name, service in services.items():
        if "build" in service:
            assert name in APPS, f"{name} is built but not covered by these tests"


def bind_mounts() -> list[tuple[str, str, str]]:
    mounts = []
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            source, target = (volume["source"], volume["target"]) if isinstance(volume, dict) else volume.split(":")[:2]
            if source.startswith((".", "/")):
                mounts.append((name, source, target))
    return mounts


def test_mounted_host_paths_exist() -> None:
    mounts = bind_mounts()
    expected = {
        ("traefik", "./gateway/traefik.yml", "/etc/traefik/traefik.yml"),
        ("traefik", "./gateway/dynamic", "/etc/traefik/dynamic"),
        ("prometheus", "./ops/prometheus/prometheus.yml", "/etc/prometheus/prometheus.yml"),
        ("prometheus", "./ops/prometheus/alerts.yml", "/etc/prometheus/alerts.yml"),
        ("grafana", "./ops/grafana/provisioning", "/etc/grafana/provisioning"),
        ("grafana", "./ops/grafana/dashboards", "/var/lib/grafana/dashboards"),
    }
    assert expected <= set(mounts)
    missing = [f"{name}: {source}" for name, source, _ in mounts if not (ROOT / source).exists()]
    assert not missing, f"mounted host paths missing: {missing}"
    # A file mounted onto a file, a directory onto a directory (Docker would create a directory otherwise).
    for name, source, target in mounts:
        assert (ROOT / source).is_file() == target.endswith((".yml", ".yaml", ".json")), f"{name}: {source}"


def test_wiring_matches_the_suite() -> None:
    services = compose()["services"]
    env_defaults = build_env(base={}).values
    for name in SERVICES:
        port = APPS[name][3]
        assert DEFAULT_PORTS[f"{name.upper()}_PORT"] == port
        environment = services[name]["environment"]
        assert environment["SUITE_HOST"] == "0.0.0.0", f"{name} must listen on all interfaces in a container"
        assert environment[f"{name.upper()}_PORT"] == str(port)
        assert environment["SERVICE_NAME"] == name
        assert environment["REDIS_URL"].startswith("redis://redis:")
        assert environment["NATS_URL"].startswith("nats://nats:")
        for other in SERVICES:
            assert environment[f"{other.upper()}_URL"] == f"http://{other}:{APPS[other][3]}"
            assert services["traefik"]["environment"][f"{other.upper()}_URL"] == f"http://{other}:{APPS[other][3]}"
        assert str(port) in " ".join(services[name]["healthcheck"]["test"])
        assert not services[name].get("profiles"), f"{name} must run in every profile"
    traefik = services["traefik"]
    assert traefik["image"].startswith("traefik:v3.7")
    assert traefik["environment"]["GATEWAY_INTERNAL_PORT"] == env_defaults["GATEWAY_INTERNAL_PORT"]
    assert '"127.0.0.1:8081"' in (ROOT / "gateway/traefik.yml").read_text()
    for limit in DEFAULT_LIMITS:
        assert limit in traefik["environment"], f"traefik does not get {limit}"
    nats = services["nats"]
    assert "--jetstream" in nats["command"]
    assert any(v.startswith("nats-data:") for v in nats["volumes"]) and "nats-data" in compose()["volumes"]
    assert any(p.endswith(":8222") for p in nats["ports"])
    assert services["sandbox"]["profiles"] == ["sandbox"]
    assert services["sandbox"]["environment"]["SANDBOX_PORT"] == "8199"


# --- (d) .env.example <-> the code ----------------------------------------------------------------------

VAR_LINE = re.compile(r"^#?\s?([A-Z][A-Z0-9_]+)=(.*)$")


def env_example() -> list[tuple[str, str, str]]:
    """(name, value, the comment line before it) for every variable line, commented out or not."""
    lines = ENV_EXAMPLE.read_text().splitlines()
    found = []
    for index, line in enumerate(lines):
        match = VAR_LINE.match(line)
        if match:
            found.append((match.group(1), match.group(2), lines[index - 1] if index else ""))
    return found


def settings_variables() -> set[str]:
    names: set[str] = set()
    for field_name, field in Settings.model_fields.items():
        factory = field.default_factory
        nested = factory if isinstance(factory, type) and issubclass(factory, BaseSettings) else None
        if nested is not None:
            prefix = nested.model_config.get("env_prefix", "")
            names |= {f"{prefix}{sub}".upper() for sub in nested.model_fields}
        else:
            names.add(field_name.upper())
    return names


def variables_read_by_code() -> set[str]:
    """Every name the code can read: Settings, the launcher's env, literal names in source, gateway templates."""
    names = settings_variables() | set(DEFAULT_PORTS) | set(DEFAULT_LIMITS) | set(UPSTREAMS) | set(SANDBOX_KEYED)
    names |= set(build_env(base={}).values) | set(build_env(base={"DATA_SOURCE": "sandbox"}).values)
    sources = [*ROOT.glob("*/src/**/*.py"), *ROOT.glob("services/*/src/**/*.py")]
    for path in sources:
        names |= set(re.findall(r"environ(?:\.get)?\(\s*\"([A-Z][A-Z0-9_]+)\"", path.read_text()))
        names |= set(re.findall(r"env\.get\(\s*\"([A-Z][A-Z0-9_]+)\"", path.read_text()))
    for path in (ROOT / "gateway/dynamic").glob("*.yml"):
        names |= set(re.findall(r"env \"([A-Z][A-Z0-9_]+)\"", path.read_text()))
    return names


def compose_variables() -> set[str]:
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", COMPOSE.read_text())) | COMPOSE_OWN


def test_env_example_lists_only_variables_something_reads() -> None:
    unknown = {name for name, _, _ in env_example()} - variables_read_by_code() - compose_variables()
    assert not unknown, f".env.example lists variables nothing reads: {sorted(unknown)}"


def test_env_example_lists_every_setting_and_launcher_variable() -> None:
    listed = {name for name, _, _ in env_example()}
    required = settings_variables() | set(DEFAULT_PORTS) | set(DEFAULT_LIMITS) | set(UPSTREAMS)
    required |= {
        "DATA_SOURCE",
        "SUITE_HOST",
        "GATEWAY_HOST",
        "SANDBOX_URL",
        "AI_MODEL_DIR",
        "STREAM_HEARTBEAT_S",
        "SANDBOX_WS_TICK_MS",
        "GATEWAY_HEALTHCHECK_INTERVAL",
    }
    missing = required - listed
    assert not missing, f".env.example misses: {sorted(missing)}"
    # Compose-only variables used in docker-compose.yml are documented too.
    assert compose_variables() - COMPOSE_OWN <= listed


def test_env_example_explains_every_variable() -> None:
    for name, _, comment in env_example():
        assert comment.startswith("# ") and not VAR_LINE.match(comment) and len(comment) > 6, (
            f"{name} needs a one-line comment above it"
        )


def test_env_example_defaults_match_settings() -> None:
    """The first (default) line of each Settings variable shows the value Settings really uses."""
    first: dict[str, str] = {}
    for name, value, _ in env_example():
        first.setdefault(name, value)
    for field_name, field in Settings.model_fields.items():
        name = field_name.upper()
        if name not in first or field.default_factory is not None:
            continue
        default, shown = field.default, first[name]
        if isinstance(default, bool):
            assert shown == str(default).lower(), name
        elif isinstance(default, (int, float)):
            assert float(shown) == default, f"{name}: .env.example says {shown!r}, Settings uses {default!r}"
        else:
            assert shown == ("" if default is None else str(default)), f"{name}: {shown!r} != {default!r}"


def test_env_example_sandbox_block_matches_the_launcher() -> None:
    """The compose sandbox block equals what the launcher derives for a sandbox reachable at sandbox:8199."""
    text = ENV_EXAMPLE.read_text()
    block = text[text.index("# COMPOSE_PROFILES=sandbox") :]
    values = {m.group(1): m.group(2) for line in block.splitlines() if (m := VAR_LINE.match(line))}
    derived = build_env(base={"DATA_SOURCE": "sandbox", "SANDBOX_URL": "http://sandbox:8199"}).values
    assert values["DATA_SOURCE"] == "sandbox"
    for name in [*UPSTREAMS, *SANDBOX_KEYED]:
        assert values.get(name) == derived[name], f"sandbox block: {name}"


# --- (e) Dockerfiles and .dockerignore ------------------------------------------------------------------


def dockerfile(name: str) -> str:
    return (ROOT / APPS[name][0] / "Dockerfile").read_text()


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line.strip() else "")
        for line in joined.splitlines()
        if line.strip()
    ]


@pytest.mark.parametrize("name", list(APPS))
def test_dockerfile(name: str) -> None:
    _directory, package, module, port = APPS[name]
    steps = instructions(dockerfile(name))
    stages = [args for op, args in steps if op == "FROM"]
    assert len(stages) >= 2, "multi-stage build expected"
    assert all("slim" in stage for stage in stages) or any("slim" in args for op, args in steps if op == "ARG")
    runtime = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM") :]
    users = [args.strip() for op, args in runtime if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the runtime stage must run as non-root"
    assert any(op == "HEALTHCHECK" and "urllib.request" in args and "/health" in args for op, args in runtime)
    assert ("EXPOSE", str(port)) in runtime
    assert ("CMD", f'["python", "-m", "{module}"]') in runtime
    runs = " ".join(args for op, args in steps if op == "RUN")
    assert "pip install --no-cache-dir --disable-pip-version-check uv==0.13.9" in runs
    syncs = re.findall(r"uv sync ([^&;]*)", runs)
    assert syncs and all(f"--frozen --no-dev --package {package}" in s for s in syncs)
    assert not re.search(r"--all-groups|--group|--all-packages|--all-extras", runs)
    copies = [args for op, args in steps if op == "COPY"]
    assert not any("tests" in c or "training" in c or c.split()[0] == "." for c in copies), copies
    assert any(c.startswith("--from=builder") for c in copies)


def test_ai_image_ships_models_not_training() -> None:
    text = dockerfile("ai")
    assert "train" not in " ".join(
        args for op, args in instructions(text) if op in ("RUN", "COPY") if "uv sync" in args or op == "COPY"
    )
    artifacts = ROOT / "services/ai/src/ai_service/artifacts"
    assert list(artifacts.glob("*.onnx")), "the ONNX artifacts moved; the ai image would ship without them"
    assert "COPY services/ai/src services/ai/src" in text
    assert "--no-editable" in text, "the artifacts are baked in by installing the package non-editable"


def test_dockerignore() -> None:
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for needed in (".venv", ".tools", ".run", ".git", "**/__pycache__", ".env", "bench", "services/ai/training"):
        assert needed in patterns, f".dockerignore should exclude {needed}"
    for kept in ("uv.lock", "pyproject.toml", "shared", "services", "sandbox", "launcher"):
        assert kept not in patterns
    for name in APPS:  # nothing a Dockerfile copies is ignored
        for op, args in instructions(dockerfile(name)):
            if op == "COPY" and not args.startswith("--from"):
                for source in args.split()[:-1]:
                    assert (ROOT / source).exists(), f"{name}: COPY {source} does not exist"
                    assert not any(source == p or source.startswith(p.rstrip("/") + "/") for p in patterns)
