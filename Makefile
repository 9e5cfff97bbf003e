# Headway: `make run` serves the demo, `make test` runs every test. Both bootstrap from scratch.
PYTHON ?= python3.13
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
PYTEST_ARGS ?=
# Python only: ruff would also reformat code blocks inside the Markdown docs.
PY_SOURCES := src tests benchmarks manage.py
export HEADWAY_DATA_DIR ?= $(CURDIR)/data

.PHONY: run test check bootstrap clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the lock or the package metadata changes.
$(VENV)/.installed: $(BIN)/python requirements.lock pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

bootstrap: $(VENV)/.installed

# Front-end libraries (chart.js) from package-lock.json, served as static files.
ifneq ($(wildcard package-lock.json),)
node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund
	touch $@

bootstrap: node_modules/.installed
endif

# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
/usr/bin/chromium:
	apt-get update && apt-get install -y chromium

# Debian's Pango (and a font) for WeasyPrint, which renders the PDF review pack.
.PHONY: pango
pango:
	@ldconfig -p | grep -q libpangoft2-1.0 && fc-list 2>/dev/null | grep -qi dejavu || \
		(apt-get update && apt-get install -y libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core fontconfig)

bootstrap: pango

# GNU gettext: `make messages` extracts the interface's texts and compiles the catalogues
# (src/headway/locale; the compiled .mo files are committed, so serving needs no gettext).
/usr/bin/msgfmt:
	apt-get update && apt-get install -y gettext

bootstrap: /usr/bin/msgfmt

.PHONY: messages
messages: bootstrap
	cd src/headway && ../../$(BIN)/django-admin makemessages --no-obsolete --no-location -l de -l fr
	cd src/headway && ../../$(BIN)/django-admin compilemessages

# poppler's pdftoppm: the review-pack test turns the PDF's pages into PNG.
/usr/bin/pdftoppm:
	apt-get update && apt-get install -y poppler-utils

run: bootstrap
	$(BIN)/headway migrate
	$(BIN)/headway demo --if-empty
	@echo ""
	@echo "  Headway: http://$(HOST):$(PORT)"
	@echo "  Sign in as demo@headway.local with password headway-demo"
	@echo ""
	$(BIN)/headway serve --host $(HOST) --port $(PORT)

# Debian's xmlsec1: the test SAML identity provider (pysaml2) signs its assertions with it.
/usr/bin/xmlsec1:
	apt-get update && apt-get install -y xmlsec1

# Debian's Prometheus for the data-source tests (started by the test on a free port).
/usr/bin/prometheus:
	apt-get update && apt-get install -y prometheus

test: bootstrap /usr/bin/msgfmt /usr/bin/chromium /usr/bin/prometheus /usr/bin/pdftoppm /usr/bin/xmlsec1
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

check: bootstrap
	$(BIN)/ruff check $(PY_SOURCES)
	$(BIN)/ruff format --check $(PY_SOURCES)
	$(BIN)/mypy src tests
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
