package diagrender

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/kongctl/kongctl/inventory"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it)\n--- want\n%s\n--- got\n%s", name, want, got)
	}
}

func load(t *testing.T) (hcl.Diagnostics, map[string]*hcl.File) {
	t.Helper()
	src, err := os.ReadFile("testdata/input.hcl")
	if err != nil {
		t.Fatal(err)
	}
	inv, diags := inventory.LoadBytes("input.hcl", src)
	if len(diags) < 4 {
		t.Fatalf("want at least 4 diagnostics from the fixture, got %d", len(diags))
	}
	return diags, inv.Files
}

func TestGolden(t *testing.T) {
	diags, files := load(t)
	for _, tt := range []struct {
		golden string
		opts   Options
	}{
		{"snippet.golden", Options{Format: FormatSnippet, Files: files, Width: 80}},
		{"plain.golden", Options{Format: FormatPlain, Files: files}},
		{"json.golden", Options{Format: FormatJSON, Files: files}},
	} {
		t.Run(tt.golden, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, diags, tt.opts); err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(buf.Bytes(), []byte("\x1b[")) {
				t.Errorf("colour escape in uncoloured output")
			}
			if strings.Contains(buf.String(), "hunter2") {
				t.Errorf("the inline password leaked into the rendering")
			}
			golden(t, tt.golden, buf.Bytes())
		})
	}
}

func TestPlainLocation(t *testing.T) {
	diags, _ := load(t)
	var buf bytes.Buffer
	if err := Plain(&buf, diags); err != nil {
		t.Fatal(err)
	}
	first := strings.SplitN(buf.String(), "\n", 2)[0]
	if first != "input.hcl:2:21: error: Invalid duration" {
		t.Errorf("first line = %q", first)
	}
}

func TestNilSubject(t *testing.T) {
	diags := hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Failed to read inventory", Detail: "no such file"}}
	for _, f := range []Format{FormatPlain, FormatSnippet, FormatJSON} {
		var buf bytes.Buffer
		if err := Write(&buf, diags, Options{Format: f}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "Failed to read inventory") {
			t.Errorf("format %d: %q", f, buf.String())
		}
	}
}
