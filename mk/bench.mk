# Benchmarks (issue 7): lab/cmd/kongctl-bench measures fleet downtime against
# the agents' critical path, a slow migration, the upgrade at 3/16/64 nodes
# (controller rusage) and agent delivery. Prints a table, writes
# build/bench/results.json and BENCHMARKS.md. Not part of `make test`.
#
#   make bench [BENCH_LAB_ID=2] [BENCH_FLAGS='-runs 3 -sizes 16,64 -slow 10']
#   make bench BENCH_FLAGS='-runs 1 -sizes 16 -slow-runs 1'   # quick look

BENCH_LAB_ID ?= 2
BENCH_FLAGS ?=

.PHONY: bench bench-tool
bench-tool:
	@mkdir -p bin
	$(GO) build -o bin/kongctl-bench ./lab/cmd/kongctl-bench

bench: all bench-tool lab-packages
	bin/kongctl-bench -kongctl bin/kongctl -lab-id $(BENCH_LAB_ID) -out build/bench -md BENCHMARKS.md $(BENCH_FLAGS)
