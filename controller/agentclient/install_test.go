package agentclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kongctl/kongctl/sshremote"
)

// damagingRemote flips a byte of the first `damage` uploads, as a network
// or disk that damaged them on the way.
type damagingRemote struct {
	*sshremote.Client
	damage  int64
	uploads atomic.Int64
}

func (r *damagingRemote) Upload(ctx context.Context, dst string, src io.Reader, size int64, mode fs.FileMode, progress func(int64)) error {
	if r.uploads.Add(1) > r.damage {
		return r.Client.Upload(ctx, dst, src, size, mode, progress)
	}
	b, err := io.ReadAll(src)
	if err != nil {
		return err
	}
	b = bytes.Clone(b)
	b[len(b)/2] ^= 0xff
	return r.Client.Upload(ctx, dst, bytes.NewReader(b), size, mode, progress)
}

// An upload damaged on the way is refused by the session's install step
// (never run), sent once more, and the second, sound, copy runs: still no
// separate SSH session for the check.
func TestDeliverResendsADamagedUploadOnce(t *testing.T) {
	_, remote := dialTestServer(t)
	root := t.TempDir()
	opts := Options{AgentDir: filepath.Join(root, "bin"), StateDir: filepath.Join(root, "state"), Binary: localBinary}
	bin, _ := localBinary("amd64")
	r := &damagingRemote{Client: remote, damage: 1}
	d, err := New(r, opts).Deliver(testCtx(t), nil)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if size := int64(len(mustGzip(t, bin))); d.Skipped || d.Uploaded != 2*size || r.uploads.Load() != 2 || d.Hello.SHA256 != bin.SHA256 {
		t.Fatalf("delivery: %+v after %d uploads, want 2 uploads of %d bytes", d, r.uploads.Load(), size)
	}
	if ents, _ := os.ReadDir(opts.AgentDir); len(ents) != 1 {
		t.Fatalf("agent dir holds %d files, want 1 (no temp file left)", len(ents))
	}
	// probe, SFTP, the refused session, the agent's session
	if s := remote.Sessions(); s != 4 {
		t.Fatalf("%d SSH sessions, want 4", s)
	}
}

// An upload that arrives damaged twice is refused by host, and nothing
// of it is left or run.
func TestDeliverRefusesAnUploadDamagedTwice(t *testing.T) {
	_, remote := dialTestServer(t)
	root := t.TempDir()
	opts := Options{AgentDir: filepath.Join(root, "bin"), StateDir: filepath.Join(root, "state"), Binary: localBinary}
	r := &damagingRemote{Client: remote, damage: 2}
	c := New(r, opts)
	_, err := c.Deliver(testCtx(t), nil)
	var ue *UploadCheckError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "deliver agent to kong-1: check uploaded agent") || r.uploads.Load() != 2 {
		t.Fatalf("err = %v after %d uploads, want the damaged upload refused by host after 2", err, r.uploads.Load())
	}
	if ents, _ := os.ReadDir(opts.AgentDir); len(ents) != 0 {
		t.Fatalf("agent dir holds %d files, want none", len(ents))
	}
	if p := c.Processes(); p != 0 {
		t.Fatalf("%d agent processes started, want none", p)
	}
}

// A file that is not the binary kongctl means to send (its SHA-256 is not
// the one kongctl holds) is refused with what the node holds, and never
// put into place.
func TestDeliverRefusesAnUploadOfAnotherHash(t *testing.T) {
	_, remote := dialTestServer(t)
	root := t.TempDir()
	real, _ := localBinary("amd64")
	bin := &Binary{GOARCH: "amd64", Data: real.Data, SHA256: strings.Repeat("0", 64)}
	opts := Options{AgentDir: filepath.Join(root, "bin"), StateDir: filepath.Join(root, "state"),
		Binary: func(string) (*Binary, error) { return bin, nil }}
	r := &damagingRemote{Client: remote}
	_, err := New(r, opts).Deliver(testCtx(t), nil)
	want := "deliver agent to kong-1: check uploaded agent: sha256 " + real.SHA256 + " on the node, want " + bin.SHA256
	if err == nil || err.Error() != want || r.uploads.Load() != 2 {
		t.Fatalf("err = %v after %d uploads, want %q after 2", err, r.uploads.Load(), want)
	}
	if ents, _ := os.ReadDir(opts.AgentDir); len(ents) != 0 {
		t.Fatalf("agent dir holds %d files, want none", len(ents))
	}
}

// An agent of another architecture (here an ELF header for arm64) is
// checked, put into place, and refused clearly when it cannot run.
func TestDeliverRefusesAnAgentThatCannotRun(t *testing.T) {
	_, remote := dialTestServer(t)
	root := t.TempDir()
	elf := append([]byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00"), make([]byte, 200)...)
	sum := sha256.Sum256(elf)
	bin := &Binary{GOARCH: "amd64", Data: elf, SHA256: hex.EncodeToString(sum[:])}
	opts := Options{AgentDir: filepath.Join(root, "bin"), StateDir: filepath.Join(root, "state"),
		Binary: func(string) (*Binary, error) { return bin, nil }}
	_, err := New(remote, opts).Deliver(testCtx(t), nil)
	if err == nil || !strings.Contains(err.Error(), "kong-1") || !strings.Contains(err.Error(), "exited 126") ||
		!strings.Contains(strings.ToLower(err.Error()), "exec format error") {
		t.Fatalf("err = %v, want the agent that cannot run refused by host", err)
	}
}

func TestInstallErrorParsesTheMarker(t *testing.T) {
	p := &pendingInstall{size: 10, sum: "abc"}
	for _, tc := range []struct {
		code   int
		stderr string
		want   string // "" = not an install error
	}{
		{installFailedExit, installMarker + " size 10 sha256 def\n", "sha256 def on the node, want abc"},
		{installFailedExit, installMarker + " size 9 sha256 def\n", "size 9 on the node, want 10"},
		{installFailedExit, "xz: (stdin): File format not recognized\n" + installMarker + " size  sha256 \n", "could not put it into place: xz: (stdin): File format not recognized"},
		{installFailedExit, "no marker", ""},
		{1, installMarker + " size 10 sha256 def\n", ""},
	} {
		err := p.installError(tc.code, []byte(tc.stderr))
		switch {
		case tc.want == "" && err != nil, tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("installError(%d, %q) = %v, want %q", tc.code, tc.stderr, err, tc.want)
		}
	}
	if (*pendingInstall)(nil).installError(installFailedExit, []byte(installMarker+" size 1 sha256 x")) != nil {
		t.Error("a session without an install step reported an install error")
	}
}
