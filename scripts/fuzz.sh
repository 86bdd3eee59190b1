#!/usr/bin/env bash
# Runs every Fuzz target in the module for FUZZTIME each (first argument,
# default 10s), one after the other.
#
# With FUZZKEEP=1 (make fuzz's default) the inputs the engine found
# interesting during this run are copied from Go's fuzz cache into the
# target's corpus, <package>/testdata/fuzz/<Target>/, beside any crasher Go
# wrote there itself: commit them, and every `go test` replays them as seeds.
# make test runs with FUZZKEEP=0 and leaves the tree as it was.
set -euo pipefail
t=${1:-10s}
keep=${FUZZKEEP:-0}
cache="$(go env GOCACHE)/fuzz"
found=0
stamp=$(mktemp)
trap 'rm -f "$stamp"' EXIT
while read -r dir; do
  pkg=$(go list "./$dir")
  for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | sed 's/^func //' | sort -u); do
    found=1
    echo "fuzz: $dir $f ($t)" >&2
    touch "$stamp"
    # Minimizing a new interesting input may take 60 s by default, longer
    # than the whole run: the engine then ends with "context deadline
    # exceeded". Keep minimization short; the input is still saved.
    go test -run='^$' -fuzz="^$f\$" -fuzztime="$t" -fuzzminimizetime=2s "./$dir"
    if [ "$keep" = 1 ] && [ -d "$cache/$pkg/$f" ]; then
      mkdir -p "$dir/testdata/fuzz/$f"
      n=0
      while IFS= read -r -d '' c; do
        dst="$dir/testdata/fuzz/$f/$(basename "$c")"
        [ -e "$dst" ] && continue
        cp "$c" "$dst"
        n=$((n + 1))
      done < <(find "$cache/$pkg/$f" -type f -newer "$stamp" -print0)
      echo "fuzz: $f: kept $n new input(s) in $dir/testdata/fuzz/$f" >&2
    fi
  done
done < <(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -r -n1 dirname | sort -u | sed 's|^\./||')
[ "$found" = 1 ] || { echo "fuzz: no fuzz targets found" >&2; exit 1; }
