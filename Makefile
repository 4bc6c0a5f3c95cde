# Two commands matter: `make demo` (the whole pipeline on an embedded PostgreSQL)
# and `make test` (lint, unit and end-to-end tests). The rest are the steps they use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
DAYS ?= 14
SCALE ?= 0.01
export PATH := $(BIN):$(PATH)
export DBT_PROFILES_DIR := $(CURDIR)
# The embedded server's passwords (written by `webshop db start`), for dbt and psql; with
# PGHOST set, libpq's own PGPASSFILE or ~/.pgpass serves your server.
ifeq ($(PGHOST),)
export PGPASSFILE ?= $(CURDIR)/.warehouse/pgpass
endif

.PHONY: setup metricflow demo test lint db-start db-stop db-status db-url load-day build docs dashboard clean

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# A newer example replaces profiles.yml (kept as profiles.yml.bak): it only reads variables.
profiles.yml: profiles.yml.example
	@if [ -f $@ ]; then cp $@ $@.bak && echo "profiles.yml: updated from profiles.yml.example (old one: profiles.yml.bak)"; fi
	cp profiles.yml.example profiles.yml

setup: $(VENV)/.installed profiles.yml
	webshop deps

# MetricFlow (`mf`, the semantic layer's query tool) in a virtualenv of its own: its pins
# are not the project's (requirements-mf.lock). `make metricflow`, then `dbt parse` and
# `.venv-mf/bin/mf query --metrics orders,revenue --group-by metric_time__week`.
VENV_MF := .venv-mf
$(VENV_MF)/.installed: requirements-mf.lock
	$(PYTHON) -m venv $(VENV_MF)
	$(VENV_MF)/bin/pip install --quiet --disable-pip-version-check -r requirements-mf.lock
	touch $@

metricflow: $(VENV_MF)/.installed

# The embedded PostgreSQL is used unless PGHOST points at another server.
db-start: setup
	$(if $(PGHOST),@echo "PGHOST=$(PGHOST): using that server",webshop db start)

db-stop db-status db-url: $(VENV)/.installed
	webshop db $(subst db-,,$@)

demo: db-start
	webshop load --days $(DAYS) --scale $(SCALE) --only-if-empty
	dbt build
	webshop summary
	webshop marts

# Replay the next night: one more batch, then an incremental build.
load-day: db-start
	webshop load --days 1
	dbt build

docs: db-start
	dbt docs generate
	dbt docs serve --port 8080

# The dashboards (dashboards/, Evidence): built from the current marts, served on 127.0.0.1.
DASHBOARD_PORT ?= 3001
dashboard: db-start
	python -m webshop.dashboard --port $(DASHBOARD_PORT)

lint: setup
	ruff check src pytests
	ruff format --check src pytests
	mypy
	sqlfluff lint models macros analyses tests snapshots

test: setup metricflow
	pytest

clean:
	-webshop db stop
	rm -rf target dbt_packages logs .warehouse
