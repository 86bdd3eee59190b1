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

# fuzz_one runs one target. Go 1.26's fuzzing coordinator can end a
# duration-bounded run with "context deadline exceeded" and no failing
# input, when the deadline races a busy worker (golang/go#75804, fixed in
# Go 1.27). That is no finding: it is said and the target runs once more.
# A failure that writes an input to testdata/fuzz/<Target>/, or any other
# failure, fails.
fuzz_one() {
  local dir=$1 f=$2 try before log crasher
  for try in 1 2; do
    before=$(mktemp)
    log=$(mktemp)
    if go test -run='^$' -fuzz="^$f\$" -fuzztime="$t" -fuzzminimizetime=2s "./$dir" 2>&1 | tee "$log"; then
      rm -f "$before" "$log"
      return 0
    fi
    crasher=""
    [ -d "$dir/testdata/fuzz/$f" ] && crasher=$(find "$dir/testdata/fuzz/$f" -type f -newer "$before" -print -quit)
    local flake=0
    [ -z "$crasher" ] && grep -q 'context deadline exceeded' "$log" && flake=1
    rm -f "$before" "$log"
    if [ "$flake" = 1 ]; then
      echo "fuzz: $f: Go's coordinator ended on its own deadline with no failing input (golang/go#75804): not a finding" >&2
      [ "$try" = 1 ] && { echo "fuzz: $f: once more" >&2; continue; }
      return 0
    fi
    echo "fuzz: $f failed${crasher:+: failing input $crasher}" >&2
    return 1
  done
}
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
    fuzz_one "$dir" "$f"
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
