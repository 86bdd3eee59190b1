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

# The agents: one per kind and architecture. The tools agent (default
# build: the database operations, pgx) goes to the database tools host;
# the node agent (tag nodeagent: no database driver) to the Kong nodes.
# Built into build/agents; only what travels to the nodes is embedded into
# kongctl: each xz-compressed (decompressed and SHA-256 checked on the
# node; xz -9e with a 16 MiB dictionary, so the controller decompresses
# with 16 MiB, not 64), with its SHA-256 and size (.sum).
AGENT_BUILD := build/agents
AGENT_FLAGS := -trimpath -ldflags '-s -w'
AGENT_KINDS := node tools
AGENT_ARCHS := amd64 arm64
agents:
	@command -v xz >/dev/null || { echo "make agents: xz is missing (apt-get install xz-utils, or make deps)" >&2; exit 1; }
	@mkdir -p $(AGENT_DIR) $(AGENT_BUILD)
	@set -e; for arch in $(AGENT_ARCHS); do for kind in $(AGENT_KINDS); do \
	  tags=; [ $$kind = node ] && tags=nodeagent; \
	  out=$(AGENT_BUILD)/kongctl-agent-$$kind-linux-$$arch; \
	  echo "GOOS=linux GOARCH=$$arch $(GO) build -tags '$$tags' $(AGENT_FLAGS) -o $$out ./cmd/kongctl-agent"; \
	  GOOS=linux GOARCH=$$arch $(GO) build -tags "$$tags" $(AGENT_FLAGS) -o $$out ./cmd/kongctl-agent; \
	  emb=$(AGENT_DIR)/kongctl-agent-$$kind-linux-$$arch; \
	  xz --lzma2=preset=9e,dict=16MiB -T1 -c $$out > $$out.xz; \
	  echo "$$(sha256sum < $$out | cut -d' ' -f1) $$(stat -c %s $$out)" > $$emb.sum; \
	  mv -f $$out.xz $$emb.xz; \
	done; done
	@rm -f $(AGENT_DIR)/kongctl-agent-linux-* $(AGENT_DIR)/*.gz

# bin/kongctl's size budget (issue 21), checked on every build.
KONGCTL_MAX_BYTES := 25000000
bin/kongctl: agents FORCE
	@mkdir -p bin
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/kongctl ./cmd/kongctl
	@size=$$(stat -c %s bin/kongctl); [ $$size -le $(KONGCTL_MAX_BYTES) ] || \
	  { echo "bin/kongctl is $$size bytes, over its budget of $(KONGCTL_MAX_BYTES) (issue 21)" >&2; exit 1; }

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
	$(GO) test -count=1 -tags integration -timeout 60m -p 1 ./...

clean:
	rm -rf bin build $(AGENT_DIR)/kongctl-agent-*

# Each part's own targets (packages, lab, rehearsal, bench, faults, vagrant).
include $(wildcard mk/*.mk)
