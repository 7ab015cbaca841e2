# archil-mock developer tasks. `make test` is the one command that runs every test.
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
BIN := target/debug/archil-mock
MUSL := x86_64-unknown-linux-musl
IMAGE ?= archil-mock:local

.PHONY: run test lint rust-test python-test venv image

## Run the mock on port 8080 with the built-in key `key-archil-mock`.
run:
	cargo run --release -- --port 8080

## Everything CI runs: formatting, lints, Rust tests (unit, integration, doc),
## and the official Python and TypeScript SDK suites.
test: lint rust-test scenarios python-test ts-test

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings

rust-test:
	cargo test --all-targets
	cargo test --doc

## Replay the shipped scenarios in fixtures/scenarios/ (each on a fresh
## in-process server) and write a JUnit report for CI.
.PHONY: scenarios
scenarios:
	cargo run -q -- scenario fixtures/scenarios/*.json --junit target/scenarios.xml

$(VENV)/.installed: tests/python/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r tests/python/requirements.txt
	touch $@

venv: $(VENV)/.installed

python-test: $(VENV)/.installed
	cargo build
	ARCHIL_MOCK_BIN=$(abspath $(BIN)) $(VENV)/bin/pytest -q tests/python

## The official TypeScript SDK (npm package `disk`, pinned in
## tests/ts/package-lock.json) under Node's built-in test runner.
tests/ts/node_modules/.installed: tests/ts/package.json tests/ts/package-lock.json
	cd tests/ts && npm ci --no-audit --no-fund
	touch $@

.PHONY: ts-test
ts-test: tests/ts/node_modules/.installed
	cargo build
	cd tests/ts && ARCHIL_MOCK_BIN=$(abspath $(BIN)) node --test *.test.mjs

## Build the container image from a static binary built on this machine
## (no base image is pulled). `docker build -t archil-mock .` does the same
## with a builder stage where images can be pulled.
image:
	rustup target add $(MUSL)
	cargo build --release --target $(MUSL)
	docker build -f Dockerfile.local -t $(IMAGE) .

## The image `--exec docker` runs commands in, for the tests: Debian's static
## busybox (package busybox-static) on an empty base, so nothing is pulled.
.PHONY: exec-image
exec-image:
	test -x /bin/busybox || { echo "install busybox-static first"; exit 1; }
	mkdir -p target/exec-image
	cp /bin/busybox Dockerfile.exec target/exec-image/
	docker build -q -f target/exec-image/Dockerfile.exec -t archil-mock-exec:local target/exec-image

## The peers `make bench` compares with, installed beside it and never
## committed: moto's server (PyPI) in bench/.venv, the s3s project's s3s-fs and,
## if the machine has no `rg`, ripgrep (crates.io) in bench/.tools. A peer that
## cannot be installed is named in BENCHMARKS.md, with the reason, not measured.
.PHONY: bench-tools
bench-tools:
	test -x bench/.venv/bin/moto_server || { $(PYTHON) -m venv bench/.venv && \
		bench/.venv/bin/pip install -q 'moto[server]==5.2.5'; } || true
	test -x bench/.tools/bin/s3s-fs || \
		cargo install -q s3s-fs --version 0.14.1 --features binary --root bench/.tools || true
	command -v rg >/dev/null || test -x bench/.tools/bin/rg || \
		cargo install -q ripgrep --version 14.1.1 --root bench/.tools || true

## Benchmark a release build against a bare hyper 1 floor and the S3 emulators:
## prints a table and writes BENCHMARKS.md (about 15 minutes once built). The
## tooling is its own cargo package in bench/. Driver flags, e.g. a quick pass:
## make bench BENCH_ARGS="--secs 3 --runs 1 --only objects,grep".
.PHONY: bench
bench: bench-tools
	cargo build --release
	cargo build --release --manifest-path bench/Cargo.toml
	$(or $(CARGO_TARGET_DIR),bench/target)/release/bench \
		--mock $(or $(CARGO_TARGET_DIR),target)/release/archil-mock \
		--out BENCHMARKS.md $(BENCH_ARGS)
