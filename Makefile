# anpr-engine: `make demo` runs the main job, `make test` the whole suite; both set everything up themselves.
PYTHON_SYS ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PYTHON := $(abspath $(BIN)/python)
# Numba compiles kernels once and caches them next to the sources (cache=True).

.PHONY: venv browser kafka-up kafka-down lint docs test test-outage test-unit test-cluster test-federation demo demo-federation console screenshots bench bench-federation schemas clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON_SYS) >/dev/null || { echo "error: $(PYTHON_SYS) not found: install Python 3.11+"; exit 1; }
	@$(PYTHON_SYS) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "error: Python 3.11+ needed"; exit 1; }
	$(PYTHON_SYS) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# The console's browser tests drive Debian's chromium through chromium-driver (Playwright's downloads
# are not reachable here); installed once when missing (as root, or through sudo).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y -q chromium chromium-driver >/dev/null || \
	  { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q chromium chromium-driver >/dev/null; }; }

kafka-up: venv
	kafka/kafka.sh up

kafka-down:
	kafka/kafka.sh down

lint: venv
	$(BIN)/ruff check anpr_engine anpr_simulators benchmarks tests
	$(BIN)/ruff format --check anpr_engine anpr_simulators benchmarks tests
	$(BIN)/mypy

schemas: venv
	$(BIN)/anpr-engine schemas schemas

# The documentation (mkdocs.yml, docs/) served at http://127.0.0.1:8000/ while it is edited.
# NO_MKDOCS_2_WARNING silences Material for MkDocs' end-of-life banner (docs/design.md, Libraries).
docs: venv
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

# The documentation built with --strict first (a broken link or anchor fails), into site/ (ignored).
# Two pytest workers, a file each at a time (the integration tests mostly wait on the broker).
test: venv lint browser
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site
	kafka/with-broker.sh $(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=25 -m "not broker_restart"

# The single-broker outage tests (they stop and start the local broker): not in `make test` while
# librdkafka 2.15.1 can leave a coordinator connection wedged after the only broker restarts
# (docs/kafka-client.md).
test-outage: venv
	kafka/with-broker.sh $(BIN)/python -m pytest -q -s -m broker_restart


# Failure tests on a local three-broker cluster (started and stopped here; about 6 minutes).
test-cluster: venv
	kafka/kafka.sh up --brokers 3
	ANPR_KAFKA_BOOTSTRAP=$$(kafka/kafka.sh bootstrap --brokers 3) ANPR_KAFKA_CLUSTER=3 \
	  $(BIN)/python -m pytest -q -s -m cluster tests/cluster; rc=$$?; kafka/kafka.sh down --brokers 3; exit $$rc

# The federation on three local single-node clusters (nl, be, jc) and MirrorMaker 2 between them, then the
# same secured (TLS, SCRAM, ACLs: --federation --secure, tests/federation/test_federation_secure.py), each
# started and stopped here, stopped whatever the tests do (docs/federation.md; the secured part adds
# about 1½ minutes).
FEDERATION_SECURE_TESTS := tests/federation/test_federation_secure.py
test-federation: venv
	kafka/kafka.sh up --federation && \
	  ANPR_FEDERATION_NL=$$(kafka/kafka.sh bootstrap --federation nl) ANPR_FEDERATION_BE=$$(kafka/kafka.sh bootstrap --federation be) \
	  ANPR_FEDERATION_JC=$$(kafka/kafka.sh bootstrap --federation jc) \
	  $(BIN)/python -m pytest -q -s -m federation tests/federation --ignore=$(FEDERATION_SECURE_TESTS); plain=$$?; \
	kafka/kafka.sh down --federation; \
	kafka/kafka.sh up --federation --secure && \
	  ANPR_FEDERATION_SECURE_NL=$$(kafka/kafka.sh bootstrap --federation --secure nl) \
	  ANPR_FEDERATION_SECURE_BE=$$(kafka/kafka.sh bootstrap --federation --secure be) \
	  ANPR_FEDERATION_SECURE_JC=$$(kafka/kafka.sh bootstrap --federation --secure jc) \
	  ANPR_FEDERATION_SECURE_STATE=$${ANPR_KAFKA_FEDERATION_SECURE_STATE:-$${ANPR_KAFKA_FEDERATION_STATE:-.kafka-federation-secure}} \
	  $(BIN)/python -m pytest -q -s -m federation $(FEDERATION_SECURE_TESTS); secure=$$?; \
	kafka/kafka.sh down --federation --secure; \
	echo "test-federation: plain $$([ $$plain = 0 ] && echo passed || echo FAILED), secured $$([ $$secure = 0 ] && echo passed || echo FAILED)"; \
	[ $$plain = 0 ] && [ $$secure = 0 ]

test-unit: venv
	$(BIN)/python -m pytest -q tests/unit

demo: venv
	kafka/with-broker.sh ./demo.sh

# The federation demo (demo-federation.sh): a federation already up is used and left running, one
# started here is stopped.
demo-federation: venv
	kafka/with-federation.sh ./demo-federation.sh

# The federation's benchmarks (benchmarks/federation.py), merged into benchmarks/results/latest.json.
bench-federation: venv
	kafka/with-federation.sh $(BIN)/python -m benchmarks.federation $(BENCH_FEDERATION_ARGS)

# The operator console alone against the local broker, login disabled (a local demo: the page says so).
console: venv
	kafka/with-broker.sh env ANPR_CONSOLE_AUTH=$${ANPR_CONSOLE_AUTH:-none} $(BIN)/anpr-console $(CONSOLE_ARGS)

# The docs' screenshots (docs/screenshots), taken by the browser tests from a demo run.
screenshots: venv browser
	DEMO_SCREENSHOTS=docs/screenshots kafka/with-broker.sh ./demo.sh

bench: venv
	kafka/with-broker.sh $(BIN)/python -m benchmarks.run $(BENCH_ARGS)
	$(MAKE) bench-federation

clean:
	rm -rf $(VENV) .kafka .kafka-federation .kafka-federation-secure demo-out site .mypy_cache .ruff_cache .pytest_cache
