# kongctl's own release files (lab/dist, lab/cmd/kongctl-dist): for linux
# amd64 and arm64, kongctl_<version>_<arch>.deb and .rpm and
# kongctl_<version>_linux_<arch>.tar.gz, each with a man page per command
# and the bash, zsh and fish completions, and SHA256SUMS, in DIST_DIR.
# <version> is $(VERSION), what `kongctl version` reports (git describe, or
# VERSION=); file times are the commit's (SOURCE_DATE_EPOCH). The binaries
# packed are kept in DIST_DIR/bin. Not part of `make test` (41 s warm, minutes
# cold): lab/e2e TestDistPackagesInstallOnAHost runs it and installs the
# .deb and .rpm on a lab host.
#
#   make dist [VERSION=v1.2.0] [DIST_DIR=build/dist]
.PHONY: dist

DIST_DIR ?= build/dist
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 1704067200)

dist: agents
	@mkdir -p $(DIST_DIR)/bin
	GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST_DIR)/bin/kongctl-linux-amd64 ./cmd/kongctl
	GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST_DIR)/bin/kongctl-linux-arm64 ./cmd/kongctl
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(GO) run ./lab/cmd/kongctl-dist -version '$(VERSION)' -bin $(DIST_DIR)/bin -out $(DIST_DIR)
