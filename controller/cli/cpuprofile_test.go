package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// KONGCTL_CPUPROFILE writes a profile of the invocation (gzip, as pprof
// writes it); without it nothing is written.
func TestCPUProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	var stderr bytes.Buffer
	stop := startCPUProfile(func(k string) string {
		if k == EnvCPUProfile {
			return path
		}
		return ""
	}, &stderr)
	stop()
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b || stderr.Len() != 0 {
		t.Fatalf("profile: %d bytes, %v, stderr %q; want a gzip-compressed profile", len(b), err, stderr.String())
	}
	startCPUProfile(func(string) string { return "" }, &stderr)()
	bad := startCPUProfile(func(string) string { return filepath.Join(t.TempDir(), "no", "such", "dir") }, &stderr)
	bad()
	if !bytes.Contains(stderr.Bytes(), []byte("cpu profile")) {
		t.Fatalf("stderr %q, want the failed profile reported", stderr.String())
	}
}
