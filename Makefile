# kongctl — see README.md. Targets named in shared/docs/design.md are contracts:
# keep their names and meaning.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
LDFLAGS := -s -w -X github.com/kongctl/kongctl/controller/cli.Version=$(VERSION) -X github.com/kongctl/kongctl/controller/cli.Commit=$(COMMIT)
AGENT_DIR := controller/agentclient/agents
export CGO_ENABLED := 0

.PHONY: all agents test vet unit fuzz integration deps clean
all: bin/kongctl

agents:
	@mkdir -p $(AGENT_DIR)
	GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '-s -w' -o $(AGENT_DIR)/kongctl-agent-linux-amd64 ./cmd/kongctl-agent
	GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags '-s -w' -o $(AGENT_DIR)/kongctl-agent-linux-arm64 ./cmd/kongctl-agent
	# what travels to the nodes (decompressed and SHA-256 checked there)
	gzip -9 -n -f -k $(AGENT_DIR)/kongctl-agent-linux-amd64 $(AGENT_DIR)/kongctl-agent-linux-arm64

bin/kongctl: agents FORCE
	@mkdir -p bin
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/kongctl ./cmd/kongctl

FORCE:

# make test: everything. Installs what it needs on a fresh Debian machine (root).
test: deps all vet unit fuzz integration vagrant-rehearsal

deps:
	@bash scripts/install-deps.sh

# Not root, make can only check: when something the lab needs is missing,
# the targets that need it stop before building anything, on install-deps'
# one line (the packages and the command that installs them).
ifneq ($(filter deps lab-up rehearsal test,$(MAKECMDGOALS)),)
ifneq ($(shell id -u),0)
DEPS_MISSING := $(shell bash scripts/install-deps.sh 2>&1 >/dev/null)
ifneq ($(DEPS_MISSING),)
$(error $(DEPS_MISSING))
endif
endif
endif

vet:
	$(GO) vet ./...
	$(GO) vet -tags integration ./...

unit:
	$(GO) test -count=1 ./...

# make fuzz [FUZZTIME=10m]: every fuzz target for FUZZTIME each; what they
# find is kept in each package's testdata/fuzz/<Target> (FUZZKEEP=0: not).
# make test runs them for the default time and keeps nothing.
FUZZTIME ?= 10s
FUZZKEEP ?= 1
test: FUZZKEEP = 0
fuzz:
	@FUZZKEEP=$(FUZZKEEP) bash scripts/fuzz.sh $(FUZZTIME)

# Tests that need root, PostgreSQL, sshd and the lab (build tag "integration").
integration: all packages
	$(GO) test -count=1 -tags integration -timeout 30m -p 1 ./...

clean:
	rm -rf bin build $(AGENT_DIR)/kongctl-agent-*

# Each part's own targets (packages, lab, rehearsal, bench, faults, vagrant).
include $(wildcard mk/*.mk)
