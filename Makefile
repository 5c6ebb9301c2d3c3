# The two commands: `make run` (the product on its embedded defaults) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8000
PYTEST_ARGS ?=

.PHONY: run test install browser-deps fuzz bench soak clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

install: $(STAMP)

## make run: SQLite + filesystem store + inline jobs + invoice payments, seeded demo, port $(PORT)
run: $(STAMP)
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
