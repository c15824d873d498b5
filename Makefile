# duoduo: `make demo` to try it, `make test` to check it.
VENV := .venv
PY := $(VENV)/bin/python
CONF := trytond.conf
DEMO_DB := demo
PG_URI ?= postgresql://postgres@127.0.0.1:5432/
PYTEST := $(PY) -m pytest -p no:cacheprovider
# SQLite wants an absolute directory (see trytond.conf)
export TRYTOND_DATABASE__PATH := $(CURDIR)/var

.PHONY: install demo demo-db serve test test-tools test-sqlite \
	test-postgresql clean

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

# sao's own dependencies must sit inside its folder (nested layout): trytond
# serves node_modules/tryton-sao as the web root.
node_modules/.installed: package.json
	npm install --install-strategy=nested --omit=dev --no-audit --no-fund
	touch $@

# Create or upgrade var/demo.sqlite and load the demo data; safe to repeat.
# An upgrade first activates addons a new release made dependencies of
# duoduo_api (--all alone refuses a graph with inactive dependencies).
demo-db: install
	mkdir -p var
	PYTHON=$(PY) bin/check-demo-db var/$(DEMO_DB).sqlite
	if [ ! -s var/$(DEMO_DB).sqlite ]; then \
		touch var/$(DEMO_DB).sqlite; \
		head -c 24 /dev/urandom | base64 > var/.adminpass; \
		TRYTONPASSFILE=var/.adminpass $(VENV)/bin/trytond-admin -c $(CONF) \
			-d $(DEMO_DB) --all --email admin@example.com; \
	else \
		$(VENV)/bin/trytond-admin -c $(CONF) -d $(DEMO_DB) -u duoduo_api \
			--activate-dependencies && \
		$(VENV)/bin/trytond-admin -c $(CONF) -d $(DEMO_DB) --all; \
	fi
	$(VENV)/bin/trytond-admin -c $(CONF) -d $(DEMO_DB) -u duoduo_api \
		--activate-dependencies -l zh_CN
	$(VENV)/bin/duoduo-demo-data -c $(CONF) -d $(DEMO_DB)

# The finance reports' PDFs need LibreOffice: installed as for the tests;
# without it (no root, no sudo) the demo still runs and the reports say so.
serve:
	bin/ensure-libreoffice || echo "LibreOffice missing: reports export ODS only" >&2
	VENV=$(VENV) CONF=$(CONF) DB=$(DEMO_DB) bin/demo-serve

demo: demo-db serve

# Both backends side by side (PostgreSQL's run waits on its server as much
# as it computes); each run's output is shown whole when it ends, and the
# target fails when either run fails.
test: install
	@echo "pytest on SQLite and on PostgreSQL side by side (output when each ends)"
	$(MAKE) -j2 --output-sync=target test-sqlite test-postgresql

test-tools:
	bin/ensure-chromium
	bin/ensure-libreoffice

test-sqlite: test-tools
	$(PYTEST) -q

test-postgresql: test-tools
	bin/ensure-postgresql
	TRYTOND_DATABASE_URI=$(PG_URI) $(PYTEST) -q

clean:
	rm -rf var test-artifacts
