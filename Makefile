# The two commands of the README are `make synth` and `make test`; both install what is missing.
SHELL := /bin/bash
# Which deployment: PROFILE=sandbox|prod and/or CONFIG=<settings file> (README "Configuration").
# Neither: the sandbox profile.
PROFILE ?=
CONFIG ?=
CONTEXT := $(if $(PROFILE),-c profile=$(PROFILE)) $(if $(CONFIG),-c config=$(CONFIG))
# deploy/destroy take every stack unless told otherwise, e.g. STACKS=Streaming (stack ids, not stack names).
STACKS ?= --all
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# This machine sets PYTHONDONTWRITEBYTECODE, which costs ~2 s per CDK process.
unexport PYTHONDONTWRITEBYTECODE
CDK := node_modules/.bin/cdk --no-notices

.PHONY: setup synth test bench snapshots lock docs diagrams credentials diff deploy destroy bootstrap-account clean

setup:
	@scripts/bootstrap.sh

## The main job: synthesize every stack with every check, then summarize.
synth: setup
	$(CDK) synth --quiet $(CONTEXT)
	.venv/bin/python -m scripts.summary cdk.out

## The whole test suite (setup also installs the Java runtime that local Spark needs).
test:
	@scripts/bootstrap.sh --tests
	.venv/bin/python -m pytest

bench: setup
	.venv/bin/python -m scripts.benchmark

## Accept changed templates as the new snapshots (review the diff before committing).
snapshots: setup
	.venv/bin/python -m pytest tests/test_snapshots.py --snapshot-update

docs: setup
	.venv/bin/python -m scripts.docs --write

## Regenerate docs/diagrams (needs graphviz; installed with apt-get when missing and run as root).
diagrams: setup
	@command -v dot >/dev/null || { apt-get update -qq && apt-get install -y -qq graphviz; }
	.venv/bin/python -m scripts.diagrams

## Commands that need an AWS account check the credentials and region first (ops/whoami.py).
credentials: setup
	@.venv/bin/python -m ops whoami

diff: credentials
	$(CDK) diff $(CONTEXT)

deploy: credentials
	$(CDK) deploy $(STACKS) $(CONTEXT)

destroy: credentials
	$(CDK) destroy $(STACKS) $(CONTEXT)

## Once per account and region: the CDK bootstrap stack (assets bucket, deploy roles).
bootstrap-account: credentials
	environment=$$(.venv/bin/python -m ops whoami --environment) && $(CDK) bootstrap "$$environment" $(CONTEXT)

## Recompile the lock files after editing requirements*.in or requirements.txt.
lock:
	scripts/bootstrap.sh --lock

clean:
	rm -rf cdk.out .pytest_cache
