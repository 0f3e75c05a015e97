# ward — make help lists the targets.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help

GO       ?= go
BIN      := $(CURDIR)/bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS  := -s -w -X main.version=$(VERSION)
IMAGE    ?= ward:$(VERSION)

# Tools, pinned, installed into ./bin through the Go module proxy.
GOLANGCI_LINT_VERSION ?= v2.15.0
OPA_VERSION           ?= v1.22.2
GOLANGCI_LINT := $(BIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
OPA           := $(BIN)/opa-$(OPA_VERSION)

# go-install-tool installs $(2)@$(3) as $(1), so a version bump is a new file.
define go-install-tool
@[ -x "$(1)" ] || { set -e; tmp=$$(mktemp -d); \
	echo "installing $(2)@$(3)"; GOBIN=$$tmp $(GO) install $(2)@$(3); \
	mkdir -p $(BIN); mv "$$tmp/$$(basename $(2))" "$(1)"; rm -rf "$$tmp"; }
endef

##@ General
.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} \
		/^[a-zA-Z0-9_-]+:.*?##/ { printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2 } \
		/^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Build
.PHONY: build
build: ## Build bin/ward.
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/ward ./cmd/ward

.PHONY: run-examples
run-examples: build ## Lint the bundled examples (findings expected: exit 1).
	$(BIN)/ward lint examples/

.PHONY: docker-build
docker-build: ## Build the container image (needs a Docker engine).
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE) .

##@ Test
.PHONY: test
test: ## Everything: unit, Rego, fixtures, golden, CLI, integrations, the Go benchmarks once, lint and the e2e suite against a real kube-apiserver + etcd, with -race.
	hack/test.sh

.PHONY: test-unit
test-unit: ## Unit, Rego, fixture, golden and CLI tests only (no API server).
	$(GO) test -race $$($(GO) list ./... | grep -v /test/e2e)

.PHONY: test-rego
test-rego: $(OPA) ## opa check --strict and opa test on policies/.
	$(OPA) check --strict --ignore testdata --ignore examples policies/
	$(OPA) test --ignore testdata --ignore examples policies/ -v

.PHONY: test-e2e
test-e2e: ## The end-to-end suite only (builds etcd + kube-apiserver once, cached in ~/.cache/ward).
	KUBEBUILDER_ASSETS="$$(hack/e2e-assets.sh)" $(GO) test -race -count=1 -v ./test/e2e/...

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 30s).
	hack/fuzz.sh

.PHONY: bench
bench: build ## The benchmark: ward vs Conftest vs the parse and evaluation floors (see BENCHMARKS.md).
	bench/run.sh

.PHONY: bench-webhook
bench-webhook: ## ward serve under load over TLS: 200, 1,000 and 2,000 AdmissionReviews/s.
	KUBEBUILDER_ASSETS="$$(hack/e2e-assets.sh)" $(GO) run ./bench/cmd/loadgen

.PHONY: bench-go
bench-go: ## Go micro-benchmarks (loader, engine per object, lint pipeline, handler) for benchstat.
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/... ./webhook/...

##@ Quality
.PHONY: lint
lint: $(GOLANGCI_LINT) $(OPA) ## golangci-lint, and opa check --strict on the rules.
	$(GOLANGCI_LINT) config verify
	$(GOLANGCI_LINT) run ./...
	$(OPA) check --strict --ignore testdata --ignore examples policies/

.PHONY: lint-fix
lint-fix: $(GOLANGCI_LINT) ## golangci-lint with --fix.
	$(GOLANGCI_LINT) run --fix ./...

.PHONY: fmt
fmt: ## gofmt the tree.
	gofmt -w $$(git ls-files '*.go')

.PHONY: verify
verify: ## Fail when golden files or go.mod would change.
	$(GO) mod tidy && git diff --exit-code go.mod go.sum
	$(GO) test ./cmd/ward -run Golden -update && git diff --exit-code cmd/ward/testdata

$(GOLANGCI_LINT):
	$(call go-install-tool,$(GOLANGCI_LINT),github.com/golangci/golangci-lint/v2/cmd/golangci-lint,$(GOLANGCI_LINT_VERSION))

$(OPA):
	$(call go-install-tool,$(OPA),github.com/open-policy-agent/opa,$(OPA_VERSION))
