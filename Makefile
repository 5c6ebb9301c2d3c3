# The two commands: `make run` (the product on its embedded defaults) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RUNTIME_STAMP := $(VENV)/.installed-runtime
# Installs come from the hashed lock files (requirements/*.lock, made by `make lock`); pip refuses
# anything whose hash differs. The project itself is installed on top, without resolving again.
PIP    := $(BIN)/python -m pip install -q --disable-pip-version-check
# setuptools warns on every editable install that a folder named like a package shadows it;
# here that folder IS the package (the checkout), so the warning says nothing.
EDITABLE := PYTHONWARNINGS="ignore:Editable installation" $(PIP) --no-deps -e .
PORT   ?= 8000
PYTEST_ARGS ?=
UV     ?= uv

.PHONY: run test install browser-deps fuzz bench soak clean lock

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

## the runtime alone (what `make run` and the image need)
$(RUNTIME_STAMP): requirements/runtime.lock pyproject.toml | $(VENV)/bin/python
	$(PIP) --require-hashes -r requirements/runtime.lock
	$(EDITABLE)
	@touch $@

## the runtime plus the test, lint and benchmark tools (`make test`)
$(STAMP): requirements/dev.lock pyproject.toml | $(VENV)/bin/python
	$(PIP) --require-hashes -r requirements/dev.lock
	$(EDITABLE)
	@touch $@ $(RUNTIME_STAMP)

install: $(STAMP)

## make lock: resolve pyproject.toml again into the hashed lock files (needs uv: pip install uv)
lock:
	$(UV) pip compile pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes --no-header -q -o requirements/dev.lock
	$(UV) pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --no-header -q -c requirements/dev.lock -o requirements/runtime.lock

## make run: SQLite + filesystem store + inline jobs + invoice payments, seeded demo, port $(PORT),
## under gunicorn (threaded workers); runtime dependencies only
run: $(RUNTIME_STAMP)
	$(BIN)/marketplace db upgrade
	$(BIN)/marketplace seed --if-empty
	PORT=$(PORT) $(BIN)/marketplace serve

## Browser tests drive Debian's chromium through Playwright (executable_path).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; }

## make test: installs, starts PostgreSQL/Redis (if not running), moto's S3 server and SeaweedFS's S3 gateway, runs everything (and the lint gate), stops them.
test: $(STAMP) browser-deps
	@mkdir -p build
	$(BIN)/python infra/scripts/testenv.py -- $(BIN)/python -m pytest -q --junitxml=build/junit.xml $(PYTEST_ARGS)

## make fuzz: the schemathesis runs of every API operation, long (FUZZ_EXAMPLES per operation
## in process, FUZZ_SECONDS per CLI run against the seeded demo on both backends and both keys).
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-300} FUZZ_SECONDS=$${FUZZ_SECONDS:-600} FUZZ_SEED= HYPOTHESIS_PROFILE=explore $(BIN)/python infra/scripts/testenv.py -- \
	  $(BIN)/python -m pytest -q tests/reliability/test_schemathesis.py tests/reliability/test_schemathesis_cli.py tests/kernel/test_bad_input.py

bench: $(STAMP)
	$(BIN)/python infra/scripts/testenv.py -- $(BIN)/python benchmarks/run_all.py

SOAK_SECONDS ?= 120
soak: $(STAMP)
	$(BIN)/python infra/scripts/testenv.py -- $(BIN)/python benchmarks/soak $(SOAK_SECONDS)

clean:
	rm -rf $(VENV) build instance .pytest_cache
