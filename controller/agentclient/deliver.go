package agentclient

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/internal/shellquote"
	"github.com/kongctl/kongctl/sshremote"
)

// Delivery reports what Deliver did.
type Delivery struct {
	Host     string
	Path     string
	GOARCH   string
	SHA256   string
	Uploaded int64 // bytes sent; 0 when the node already had this agent
	Skipped  bool  // the node already had this agent
	Hello    agentproto.HelloResult
	Duration time.Duration
}

// Deliver makes sure the node runs this kongctl's agent: it finds the
// node's architecture and the hashes of agents already there (one command,
// which also makes the agent dir without become),
// uploads the right binary when none matches (to a temp name), then
// starts the agent's session, whose command first puts an upload into
// place (size and SHA-256 checked, chmod 0700, renamed: install.go; an
// upload damaged on the way is sent once more), and checks its greeting,
// refusing a protocol or hash mismatch. A fresh node costs three SSH
// sessions (probe, SFTP, the agent's session), a node with this agent
// two. progress receives the running byte count of the upload (may be
// nil).
func (c *Client) Deliver(ctx context.Context, progress func(int64)) (*Delivery, error) {
	start := time.Now()
	host := c.r.Name()
	dir := c.opts.AgentDir
	probe := fmt.Sprintf("uname -m; command -v xz >/dev/null 2>&1 && echo xz; command -v gzip >/dev/null 2>&1 && echo gzip; for f in %s/kongctl-agent-*; do [ -f \"$f\" ] && sha256sum \"$f\"; done; true", shellquote.Quote(dir))
	if !c.opts.Become {
		// The agent dir, made in the same session (the user who runs the
		// agent owns it); with become the upload's install makes it.
		probe = "umask 077 && mkdir -p " + shellquote.Quote(dir) + " && chmod 0700 " + shellquote.Quote(dir) + " || exit 1; " + probe
	}
	res, err := c.r.Run(ctx, sshremote.RunRequest{Cmd: probe, Become: c.opts.Become})
	if err != nil {
		return nil, fmt.Errorf("deliver agent to %s: probe: %w", host, err)
	}
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("deliver agent to %s: probe exited %d: %s", host, res.ExitCode, tailString(res.Stderr, 512))
	}
	lines := strings.Split(strings.TrimSpace(string(res.Stdout)), "\n")
	goarch, err := GOARCHFromUname(strings.TrimSpace(lines[0]))
	if err != nil {
		return nil, fmt.Errorf("deliver agent to %s: %w", host, err)
	}
	bin, err := c.opts.Binary(goarch)
	if err != nil {
		return nil, fmt.Errorf("deliver agent to %s: %w", host, err)
	}
	final := path.Join(dir, "kongctl-agent-"+bin.Short())
	d := &Delivery{Host: host, Path: final, GOARCH: goarch, SHA256: bin.SHA256}
	var hasXZ, hasGzip bool
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) == 2 && f[1] == final && f[0] == bin.SHA256 {
			d.Skipped = true
		}
		hasXZ = hasXZ || l == "xz"
		hasGzip = hasGzip || l == "gzip"
	}
	c.Close() // a session of an agent delivered before ends
	c.path, c.sha = final, bin.SHA256
	var s *session
	for attempt := 1; ; attempt++ {
		var inst *pendingInstall
		if !d.Skipped {
			var n int64
			n, inst, err = c.upload(ctx, bin, final, chooseEncoding(bin, hasXZ, hasGzip), progress)
			d.Uploaded += n
			if err != nil {
				return d, fmt.Errorf("deliver agent to %s: %w", host, err)
			}
		}
		// The session's start puts an upload into place (install.go).
		s, err = c.startSession(ctx, agentproto.OpHello, inst)
		if err != nil && attempt == 1 && isUploadRefused(err) {
			continue // damaged on the way: sent once more
		}
		if isUploadRefused(err) {
			return d, fmt.Errorf("deliver agent to %s: %w", host, err)
		}
		if err != nil {
			return d, fmt.Errorf("deliver agent to %s: handshake: %w", host, err)
		}
		break
	}
	hello, err := s.helloResult()
	if err == nil && hello.SHA256 != bin.SHA256 {
		err = fmt.Errorf("agent %s has sha256 %s, want %s", final, hello.SHA256, bin.SHA256)
	}
	if err != nil {
		s.close(5 * time.Second)
		return d, fmt.Errorf("deliver agent to %s: handshake: %w", host, err)
	}
	c.smu.Lock()
	c.sess = s
	c.smu.Unlock()
	d.Hello = *hello
	d.Duration = time.Since(start)
	return d, nil
}

// encoding is how the agent travels: compressed when the node can
// decompress it.
type encoding string

const (
	encRaw  encoding = ""
	encXZ   encoding = "xz"   // the embedded form, sent as it is
	encGzip encoding = "gzip" // compressed by the controller once
)

// chooseEncoding picks the smallest form the node can decompress: xz
// when the agent is embedded (it is embedded xz-compressed) and the node
// has xz, else gzip when the node has gzip, else the executable itself.
func chooseEncoding(bin *Binary, hasXZ, hasGzip bool) encoding {
	switch {
	case hasXZ && bin.XZ() != nil:
		return encXZ
	case hasGzip:
		return encGzip
	}
	return encRaw
}

// encoded is bin in enc.
func encoded(bin *Binary, enc encoding) ([]byte, error) {
	switch enc {
	case encXZ:
		return bin.XZ(), nil
	case encGzip:
		return bin.Gzipped()
	}
	return bin.Raw()
}

// upload sends the agent to a temp name beside final and returns how the
// first session puts it into place (install.go: decompressed, checked by
// size and SHA-256, renamed). Compressed (enc: about a third of its size
// with xz, two fifths with gzip), it is decompressed on the node before
// the check, so the check is always of the final file. It returns the
// bytes sent.
func (c *Client) upload(ctx context.Context, bin *Binary, final string, enc encoding, progress func(int64)) (int64, *pendingInstall, error) {
	suffix := randHex(6)
	data, err := encoded(bin, enc)
	if err != nil {
		return 0, nil, err
	}
	sent := int64(len(data))
	var partial int64
	track := func(n int64) {
		partial = n
		if progress != nil {
			progress(n)
		}
	}
	// put writes the upload at up into place at tmp: decompressed, or
	// copied with install (become), or left as it is.
	put := func(up, tmp string, move bool) string {
		switch {
		case enc != encRaw:
			return fmt.Sprintf("%[3]s -dc %[1]s > %[2]s; rc=$?; rm -f %[1]s; [ $rc = 0 ] && chmod 0700 %[2]s", shellquote.Quote(up), shellquote.Quote(tmp), enc)
		case move:
			return fmt.Sprintf("install -m 0700 %[1]s %[2]s; rc=$?; rm -f %[1]s; [ $rc = 0 ]", shellquote.Quote(up), shellquote.Quote(tmp))
		}
		return "chmod 0700 " + shellquote.Quote(tmp)
	}
	upName := func(p string) string {
		switch enc {
		case encXZ:
			return p + ".xz"
		case encGzip:
			return p + ".gz"
		}
		return p
	}
	tmp := path.Join(c.opts.AgentDir, ".kongctl-agent-"+bin.Short()+"."+suffix+".tmp")
	inst := func(script string) *pendingInstall {
		return &pendingInstall{script: installScript(script, tmp, final, bin.Len(), bin.SHA256), size: bin.Len(), sum: bin.SHA256}
	}
	if !c.opts.Become {
		// The probe made c.opts.AgentDir.
		up := upName(tmp)
		if err := c.r.Upload(ctx, up, bytes.NewReader(data), sent, 0o700, track); err != nil {
			return partial, nil, fmt.Errorf("upload %s: %w", up, err)
		}
		return sent, inst(put(up, tmp, false)), nil
	}
	// Become: upload as the login user, then install as root.
	staging := c.opts.StagingDir
	if staging == "" {
		res, err := c.r.Run(ctx, sshremote.RunRequest{Cmd: `mkdir -p "$HOME/.kongctl" && chmod 0700 "$HOME/.kongctl" && cd "$HOME/.kongctl" && pwd -P`})
		if err != nil || res.ExitCode != 0 {
			return 0, nil, fmt.Errorf("create staging dir: %w (exit %d: %s)", errOr(err), res.ExitCode, tailString(res.Stderr, 256))
		}
		staging = strings.TrimSpace(string(res.Stdout))
	}
	src := upName(path.Join(staging, "kongctl-agent-"+bin.Short()+"."+suffix+".upload"))
	if err := c.r.Upload(ctx, src, bytes.NewReader(data), sent, 0o700, track); err != nil {
		return partial, nil, fmt.Errorf("upload %s: %w", src, err)
	}
	return sent, inst("install -d -m 0700 " + shellquote.Quote(c.opts.AgentDir) + " && { " + put(src, tmp, true) + "; }"), nil
}
