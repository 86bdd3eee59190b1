#!/usr/bin/env bash
# Runs every Fuzz target in the module for a short time each.
set -euo pipefail
t=${1:-10s}
found=0
while read -r dir; do
  for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | sed 's/^func //' | sort -u); do
    found=1
    echo "fuzz: $dir $f ($t)" >&2
    # Minimizing a new interesting input may take 60 s by default, longer
    # than the whole run: the engine then ends with "context deadline
    # exceeded". Keep minimization short; the input is still saved.
    go test -run='^$' -fuzz="^$f\$" -fuzztime="$t" -fuzzminimizetime=2s "./$dir"
  done
done < <(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -r -n1 dirname | sort -u | sed 's|^\./||')
[ "$found" = 1 ] || { echo "fuzz: no fuzz targets found" >&2; exit 1; }
