# Two commands on a fresh Debian/Ubuntu machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := nginx cloud-init graphviz wrk openssl curl debootstrap postgresql
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup system-packages test lint demo bench rehearse-vm rehearse-releases clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# The packages start their own services on :80; the tests run their own on free ports.
	-@$(SUDO) systemctl disable --now nginx caddy >/dev/null 2>&1 || true

setup: system-packages $(VENV)/.installed

test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest

demo: setup
	$(BIN)/webstack up --local --stack dev

bench: setup
	$(BIN)/python bench/run.py

rehearse-vm: setup
	$(BIN)/python -m components.tooling.vm_rehearsal --stack dev

# The same boot, then releases 2, broken 3, a failing migration and a rotated secret under load.
rehearse-releases: setup
	$(BIN)/python -m components.tooling.vm_rehearsal --stack dev --releases

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
