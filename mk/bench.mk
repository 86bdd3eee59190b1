# Benchmarks (issue 7): lab/cmd/kongctl-bench measures fleet downtime against
# the agents' critical path, a slow migration, the upgrade at 3/16/64 nodes
# (controller rusage) and agent delivery. Prints a table, writes
# build/bench/results.json and BENCHMARKS.md. Not part of `make test`.
# The outage section (issue 15) compares kongctl's downtime with a plain
# in-place script (lab/baseline/inplace.sh) at 3 and 16 nodes and at 3 nodes
# on a 200000-row database, a fresh lab per run, runs alternated.
#
#   make bench [BENCH_LAB_ID=2] [BENCH_FLAGS='-runs 3 -sizes 16,64 -slow 10']
#   make bench BENCH_FLAGS='-runs 1 -sizes 16 -slow-runs 1'   # quick look
#   make bench BENCH_FLAGS='-only outage [-outage-sizes 3,16,3-rows] [-outage-runs 3]'
#   make bench BENCH_FLAGS='-only upgrade -runs 0 -sizes 64 -slow-runs 0 -repository'   # no package uploads
#       the outage section alone (default pairs: 3 at 3 and 3-rows, 2 at 16);
#       the other sections' figures are kept from build/bench/results.json

BENCH_LAB_ID ?= 2
BENCH_FLAGS ?=

.PHONY: bench bench-tool
bench-tool:
	@mkdir -p bin
	$(GO) build -o bin/kongctl-bench ./lab/cmd/kongctl-bench

bench: all bench-tool lab-packages
	bin/kongctl-bench -kongctl bin/kongctl -lab-id $(BENCH_LAB_ID) -out build/bench -md BENCHMARKS.md $(BENCH_FLAGS)
