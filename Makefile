# The project's two commands: `make demo` and `make test`. Both set up everything they need.
PY      := .venv/bin/python
STAMP   := .venv/.installed

.PHONY: setup system venv demo test check lint types imports pytest bench openapi clean

setup: system venv

# System parts (Debian packages, services, anvil from npm). Idempotent and quiet when present.
system:
	@bash scripts/setup-system.sh
	@bash scripts/setup-anvil.sh >/dev/null

venv: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(PY) -m demo

test: setup check

check: lint types imports pytest

lint:
	.venv/bin/ruff check src tests testnodes bench scripts demo

types:
	.venv/bin/mypy src
	.venv/bin/mypy --strict testnodes demo

imports:
	.venv/bin/lint-imports

pytest:
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: setup
	$(PY) bench/api.py

openapi: venv
	$(PY) -m custody.coordinator.openapi > docs/api/openapi.json

clean:
	rm -rf .venv build *.egg-info
