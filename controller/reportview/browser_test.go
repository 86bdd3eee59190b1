//go:build integration

package reportview

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := browser.Load(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Clean(); err != nil {
		t.Error(err)
	}
	hosts, err := p.Hosts(RowClass)
	if err != nil || strings.Join(hosts, ",") != "kong-1,kong-2,kong-3" {
		t.Errorf("timeline rows in the browser's DOM: %v (%v), want kong-1, kong-2, kong-3", hosts, err)
	}
	if ph, _ := p.Elements("phase-row"); len(ph) != 1 {
		t.Errorf("%d phase rows in the DOM, want 1", len(ph))
	}
}
