package main

import (
	"os"
	"path/filepath"
	"strings"
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

// A report of a -repository run says so above its figures; the default's
// does not.
func TestMarkdownNamesRepositorySource(t *testing.T) {
	r := &results{Machine: map[string]any{"cpus": 2, "go": "go1.26"}}
	if md := renderMarkdown(r, "table\n"); strings.Contains(md, "Package source") {
		t.Errorf("default source named:\n%s", md)
	}
	r.Machine["package_source"] = "repository"
	if md := renderMarkdown(r, "table\n"); !strings.Contains(md, "**Package source: repository**") {
		t.Errorf("repository source not named:\n%s", md)
	}
}
