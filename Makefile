# ResolutionFlow: the README's commands. `make run` serves the app on embedded defaults;
# `make test` runs the whole suite against throwaway PostgreSQL and Redis.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint bench bench-analytics fake-ai fake-cw clean

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/activate
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(VENV)/bin/activate
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $(VENV)/.runtime $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: $(VENV)/.runtime node_modules/.installed
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py seed_demo
	$(PY) manage.py seed_demo_sessions
	$(PY) manage.py seed_demo_history
	$(PY) manage.py analyse_sessions --all
	@echo "Serving on http://$(HOST):$(PORT)/  (Ctrl+C to stop)"
	$(PY) manage.py runserver $(HOST):$(PORT)

test: $(VENV)/.dev node_modules/.installed
	.ci/services.sh $(PY) -m pytest $(PYTEST_ARGS)

# Hot-path latency as ratios in one run, on throwaway PostgreSQL + Redis.
bench: $(VENV)/.dev node_modules/.installed
	.ci/services.sh bash -c '$(PY) manage.py migrate --noinput -v0 && $(PY) manage.py bench'

# The analytics page's measurement alone (10,000 vs 100 sessions), a minute instead of several.
bench-analytics: $(VENV)/.dev node_modules/.installed
	.ci/services.sh bash -c '$(PY) manage.py migrate --noinput -v0 && $(PY) manage.py bench --only analytics'

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .

# A local fake of the Anthropic Messages API on 127.0.0.1, for demos and benchmarks.
fake-ai: $(VENV)/.runtime
	$(PY) manage.py fake_anthropic --port 8765

# A local fake of ConnectWise Manage on 127.0.0.1:8119 (run the app with CONNECTWISE_CLIENT_ID=fake-client-id).
fake-cw: $(VENV)/.runtime
	$(PY) manage.py fake_connectwise --port 8119

clean:
	rm -rf $(VENV) node_modules staticfiles .pytest_cache
