# Marque: the README's two commands are `make up` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SERVICES := $(patsubst services/%/pyproject.toml,%,$(wildcard services/*/pyproject.toml))
EDITABLES := -e libs/proto -e 'libs/kit[testing,dev]' $(foreach s,$(SERVICES),-e services/$(s)) \
             $(if $(wildcard gateway/pyproject.toml),-e gateway)

.PHONY: install up down test test-fast lint format protos bench clean node

$(STAMP): constraints.txt $(wildcard libs/*/pyproject.toml services/*/pyproject.toml gateway/pyproject.toml)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt $(EDITABLES)
	touch $(STAMP)

install: $(STAMP) node

## make up: databases, migrations, every service as a real process, demo data, URLs. Ctrl-C stops.
up: install
	$(BIN)/marque up

down:
	@test -x $(BIN)/marque && $(BIN)/marque down || true

## make test: every test (unit, integration, contract, e2e) against local PostgreSQL and RabbitMQ.
test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy libs/kit/src $(foreach s,$(SERVICES),services/$(s)/src) $(wildcard gateway/src)

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; } >/dev/null 2>&1 \
	  || echo "wrk is not available; the HTTP figures use the Python client"
	$(PY) -m bench

clean:
	rm -rf $(VENV) node_modules .run

include mk/protos.mk
