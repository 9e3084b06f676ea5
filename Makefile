# Two commands do all set-up on a fresh Debian 12 machine: `make serve` and `make test`.
# Both run scripts/bootstrap first, which installs only what is missing.
SWIFT ?= swift
# The index store stays on: SwiftPM finds the XCTest cases on Linux through it (without it the test
# build fails: "index store path does not exist").
SWIFT_FLAGS ?=

.PHONY: bootstrap build release test serve cluster bench fuzz clean

bootstrap:
	@scripts/bootstrap

build: bootstrap
	@$(SWIFT) build $(SWIFT_FLAGS)

release: bootstrap
	@$(SWIFT) build -c release $(SWIFT_FLAGS)

# The whole suite: converter checks (Python), then every Swift test target.
test: bootstrap
	@scripts/test

# The study server on the embedded SQLite database; prints the URL and, on first start, the setup link.
serve: build
	@scripts/serve $(ARGS)

# Three nodes on a throwaway PostgreSQL behind HAProxy, on 127.0.0.1 (deploy/haproxy.cfg); prints the
# balancer's URL and the admin token; Ctrl-C stops it all and deletes the database.
cluster: build
	@scripts/cluster

bench: release
	@scripts/bench

# Each libFuzzer harness for FUZZ_SECONDS (default 300); findings are kept in .build/fuzz/crashes.
fuzz: bootstrap
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-300} scripts/fuzz

clean:
	@rm -rf .build
