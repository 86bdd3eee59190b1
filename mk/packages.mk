# Kong simulator packages (lab/pkgbuild). Cheap when up to date: binaries
# are cached per source hash under build/cache/kongsim and packages are
# rebuilt only when their inputs change.
.PHONY: packages simulators

packages:
	$(GO) run ./lab/cmd/kongpkg -out build/packages

# One simulator binary per version under build/simulators/ (for poking at
# them by hand; tests build their own).
simulators:
	@mkdir -p build/simulators
	$(GO) build -trimpath -ldflags '-s -w -X main.version=2.8.4 -X main.edition=oss' -o build/simulators/kong-2.8.4 ./lab/cmd/kong
	$(GO) build -trimpath -ldflags '-s -w -X main.version=3.4.2 -X main.edition=oss' -o build/simulators/kong-3.4.2 ./lab/cmd/kong
	$(GO) build -trimpath -ldflags '-s -w -X main.version=3.5.0 -X main.edition=oss' -o build/simulators/kong-3.5.0 ./lab/cmd/kong
	$(GO) build -trimpath -ldflags '-s -w -X main.version=3.6.1 -X main.edition=oss' -o build/simulators/kong-3.6.1 ./lab/cmd/kong
	$(GO) build -trimpath -ldflags '-s -w -X main.version=3.7.1 -X main.edition=oss' -o build/simulators/kong-3.7.1 ./lab/cmd/kong
	$(GO) build -trimpath -ldflags '-s -w -X main.version=3.8.1 -X main.edition=oss' -o build/simulators/kong-3.8.1 ./lab/cmd/kong
	$(GO) build -trimpath -ldflags '-s -w -X main.version=3.9.1 -X main.edition=oss' -o build/simulators/kong-3.9.1 ./lab/cmd/kong
	$(GO) build -trimpath -ldflags '-s -w -X main.version=3.9.3 -X main.edition=oss' -o build/simulators/kong-3.9.3 ./lab/cmd/kong
	$(GO) build -trimpath -ldflags '-s -w -X main.version=3.4.3.5 -X main.edition=enterprise' -o build/simulators/kong-3.4.3.5 ./lab/cmd/kong
	$(GO) build -trimpath -ldflags '-s -w -X main.version=3.10.0.2 -X main.edition=enterprise' -o build/simulators/kong-3.10.0.2 ./lab/cmd/kong
	$(GO) build -trimpath -ldflags '-s -w -X main.version=3.14.0.0 -X main.edition=enterprise' -o build/simulators/kong-3.14.0.0 ./lab/cmd/kong
