# orgscan — make demo shows a simulated scan; make test runs every check we have.
GO      ?= go
BIN     := bin/orgscan
DATA    ?= ./orgscan-data
# Packages whose tests exercise concurrency run under the race detector.
RACE_PKGS := ./pkg/...  ./cmd/...

.PHONY: all build demo test lint vet fmt-check staticcheck unit bench clean deps

all: build

deps:
	$(GO) mod download

build: deps
	$(GO) build -o $(BIN) ./cmd/orgscan

# A simulated organization of 25 accounts × 4 regions, scanned with the same
# handlers that run in AWS. No AWS account, no network.
demo: build
	$(BIN) run --simulate --sim-accounts 25 --seed 1 --data $(DATA)

test: deps lint unit

unit:
	$(GO) test -race -count=1 $(RACE_PKGS)

lint: fmt-check vet staticcheck

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) tool staticcheck ./...

# Speed figures, not tests: a simulated 200 accounts × 17 regions with 10 ms
# (± 2 ms) per API call, then the Go micro-benchmarks.
bench: build
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	$(BIN) run --simulate --sim-accounts 200 --sim-regions 17 --sim-latency 10ms --sim-jitter 2ms \
		--concurrency 128 --quiet --data $$tmp
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/...

clean:
	rm -rf bin dist $(DATA)
