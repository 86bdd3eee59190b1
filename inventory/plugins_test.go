package inventory

import (
	"slices"
	"strings"
	"testing"
)

// loadPackage loads kongBlockBase with the package block's body replaced
// by body, and returns the inventory and its diagnostics ("line:col
// summary").
func loadPackage(t *testing.T, body string) (*Inventory, []string) {
	t.Helper()
	src := strings.Replace(kongBlockBase, "    source = \"file\"\n    dir    = \"packages\"\n", body, 1)
	return loadSource(t, t.TempDir(), src)
}

func TestPluginPackages(t *testing.T) {
	inv, diags := loadPackage(t, "    source = \"repository\"\n    plugin_packages = [\"kong-plugin-foo\", \"acme_auth+x\"]\n")
	if len(diags) != 0 {
		t.Fatalf("diagnostics: %q", diags)
	}
	if got := inv.Upgrade.Package.PluginPackages; !slices.Equal(got, []string{"kong-plugin-foo", "acme_auth+x"}) {
		t.Errorf("plugin packages %q", got)
	}
	var shown strings.Builder
	if err := Redacted(inv).WriteHCL(&shown); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(shown.String(), `plugin_packages = ["kong-plugin-foo", "acme_auth+x"]`) {
		t.Errorf("inventory show lacks plugin_packages:\n%s", shown.String())
	}
	// Errors at the list (line 15, column 23).
	for body, want := range map[string]string{
		"    source = \"repository\"\n    plugin_packages = [\"kong-plugin-foo; rm -rf /\"]\n": "15:23 Invalid plugin package name",
		"    source = \"repository\"\n    plugin_packages = [\"kong\"]\n":                      "15:23 Kong in plugin_packages",
		"    source = \"repository\"\n    plugin_packages = [\"a\", \"a\"]\n":                  "15:23 Duplicate plugin package",
		"    source = \"repository\"\n    plugin_packages = \"kong-plugin-foo\"\n":             "15:23 ",
	} {
		if _, diags := loadPackage(t, body); len(diags) != 1 || !strings.HasPrefix(diags[0], want) {
			t.Errorf("%q: diagnostics %q, want %q...", body, diags, want)
		}
	}
}
