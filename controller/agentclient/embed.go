package agentclient

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// agents holds the binaries built by `make agents` (each also
// gzip-compressed, <name>.gz, what travels to the nodes), plus README.txt
// so the pattern matches on a fresh clone.
//
//go:embed agents
var agents embed.FS

// EnvAgentDir names a directory holding kongctl-agent-linux-<arch> files,
// used when the binary for an arch was not embedded (a build without make).
const EnvAgentDir = "KONGCTL_AGENT_DIR"

// Binary is an agent executable for one architecture.
type Binary struct {
	GOARCH string
	Data   []byte
	SHA256 string // hex
}

// Short is the first 12 hex digits of the hash, used in the remote file name.
func (b *Binary) Short() string { return b.SHA256[:12] }

// embedded caches the embedded agents by GOARCH. Their Data is shared by
// every caller and must not be modified.
var embedded sync.Map

// AgentBinary returns the agent for goarch (amd64, arm64): the embedded one,
// else $KONGCTL_AGENT_DIR/kongctl-agent-linux-<goarch>.
func AgentBinary(goarch string) (*Binary, error) {
	if b, ok := embedded.Load(goarch); ok {
		return b.(*Binary), nil
	}
	name := "kongctl-agent-linux-" + goarch
	data, err := fs.ReadFile(agents, "agents/"+name)
	if err == nil && len(data) > 0 {
		// fs.ReadFile copies: read and hash each embedded agent once, not
		// once per host (16 MB a host made the controller's RSS grow with
		// the fleet).
		sum := sha256.Sum256(data)
		bin := &Binary{GOARCH: goarch, Data: data, SHA256: hex.EncodeToString(sum[:])}
		if gz, err := fs.ReadFile(agents, "agents/"+name+".gz"); err == nil && gzipHolds(gz, data) {
			gzipped.LoadOrStore(bin.SHA256, gz)
		}
		b, _ := embedded.LoadOrStore(goarch, bin)
		return b.(*Binary), nil
	}
	if err != nil {
		dir := os.Getenv(EnvAgentDir)
		if dir == "" {
			return nil, fmt.Errorf("agent binary for linux/%s is not built into this kongctl: run `make` (or `make agents`), or set %s to a directory holding %s", goarch, EnvAgentDir, name)
		}
		data, err = os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("agent binary for linux/%s: %w", goarch, err)
		}
	}
	if len(data) == 0 {
		return nil, errors.New("agent binary for linux/" + goarch + " is empty")
	}
	sum := sha256.Sum256(data)
	return &Binary{GOARCH: goarch, Data: data, SHA256: hex.EncodeToString(sum[:])}, nil
}

// GOARCHFromUname maps `uname -m` to a Go architecture.
func GOARCHFromUname(machine string) (string, error) {
	switch machine {
	case "x86_64", "amd64":
		return "amd64", nil
	case "aarch64", "arm64", "armv8l":
		return "arm64", nil
	}
	return "", fmt.Errorf("unsupported architecture %q (kongctl ships agents for x86_64 and aarch64)", machine)
}

// gzipped caches Binary.Gzipped by SHA-256.
var gzipped sync.Map

// Gzipped returns the binary gzip-compressed, as it travels to nodes that
// have gzip: the one `make agents` built beside it when embedded, else
// compressed here once. The node decompresses it and checks the SHA-256
// of the result.
func (b *Binary) Gzipped() []byte {
	if gz, ok := gzipped.Load(b.SHA256); ok {
		return gz.([]byte)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b.Data)
	_ = zw.Close()
	gz, _ := gzipped.LoadOrStore(b.SHA256, buf.Bytes())
	return gz.([]byte)
}

// gzipHolds reports whether the single-member gzip stream gz was made
// from data, by the CRC-32 and size in its trailer (a stale .gz beside a
// rebuilt agent is not used).
func gzipHolds(gz, data []byte) bool {
	if len(gz) < 18 || gz[0] != 0x1f || gz[1] != 0x8b {
		return false
	}
	t := gz[len(gz)-8:]
	return binary.LittleEndian.Uint32(t[:4]) == crc32.ChecksumIEEE(data) && binary.LittleEndian.Uint32(t[4:]) == uint32(len(data))
}
