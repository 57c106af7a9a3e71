# Marfiq: `make run` starts the platform, `make test` runs every test. Nothing else to install.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

PACKAGES := shared gateway identity-service correspondence-service complaints-service pensions-service

.PHONY: install run run-distributed test test-fast lint format bench clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: $(UV) uv.lock pyproject.toml $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

install: $(VENV)/.installed

run: install  ## embedded mode: one process, embedded Postgres, in-process events
	$(BIN)/marfiq run

run-distributed: install  ## one process per service against DATABASE_URL / AMQP_URL
	$(BIN)/marfiq run-distributed

# Each package's tests run from its own folder so that same-named test modules never meet.
test: install lint
	@failed=0; for dir in $(PACKAGES) tests; do \
	  target=tests; [ $$dir = tests ] && target=.; \
	  echo "== $$dir"; \
	  (cd $$dir && ../$(BIN)/pytest -c ../pyproject.toml --rootdir . -q $$target $(PYTEST_ARGS)) || failed=1; \
	done; \
	exit $$failed

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install  ## measurements, not tests: prints the figures the README records
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .tools var
