package agentclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kongctl/kongctl/sshremote"
)

// damagingRemote flips a byte of what the first `damage` agent sessions
// send on stdin (well inside the agent, which follows a short line), as
// a network or disk that damaged it on the way.
type damagingRemote struct {
	*sshremote.Client
	damage   int64
	sessions atomic.Int64
}

func (r *damagingRemote) Run(ctx context.Context, req sshremote.RunRequest) (sshremote.RunResult, error) {
	if req.Stdout != nil && r.sessions.Add(1) <= r.damage {
		req.Stdin = &flipAt{r: req.Stdin, at: 4096}
	}
	return r.Client.Run(ctx, req)
}

// flipAt flips the byte at offset at of what it reads.
type flipAt struct {
	r    io.Reader
	at   int64
	read int64
}

func (f *flipAt) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if off := f.at - f.read; off >= 0 && off < int64(n) {
		p[off] ^= 0xff
	}
	f.read += int64(n)
	return n, err
}

// testOptions are a client's options with the agent and state dirs in a
// test's temp dir, delivering bin.
func testOptions(t *testing.T, bin func(string) (*Binary, error)) Options {
	root := t.TempDir()
	return Options{AgentDir: filepath.Join(root, "bin"), StateDir: filepath.Join(root, "state"), Binary: bin}
}

// assertAgentDir fails unless the agent dir holds n files.
func assertAgentDir(t *testing.T, opts Options, n int) {
	t.Helper()
	if ents, _ := os.ReadDir(opts.AgentDir); len(ents) != n {
		t.Fatalf("agent dir holds %d files, want %d (no temp file left)", len(ents), n)
	}
}

// An upload damaged on the way is refused by the session's bootstrap
// (never run), sent once more in a new session, and the second, sound,
// copy runs.
func TestDeliverResendsADamagedUploadOnce(t *testing.T) {
	_, remote := dialTestServer(t)
	opts := testOptions(t, localBinary)
	bin, _ := localBinary("amd64")
	r := &damagingRemote{Client: remote, damage: 1}
	d, err := New(r, opts).Deliver(testCtx(t), nil)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if size := int64(len(mustGzip(t, bin))); d.Skipped || d.Uploaded != 2*size || r.sessions.Load() != 2 || d.Hello.SHA256 != bin.SHA256 {
		t.Fatalf("delivery: %+v after %d sessions, want 2 uploads of %d bytes", d, r.sessions.Load(), size)
	}
	assertAgentDir(t, opts, 1)
	// the refused session, the agent's session
	if s := remote.Sessions(); s != 2 {
		t.Fatalf("%d SSH sessions, want 2", s)
	}
}

// An upload that arrives damaged twice is refused by host, and nothing
// of it is left or run.
func TestDeliverRefusesAnUploadDamagedTwice(t *testing.T) {
	_, remote := dialTestServer(t)
	opts := testOptions(t, localBinary)
	r := &damagingRemote{Client: remote, damage: 2}
	c := New(r, opts)
	_, err := c.Deliver(testCtx(t), nil)
	var ue *UploadCheckError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "deliver agent to kong-1: check uploaded agent") || r.sessions.Load() != 2 {
		t.Fatalf("err = %v after %d sessions, want the damaged upload refused by host after 2", err, r.sessions.Load())
	}
	assertAgentDir(t, opts, 0)
	if p := c.Processes(); p != 0 {
		t.Fatalf("%d agent processes started, want none", p)
	}
}

// A file that is not the binary kongctl means to send (its SHA-256 is not
// the one kongctl holds) is refused with what the node holds, and never
// put into place.
func TestDeliverRefusesAnUploadOfAnotherHash(t *testing.T) {
	_, remote := dialTestServer(t)
	real, _ := localBinary("amd64")
	bin := &Binary{GOARCH: "amd64", Data: real.Data, SHA256: strings.Repeat("0", 64)}
	opts := testOptions(t, func(string) (*Binary, error) { return bin, nil })
	r := &damagingRemote{Client: remote}
	_, err := New(r, opts).Deliver(testCtx(t), nil)
	want := "deliver agent to kong-1: check uploaded agent: sha256 " + real.SHA256 + " on the node, want " + bin.SHA256
	if err == nil || err.Error() != want || r.sessions.Load() != 2 {
		t.Fatalf("err = %v after %d sessions, want %q after 2", err, r.sessions.Load(), want)
	}
	assertAgentDir(t, opts, 0)
}

// An agent of another architecture (here an ELF header for arm64) is
// checked, put into place, and refused clearly when it cannot run.
func TestDeliverRefusesAnAgentThatCannotRun(t *testing.T) {
	_, remote := dialTestServer(t)
	elf := append([]byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00"), make([]byte, 200)...)
	sum := sha256.Sum256(elf)
	bin := &Binary{GOARCH: "amd64", Data: elf, SHA256: hex.EncodeToString(sum[:])}
	opts := testOptions(t, func(string) (*Binary, error) { return bin, nil })
	_, err := New(remote, opts).Deliver(testCtx(t), nil)
	if err == nil || !strings.Contains(err.Error(), "kong-1") || !strings.Contains(err.Error(), "exited 126") ||
		!strings.Contains(strings.ToLower(err.Error()), "exec format error") {
		t.Fatalf("err = %v, want the agent that cannot run refused by host", err)
	}
}

func TestInstallErrorParsesTheMarker(t *testing.T) {
	p := &bootstrap{bin: &Binary{Size: 10, SHA256: "abc"}}
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
	for _, b := range []*bootstrap{nil, {}} {
		if b.installError(installFailedExit, []byte(installMarker+" size 1 sha256 x")) != nil {
			t.Error("a session that sent no agent reported an install error")
		}
	}
}
