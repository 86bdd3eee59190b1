package agentclient

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func gunzip(gz []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// xzBinary is the test agent as `make agents` embeds it: xz-compressed,
// with the SHA-256 and size of the executable.
func xzBinary(t *testing.T) (*Binary, []byte) {
	t.Helper()
	raw, err := localBinary("amd64")
	if err != nil {
		t.Fatal(err)
	}
	xzOnce.Do(func() {
		cmd := exec.Command("xz", "-1", "-T1", "-c") // the xz make agents uses (install-deps)
		cmd.Stdin = bytes.NewReader(raw.Data)
		xzData, xzErr = cmd.Output()
	})
	if xzErr != nil {
		t.Fatal(xzErr)
	}
	return &Binary{Kind: KindNode, GOARCH: "amd64", SHA256: raw.SHA256, Size: int64(len(raw.Data)), xz: xzData}, raw.Data
}

var (
	xzOnce sync.Once
	xzData []byte
	xzErr  error
)

// An embedded agent travels as it is embedded, xz-compressed, to a node
// that has xz: the controller decompresses nothing.
func TestDeliverXZ(t *testing.T) {
	_, remote := dialTestServer(t)
	root := t.TempDir()
	bin, raw := xzBinary(t)
	opts := Options{AgentDir: filepath.Join(root, "bin"), StateDir: filepath.Join(root, "state"),
		Binary: func(string) (*Binary, error) { return bin, nil }}
	d, err := New(remote, opts).Deliver(testCtx(t), nil)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if d.Skipped || d.Uploaded != int64(len(bin.XZ())) || d.Hello.SHA256 != bin.SHA256 {
		t.Fatalf("delivery: %+v, want the %d bytes of the xz uploaded", d, len(bin.XZ()))
	}
	if bin.Data != nil {
		t.Fatal("the controller decompressed the agent to send it as xz")
	}
	if got, err := os.ReadFile(d.Path); err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("agent on the node: %d bytes, %v; want the %d of the executable", len(got), err, len(raw))
	}
}

// Raw decompresses an embedded agent once and checks it against its .sum.
func TestRawChecksSum(t *testing.T) {
	bin, raw := xzBinary(t)
	if got, err := bin.Raw(); err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("Raw: %d bytes, %v", len(got), err)
	}
	bad, _ := xzBinary(t)
	bad.SHA256 = strings.Repeat("0", 64)
	if _, err := bad.Raw(); err == nil || !strings.Contains(err.Error(), ".sum") {
		t.Fatalf("Raw of an agent that does not match its .sum: %v", err)
	}
	if _, err := bad.Gzipped(); err == nil {
		t.Fatal("Gzipped of an agent that does not match its .sum succeeded")
	}
}

func TestChooseEncoding(t *testing.T) {
	embedded, _ := xzBinary(t)
	plain := &Binary{Data: []byte("x")}
	for _, tc := range []struct {
		bin    *Binary
		xz, gz bool
		want   encoding
	}{
		{embedded, true, true, encXZ},
		{embedded, true, false, encXZ},
		{embedded, false, true, encGzip},
		{embedded, false, false, encRaw},
		{plain, true, true, encGzip}, // not embedded: no xz form
		{plain, true, false, encRaw},
	} {
		if got := chooseEncoding(tc.bin, tc.xz, tc.gz); got != tc.want {
			t.Errorf("chooseEncoding(embedded %v, xz %v, gzip %v) = %q, want %q", tc.bin.XZ() != nil, tc.xz, tc.gz, got, tc.want)
		}
	}
}

// Every agent `make agents` embedded decompresses to what its .sum says.
func TestEmbeddedAgentsMatchSums(t *testing.T) {
	names, _ := fs.Glob(agents, "agents/*.xz")
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "agents/"), ".xz")
		kind, arch, ok := strings.Cut(strings.TrimPrefix(name, "kongctl-agent-"), "-linux-")
		if !ok {
			t.Fatalf("embedded %s: not kongctl-agent-<kind>-linux-<arch>", n)
		}
		b, err := AgentBinary(Kind(kind), arch)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Raw(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d embedded agents checked", len(names))
}

// The client counts the agent processes it starts and the transport the
// SSH sessions it opens: every call rides the one agent session (the
// benchmark's figures per node come from these).
func TestCallsCountProcessesAndSessions(t *testing.T) {
	_, remote := dialTestServer(t)
	root := t.TempDir()
	c := New(remote, Options{AgentDir: filepath.Join(root, "bin"), StateDir: filepath.Join(root, "state"), Binary: localBinary})
	if _, err := c.Deliver(testCtx(t), nil); err != nil {
		t.Fatal(err)
	}
	// one: the agent's session, which also found the node's
	// architecture, received the agent and put it into place
	if p, s := c.Processes(), remote.Sessions(); p != 1 || s != 1 {
		t.Fatalf("after delivery: %d agent processes, %d SSH sessions; want 1 and 1", p, s)
	}
	for range 3 {
		if _, err := c.Hello(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
	if p, s := c.Processes(), remote.Sessions(); p != 1 || s != 1 {
		t.Fatalf("after 3 calls: %d agent processes, %d SSH sessions; want still 1 and 1", p, s)
	}
}
