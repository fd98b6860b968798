# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run run-cluster test install lint bench eval soak clean chromium cluster-deps

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

## The same processes on a six-node Redis Cluster (sharded pub/sub) with image jobs on RabbitMQ, all on
## loopback. Needs Debian's redis-server and rabbitmq-server (`make cluster-deps`, as root).
run-cluster: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m devtools.run_cluster -- $(BIN)/honcho start -f Procfile

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

## Debian's redis-server (7.x: sharded pub/sub) and rabbitmq-server for the cluster and RabbitMQ tests
## (tests/cluster) and `make run-cluster`; needs root. Without them those tests are skipped, saying why.
cluster-deps:
	(test -x /usr/bin/redis-server && test -x /usr/lib/rabbitmq/bin/rabbitmq-server) || \
	  (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server rabbitmq-server)

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m bench

## Known topics and the open-vocabulary sets, for lexicon-only, embedding-only and combined matchers.
eval: $(STAMP)
	$(BIN)/python -m bench.eval_open_vocab

clean:
	rm -rf $(VENV) data .pytest_cache
