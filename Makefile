# orgscan — make demo shows a simulated scan; make test runs every check we have.
GO      ?= go
# Every go command below — and those the tests start, which inherit the
# environment — runs this toolchain: the go command fetches it once through
# the module proxy into the module cache. An environment's GOTOOLCHAIN
# (local on the development machines, which makes go.mod's toolchain line
# be ignored) does not apply; `make GOTOOLCHAIN=go1.26.8 …` still does.
export GOTOOLCHAIN := go1.26.10
BIN     := bin/orgscan
DATA    ?= ./orgscan-data
FUNCTIONS := dispatcher collector aggregator
# The Lambda runtime interface emulator, for the functions' runtime test.
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d

.PHONY: all build cli functions tools chromium moto python-tools docs asl demo test lint vet fmt-check staticcheck unit bench clean deps \
	synth cdk-test deploy vulncheck go-version

all: build

deps:
	$(GO) mod download

# The toolchain make's go commands run (.ci/run prints it first).
go-version:
	@$(GO) version

build: cli functions

cli: deps
	$(GO) build -o $(BIN) ./cmd/orgscan

# Lambda functions: provided.al2023 on arm64, no RPC shim, stripped, into
# $(DIST)/<fn>/bootstrap. The SDK's generated service code (serializers,
# deserializers, schemas) is compiled without inlining: it keeps the
# collector, which links eight service clients, under 15 MB (-0.7 MB), and a
# call's cost is the network round trip, not the decoder (no measurable
# difference decoding a 1,000-instance DescribeInstances page). The
# integration tests build the functions with this target too.
FUNCTION_ARCH ?= arm64
DIST ?= dist
FUNCTION_FLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w' -gcflags='github.com/aws/aws-sdk-go-v2/service/...=-l'
functions: deps
	@for f in $(FUNCTIONS); do \
		CGO_ENABLED=0 GOOS=linux GOARCH=$(FUNCTION_ARCH) $(GO) build $(FUNCTION_FLAGS) \
			-o $(DIST)/$$f/bootstrap ./functions/$$f || exit 1; \
	done
	@ls -l $(DIST)/*/bootstrap | awk '{printf "%-28s %5.1f MB\n", $$NF, $$5/1e6}'

tools: chromium bin/aws-lambda-rie python-tools tools/node_modules/.bin/asl-validator

# The Node tools exactly as tools/package-lock.json pins them: asl-validator
# and playwright-core (the HTML report's browser test). npm ci reinstalls
# them all whenever package.json or the lock file changes; the touch keeps
# the target newer than the lock file.
tools/node_modules/.bin/asl-validator: tools/package.json tools/package-lock.json
	npm ci --prefix tools --no-audit --no-fund
	@touch $@

# The browser the report's browser test drives: Debian's Chromium
# (playwright-core downloads no browser).
chromium:
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y --no-install-recommends chromium)

# The Python test tools, pinned: moto server (the integration tests' AWS)
# and cfn-lint (the CDK tests). tools/python-tools.sh uses $(PYTHON) as it is
# when it already has exactly these versions (the development and CI
# machines, which reach no PyPI: nothing is installed there); otherwise it
# pip-installs them into the virtual environment $(VENV), after Debian's
# python3-venv when missing (a stock Debian 12 python refuses system-wide
# pip installs). The tests run the interpreter it chose: ORGSCAN_PYTHON.
MOTO_VERSION    := 5.2.1
CFNLINT_VERSION := 1.51.0
PYTHON ?= python3
VENV   ?= .cache/venv
PYTHON_TOOLS_OUT := .cache/python-tools/python
python-tools:
	@MOTO_VERSION=$(MOTO_VERSION) CFNLINT_VERSION=$(CFNLINT_VERSION) PYTHON='$(PYTHON)' VENV='$(VENV)' \
		OUT=$(PYTHON_TOOLS_OUT) tools/python-tools.sh
moto: python-tools
export ORGSCAN_PYTHON ?= $(shell cat $(PYTHON_TOOLS_OUT) 2>/dev/null || echo python3)

bin/aws-lambda-rie:
	GOBIN=$(CURDIR)/bin $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

# A simulated organization of 25 accounts × 4 regions, scanned with the same
# handlers that run in AWS, on two consecutive simulated days: the second run
# shows new and resolved findings; then a named query over the history and
# the run's HTML report.
# No AWS account, no network. Its data goes to a fresh ./orgscan-demo.
DEMO_DATA := ./orgscan-demo
demo: cli
	@rm -rf $(DEMO_DATA)
	@echo "== day 0: first scan"
	$(BIN) run --simulate --sim-accounts 25 --seed 1 --sim-day 0 --data $(DEMO_DATA)
	@echo
	@echo "== day 1: some resources were deleted, some new waste appeared"
	$(BIN) run --simulate --sim-accounts 25 --seed 1 --sim-day 1 --data $(DEMO_DATA)
	@echo
	@echo "== what day 1 found that day 0 did not (orgscan query --named new_since_previous_run)"
	$(BIN) query --data $(DEMO_DATA) --named new_since_previous_run
	@echo
	@echo "== the latest run's report: one self-contained HTML file, open it in a browser"
	$(BIN) report --data $(DEMO_DATA)

# Unit tests, then the integration tests: moto server (started by the tests
# on a free 127.0.0.1 port) and the Lambda functions under the runtime
# interface emulator, all under the race detector; then the CDK app's tests
# (template assertions, cdk-nag, cfn-lint; no race detector: the CDK runs in
# a Node.js process).
test: deps tools lint vulncheck unit cdk-test

unit:
	$(GO) test -race -count=1 ./...

lint: fmt-check vet staticcheck asl

# The state machine definition, validated by asl-validator (npm).
asl: tools/node_modules/.bin/asl-validator
	tools/node_modules/.bin/asl-validator --json-path statemachine/orgscan.asl.json

fmt-check:
	@out=$$("$$($(GO) env GOROOT)/bin/gofmt" -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) tool staticcheck ./...

# govulncheck (pinned) on the packages of both modules (this one and the
# CDK app's), offline (GOPROXY=off), against the Go vulnerability database
# built from the module golang.org/x/vulndb at a pinned version, fetched
# through the module proxy (tools/vulndb.sh). The database is built once
# into .cache/vulndb/<version> (about 40 MB) and again only when
# VULNDB_VERSION changes: for newer reports, set it to what
# `go list -m golang.org/x/vulndb@latest` names. It fails on vulnerable code
# the packages can reach, in the standard library of the toolchain above
# (`make GOTOOLCHAIN=go1.26.8 vulncheck` shows 11) and in required modules.
GOVULNCHECK_VERSION := v1.10.0
VULNDB_VERSION      := v0.0.0-20261105234957-e22db6528018
GOVULNCHECK := .cache/govulncheck/$(GOVULNCHECK_VERSION)/govulncheck
VULNDB      := .cache/vulndb/$(VULNDB_VERSION)
vulncheck: deps $(GOVULNCHECK) $(VULNDB)/index/db.json
	GOPROXY=off $(GOVULNCHECK) -db file://$(CURDIR)/$(VULNDB) ./...
	cd $(CDK_DIR) && $(GO) mod download && \
		GOPROXY=off $(CURDIR)/$(GOVULNCHECK) -db file://$(CURDIR)/$(VULNDB) ./...

$(GOVULNCHECK):
	GOBIN=$(CURDIR)/$(@D) $(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)

$(VULNDB)/index/db.json:
	GO='$(GO)' tools/vulndb.sh $(VULNDB_VERSION) $(VULNDB)

# Speed figures, not tests: a simulated 200 accounts × 17 regions with 10 ms
# (± 2 ms) per API call, the aggregator on 100,000 findings, then the Go
# micro-benchmarks.
# Speed and efficiency figures (not tests: they print, they do not judge).
# The scan at organization scale (1,000 accounts × 17 regions, 20 ms ± 5 ms
# a call, 1% throttled) beside its floor and a per-resource metrics baseline,
# then for peak memory 100 accounts (a tenth of the pairs and findings) and
# 1,000 accounts with a tenth of the resources (the pairs, a tenth of the
# findings); the
# aggregator on 100,000 findings; the Go micro-benchmarks.
BENCH_ACCOUNTS ?= 1000
bench:
	$(GO) run ./internal/benchmarks/scale -accounts $(BENCH_ACCOUNTS)
	@echo
	$(GO) run ./internal/benchmarks/scale -accounts $$(( $(BENCH_ACCOUNTS) / 10 )) -baseline=false
	@echo
	$(GO) run ./internal/benchmarks/scale -accounts $(BENCH_ACCOUNTS) -resources 5 -baseline=false
	@echo
	$(GO) run ./internal/benchmarks/aggregate
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/...

# Every fuzz target for FUZZTIME each (not part of make test; the seeds
# run as ordinary tests there).
FUZZTIME ?= 30s
FUZZ_TARGETS := ./pkg/pipeline:FuzzDispatchInput ./pkg/pipeline:FuzzCollectInput ./pkg/config:FuzzParse \
	./pkg/checks:FuzzParseStateTransitionTime ./pkg/checks:FuzzELBResourceID ./pkg/checks:FuzzParseLambdaTime \
	./pkg/report:FuzzEscapeMatchesHTMLTemplate ./pkg/pipeline:FuzzAggregateInput ./pkg/pipeline:FuzzMapExecution \
	./pkg/pipeline:FuzzJSONLines ./pkg/store:FuzzLocalStateFiles ./pkg/query:FuzzGate \
	./pkg/textsafe:FuzzHiddenCharactersNeverRemain
fuzz:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

# Regenerate docs/checks.md, docs/iam-policy.json and the functions' check
# catalog (pkg/checks/catalog/catalog_gen.go) from the check registry (a test
# fails when any is stale).
docs:
	$(GO) test ./pkg/checks/ -run TestGeneratedDocsAreCurrent -update

# The CDK app (infra/cdk, its own Go module): the pipeline stack and the
# member role stack (the StackSet template). Deployment parameters are CDK
# context; the ones below are passed when set, the app's defaults apply
# otherwise (infra/cdk/README.md). EXTERNAL_ID is required to deploy.
CDK_DIR := infra/cdk
EXTERNAL_ID ?=
PIPELINE_ACCOUNT_ID ?=
MEMBER_ROLE_NAME ?=
SCHEDULE_CRON ?=
SCHEDULE_INPUT ?=
COLLECTOR_RESERVED_CONCURRENCY ?=
ATHENA_BYTES_SCANNED_CUTOFF ?=
ALARM_TOPIC_ARN ?=
CDK_DEPLOY_FLAGS ?=
cdk_ctx = $(if $(2),-c $(1)='$(2)')
CDK_CONTEXT = $(call cdk_ctx,externalId,$(EXTERNAL_ID)) \
	$(call cdk_ctx,pipelineAccountId,$(PIPELINE_ACCOUNT_ID)) \
	$(call cdk_ctx,memberRoleName,$(MEMBER_ROLE_NAME)) \
	$(call cdk_ctx,scheduleCron,$(SCHEDULE_CRON)) \
	$(call cdk_ctx,scheduleInput,$(SCHEDULE_INPUT)) \
	$(call cdk_ctx,collectorReservedConcurrency,$(COLLECTOR_RESERVED_CONCURRENCY)) \
	$(call cdk_ctx,athenaBytesScannedCutoff,$(ATHENA_BYTES_SCANNED_CUTOFF)) \
	$(call cdk_ctx,alarmTopicArn,$(ALARM_TOPIC_ARN))

# Synthesize both stacks into infra/cdk/cdk.out without the CDK CLI.
synth: functions
	cd $(CDK_DIR) && rm -rf cdk.out && $(GO) run . $(strip $(CDK_CONTEXT))
	@echo "pipeline stack:          $(CDK_DIR)/cdk.out/OrgScanPipeline.template.json"
	@echo "member role (StackSet):  $(CDK_DIR)/cdk.out/OrgScanMemberRole.template.json"

# Template assertions, cdk-nag (no unsuppressed finding) and cfn-lint.
cdk-test: functions
	cd $(CDK_DIR) && $(GO) vet ./... && $(GO) test -count=1 ./...

# Deploy both stacks from the management or delegated-administrator account
# (member role stack last: its trust policy names the collector role). When
# the StackSet already covers the pipeline account (a delegated
# administrator inside a targeted OU), deploy the pipeline alone:
# CDK_STACKS=OrgScanPipeline.
CDK_STACKS ?= --all
deploy: functions
	@test -n "$(EXTERNAL_ID)" || { echo "make deploy: set EXTERNAL_ID (the sts:ExternalId the member roles require)"; exit 2; }
	cd $(CDK_DIR) && npx --yes aws-cdk@2 deploy $(CDK_STACKS) $(strip $(CDK_CONTEXT)) $(CDK_DEPLOY_FLAGS)

clean:
	rm -rf bin dist $(DATA) $(DEMO_DATA) $(CDK_DIR)/cdk.out
