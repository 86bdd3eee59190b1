package filehash

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// SHA256 agrees with sha256sum, on an empty file and on one larger than a
// read buffer.
func TestSHA256MatchesSha256sum(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"empty": "", "small": "kong\n", "big": strings.Repeat("0123456789abcdef", 1<<16)} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := SHA256(p)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("sha256sum", p).Output()
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.Fields(string(out))[0]; got != want {
			t.Errorf("%s: SHA256 = %s, sha256sum says %s", name, got, want)
		}
	}
}

func TestSHA256Errors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	if _, err := SHA256(missing); err == nil || !strings.Contains(err.Error(), missing) || !strings.HasPrefix(err.Error(), "checksum: open ") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := SHA256(t.TempDir()); err == nil || !strings.HasPrefix(err.Error(), "checksum: read ") {
		t.Errorf("a directory: %v", err)
	}
}
