# Two commands do everything: `make run` starts the system, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium

.PHONY: run test install lint typecheck pytest bench histories chromium postgresql clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Start the dev server (UI on :8233, SQLite under .data/), the worker and the ingress.
run: $(STAMP)
	$(BIN)/escalate dev

## Debian's Chromium for the browser tests (Playwright's own download cannot run here).
chromium:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }
	@test -x $(CHROMIUM)

## Debian's PostgreSQL for the case record store tests (they start a private cluster).
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy domain workflows activities workers starters service bench records ingress reports

# The stress test (one case flooded with 15,000 messages) runs alone after the rest: beside
# it, a browser test's live update waited over 40 s for a CPU.
pytest: $(STAMP) chromium postgresql
	$(BIN)/pytest -q -p no:cacheprovider -n 2 -m "not stress"
	$(BIN)/pytest -q -p no:cacheprovider -m stress

test: lint typecheck pytest

## SLA breach lateness against a bare sleeping workflow (N=1000 cases by default), then a long
## case against a bare inbox (M=5000 messages into one case by default), then signed webhooks
## through the ingress against bare signal-with-start calls (W=50 per second for 60 s by default),
## then agents' console replies to open chat pages against bare signals (C=100 pages by default).
bench: $(STAMP)
	$(BIN)/python -m bench.sla_lateness $(if $(N),--cases $(N),)
	$(BIN)/python -m bench.long_case $(if $(M),--messages $(M),)
	$(BIN)/python -m bench.webhook_ingest $(if $(W),--rate $(W),)
	$(BIN)/python -m bench.chat $(if $(C),--pages $(C),)
	$(BIN)/python -m bench.operations_report $(if $(R),--cases $(R),)

## Re-record the workflow histories that CI replays (after an intended, versioned change).
histories: $(STAMP)
	ESCALATE_RECORD_HISTORIES=1 $(BIN)/pytest -q tests/workflows/test_replay.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
