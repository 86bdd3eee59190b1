package agentclient

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/kongctl/kongctl/internal/shellquote"
)

// Delivery rides in the agent's first session (issue 21: a fresh node
// costs one SSH session for the agent, not a probe, an upload and a
// check besides). The session's command is a small shell bootstrap that
// finds the node's architecture and, when the agent kongctl means for it
// is in place with the right SHA-256, execs it (`exec AGENT serve`).
// Otherwise it says so on stdout, one line before any frame:
//
//	kongctl-agent-need <uname -m> [xz] [gzip]
//
// and reads "<bytes> <xz|gzip|raw>" and then the agent itself on stdin:
// it decompresses it to a temp name, checks its size and SHA-256 there,
// renames it into place and only then execs it. A file that fails the
// check is removed and never run; the session then ends before any
// greeting with installFailedExit and a line naming what the node held,
// which the controller turns into an *UploadCheckError. Nothing follows
// the agent on stdin until the agent has greeted, so no reader on the
// node can take frames for the agent. The agent itself then checks its
// own hash at the greeting, as it did before.

// installFailedExit is the exit status of a bootstrap that refused the
// upload (not one an agent's serve returns).
const installFailedExit = 97

// installMarker starts the line the bootstrap prints on stderr when it
// refuses the upload: "<marker> size S sha256 H" (S or H empty when the
// file could not be made).
const installMarker = "kongctl-agent-install:"

// needMarker starts the bootstrap's line asking for the agent.
const needMarker = "kongctl-agent-need"

// UploadCheckError is an uploaded agent whose size or SHA-256 on the node
// is not the binary's, or that could not be put into place: it was
// removed there and never run.
type UploadCheckError struct {
	Size     string // what the node holds ("" when it could not be read)
	SHA256   string
	WantSize int64
	Want     string
	Detail   string // the node's stderr, when the file could not be made
}

func (e *UploadCheckError) Error() string {
	switch {
	case e.Size == "" || e.SHA256 == "":
		return fmt.Sprintf("check uploaded agent: could not put it into place: %s", e.Detail)
	case e.Size != fmt.Sprint(e.WantSize):
		return fmt.Sprintf("check uploaded agent: size %s on the node, want %d", e.Size, e.WantSize)
	}
	return fmt.Sprintf("check uploaded agent: sha256 %s on the node, want %s", e.SHA256, e.Want)
}

// isUploadRefused reports whether err is the bootstrap refusing an
// upload: of another size or hash, or one that would not decompress.
func isUploadRefused(err error) bool {
	var ue *UploadCheckError
	return errors.As(err, &ue)
}

// bootstrap is one delivery's first session: the agents kongctl may
// send, by GOARCH, and what it did.
type bootstrap struct {
	c        *Client
	bins     map[string]*Binary // by GOARCH, the architectures kongctl has an agent for
	progress func(int64)

	// set by negotiate, read once the session has greeted or ended
	bin  *Binary // what was sent (nil: the agent was in place)
	sent int64
}

// newBootstrap prepares a delivery with the client's agents.
func (c *Client) newBootstrap(progress func(int64)) *bootstrap {
	b := &bootstrap{c: c, bins: map[string]*Binary{}, progress: progress}
	for _, a := range unameArches {
		if bin, err := c.opts.Binary(a.goarch); err == nil {
			b.bins[a.goarch] = bin
		}
	}
	return b
}

// finalPath is where bin lives on the node.
func (b *bootstrap) finalPath(bin *Binary) string {
	return path.Join(b.c.opts.AgentDir, "kongctl-agent-"+bin.Short())
}

// script is the bootstrap's shell; serve is the agent's arguments.
func (b *bootstrap) script(serve string) string {
	q := shellquote.Quote
	dir := b.c.opts.AgentDir
	var sb strings.Builder
	fmt.Fprintf(&sb, "umask 077; mkdir -p %[1]s && chmod 0700 %[1]s || exit 1; m=$(uname -m); f=; s=; n=; case $m in ", q(dir))
	for _, a := range unameArches {
		if bin := b.bins[a.goarch]; bin != nil {
			fmt.Fprintf(&sb, "%s) f=%s s=%s n=%d;; ", strings.Join(a.machines, "|"), q(b.finalPath(bin)), bin.SHA256, bin.Len())
		}
	}
	sb.WriteString("esac; ")
	// In place with the right hash: run it.
	fmt.Fprintf(&sb, `if [ -n "$f" ] && [ -f "$f" ] && h=$(sha256sum "$f") && [ "${h%%%% *}" = "$s" ]; then exec "$f" %s; fi; `, serve)
	// Else ask for it and put it into place.
	fmt.Fprintf(&sb, `x=; command -v xz >/dev/null 2>&1 && x=' xz'; g=; command -v gzip >/dev/null 2>&1 && g=' gzip'; echo "%s $m$x$g"; `, needMarker)
	fmt.Fprintf(&sb, `IFS=' ' read -r len enc || exit 1; case $len in ''|*[!0-9]*) exit 1;; esac; [ -n "$f" ] || exit 1; t=%s; sz=; h=; `,
		q(path.Join(dir, ".kongctl-agent-"+randHex(6)+".tmp")))
	sb.WriteString(`head -c "$len" > "$t.up" && case $enc in xz|gzip) $enc -dc "$t.up" > "$t";; raw) mv -f "$t.up" "$t";; *) false;; esac; rc=$?; rm -f "$t.up"; `)
	fmt.Fprintf(&sb, `[ $rc = 0 ] && chmod 0700 "$t" && sz=$(stat -c %%s "$t") && h=$(sha256sum "$t") && h=${h%%%% *} && [ "$sz" = "$n" ] && [ "$h" = "$s" ] && mv -f "$t" "$f" || { rm -f "$t"; echo %s size "$sz" sha256 "$h" >&2; exit %d; }; `,
		installMarker, installFailedExit)
	fmt.Fprintf(&sb, `exec "$f" %s`, serve)
	return sb.String()
}

// maxNeedLine bounds the bootstrap's line asking for the agent.
const maxNeedLine = 256

// negotiate reads the bootstrap's first output on out: frames (the agent
// was in place and runs), or the line asking for the agent, which it
// answers on in with the agent for that architecture, in the smallest
// form the node can decompress. It returns out positioned at the first
// frame.
func (b *bootstrap) negotiate(out *bufio.Reader, in io.Writer) error {
	first, err := out.Peek(1)
	if err != nil || first[0] != needMarker[0] {
		return nil // a frame, or the end: the session reader takes it
	}
	line, err := out.ReadSlice('\n')
	if err != nil || len(line) > maxNeedLine {
		return fmt.Errorf("agent bootstrap: unexpected output %q", clipString(string(line), 64))
	}
	f := strings.Fields(string(line))
	if len(f) < 2 || f[0] != needMarker {
		return fmt.Errorf("agent bootstrap: unexpected output %q", clipString(string(line), 64))
	}
	goarch, err := GOARCHFromUname(f[1])
	if err != nil {
		return err
	}
	bin := b.bins[goarch]
	if bin == nil {
		_, err := b.c.opts.Binary(goarch) // why there is none
		return fmt.Errorf("no agent for %s: %w", goarch, errOr(err))
	}
	enc := chooseEncoding(bin, slices.Contains(f[2:], "xz"), slices.Contains(f[2:], "gzip"))
	data, err := encoded(bin, enc)
	if err != nil {
		return err
	}
	name := string(enc)
	if enc == encRaw {
		name = "raw"
	}
	b.bin = bin
	if _, err := fmt.Fprintf(in, "%d %s\n", len(data), name); err != nil {
		return &TransportError{fmt.Errorf("send agent: %w", err)}
	}
	for off := 0; off < len(data); {
		n, err := in.Write(data[off:min(off+sendChunk, len(data))])
		off += n
		b.sent = int64(off)
		if err != nil {
			return &TransportError{fmt.Errorf("send agent: %w", err)}
		}
		if b.progress != nil {
			b.progress(b.sent)
		}
	}
	return nil
}

// sendChunk is how much of the agent goes per write (and per progress
// report).
const sendChunk = 256 << 10

// installError is why a bootstrap session ended before its greeting: an
// *UploadCheckError when it refused the upload, else nil (the session's
// own error stands).
func (b *bootstrap) installError(exitCode int, stderr []byte) error {
	if b == nil || b.bin == nil || exitCode != installFailedExit {
		return nil
	}
	text := string(stderr)
	i := strings.LastIndex(text, installMarker)
	if i < 0 {
		return nil
	}
	e := &UploadCheckError{WantSize: b.bin.Len(), Want: b.bin.SHA256}
	line, _, _ := strings.Cut(text[i+len(installMarker):], "\n")
	f := strings.Fields(line) // size S sha256 H, S and H possibly empty
	for j := 0; j+1 < len(f); j++ {
		switch {
		case f[j] == "size" && f[j+1] != "sha256":
			e.Size = f[j+1]
		case f[j] == "sha256":
			e.SHA256 = f[j+1]
		}
	}
	if e.Size == "" || e.SHA256 == "" {
		e.Size, e.SHA256 = "", ""
		e.Detail = tailString([]byte(text[:i]), 512)
		if e.Detail == "" {
			e.Detail = "no output"
		}
	}
	return e
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
