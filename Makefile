# polybot: `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO      ?= go
BIN     ?= bin
LDFLAGS := -s -w -X main.version=$(VERSION)
BUILD   := CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)"
PREFIX  ?= /usr/local
WITH_POLYSIM ?= 0
DESTDIR ?=

.PHONY: contracts help build run run-live e2e-systemd soak soak-short test lint bench clean install uninstall lint-unit test-install fuzz mutate

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# The first build downloads polybot's Go modules (go-ethereum among them): it says so before it starts.
build: ## build bin/polybot and bin/polysim
	@if [[ ! -x $(BIN)/polybot ]]; then echo "building polybot and polysim (the first build downloads Go modules and compiles go-ethereum: about 2 minutes)" >&2; fi
	$(BUILD) -o $(BIN)/polybot ./cmd/polybot
	$(BUILD) -o $(BIN)/polysim ./cmd/polysim

run: build ## run polysim and polybot (paper mode, configs/demo.yaml) in the foreground; Ctrl-C stops both
	@scripts/demo.sh $(BIN)

run-live: build ## the same in live mode: signed V2 orders to polysim's fake CLOB (WALLET=eoa|proxy|safe|deposit)
	@DEMO=live scripts/demo.sh $(BIN)

# GETH_SH builds geth and prints its path (a variable so that a test can make it fail).
GETH_SH ?= scripts/geth.sh
# go test -json piped through scripts/testsum: the usual output (failed tests' logs, each
# package's ok/FAIL line) plus one line counting the skipped tests and why; the exit code is
# go test's or the summary's failure. TESTSUM is a variable so that a test can replace it.
TESTSUM ?= $(GO) run ./scripts/testsum
TEST    := set -o pipefail; $(GO) test -race -count=1 -timeout 30m -json ./... | $(TESTSUM)

test: ## run the whole test suite with the race detector and count the skips (builds geth once for the real-node tests; POLYBOT_SKIP_GETH=1 skips them; POLYBOT_SKIP_DISKFAULT=1 the disk-fault tests)
	@if [[ $${POLYBOT_SKIP_GETH:-} == 1 ]]; then \
		echo "make test: POLYBOT_SKIP_GETH=1, the real-geth tests are skipped" >&2; \
		echo "POLYBOT_SKIP_GETH=1 $(TEST)"; export POLYBOT_SKIP_GETH=1; $(TEST); \
	else \
		geth=$$($(GETH_SH) path) && [[ -n $$geth ]] || { \
			echo "make test: building geth with $(GETH_SH) failed, so the real-geth tests cannot run;" \
				"fix the build or set POLYBOT_SKIP_GETH=1 to run the suite without them" >&2; exit 1; }; \
		echo "POLYBOT_GETH=$$geth POLYBOT_REQUIRE_GETH=1 $(TEST)"; \
		export POLYBOT_GETH=$$geth POLYBOT_REQUIRE_GETH=1; $(TEST); \
	fi

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

mutate: ## plant five money-path bugs one at a time and show which tests catch each (a few minutes; not in CI)
	scripts/mutate.sh

bench: ## run the Go benchmarks (-benchmem) and print a markdown table of medians
	scripts/bench.sh

soak: ## full soak: 10M fills of the real polybot against polysim --fast (at 600 fills/s, about 5 h: the store fsyncs every copy); CSV, PNG, verdict
	scripts/soak.sh --out soak-out

soak-short: ## short soak (20,000 fills at 500/s, coarse leak checks, a few minutes with the build)
	scripts/soak.sh --short --out soak-out

clean: ## remove build output and the demos' state
	rm -rf $(BIN) .polybot-state .polybot-state-live .polysim-creds

install: ## install polybot and its systemd units (PREFIX, DESTDIR; WITH_POLYSIM=1 adds polysim); run make build first
	PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) WITH_POLYSIM=$(WITH_POLYSIM) scripts/install.sh $(BIN)

uninstall: ## remove what install put; keeps config, credentials and state
	PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) scripts/uninstall.sh

contracts: ## compile polysim's Solidity stand-ins (internal/testing/contracts) with the pinned solc from npm; commit build/
	scripts/contracts.sh

lint-unit: ## check the systemd units: systemd-analyze verify, and security exposure <= 1.5
	scripts/lint-unit.sh

test-install: ## test install.sh and uninstall.sh in a temporary DESTDIR (dummy binaries)
	scripts/test-install.sh

FUZZTIME ?= 30s
fuzz: ## run every Go fuzz target for FUZZTIME each (default 30s), one after another
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

e2e-systemd: ## end-to-end test: polybot under a real systemd in a VM (root; KVM, else qemu emulation; cache in build/e2e)
	scripts/e2e-systemd.sh
