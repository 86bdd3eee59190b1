package inventory

import (
	"os"
	"strings"
	"testing"
)

// TestDocsExample keeps the complete inventory example of
// docs/inventory.md valid.
func TestDocsExample(t *testing.T) {
	b, err := os.ReadFile("../docs/inventory.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "## A complete example")
	if !ok {
		t.Fatal(`docs/inventory.md has no "## A complete example" section`)
	}
	_, rest, ok = strings.Cut(rest, "```hcl\n")
	src, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no hcl code block in the example section")
	}
	inv, diags := LoadBytes("../docs/inventory-example.hcl", []byte(src))
	for _, d := range diags {
		t.Errorf("%s", describe(d))
	}
	if len(inv.KongHosts()) != 2 || len(inv.Hooks) != 2 || inv.Host("kong-a2").SSH.User != "admin" {
		t.Errorf("example decoded unexpectedly: %d kong hosts, %d hooks", len(inv.KongHosts()), len(inv.Hooks))
	}
}
