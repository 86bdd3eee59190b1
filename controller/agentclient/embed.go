package agentclient

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/ulikunitz/xz"
)

// agents holds the agents built by `make agents` as they travel to the
// nodes: xz-compressed (kongctl-agent-<kind>-linux-<goarch>.xz; only what
// is sent is embedded), each with its .sum (the SHA-256 and size of the
// executable, so that nothing is decompressed to know them), plus
// README.txt so the pattern matches on a fresh clone.
//
//go:embed agents
var agents embed.FS

// EnvAgentDir names a directory holding kongctl-agent-<kind>-linux-<goarch>
// files, used when the binary for an arch was not embedded (a build
// without make).
const EnvAgentDir = "KONGCTL_AGENT_DIR"

// Kind is which build of the agent a host receives.
type Kind string

// The agent's two builds. A Kong node's agent carries no database
// operations (agent built with the tag nodeagent); the database tools
// host's agent carries them (and everything a node's agent does).
const (
	KindNode  Kind = "node"
	KindTools Kind = "tools"
)

// FileName is the name of the agent of kind for linux/goarch, as `make
// agents` builds it (the embedded copy has the suffix .xz).
func FileName(kind Kind, goarch string) string {
	return "kongctl-agent-" + string(kind) + "-linux-" + goarch
}

// Binary is an agent executable for one architecture. An embedded one
// holds its xz form and is decompressed only when a node can take
// neither xz nor gzip (Raw).
type Binary struct {
	Kind   Kind
	GOARCH string
	SHA256 string // hex, of the executable
	Size   int64  // bytes of the executable (0: len(Data))
	// Data is the executable; nil for an embedded agent until Raw.
	Data []byte

	xz      []byte
	rawOnce sync.Once
	rawErr  error
	gzOnce  sync.Once
	gz      []byte
}

// Short is the first 12 hex digits of the hash, used in the remote file name.
func (b *Binary) Short() string { return b.SHA256[:12] }

// Len is the size of the executable.
func (b *Binary) Len() int64 {
	if b.Size > 0 {
		return b.Size
	}
	return int64(len(b.Data))
}

// XZ is the embedded xz-compressed executable (nil when not embedded).
func (b *Binary) XZ() []byte { return b.xz }

// Raw returns the executable, decompressing the embedded one once; its
// SHA-256 and size are checked against the .sum built with it.
func (b *Binary) Raw() ([]byte, error) {
	b.rawOnce.Do(func() {
		if b.Data != nil || b.xz == nil {
			return
		}
		zr, err := xz.NewReader(bytes.NewReader(b.xz))
		if err == nil {
			b.Data, err = io.ReadAll(zr)
		}
		if err != nil {
			b.rawErr = fmt.Errorf("decompress the embedded agent %s: %w", FileName(b.Kind, b.GOARCH), err)
			b.Data = nil
			return
		}
		if sum := sha256.Sum256(b.Data); hex.EncodeToString(sum[:]) != b.SHA256 || int64(len(b.Data)) != b.Size {
			b.rawErr = fmt.Errorf("the embedded agent %s does not match its .sum (rebuild with make)", FileName(b.Kind, b.GOARCH))
			b.Data = nil
		}
	})
	return b.Data, b.rawErr
}

// Gzipped returns the executable gzip-compressed, for a node that has
// gzip but not xz: compressed here once.
func (b *Binary) Gzipped() ([]byte, error) {
	data, err := b.Raw()
	if err != nil {
		return nil, err
	}
	b.gzOnce.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(data)
		_ = zw.Close()
		b.gz = buf.Bytes()
	})
	return b.gz, nil
}

// embedded caches the embedded agents by name: read once per process,
// not once per host, and shared by every caller (not to be modified).
var embedded sync.Map

// AgentBinary returns the agent of kind for goarch (amd64, arm64): the
// embedded one, else $KONGCTL_AGENT_DIR/kongctl-agent-<kind>-linux-<goarch>.
func AgentBinary(kind Kind, goarch string) (*Binary, error) {
	name := FileName(kind, goarch)
	if b, ok := embedded.Load(name); ok {
		return b.(*Binary), nil
	}
	if z, err := fs.ReadFile(agents, "agents/"+name+".xz"); err == nil && len(z) > 0 {
		sum, err := fs.ReadFile(agents, "agents/"+name+".sum")
		if err != nil {
			return nil, fmt.Errorf("embedded agent %s has no .sum (rebuild with make): %w", name, err)
		}
		bin := &Binary{Kind: kind, GOARCH: goarch, xz: z}
		if _, err := fmt.Sscan(string(sum), &bin.SHA256, &bin.Size); err != nil || len(bin.SHA256) != 64 || bin.Size <= 0 {
			return nil, fmt.Errorf("embedded agent %s: malformed .sum %q", name, sum)
		}
		b, _ := embedded.LoadOrStore(name, bin)
		return b.(*Binary), nil
	}
	dir := os.Getenv(EnvAgentDir)
	if dir == "" {
		return nil, fmt.Errorf("agent binary %s is not built into this kongctl: run `make` (or `make agents`), or set %s to a directory holding it", name, EnvAgentDir)
	}
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, fmt.Errorf("agent binary %s: %w", name, err)
	}
	if len(data) == 0 {
		return nil, errors.New("agent binary " + name + " is empty")
	}
	sum := sha256.Sum256(data)
	return &Binary{Kind: kind, GOARCH: goarch, Data: data, SHA256: hex.EncodeToString(sum[:])}, nil
}

// unameArches maps `uname -m` to the Go architectures kongctl ships
// agents for (GOARCHFromUname, and the session's bootstrap: bootstrap.go).
var unameArches = []struct {
	goarch   string
	machines []string
}{
	{"amd64", []string{"x86_64", "amd64"}},
	{"arm64", []string{"aarch64", "arm64", "armv8l"}},
}

// GOARCHFromUname maps `uname -m` to a Go architecture.
func GOARCHFromUname(machine string) (string, error) {
	for _, a := range unameArches {
		if slices.Contains(a.machines, machine) {
			return a.goarch, nil
		}
	}
	return "", fmt.Errorf("unsupported architecture %q (kongctl ships agents for x86_64 and aarch64)", machine)
}
