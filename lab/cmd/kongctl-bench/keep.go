package main

import (
	"errors"
	"io/fs"
	"os"
	"strings"
)

// keptMarker starts the part of BENCHMARKS.md that make bench does not
// write: the dated logs of other runs (the fault matrix, make test, the
// Vagrant rehearsal), written by hand. Everything from this line on is
// carried over when the report is rewritten.
const keptMarker = "<!-- Below: kept by make bench, written by hand. -->"

// writeReport writes the generated markdown md to path, keeping the part
// of the existing file from keptMarker on.
func writeReport(path, md string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if i := strings.Index(string(old), keptMarker); i >= 0 {
		md = strings.TrimRight(md, "\n") + "\n\n" + string(old[i:])
	}
	return os.WriteFile(path, []byte(md), 0o644)
}
