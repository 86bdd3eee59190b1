//go:build integration

package reportview

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kongctl/kongctl/lab/browser"
)

// The page in a real browser (Debian's chromium, offline): it loads with
// nothing on the console (no error, no refused load) and its DOM has one
// timeline row per node.
func TestHTMLInChromium(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, []byte(render(t, "html")), 0o644); err != nil {
		t.Fatal(err)
	}
	p := browser.RequireRows(t, path, RowClass, []string{"kong-1", "kong-2", "kong-3"})
	if ph, _ := p.Elements("phase-row"); len(ph) != 1 {
		t.Errorf("%d phase rows in the DOM, want 1", len(ph))
	}
}
