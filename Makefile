# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint bench eval soak clean chromium

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Start Redis (embedded unless REDIS_URL is set), gateway :8001, notifier :8010 and one worker.
## One process of each unless GATEWAY_PROCESSES / NOTIFIER_PROCESSES say otherwise.
run: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" GATEWAY_PROCESSES="$${GATEWAY_PROCESSES:-1}" \
		$(BIN)/python -m devtools.redis_server -- $(BIN)/honcho start -f Procfile

## Install everything and run the whole suite (real Redis, real processes).
test: $(STAMP)
	$(BIN)/ruff check .
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q

## The reliability suite's long runs (tests/reliability, RELIABILITY.md): more kills, restarts, load and
## fuzzed requests than the fast variants that `make test` runs. About 6 minutes; loopback only.
soak: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" RELIABILITY_SOAK=1 $(BIN)/python -m pytest -q -o timeout=1800 tests/reliability

## Debian's Chromium for the browser tests (tests/browser); needs root. Without it they are skipped.
## Playwright drives this binary: `playwright install` (a browser download) is never used.
chromium:
	test -x /usr/bin/chromium || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m bench

eval: $(STAMP)
	$(BIN)/python bench/eval_moderation.py

clean:
	rm -rf $(VENV) data .pytest_cache
