# Two commands do all set-up on a fresh Debian 12 machine: `make serve` and `make test`.
# Both run scripts/bootstrap first, which installs only what is missing, in layers: `make serve` the
# runtime only (no browser, no test server); `make test` everything the suite needs.
SWIFT ?= swift
# WEBRTC=1 (`make serve WEBRTC=1`) also installs GStreamer's WebRTC packages and builds the bridge that
# receives cameras over WebRTC; without it the server runs and says WebRTC is off (pages send JPEGs).
LAYERS := runtime $(if $(WEBRTC),webrtc)

.PHONY: bootstrap build release test serve cluster bench fuzz clean

bootstrap:
	@scripts/bootstrap $(LAYERS)

# The same debug build `make test` makes (it ends with it), so after `make test` this compiles nothing.
# With WEBRTC=1 also the WebRTC bridge library `affect` loads at run time.
build: bootstrap
	@$(SWIFT) build --product affect
	$(if $(WEBRTC),@$(SWIFT) build --product GSTBridge)

release: bootstrap
	@$(SWIFT) build -c release --product affect
	$(if $(WEBRTC),@$(SWIFT) build -c release --product GSTBridge)

# The whole suite: converter checks (Python), every Swift test target, the browser, deployment, API
# and fuzzing stages. Installs the test layer (browsers, PostgreSQL, HAProxy, test servers) first.
test:
	@scripts/bootstrap test
	@scripts/test

# The study server on the embedded SQLite database; prints the URL and, on first start, the setup link.
serve: build
	@scripts/serve $(ARGS)

# Three nodes on a throwaway PostgreSQL behind HAProxy, on 127.0.0.1 (deploy/haproxy.cfg); prints the
# balancer's URL and the admin token; Ctrl-C stops it all and deletes the database. Installs
# PostgreSQL and HAProxy (the cluster layer) first.
cluster: LAYERS += cluster
cluster: build
	@scripts/cluster

bench: release
	@scripts/bench

# Each libFuzzer harness for FUZZ_SECONDS (default 300); findings are kept in .build/fuzz/crashes.
fuzz: bootstrap
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-300} scripts/fuzz

clean:
	@rm -rf .build
