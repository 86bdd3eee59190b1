package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const kongBlockBase = `host "kong-1" {
  address = "10.0.0.11"
  roles   = ["kong"]
}

database {
  host         = "10.0.0.5"
  password_env = "PGPW"
}

upgrade {
  to = "3.4.2"
  package {
    source = "file"
    dir    = "packages"
  }
}
`

// loadKong loads the base inventory plus kongBlock from dir/hosts.hcl and
// returns the inventory and its diagnostics as "line:col summary" lines.
func loadKong(t *testing.T, dir, kongBlock string) (*Inventory, []string) {
	t.Helper()
	return loadSource(t, dir, kongBlockBase+kongBlock)
}

// loadSource loads src from dir/hosts.hcl and returns the inventory and
// its diagnostics as "line:col summary" lines.
func loadSource(t *testing.T, dir, src string) (*Inventory, []string) {
	t.Helper()
	path := filepath.Join(dir, "hosts.hcl")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	inv, diags := Load(path)
	var out []string
	for _, d := range diags {
		out = append(out, describe(d))
	}
	return inv, out
}

// The token file is checked when the inventory loads: missing, unreadable
// or empty is an error at the attribute's value (line 20, column 22).
func TestKongAdminTokenFile(t *testing.T) {
	const block = "\nkong {\n  admin_token_file = \"admin-token\"\n}\n"
	dir := t.TempDir()
	tok := filepath.Join(dir, "admin-token")

	_, diags := loadKong(t, dir, block)
	if len(diags) != 1 || !strings.HasPrefix(diags[0], "20:22 Admin token file not found") {
		t.Errorf("missing file: %q", diags)
	}
	os.WriteFile(tok, []byte("\n  \n"), 0o600)
	if _, diags := loadKong(t, dir, block); len(diags) != 1 || !strings.HasPrefix(diags[0], "20:22 Admin token file empty") {
		t.Errorf("empty file: %q", diags)
	}
	if os.Geteuid() != 0 { // root reads any file
		os.WriteFile(tok, []byte("tok\n"), 0o000)
		if _, diags := loadKong(t, dir, block); len(diags) != 1 || !strings.HasPrefix(diags[0], "20:22 Admin token file unreadable") {
			t.Errorf("unreadable file: %q", diags)
		}
	}
	os.Remove(tok)
	os.Mkdir(tok, 0o700) // a directory: read fails
	if _, diags := loadKong(t, dir, block); len(diags) != 1 || !strings.HasPrefix(diags[0], "20:22 Admin token file unreadable") {
		t.Errorf("directory as token file: %q", diags)
	}
	os.Remove(tok)
	os.WriteFile(tok, []byte("s3cret-token\n"), 0o600)
	inv, diags := loadKong(t, dir, block)
	if len(diags) != 0 {
		t.Fatalf("valid file: %q", diags)
	}
	if got, err := inv.AdminToken(); err != nil || string(got) != "s3cret-token" {
		t.Errorf("AdminToken() = %q, %v", got, err)
	}
	var show strings.Builder
	if err := Redacted(inv).WriteHCL(&show); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(show.String(), "admin_token_file = \""+tok+"\"") || strings.Contains(show.String(), "s3cret-token") {
		t.Errorf("show: %s", show.String())
	}
}

func TestKongAdminTokenEnvAndConflicts(t *testing.T) {
	dir := t.TempDir()
	_, diags := loadKong(t, dir, "\nkong {\n  admin_token = \"abc\"\n}\n")
	if len(diags) != 1 || !strings.HasPrefix(diags[0], "20:3 Inline admin token not allowed") {
		t.Errorf("inline: %q", diags)
	}
	_, diags = loadKong(t, dir, "\nkong {\n  admin_token_env  = \"TOK\"\n  admin_token_file = \"f\"\n}\n")
	if len(diags) != 1 || !strings.HasPrefix(diags[0], "21:3 Conflicting admin token references") {
		t.Errorf("both: %q", diags)
	}
	inv, diags := loadKong(t, dir, "\nkong {\n  admin_token_env = \"KONGCTL_TEST_ADMIN_TOKEN\"\n}\n")
	if len(diags) != 0 {
		t.Fatalf("env: %q", diags)
	}
	if _, err := inv.AdminToken(); err == nil || !strings.Contains(err.Error(), "environment variable KONGCTL_TEST_ADMIN_TOKEN is not set") {
		t.Errorf("unset env: %v", err)
	}
	t.Setenv("KONGCTL_TEST_ADMIN_TOKEN", "from-env")
	if got, err := inv.AdminToken(); err != nil || string(got) != "from-env" {
		t.Errorf("env: %q %v", got, err)
	}
	inv, _ = loadKong(t, dir, "")
	if got, err := inv.AdminToken(); got != nil || err != nil || inv.Kong != nil {
		t.Errorf("no kong block: %q %v", got, err)
	}
}

// keyring_export_file is checked when the inventory loads: missing or not
// an export of POST /keyring/export is an error at the attribute's value,
// whose content is never shown.
func TestKongKeyringExportFile(t *testing.T) {
	const block = "\nkong {\n  keyring_export_file = \"keyring.json\"\n}\n"
	dir := t.TempDir()
	if _, diags := loadKong(t, dir, block); len(diags) != 1 || !strings.HasPrefix(diags[0], "20:25 Keyring export file not found") {
		t.Errorf("missing file: %q", diags)
	}
	os.WriteFile(filepath.Join(dir, "keyring.json"), []byte(`{"secret-ish":"x"}`), 0o600)
	if _, diags := loadKong(t, dir, block); len(diags) != 1 || !strings.HasPrefix(diags[0], "20:25 Not a keyring export") || strings.Contains(diags[0], "secret-ish") {
		t.Errorf("not an export: %q", diags)
	}
	os.WriteFile(filepath.Join(dir, "keyring.json"), []byte(`{"data":"ZXhwb3J0"}`), 0o600)
	inv, diags := loadKong(t, dir, block)
	if len(diags) != 0 || inv.Kong.KeyringExport != filepath.Join(dir, "keyring.json") {
		t.Errorf("export: %q %+v", diags, inv.Kong)
	}
}
