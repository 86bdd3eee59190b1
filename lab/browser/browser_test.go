//go:build integration

package browser

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The checks the report's browser test relies on can fail: a script's
// console output and a load refused by the page's Content-Security-Policy
// are both in Console, and Elements finds the elements of a class in the
// DOM as the browser built it.
func TestLoadReportsConsoleAndBlockedLoads(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "p.html")
	src := `<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>t</title></head><body><svg xmlns="http://www.w3.org/2000/svg"><g class="node-row x" data-host="kong-1"></g><g class="node-row" data-host="kong-2"></g><g class="phase-row"></g></svg>
<img src="http://example.invalid/x.png"><script>console.error("boom")</script></body></html>`
	if err := os.WriteFile(page, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(context.Background(), page)
	if err != nil {
		t.Fatal(err)
	}
	console := strings.Join(p.Console, "\n")
	if !strings.Contains(console, "boom") || !strings.Contains(console, "http://example.invalid/x.png") || !strings.Contains(console, "Content Security Policy") {
		t.Errorf("console lacks the script's error or the refused image:\n%s", console)
	}
	rows, err := p.Elements("node-row")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0]["data-host"] != "kong-1" || rows[1]["data-host"] != "kong-2" {
		t.Errorf("node rows = %v", rows)
	}
}
