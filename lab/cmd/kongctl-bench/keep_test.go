package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteReportKeepsHandWrittenTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	if err := writeReport(path, "# new\n"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "# new\n" {
		t.Fatalf("fresh file: %q", b)
	}
	tail := keptMarker + "\n\n## Fault matrix runs\n\nrun of 2026-12-06\n"
	if err := os.WriteFile(path, []byte("# old figures\n\n"+tail), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeReport(path, "# new figures\n\n"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if want := "# new figures\n\n" + tail; string(b) != want {
		t.Errorf("got %q, want %q", b, want)
	}
}
