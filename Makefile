# One command per habit: make demo | make test | make check | make bench
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2
SOAK_MINUTES ?= 10
SOAK_RATE ?= 2000

.PHONY: install demo test check lint typecheck bench services clean reliability soak

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=25.1"
	$(BIN)/python -m pip install -q -e '.[all]' --group dev
	touch $(STAMP)

install: $(STAMP)

## The main job: price a realistic mix of calls end to end and print the cost report.
demo: $(STAMP)
	$(BIN)/otel-llmcost demo

## The whole suite, with the services it needs installed and started.
test: $(STAMP)
	scripts/services.sh ensure
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -p no:cacheprovider tests

## Fault injection alone (it also runs in `make test`): kills, outages, unreachable peers.
reliability: $(STAMP)
	scripts/services.sh ensure
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -p no:cacheprovider tests/reliability

## Not in CI: SOAK_MINUTES at SOAK_RATE spans/s; memory and error counters must stay flat.
soak: $(STAMP)
	$(BIN)/python scripts/soak.py --minutes $(SOAK_MINUTES) --rate $(SOAK_RATE)

check: lint typecheck

lint: $(STAMP)
	$(BIN)/ruff check otel_llmcost tests scripts benchmarks
	$(BIN)/ruff format --check otel_llmcost tests scripts benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

## Every benchmark and its target; PostgreSQL and Redis figures need the services started.
bench: $(STAMP)
	scripts/services.sh ensure
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
