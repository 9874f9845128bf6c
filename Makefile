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
	synth cdk-test deploy deploy-management-role rotate-external-id destroy bootstrap vulncheck go-version

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

# The Node tools exactly as tools/package-lock.json pins them: asl-validator,
# playwright-core (the HTML report's browser test) and the CDK CLI (make
# deploy). npm ci reinstalls
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

# The CDK app (infra/cdk, its own Go module), built from one deployment
# configuration file: DEPLOY_CONFIG, by default infra/cdk/deploy.yaml, and
# for synth (and the tests) the checked-in infra/cdk/deploy.example.yaml
# when there is no deploy.yaml. A bad value fails the synth naming its file,
# line and field. The stacks: OrgScanPipeline, OrgScanMemberStackSet (the
# member role's StackSet) and OrgScanManagementRole (the management
# account's member role).
CDK_DIR := infra/cdk
DEPLOY_CONFIG ?=
# The CDK CLI, pinned in tools/package.json and its lock file (npm ci).
CDK := tools/node_modules/.bin/cdk
CDK_DEPLOY_FLAGS ?=
CDK_DESTROY_FLAGS ?=
# The configuration file make deploy uses, relative to the repository.
deploy_config = $(or $(DEPLOY_CONFIG),$(CDK_DIR)/deploy.yaml)
# The app runs in $(CDK_DIR): a relative DEPLOY_CONFIG is made absolute.
cdk_config = $(if $(DEPLOY_CONFIG),-c config=$(abspath $(DEPLOY_CONFIG)))

# Synthesize the stacks into infra/cdk/cdk.out without the CDK CLI.
synth: functions
	cd $(CDK_DIR) && rm -rf cdk.out && $(GO) run . $(cdk_config)
	@echo "stacks in $(CDK_DIR)/cdk.out: $$(ls $(CDK_DIR)/cdk.out/*.template.json | xargs -n1 basename | sed 's/.template.json//' | tr '\n' ' ')"
	@echo "deployed with the pipeline account's credentials: $$(cat $(CDK_DIR)/cdk.out/orgscan-deploy-stacks.txt)"

# Template assertions, cdk-nag (no unsuppressed finding) and cfn-lint.
cdk-test: functions
	cd $(CDK_DIR) && $(GO) vet ./... && $(GO) test -count=1 ./...

# Bootstrap the pipeline account and region for the CDK (once).
bootstrap: $(CDK)
	cd $(CDK_DIR) && $(CURDIR)/$(CDK) bootstrap

# Deploy from the pipeline account (management or delegated-administrator
# account, per organization.mode): `orgscan doctor --before-deploy` checks
# the organization, the targets and the reservation against the account's
# Lambda quota; the external ID's SSM parameter is created when missing;
# then the stacks the synthesized app names in
# cdk.out/orgscan-deploy-stacks.txt are deployed from that assembly.
deploy: cli functions $(CDK)
	@test -f "$(deploy_config)" || { echo "make deploy: $(deploy_config) is missing: copy $(CDK_DIR)/deploy.example.yaml to $(CDK_DIR)/deploy.yaml and set organization.targets (or set DEPLOY_CONFIG)"; exit 2; }
	$(MAKE) --no-print-directory synth DEPLOY_CONFIG=$(deploy_config)
	$(BIN) doctor --config $(deploy_config) --before-deploy
	$(BIN) external-id --config $(deploy_config)
	cd $(CDK_DIR) && $(CURDIR)/$(CDK) deploy --app cdk.out $$(cat cdk.out/orgscan-deploy-stacks.txt) $(CDK_DEPLOY_FLAGS)

# delegated-admin mode: the management account's member role, deployed
# with MANAGEMENT_PROFILE's credentials; the external ID and the pipeline
# account are read with the pipeline account's (the default chain, or
# PIPELINE_PROFILE).
MANAGEMENT_PROFILE ?=
PIPELINE_PROFILE ?=
deploy-management-role: cli functions $(CDK)
	@test -n "$(MANAGEMENT_PROFILE)" || { echo "make deploy-management-role: set MANAGEMENT_PROFILE (an AWS profile of the management account)"; exit 2; }
	$(MAKE) --no-print-directory synth DEPLOY_CONFIG=$(deploy_config)
	params=$$($(BIN) external-id --config $(deploy_config) --cdk-parameters $(if $(PIPELINE_PROFILE),--profile $(PIPELINE_PROFILE))) && \
		cd $(CDK_DIR) && $(CURDIR)/$(CDK) deploy --app cdk.out --profile $(MANAGEMENT_PROFILE) OrgScanManagementRole $$params $(CDK_DEPLOY_FLAGS)

# A new external ID: written to the SSM parameter, then deployed to the
# collector and the StackSet together (make deploy-management-role too in
# delegated-admin mode).
rotate-external-id: cli
	$(BIN) external-id --config $(deploy_config) --rotate
	$(MAKE) --no-print-directory deploy

# Delete the stacks deployed with the pipeline account's credentials (the
# StackSet's instances go with it). What stays behind is listed after.
destroy: cli functions $(CDK)
	$(MAKE) --no-print-directory synth DEPLOY_CONFIG=$(deploy_config)
	cd $(CDK_DIR) && $(CURDIR)/$(CDK) destroy --app cdk.out $$(cat cdk.out/orgscan-deploy-stacks.txt) $(CDK_DESTROY_FLAGS)
	@echo "Retained on purpose (the history outlives the stacks): the data and access-log buckets, the DynamoDB"
	@echo "state table, the three functions' log groups, and the SSM parameter of the external ID."
	@echo "README.md, Teardown, lists the commands that delete them."

$(CDK): tools/node_modules/.bin/asl-validator

clean:
	rm -rf bin dist $(DATA) $(DEMO_DATA) $(CDK_DIR)/cdk.out
