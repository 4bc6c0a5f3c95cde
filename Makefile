# Two commands matter: `make demo` (the whole pipeline on an embedded PostgreSQL)
# and `make test` (lint, unit and end-to-end tests). The rest are the steps they use;
# `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
DAYS ?= 14
SCALE ?= 0.01
DAGSTER_PORT ?= 3000
DAGSTER_HOME := $(CURDIR)/.warehouse/dagster
export PATH := $(BIN):$(PATH)
export DBT_PROFILES_DIR := $(CURDIR)
# The embedded server's passwords (written by `webshop db start`), for dbt and psql; with
# PGHOST set, libpq's own PGPASSFILE or ~/.pgpass serves your server.
ifeq ($(PGHOST),)
export PGPASSFILE ?= $(CURDIR)/.warehouse/pgpass
endif

.PHONY: help setup spark-setup metricflow demo test lint db-start db-stop db-status db-url db-destroy \
	load-day build docs orchestrate dashboard system-deps clean test-spark

help: ## List the targets
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-z][a-z -]*:.*## / {printf "  make %-25s %s\n", $$1, $$2}' \
		$(MAKEFILE_LIST)

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# A newer example replaces profiles.yml (kept as profiles.yml.bak): it only reads variables.
profiles.yml: profiles.yml.example
	@if [ -f $@ ]; then cp $@ $@.bak && echo "profiles.yml: updated from profiles.yml.example (old one: profiles.yml.bak)"; fi
	cp profiles.yml.example profiles.yml

setup: $(VENV)/.installed profiles.yml ## Virtualenv, dbt packages, profiles.yml
	webshop deps

# Apache Spark (README "Apache Spark"): dbt-spark's session method and pyspark (about
# 490 MB, a local JVM: Java 17 or 21) into the project's virtualenv, only when asked, so
# that `make demo` on PostgreSQL stays light. The pins of requirements.lock stay as they
# are. Then `webshop load --target spark --days 3` and `dbt build --target spark`.
$(VENV)/.spark-installed: $(VENV)/.installed requirements-spark.lock
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock \
		-r requirements-spark.lock
	touch $@

spark-setup: setup $(VENV)/.spark-installed ## dbt-spark and pyspark in .venv (Java 17 or 21)
	@if command -v java >/dev/null; then java -version 2>&1 | head -1; \
	else echo "spark-setup: no java on PATH; Spark needs Java 17 or 21"; fi

# MetricFlow (`mf`, the semantic layer's query tool) in a virtualenv of its own: its pins
# are not the project's (requirements-mf.lock). `make metricflow`, then `dbt parse` and
# `.venv-mf/bin/mf query --metrics orders,revenue --group-by metric_time__week`.
VENV_MF := .venv-mf
$(VENV_MF)/.installed: requirements-mf.lock
	$(PYTHON) -m venv $(VENV_MF)
	$(VENV_MF)/bin/pip install --quiet --disable-pip-version-check -r requirements-mf.lock
	touch $@

metricflow: $(VENV_MF)/.installed ## MetricFlow (mf) in .venv-mf, from requirements-mf.lock

# The embedded PostgreSQL is used unless PGHOST points at another server.
db-start: setup ## Start the embedded PostgreSQL (skipped when PGHOST is set)
	$(if $(PGHOST),@echo "PGHOST=$(PGHOST): using that server",webshop db start)

db-stop db-status db-url: $(VENV)/.installed ## The embedded server: stop, status, URL
	webshop db $(subst db-,,$@)

# Deleting the warehouse's data is never a side effect: this asks first.
db-destroy: $(VENV)/.installed ## Stop the embedded server and delete its data (asks)
	webshop db destroy

demo: db-start ## Load 14 days, dbt build, show the marts
	webshop load --days $(DAYS) --scale $(SCALE) --only-if-empty
	dbt build
	webshop summary
	webshop marts

# Replay the next night: one more batch, then an incremental build. Only a night whose
# batch has landed (up to now); FUTURE=1 replays the next one ahead of time.
# Unit tests check the code, which a night does not change: the nightly build leaves them
# to CI (make test) and the full build.
load-day: db-start ## Load the next night (FUTURE=1: even ahead of time), then dbt build
	webshop load --days 1 $(if $(FUTURE),--future,--until today)
	dbt build --exclude-resource-type unit_test

docs: db-start ## dbt docs on http://localhost:8080
	dbt docs generate
	dbt docs serve --port 8080

# The dashboards (dashboards/, Evidence): built from the current marts, served on 127.0.0.1.
DASHBOARD_PORT ?= 3001
dashboard: db-start ## Dashboards on http://127.0.0.1:$DASHBOARD_PORT (default 3001)
	python -m webshop.dashboard --port $(DASHBOARD_PORT)

# The Dagster UI and daemon: the nightly schedule, backfills, run history and alerts
# (orchestration/). Run history lives in .warehouse/dagster.
orchestrate: db-start ## Dagster UI on http://127.0.0.1:$DAGSTER_PORT (default 3000)
	mkdir -p $(DAGSTER_HOME)
	cp orchestration/dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	@echo "Dagster UI: http://127.0.0.1:$(DAGSTER_PORT) (nightly at 00:30 UTC while it runs; Ctrl-C stops it)"
	DAGSTER_HOME=$(DAGSTER_HOME) dagster dev -w orchestration/workspace.yaml \
		-h 127.0.0.1 -p $(DAGSTER_PORT)

lint: setup ## ruff, mypy, sqlfluff
	ruff check src orchestration pytests
	ruff format --check src orchestration pytests
	mypy
	sqlfluff lint models macros analyses tests snapshots

# What some tests need besides Python: Debian's PostgreSQL 15 server binaries, Chromium,
# Node.js and Java (Spark). Installed when missing if we are root with apt-get; otherwise
# those tests are skipped.
system-deps: ## PostgreSQL 15, Chromium, Node.js, Java for the tests (apt-get)
	@missing=""; \
	[ -x /usr/lib/postgresql/15/bin/postgres ] || missing="$$missing postgresql-15"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	command -v java >/dev/null || missing="$$missing openjdk-17-jre-headless"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
		echo "not installed:$$missing (the tests that need them are skipped)"; \
	fi

# Two workers: the tests of a module share a worker (pytests/conftest.py). The Spark
# tests are part of it (the extra is installed on first use).
test: spark-setup metricflow system-deps ## Lint, unit and end-to-end tests (both engines)
	pytest -n 2 --dist loadfile --durations=25

# The Spark tests alone (marker spark): the raw loader, and the warehouse's incremental
# nights on Spark against a full refresh and against PostgreSQL (about 7 minutes).
test-spark: spark-setup system-deps ## The Spark tests: loader, the warehouse on both engines
	pytest -m spark --durations=10

# Build output only, as `dbt clean` does; the data stays (`make db-destroy` deletes it).
clean: ## Delete build output (target, dbt_packages, logs); the data stays
	rm -rf target dbt_packages logs
