# Tongban: `make run` serves the demo, `make test` runs every gate. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export TONGBAN_DATABASE_URL ?= sqlite:///$(CURDIR)/var/tongban.sqlite3

.PHONY: run run-peer test fuzz lint typecheck install bench clean

run: $(STAMP)
	@scripts/system-deps.sh fonts
	@mkdir -p var
	$(BIN)/tongban migrate --no-input -v1
	$(BIN)/tongban demo seed --if-empty
	$(BIN)/honcho start -f Procfile

# 跨省通办: a second demo province (广东省 44) on port 8001, beside `make run` (README).
run-peer: $(STAMP)
	scripts/demo-peer.sh

test: $(STAMP)
	scripts/test.sh

# Every API operation, fuzzed as each role against the served schema (also part of `make test`).
fuzz: $(STAMP)
	scripts/fuzz.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy tongban

install: $(STAMP)

# Reinstall whenever a dependency list changes. npm installs the front-end packages served as
# static files (ECharts) exactly as package-lock.json pins them.
$(STAMP): pyproject.toml package.json package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

clean:
	rm -rf $(VENV) var node_modules
