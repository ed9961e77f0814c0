# One image recipe for every Python part of the suite: the five services and the upstream sandbox.
# Build from the repository root; build args pick the package (docker-compose.yml passes them for each image):
#
#   docker build -t crypto-suite/market --build-arg SERVICE=market --build-arg PACKAGE=market-service \
#     --build-arg SOURCE=services/market --build-arg MODULE=market_service --build-arg PORT=8101 .
#   docker build -t crypto-suite/ai --target ai --build-arg SERVICE=ai --build-arg PACKAGE=ai-service \
#     --build-arg SOURCE=services/ai --build-arg MODULE=ai_service --build-arg PORT=8104 .
#
# The ai image is the `ai` target: the stage of that name adds the ONNX models. Every other image is the
# default (last) target. BuildKit is required (docker compose and buildx use it; with the classic CLI set
# DOCKER_BUILDKIT=1) for the cache mounts: all images share one pip and one uv download cache, so only the
# first build downloads the wheels.
#
# Build-only secret `ca_bundle` (optional): a CA bundle for machines behind a TLS-inspecting proxy, e.g.
#   --secret id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt
# It is mounted for the steps that reach PyPI and never stored in a layer.

# Any image with Python 3.11+ on PATH as `python3`, `groupadd`/`useradd` and `venv` (the official slim image
# has them; the container tests use a Debian-built stand-in).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm


# --- the Python image plus the unprivileged user the services run as ------------------------------------
FROM ${PYTHON_IMAGE} AS python

RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app


# --- builder: exactly the locked runtime dependencies of one package into /app/.venv -------------------
FROM python AS builder

ARG UV_VERSION=0.13.9
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_CACHE_DIR=/cache/uv \
    PIP_CACHE_DIR=/cache/pip \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# uv, pinned, in a virtualenv of its own (a Debian system Python refuses installs into itself).
RUN --mount=type=cache,id=crypto-suite-pip,target=/cache/pip \
    --mount=type=secret,id=ca_bundle \
    if [ -s /run/secrets/ca_bundle ]; then export PIP_CERT=/run/secrets/ca_bundle; fi \
 && python3 -m venv /opt/uv \
 && /opt/uv/bin/pip install --quiet "uv==${UV_VERSION}"

WORKDIR /src

# The workspace's metadata first (`--frozen` reads every member's pyproject.toml), so the dependency layer
# stays cached until uv.lock or a pyproject.toml changes.
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/
COPY services/market/pyproject.toml services/market/
COPY services/news/pyproject.toml services/news/
COPY services/sentiment/pyproject.toml services/sentiment/
COPY services/ai/pyproject.toml services/ai/
COPY services/stream/pyproject.toml services/stream/
COPY sandbox/pyproject.toml sandbox/
COPY launcher/pyproject.toml launcher/

# The uv package to install (market-service, ..., upstream-sandbox): it and its dependency closure only,
# never the dev or train groups. The workspace members themselves come in the next layer.
ARG PACKAGE
RUN --mount=type=cache,id=crypto-suite-uv,target=/cache/uv \
    --mount=type=secret,id=ca_bundle \
    test -n "${PACKAGE}" || { echo "build arg PACKAGE is required (e.g. market-service)" >&2; exit 1; }; \
    if [ -s /run/secrets/ca_bundle ]; then export SSL_CERT_FILE=/run/secrets/ca_bundle; fi \
 && /opt/uv/bin/uv sync --frozen --no-dev --package "${PACKAGE}" --no-install-workspace

# The package's own sources (SOURCE: its folder in the workspace) and the shared library.
ARG SOURCE
COPY shared/src shared/src
COPY ${SOURCE}/src ${SOURCE}/src

# `--no-editable` installs the workspace members as wheels, so the runtime stage needs no sources. The ai
# models are left out of the virtualenv: the `ai` stage adds them as a layer of their own.
RUN --mount=type=cache,id=crypto-suite-uv,target=/cache/uv \
    --mount=type=secret,id=ca_bundle \
    if [ -s /run/secrets/ca_bundle ]; then export SSL_CERT_FILE=/run/secrets/ca_bundle; fi \
 && /opt/uv/bin/uv sync --frozen --no-dev --package "${PACKAGE}" --no-editable \
 && rm -rf /app/.venv/lib/python3*/site-packages/ai_service/artifacts


# --- runtime: the virtualenv on a clean Python image, run by the unprivileged user ----------------------
FROM python AS runtime

# SERVICE: the name the process reports (SERVICE_NAME); MODULE: what `python -m` runs; PORT and
# PORT_VARIABLE: where it listens and the variable it reads that from; HEALTH_PATH: the liveness endpoint.
ARG SERVICE
ARG MODULE
ARG PORT
ARG PORT_VARIABLE
ARG HEALTH_PATH=/health/live

LABEL org.opencontainers.image.title="crypto-suite ${SERVICE}" \
      org.opencontainers.image.description="Unified crypto data API: the ${SERVICE} process" \
      org.opencontainers.image.licenses="Apache-2.0"

# Owned by root and read-only for the service user.
COPY --from=builder /app/.venv /app/.venv

ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SUITE_HOST=0.0.0.0 \
    SERVICE_NAME=${SERVICE} \
    SUITE_MODULE=${MODULE} \
    SUITE_PORT_VARIABLE=${PORT_VARIABLE} \
    SUITE_HEALTH_PATH=${HEALTH_PATH} \
    ${PORT_VARIABLE}=${PORT}

WORKDIR /app
USER app
EXPOSE ${PORT}

# Liveness only (the process answers HTTP): readiness, with Redis and NATS, is the richer /health. The port
# is read at run time, so an overridden <SERVICE>_PORT is still the one checked.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ[os.environ['SUITE_PORT_VARIABLE']] + os.environ['SUITE_HEALTH_PATH'], timeout=2)" || exit 1

# exec: the service is PID 1 and gets the stop signal itself.
CMD ["sh", "-c", "exec python -m \"$SUITE_MODULE\""]


# --- ai: the runtime plus the ONNX models and their metadata --------------------------------------------
FROM runtime AS ai

COPY services/ai/src/ai_service/artifacts/ /app/models/
ENV AI_MODEL_DIR=/app/models

# Fail the build if a model does not load, if the transformer would fall back to TF-IDF (the service would
# run, degraded, on the weaker model), or if a training library slipped into the image.
RUN python -c "import pathlib, sys; from ai_service.registry import load_registry; \
loaded = load_registry(pathlib.Path('/app/models')); bad = {**loaded.failures, **loaded.fallbacks}; \
sys.exit(f'models failed to load or fell back: {bad}' if bad else 0)" \
 && for library in torch transformers sklearn skl2onnx matplotlib onnx; do \
        ! python -c "import ${library}" 2>/dev/null || { echo "training library ${library} in the image" >&2; exit 1; }; \
    done


# --- every other image: the runtime as it is (the default target, so it must stay last) ----------------
FROM runtime AS service
