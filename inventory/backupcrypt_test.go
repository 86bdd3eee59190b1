package inventory

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"
)

// backup { encrypt_to, recipients_file, identity_file }: valid values are
// carried, each bad one is an error at its own value (the base inventory
// ends on line 18, so the block's first argument is on line 20), and no
// message echoes a secret key or a line of a file.
func TestBackupEncryption(t *testing.T) {
	dir := t.TempDir()
	id1, _ := age.GenerateX25519Identity()
	id2, _ := age.GenerateX25519Identity()
	r1, r2 := id1.Recipient().String(), id2.Recipient().String()
	os.WriteFile(filepath.Join(dir, "recipients.txt"), []byte("# ops team\n"+r2+"\n\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "key.txt"), []byte("# created: today\n"+id1.String()+"\n"), 0o600)

	inv, diags := loadKong(t, dir, "\nbackup {\n  encrypt_to      = [\""+r1+"\"]\n  recipients_file = \"recipients.txt\"\n  identity_file   = \"key.txt\"\n}\n")
	if len(diags) != 0 {
		t.Fatalf("valid block: %q", diags)
	}
	if b := inv.Backup; !slices.Equal(b.EncryptTo, []string{r1, r2}) || b.IdentityFile != filepath.Join(dir, "key.txt") {
		t.Errorf("backup: %+v", b)
	}

	secret := id2.String()
	os.WriteFile(filepath.Join(dir, "bad-recipients.txt"), []byte(r1+"\nnot-a-key\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "bad-key.txt"), []byte(r1+"\n"), 0o600)
	tests := []struct {
		name, block string
		want        string // "line:col summary" prefix
		detail      string
	}{
		{"not a recipient", "  encrypt_to = [\"" + r1 + "\", \"age1nope\"]\n", "20:83 Invalid age recipient", "not one"},
		{"secret key", "  encrypt_to = [\n    \"" + secret + "\",\n  ]\n", "21:5 Secret key in encrypt_to", "remove it"},
		{"empty list", "  encrypt_to = []\n", "20:16 No age recipients", "encrypt_to is empty"},
		{"recipients file missing", "  recipients_file = \"nope.txt\"\n", "20:21 Recipients file unreadable", "nope.txt"},
		{"recipients file bad", "  recipients_file = \"bad-recipients.txt\"\n", "20:21 Invalid recipients file", "line 2"},
		{"identity file missing", "  identity_file = \"nope.key\"\n", "20:19 Identity file unreadable", "nope.key"},
		{"identity file holds a recipient", "  identity_file = \"bad-key.txt\"\n", "20:19 Invalid identity file", "AGE-SECRET-KEY-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := loadKong(t, dir, "\nbackup {\n"+tt.block+"}\n")
			if len(diags) != 1 || !strings.HasPrefix(diags[0], tt.want) || !strings.Contains(diags[0], tt.detail) {
				t.Errorf("got %q, want %q ... %q", diags, tt.want, tt.detail)
			}
			for _, d := range diags {
				if strings.Contains(d, secret) || strings.Contains(d, "not-a-key") {
					t.Errorf("diagnostic echoes the value: %s", d)
				}
			}
		})
	}

	// A key others can read is loaded, with a warning.
	os.Chmod(filepath.Join(dir, "key.txt"), 0o644)
	_, diags = loadKong(t, dir, "\nbackup {\n  identity_file = \"key.txt\"\n}\n")
	if len(diags) != 1 || !strings.HasPrefix(diags[0], "20:19 Identity file readable by others") || !strings.Contains(diags[0], "0644") {
		t.Errorf("key readable by others: %q", diags)
	}

	// The diagnostic names the file: rendered as file:line:col.
	path := filepath.Join(dir, "hosts.hcl")
	os.WriteFile(path, []byte(kongBlockBase+"\nbackup {\n  encrypt_to = [\"age1nope\"]\n}\n"), 0o600)
	_, d := Load(path)
	if !d.HasErrors() || d[0].Subject == nil || d[0].Subject.Filename != path || d[0].Subject.Start.Line != 20 {
		t.Errorf("diagnostic %v does not point at %s:20", d, path)
	}
}

// database { ca_file } must name a readable PEM certificate.
func TestDatabaseCAFile(t *testing.T) {
	dir := t.TempDir()
	testCA, err := os.ReadFile("../testdata/pki/ca.crt") // a certificate only: no key kept
	if err != nil {
		t.Fatal(err)
	}
	base := strings.Replace(kongBlockBase, `password_env = "PGPW"`, `password_env = "PGPW"
  ca_file      = "ca.crt"`, 1)
	load := func() (*Inventory, []string) {
		t.Helper()
		path := filepath.Join(dir, "hosts.hcl")
		os.WriteFile(path, []byte(base), 0o600)
		inv, diags := Load(path)
		var out []string
		for _, d := range diags {
			out = append(out, describe(d))
		}
		return inv, out
	}
	if _, diags := load(); len(diags) != 1 || !strings.HasPrefix(diags[0], "9:18 CA file unreadable") {
		t.Errorf("missing file: %q", diags)
	}
	os.WriteFile(filepath.Join(dir, "ca.crt"), []byte("hello\n"), 0o600)
	if _, diags := load(); len(diags) != 1 || !strings.HasPrefix(diags[0], "9:18 Invalid CA file") {
		t.Errorf("no PEM: %q", diags)
	}
	os.WriteFile(filepath.Join(dir, "ca.crt"), testCA, 0o600)
	if inv, diags := load(); len(diags) != 0 || inv.Database.CAFile != filepath.Join(dir, "ca.crt") {
		t.Errorf("valid CA: %q %+v", diags, inv.Database)
	}
}
