package inventory

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// blockOpen is a top-level block's first line in the example: its type.
var blockOpen = regexp.MustCompile(`^([a-z_]+)\b[^=]*\{\s*(#.*)?$`)

// attrSet is an attribute set in the example, at any depth.
var attrSet = regexp.MustCompile(`^\s*([a-z_0-9]+)\s*=`)

// TestEveryAttributeIsDocumented: docs/inventory.md names every attribute
// the language accepts (Attributes) under its own block: in the block's
// row of the Blocks table, or set in that block of the complete example
// (a host's ssh block is documented by the ssh block's), and a secret
// refused inline in the Secrets section. The example decodes strictly
// (TestDocsExample), so what it sets is accepted; with
// TestEveryInventoryAttributeReachesTheCode (controller/runner), every
// documented attribute is shown to reach the code.
func TestEveryAttributeIsDocumented(t *testing.T) {
	b, err := os.ReadFile("../docs/inventory.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	rows := map[string]string{} // block type -> its row of the Blocks table
	for _, l := range strings.Split(doc, "\n") {
		if name, ok := strings.CutPrefix(l, "| `"); ok {
			name, _, _ = strings.Cut(name, "`")
			name, _, _ = strings.Cut(name, " ")
			rows[name] = l
		}
	}
	_, ex, _ := strings.Cut(doc, "## A complete example")
	_, ex, _ = strings.Cut(ex, "```hcl\n")
	ex, _, _ = strings.Cut(ex, "```")
	example := map[string]map[string]bool{} // block type -> attributes set in it
	top := ""
	for _, l := range strings.Split(ex, "\n") {
		if m := blockOpen.FindStringSubmatch(l); m != nil && !strings.HasPrefix(l, " ") {
			top = m[1]
		}
		if m := attrSet.FindStringSubmatch(l); m != nil && top != "" {
			if example[top] == nil {
				example[top] = map[string]bool{}
			}
			example[top][m[1]] = true
		}
	}
	_, secrets, _ := strings.Cut(doc, "## Secrets")
	secrets, _, _ = strings.Cut(secrets, "\n## ")
	if len(rows) < 10 || len(example) < 10 || secrets == "" {
		t.Fatalf("docs/inventory.md read wrong: %d table rows, %d example blocks, secrets section %d bytes", len(rows), len(example), len(secrets))
	}

	for _, attr := range Attributes() {
		path := strings.Split(attr, ".")
		block, leaf := path[0], path[len(path)-1]
		if block == "host" && path[1] == "ssh" {
			block = "ssh"
		}
		named := regexp.MustCompile("`" + leaf + "[`( =]|[{,] " + leaf + "[ ,}(]")
		if !named.MatchString(rows[block]) && !example[block][leaf] && !named.MatchString(secrets) {
			t.Errorf("%s: the inventory accepts it, but docs/inventory.md names it neither in the %s row of its Blocks table nor in that block of its complete example", attr, block)
		}
	}
}
