package agentclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/sshremote"
	"github.com/kongctl/kongctl/sshremote/sshtest"
)

// The real transport satisfies the interface the client consumes.
var _ Remote = (*sshremote.Client)(nil)

var builtAgent string // path of a kongctl-agent built for this test run

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "agentclient-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	builtAgent = filepath.Join(dir, "kongctl-agent")
	cmd := exec.Command("go", "build", "-o", builtAgent, "github.com/kongctl/kongctl/cmd/kongctl-agent")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build agent: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustGzip(t *testing.T, b *Binary) []byte {
	t.Helper()
	gz, err := b.Gzipped()
	if err != nil {
		t.Fatal(err)
	}
	return gz
}

// localBinary serves the agent built by TestMain for the local arch.
func localBinary(goarch string) (*Binary, error) {
	data, err := os.ReadFile(builtAgent)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	return &Binary{GOARCH: goarch, Data: data, SHA256: hex.EncodeToString(sum[:])}, nil
}

func dialTestServer(t *testing.T) (*sshtest.Server, *sshremote.Client) {
	t.Helper()
	srv := sshtest.NewServer(t, nil)
	cfg := &sshremote.Config{
		Name: "kong-1", Address: srv.Host, Port: srv.Port, User: "root",
		KeyFiles:        []string{srv.ClientKeyFile},
		KnownHostsFiles: []string{srv.WriteKnownHosts(t)},
		ConnectTimeout:  5 * time.Second,
	}
	c, err := sshremote.Dial(testCtx(t), cfg)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return srv, c
}

func TestDeliverUploadsOnceAndCalls(t *testing.T) {
	srv, remote := dialTestServer(t)
	root := t.TempDir()
	opts := Options{AgentDir: filepath.Join(root, "bin"), StateDir: filepath.Join(root, "state"), Binary: localBinary}
	bin, _ := localBinary("amd64")

	var last atomic.Int64
	c := New(remote, opts)
	d, err := c.Deliver(testCtx(t), func(n int64) { last.Store(n) })
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	// The node has gzip: the agent travels compressed.
	size := int64(len(mustGzip(t, bin)))
	if d.Skipped || d.Uploaded != size || last.Load() != size || size >= int64(len(bin.Data))/2 {
		t.Fatalf("first delivery: %+v (progress %d), want %d bytes uploaded (the agent is %d)", d, last.Load(), size, len(bin.Data))
	}
	if d.Hello.SHA256 != bin.SHA256 || d.Hello.ProtocolVersion != agentproto.ProtocolVersion {
		t.Fatalf("handshake: %+v", d.Hello)
	}
	fi, err := os.Stat(d.Path)
	if err != nil || fi.Mode().Perm() != 0o700 || !strings.HasPrefix(filepath.Base(d.Path), "kongctl-agent-"+bin.Short()) {
		t.Fatalf("agent file %s: %v %v", d.Path, fi, err)
	}
	if ents, _ := os.ReadDir(opts.AgentDir); len(ents) != 1 {
		t.Fatalf("agent dir holds %d files, want 1 (no temp file left)", len(ents))
	}

	// A second delivery (new client, same node) uploads nothing.
	c2 := New(remote, opts)
	d2, err := c2.Deliver(testCtx(t), func(n int64) { t.Errorf("progress on a skipped upload: %d", n) })
	if err != nil {
		t.Fatalf("second Deliver: %v", err)
	}
	if !d2.Skipped || d2.Uploaded != 0 {
		t.Fatalf("second delivery: %+v", d2)
	}

	// Calls: the secret travels on stdin only, and comes back redacted.
	secret := "pw-on-stdin-only"
	res, err := c2.Exec(testCtx(t), agentproto.ExecParams{Command: `echo "$PW"; exit 4`, SecretEnv: map[string]string{"PW": secret}})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	if res.ExitCode != 4 || res.StdoutTail != "[REDACTED]\n" {
		t.Fatalf("exec result %+v", res)
	}
	for _, cmd := range srv.Execs() {
		if strings.Contains(cmd, secret) {
			t.Fatalf("secret in a command line: %q", cmd)
		}
	}

	// Typed errors come back as *OpError with the agent's code.
	_, err = c2.Attach(testCtx(t), "no-such-step", 0)
	var oe *OpError
	if !errors.As(err, &oe) || agentproto.CodeOf(err) != agentproto.CodeNotFound || oe.Host != "kong-1" {
		t.Fatalf("attach unknown: %v", err)
	}

	// Protocol mismatch is refused by the agent.
	_, err = c2.Call(testCtx(t), &agentproto.Request{ProtocolVersion: agentproto.ProtocolVersion + 1, Op: agentproto.OpHello})
	if agentproto.CodeOf(err) != agentproto.CodeProtocolMismatch {
		t.Fatalf("mismatch: %v", err)
	}

	// Facts over the wire.
	f, err := c2.Facts(testCtx(t), agentproto.FactsParams{KongConf: filepath.Join(root, "none.conf")})
	if err != nil {
		t.Fatalf("Facts: %v", err)
	}
	if f.Arch == "" || f.Clock.IsZero() || time.Since(f.Clock) > time.Minute || f.Conf.DB.Port != 5432 {
		t.Fatalf("facts: %+v", f)
	}
}

func TestDeliverReplacesCorruptAgent(t *testing.T) {
	_, remote := dialTestServer(t)
	root := t.TempDir()
	opts := Options{AgentDir: filepath.Join(root, "bin"), StateDir: filepath.Join(root, "state"), Binary: localBinary}
	bin, _ := localBinary("amd64")
	if err := os.MkdirAll(opts.AgentDir, 0o700); err != nil {
		t.Fatal(err)
	}
	final := filepath.Join(opts.AgentDir, "kongctl-agent-"+bin.Short())
	if err := os.WriteFile(final, []byte("#!/bin/sh\necho corrupt\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	d, err := New(remote, opts).Deliver(testCtx(t), nil)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if d.Skipped || d.Uploaded != int64(len(mustGzip(t, bin))) {
		t.Fatalf("delivery over a corrupt agent: %+v", d)
	}
	got, _ := os.ReadFile(final)
	if sha := sha256.Sum256(got); hex.EncodeToString(sha[:]) != bin.SHA256 {
		t.Fatal("corrupt agent not replaced")
	}
}

// A node without gzip gets the agent as it is; the checked file is the
// same either way.
func TestDeliverWithoutGzip(t *testing.T) {
	bindir := t.TempDir()
	for _, tool := range []string{"sh", "uname", "sha256sum", "mkdir", "chmod", "stat", "rm", "head", "mv"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(p, filepath.Join(bindir, tool)); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bindir) // the test SSH server runs commands with this environment
	_, remote := dialTestServer(t)
	root := t.TempDir()
	opts := Options{AgentDir: filepath.Join(root, "bin"), StateDir: filepath.Join(root, "state"), Binary: localBinary}
	bin, _ := localBinary("amd64")
	d, err := New(remote, opts).Deliver(testCtx(t), nil)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if d.Skipped || d.Uploaded != int64(len(bin.Data)) || d.Hello.SHA256 != bin.SHA256 {
		t.Fatalf("delivery without gzip: %+v, want %d bytes uploaded", d, len(bin.Data))
	}
	if ents, _ := os.ReadDir(opts.AgentDir); len(ents) != 1 {
		t.Fatalf("agent dir holds %d files, want 1 (no temp file left)", len(ents))
	}
}

// What travels gzip-compressed decompresses to the agent itself.
func TestGzippedRoundTrip(t *testing.T) {
	data := []byte(strings.Repeat("kongctl-agent ", 1000))
	b := &Binary{Data: data, SHA256: "test-gzip-round-trip"}
	got, err := gunzip(mustGzip(t, b))
	if err != nil || string(got) != string(data) {
		t.Fatalf("gunzip(Gzipped()) = %d bytes, %v; want the %d bytes of the agent", len(got), err, len(data))
	}
	if _, err := gunzip(data); err == nil {
		t.Fatal("gunzip accepted data that is not gzip")
	}
}

// A client delivers the agent of its kind: the node agent by default, the
// tools agent (with the database operations) when asked.
func TestClientKindChoosesAgent(t *testing.T) {
	dir := t.TempDir()
	for _, k := range []Kind{KindNode, KindTools} {
		os.WriteFile(filepath.Join(dir, FileName(k, "riscv64")), []byte(k), 0o600)
	}
	t.Setenv(EnvAgentDir, dir)
	for _, tc := range []struct {
		opts Options
		want Kind
	}{{Options{}, KindNode}, {Options{Kind: KindNode}, KindNode}, {Options{Kind: KindTools}, KindTools}} {
		b, err := New(nil, tc.opts).opts.Binary("riscv64")
		if err != nil || string(b.Data) != string(tc.want) || b.Kind != tc.want {
			t.Fatalf("Options%+v: binary %+v, %v; want the %s agent", tc.opts, b, err, tc.want)
		}
	}
}

func TestAgentBinaryMissing(t *testing.T) {
	t.Setenv(EnvAgentDir, "")
	_, err := AgentBinary(KindNode, "riscv64")
	if err == nil || !strings.Contains(err.Error(), "make") {
		t.Fatalf("err = %v, want a hint to run make", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "kongctl-agent-tools-linux-riscv64"), []byte("x"), 0o600)
	t.Setenv(EnvAgentDir, dir)
	b, err := AgentBinary(KindTools, "riscv64")
	if err != nil || string(b.Data) != "x" {
		t.Fatalf("from %s: %v", EnvAgentDir, err)
	}
	if _, err := GOARCHFromUname("mips"); err == nil {
		t.Fatal("mips accepted")
	}
}

func TestCallWithoutDelivery(t *testing.T) {
	_, remote := dialTestServer(t)
	if _, err := New(remote, Options{}).Hello(testCtx(t)); err == nil || !strings.Contains(err.Error(), "not delivered") {
		t.Fatalf("err = %v", err)
	}
}

// The agent replaced on the node after delivery (same path, other bytes)
// refuses the controller's requests once a session runs it: every call
// carries the delivered hash. (The session already running is the
// delivered binary, checked once per process.)
func TestCallRefusedByReplacedAgent(t *testing.T) {
	_, remote := dialTestServer(t)
	root := t.TempDir()
	opts := Options{AgentDir: filepath.Join(root, "bin"), StateDir: filepath.Join(root, "state"), Binary: localBinary}
	c := New(remote, opts)
	d, err := c.Deliver(testCtx(t), nil)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	// A tampered copy: the same program with bytes appended still runs.
	data, _ := os.ReadFile(builtAgent)
	tmp := d.Path + ".tampered"
	if err := os.WriteFile(tmp, append(data, []byte("tampered")...), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, d.Path); err != nil {
		t.Fatal(err)
	}
	c.Close() // the session ends (as a lost connection ends it): the next call runs the file on the node
	marker := filepath.Join(root, "ran")
	_, err = c.Exec(testCtx(t), agentproto.ExecParams{Command: "touch " + marker})
	if agentproto.CodeOf(err) != agentproto.CodeAgentMismatch || !strings.Contains(err.Error(), d.SHA256) || !strings.Contains(err.Error(), "kong-1") {
		t.Fatalf("call to a replaced agent: %v, want %s naming the host and the delivered hash", err, agentproto.CodeAgentMismatch)
	}
	if _, serr := os.Stat(marker); !os.IsNotExist(serr) {
		t.Fatalf("the replaced agent ran the command (stat: %v)", serr)
	}
	// Delivering again puts the right binary back, and calls work.
	if _, err := c.Deliver(testCtx(t), nil); err != nil {
		t.Fatalf("re-deliver: %v", err)
	}
	if _, err := c.Exec(testCtx(t), agentproto.ExecParams{Command: "touch " + marker}); err != nil {
		t.Fatalf("call after re-delivery: %v", err)
	}
}
