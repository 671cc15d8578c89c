# The two commands: `make run` (set up and serve the gateway) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
# The runner listens next to the web server (PORT+1) on loopback, unless told otherwise:
# two checkouts on different PORTs do not collide.
RUNNER_PORT := $(shell expr $(PORT) + 1)

.PHONY: run test soak bench install install-dev lint format migrate screenshots clean

# (Re)install when a lock changes; the stamp files record the last install. The runtime
# (requirements.txt) is all `make run` needs; the test tools (requirements-dev.txt) are
# added for `make test`.
$(VENV)/.installed: requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

# Node tools the tests run (the OpenAPI linter, Spectral), pinned by tools/package-lock.json.
tools/node_modules/.installed: tools/package.json tools/package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the OpenAPI lint: apt-get install -y npm" >&2; exit 1; }
	npm ci --prefix tools --no-audit --no-fund --silent
	@touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev tools/node_modules/.installed

# Local development: DEBUG on (a development SECRET_KEY is allowed), SQLite under var/,
# the sandbox demo seeded on first run; the web server and the session runner together
# (Procfile, run by honcho: web, runner and webhook delivery; Ctrl-C stops all three).
run: export DEBUG ?= 1
run: export LOG_FORMAT ?= text
run: export HOST := $(HOST)
run: export GATEWAY_WEBHOOK_ALLOW_PRIVATE ?= 1
run: export GATEWAY_RUNNER_URL ?= http://127.0.0.1:$(RUNNER_PORT)
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seeddemo
	@echo "web:    http://$(HOST):$(PORT)"
	@echo "runner: $$GATEWAY_RUNNER_URL"
	$(BIN)/honcho start --port $(PORT)

# pytest exits 5 when it collects no test (e.g. a PYTEST_ARGS selection that matches
# nothing): that is not a failure of the code. The suite runs on TEST_WORKERS processes
# (pytest-xdist; one per core here), each with its own test database.
TEST_WORKERS ?= 2
test: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PYTHONPATH=. $(BIN)/mypy
	$(BIN)/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS) || [ $$? -eq 5 ]

# Endurance tests (a minute or more each; `make test` leaves them out).
soak: install-dev
	$(BIN)/pytest -m soak $(PYTEST_ARGS) || [ $$? -eq 5 ]

# The benchmarks behind docs/benchmarks.md, each writing its table to docs/bench/<name>.txt.
# They need wrk and nginx (installed here when run as root; otherwise the command is shown)
# and PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth). BENCHES picks some.
BENCHES ?= runner_hop jwt_verify auth_cost worker_memory http_load hostile_create runner_fleet webhooks floods
bench: install-dev
	@{ command -v wrk && { command -v nginx || test -x /usr/sbin/nginx; }; } >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light >/dev/null; \
	  else echo "the benchmarks need wrk and nginx: sudo apt-get install -y wrk nginx-light" >&2; exit 1; fi; }
	@pg_isready -q -h 127.0.0.1 -p 5432 || { echo "the benchmarks need PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth)" >&2; exit 1; }
	@mkdir -p docs/bench
	@for name in $(BENCHES); do \
	  echo "== bench/$$name.py"; \
	  $(BIN)/python bench/$$name.py > docs/bench/$$name.txt || exit 1; \
	  cat docs/bench/$$name.txt; \
	done

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PYTHONPATH=. $(BIN)/mypy

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: install
	$(BIN)/python manage.py migrate --noinput

# Refresh the README's screenshots (docs/img/) with the browser tests (needs Chromium).
screenshots: install-dev
	GATEWAY_SCREENSHOTS_DIR=docs/img GATEWAY_BROWSER_TESTS=required $(BIN)/pytest tests/test_browser.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
