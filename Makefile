# qscan developer entry points. `make` alone lists them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON        ?= python3
VENV          := .venv
CHECKOV_VENV  := .venv-checkov
PY            := $(VENV)/bin/python
BIN           := $(VENV)/bin
PYTEST_ARGS   ?=

export TF_CLI_CONFIG_FILE := $(CURDIR)/.terraform-cli/terraformrc
export TF_IN_AUTOMATION   := 1
export CHECKPOINT_DISABLE := 1
export PATH               := $(CURDIR)/node_modules/.bin:$(PATH)


say = @printf '\n\033[1m==> %s\033[0m\n' "$(1)"

.PHONY: help bootstrap registry-tools browser test test-fast test-integration lint fmt fmt-check validate tf-test checkov conventions \
        azurerm-check azurerm-schema docs bench fuzz lock package demo clean

help: ## list targets
	@echo "qscan: deploy-time Qualys scanning. Targets:"
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

# ---------------------------------------------------------------- set-up
bootstrap: $(VENV)/.installed $(CHECKOV_VENV)/.installed node_modules/.installed .terraform-cli/terraformrc registry-tools browser ## virtualenvs, Python and npm tools, Terraform CLI config, registry test tools, chromium (idempotent)
	@echo "bootstrap: up to date"

registry-tools: ## docker-registry, skopeo, htpasswd for the registry integration tests (apt-get as root)
	@bash scripts/bootstrap_registry_tools.sh

browser: ## Debian's chromium (/usr/bin/chromium) for the report's browser test (apt-get as root)
	@bash scripts/bootstrap_browser.sh

$(VENV)/.installed: requirements/dev.lock pyproject.toml
	$(call say,bootstrap: Python virtualenv $(VENV) from requirements/dev.lock)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements/dev.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

$(CHECKOV_VENV)/.installed: requirements/checkov.lock
	$(call say,bootstrap: checkov virtualenv $(CHECKOV_VENV) from requirements/checkov.lock)
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --require-hashes --no-deps -r requirements/checkov.lock
	@touch $@

node_modules/.installed: package.json package-lock.json
	$(call say,bootstrap: npm test tools (azurite, asl-validator) from package-lock.json)
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.terraform-cli/terraformrc: scripts/tf-cli-config.sh
	$(call say,bootstrap: Terraform CLI config)
	bash scripts/tf-cli-config.sh

lock: ## re-resolve requirements/*.in into the hashed lock files
	$(call say,lock: pip-compile requirements/*.in)
	cd requirements && for f in dev checkov lambda azure-functions; do \
	  ../$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	    --no-emit-find-links --no-emit-trusted-host -o $$f.lock $$f.in; done

# ---------------------------------------------------------------- gates
test: bootstrap ## every gate: lint, fmt, validate, conventions, azurerm, tf-test, checkov, all pytest tiers
	@start=$$(date +%s); \
	$(MAKE) lint fmt-check validate conventions azurerm-check tf-test checkov; \
	printf '\n\033[1m==> %s\033[0m\n' "test: pytest (unit + integration, not the long fuzz budget)"; \
	$(BIN)/pytest -n 2 -m "not fuzz" --timeout=900 $(PYTEST_ARGS); \
	printf '\nmake test: all gates passed in %ss\n' $$(( $$(date +%s) - start ))

test-fast: bootstrap ## unit tests only (no servers, no Terraform)
	$(call say,test-fast: pytest unit tier)
	$(BIN)/pytest -n 2 -m "not integration and not slow and not fuzz" --timeout=120 $(PYTEST_ARGS)

test-integration: bootstrap ## integration tier only (moto, Azurite, Terraform apply)
	$(call say,test-integration: pytest integration tier)
	$(BIN)/pytest -n 2 -m "integration" --timeout=900 $(PYTEST_ARGS)

lint: bootstrap ## ruff over everything, mypy --strict over shared/
	$(call say,lint: ruff check + ruff format --check)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(call say,lint: mypy --strict shared/qscan)
	$(BIN)/mypy

fmt: bootstrap ## format Python and Terraform in place
	$(call say,fmt: ruff format + terraform fmt -recursive)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix-only --quiet . || true
	terraform fmt -recursive .

fmt-check: ## terraform fmt -check -recursive
	$(call say,fmt-check: terraform fmt -check -recursive)
	terraform fmt -check -recursive -diff .

validate: bootstrap ## terraform init -backend=false + validate on every AWS module and environment
	$(call say,validate: terraform init -backend=false + validate)
	$(PY) scripts/tf_validate.py

tf-test: bootstrap ## terraform test (mocked providers) in every module and environment that has tests/
	$(call say,tf-test: terraform test per module)
	$(PY) scripts/tf_validate.py --test

conventions: bootstrap ## the repo's own HCL checks: module files, typed+described variables, examples, platform_inputs.tf + worker_settings.tf copies, README sections
	$(call say,conventions: module layout, variables, outputs, examples, settings copies, README sections)
	$(PY) scripts/check_conventions.py

azurerm-check: bootstrap ## validate every azurerm block against the committed schema
	$(call say,azurerm-check: azurerm blocks vs scripts/azurerm_schema.json)
	$(PY) scripts/check_azurerm.py

azurerm-schema: bootstrap ## re-extract scripts/azurerm_schema.json from @cdktf/provider-azurerm (npm pack)
	$(call say,azurerm-schema: npm pack @cdktf/provider-azurerm + extract)
	$(PY) scripts/extract_azurerm_schema.py

checkov: bootstrap ## checkov (offline) over modules/ and environments/; unexplained findings fail
	$(call say,checkov: modules/ and environments/ (--skip-download))
	$(PY) scripts/run_checkov.py --checkov $(CHECKOV_VENV)/bin/checkov

package: bootstrap ## build reproducible handler zips + dist/manifest.json (QSCANNER_BINARY=path adds the layer)
	$(call say,package: handler artifacts into dist/)
	$(PY) scripts/package.py

demo: bootstrap package ## run the pipeline locally: moto + simulated qscanner, report under reports/
	$(call say,demo: local pipeline on moto with the simulated scanner)
	$(PY) scripts/demo.py

docs: bootstrap ## regenerate the module READMEs' reference sections and the platform_inputs.tf + worker_settings.tf copies
	$(call say,docs: module README reference sections + platform_inputs.tf, worker_settings.tf copies)
	$(PY) scripts/tfdocs.py --write

bench: bootstrap ## benchmarks; prints figures, asserts nothing
	$(call say,bench: benchmarks)
	$(PY) -m tests.bench

fuzz: bootstrap ## long hypothesis run over every event normalizer
	$(call say,fuzz: hypothesis, long profile)
	$(BIN)/pytest -n 2 -m fuzz $(PYTEST_ARGS)

clean: ## remove virtualenvs, node_modules, build output and Terraform state dirs
	$(call say,clean)
	rm -rf $(VENV) $(CHECKOV_VENV) node_modules dist build .terraform-cli .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name .terraform -type d -prune -exec rm -rf {} +
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
