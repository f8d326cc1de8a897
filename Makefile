# Entry points for humans and CI. Every target works on a fresh Debian 12
# machine: scripts/bootstrap.sh installs what is missing (as root) or prints
# the apt-get line to run.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON := .venv/bin/python
# Extra pytest arguments, e.g. make test PYTEST_ARGS='-k purchase -x'
PYTEST_ARGS ?=
BENCH_ARGS ?=
# Extra pip-audit arguments, e.g. make audit AUDIT_ARGS='-s osv'
AUDIT_ARGS ?=
export PYTEST_ARGS

.PHONY: help run bootstrap test test-faults bench lint audit messages clean distclean

help: ## List the targets
	@echo "Usage: make <target>"
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "Variables: PORT (web port for run, default 8000), VAR_DIR (run's data, default var/), PYTEST_ARGS, BENCH_ARGS, AUDIT_ARGS"

run: ## Run web + worker + beat (+ embedded Redis, SQLite, demo sale) at http://127.0.0.1:PORT/ (PORT defaults to 8000)
	@bash scripts/bootstrap.sh run
	@bash scripts/run.sh

bootstrap: ## Install Debian packages, .venv and requirements-dev.txt (no run)
	@bash scripts/bootstrap.sh test

test: ## Run the test suite (pytest starts MariaDB primary+replica and Redis itself)
	@bash scripts/test.sh

test-faults: ## Run only the fault-injection tests (pytest -m faults)
	@bash scripts/test.sh -m faults

bench: ## Run the load benchmark (bench/run.py)
	@if [ ! -f bench/run.py ]; then \
		echo "bench/run.py does not exist yet: nothing to benchmark." >&2; \
		exit 1; \
	fi
	@bash scripts/bootstrap.sh test
	@$(PYTHON) bench/run.py $(BENCH_ARGS)

lint: ## Lint: ruff (rules and format), the layers contract (import-linter), the shell scripts
	@bash scripts/bootstrap.sh test
	@for f in scripts/*.sh .ci/run; do bash -n "$$f" || exit 1; done
	@if command -v shellcheck >/dev/null 2>&1; then shellcheck scripts/*.sh .ci/run; fi
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports

audit: ## Known vulnerabilities in the pinned requirements (pip-audit; needs PyPI)
	@bash scripts/bootstrap.sh test
	.venv/bin/python scripts/audit.py $(AUDIT_ARGS)

messages: ## Rebuild the translation catalogs (locale/) from the code and report what is left to translate
	@bash scripts/bootstrap.sh test
	@bash scripts/messages.sh

clean: ## Remove runtime data (var/: SQLite, Redis AOF, secret key) and caches
	rm -rf var/ staticfiles/ .pytest_cache/ .ruff_cache/ celerybeat-schedule* celerybeat.pid
	find . -path ./.venv -prune -o -type d -name __pycache__ -exec rm -rf {} +

distclean: clean ## clean, and remove the virtualenv too
	rm -rf .venv
