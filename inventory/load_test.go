package inventory

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// wantRe matches the expected-diagnostic markers in invalid fixtures: a
// comment line "# want: LINE:COL TEXT", where TEXT must occur in the
// diagnostic's "Summary: Detail".
var wantRe = regexp.MustCompile(`^\s*# want: (\d+):(\d+) (.+)$`)

type want struct {
	line, col int
	text      string
}

func readWants(t *testing.T, src []byte) []want {
	t.Helper()
	var out []want
	for _, l := range strings.Split(string(src), "\n") {
		m := wantRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		line, _ := strconv.Atoi(m[1])
		col, _ := strconv.Atoi(m[2])
		out = append(out, want{line, col, m[3]})
	}
	return out
}

func TestInvalidFixtures(t *testing.T) {
	files, err := filepath.Glob("../testdata/inventory/invalid/*.hcl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			wants := readWants(t, src)
			if len(wants) == 0 {
				t.Fatalf("fixture has no # want: markers")
			}
			// Load by base name so messages name the file as the markers do.
			_, diags := LoadBytes(filepath.Base(f), src)
			matched := make([]bool, len(diags))
			for _, w := range wants {
				found := false
				for i, d := range diags {
					if matched[i] || d.Subject == nil {
						continue
					}
					text := d.Summary + ": " + d.Detail
					if d.Subject.Start.Line == w.line && d.Subject.Start.Column == w.col && strings.Contains(text, w.text) {
						matched[i], found = true, true
						break
					}
				}
				if !found {
					t.Errorf("missing diagnostic %d:%d %q", w.line, w.col, w.text)
				}
			}
			for i, d := range diags {
				if !matched[i] {
					t.Errorf("unexpected diagnostic %s", describe(d))
				}
			}
		})
	}
}

func describe(d *hcl.Diagnostic) string {
	pos := "-"
	if d.Subject != nil {
		pos = fmt.Sprintf("%d:%d", d.Subject.Start.Line, d.Subject.Start.Column)
	}
	return fmt.Sprintf("%s %s: %s", pos, d.Summary, d.Detail)
}

// TestMissingFileLocated: a missing inventory is reported at the file
// itself (1:1), so it reads "nope.hcl:1:1: error: ..." as every other
// inventory problem does.
func TestMissingFileLocated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.hcl")
	_, diags := Load(path)
	if len(diags) != 1 || diags[0].Subject == nil {
		t.Fatalf("diags %v: want one located diagnostic", diags)
	}
	if r := diags[0].Subject; r.Filename != path || r.Start.Line != 1 || r.Start.Column != 1 {
		t.Errorf("subject %s, want %s:1:1", r, path)
	}
	if !strings.Contains(diags[0].Detail, "KONGCTL_INVENTORY") {
		t.Errorf("detail %q does not say how to name an inventory", diags[0].Detail)
	}
}
