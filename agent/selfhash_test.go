package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/internal/filehash"
)

// The agent's own hash is read from the cache while the executable is
// unchanged, and computed again once the file is modified or replaced.
func TestSelfHashCache(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "kongctl-agent")
	if err := os.WriteFile(exe, []byte("agent v1"), 0o700); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	a := &Agent{StateDir: state, Exe: exe}
	want, _ := filehash.SHA256(exe)
	got, err := a.selfSHA256()
	if err != nil || got != want {
		t.Fatalf("first hash = %q, %v; want %q", got, err, want)
	}
	cache := filepath.Join(state, selfHashFile)
	st, err := os.Stat(cache)
	if err != nil {
		t.Fatalf("no cache written: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("cache mode %v, want 0600", st.Mode().Perm())
	}

	// A cache entry for this very file is trusted (no rehash)...
	key, _ := fileKey(exe)
	fake := strings.Repeat("a", 64)
	if err := os.WriteFile(cache, []byte(key+" sha256="+fake+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.selfSHA256(); got != fake {
		t.Fatalf("cached entry not used: got %q", got)
	}

	// ...but not once the executable changed: in place, or replaced.
	if err := os.WriteFile(exe, []byte("agent v2"), 0o700); err != nil {
		t.Fatal(err)
	}
	want2, _ := filehash.SHA256(exe)
	if got, _ := a.selfSHA256(); got != want2 {
		t.Fatalf("after a rewrite: %q, want %q", got, want2)
	}
	repl := filepath.Join(dir, "new")
	if err := os.WriteFile(repl, []byte("agent v3"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(repl, exe); err != nil {
		t.Fatal(err)
	}
	want3, _ := filehash.SHA256(exe)
	if got, _ := a.selfSHA256(); got != want3 {
		t.Fatalf("after a replace: %q, want %q", got, want3)
	}

	// A state directory that cannot hold the cache only costs a hash.
	b := &Agent{StateDir: filepath.Join(dir, "missing", "dir"), Exe: exe}
	if got, err := b.selfSHA256(); err != nil || got != want3 {
		t.Fatalf("without a writable state dir: %q, %v", got, err)
	}
}
