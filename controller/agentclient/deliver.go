package agentclient

import (
	"context"
	"fmt"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
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

// Deliver makes sure the node runs this kongctl's agent, in the client's
// first session (bootstrap.go): the session's command finds the node's
// architecture and runs the agent kongctl means for it when it is in
// place with its SHA-256; otherwise kongctl sends it on the session's
// stdin (compressed when the node can decompress it) and the command
// puts it into place (size and SHA-256 checked, chmod 0700, renamed)
// before it runs it; an upload damaged on the way is sent once more. The
// agent's greeting is the handshake: another protocol or another hash is
// refused. The whole delivery is one SSH session. progress receives the
// running byte count of the upload (may be nil).
func (c *Client) Deliver(ctx context.Context, progress func(int64)) (*Delivery, error) {
	start := time.Now()
	host := c.r.Name()
	c.Close() // a session of an agent delivered before ends
	d := &Delivery{Host: host}
	var (
		s    *session
		boot *bootstrap
		err  error
	)
	for attempt := 1; ; attempt++ {
		boot = c.newBootstrap(progress)
		if len(boot.bins) == 0 {
			_, err := c.opts.Binary("amd64")
			return nil, fmt.Errorf("deliver agent to %s: no agent to send: %w", host, errOr(err))
		}
		s, err = c.startSession(ctx, agentproto.OpHello, boot)
		d.Uploaded += boot.sent
		if err != nil && attempt == 1 && isUploadRefused(err) {
			continue // damaged on the way: sent once more
		}
		break
	}
	if isUploadRefused(err) {
		return d, fmt.Errorf("deliver agent to %s: %w", host, err)
	}
	if err != nil {
		return d, fmt.Errorf("deliver agent to %s: handshake: %w", host, err)
	}
	hello, err := s.helloResult()
	if err == nil {
		err = d.check(boot, hello)
	}
	if err != nil {
		s.close(5 * time.Second)
		return d, fmt.Errorf("deliver agent to %s: handshake: %w", host, err)
	}
	c.path, c.sha = d.Path, d.SHA256
	c.smu.Lock()
	c.sess = s
	c.smu.Unlock()
	d.Hello = *hello
	d.Duration = time.Since(start)
	return d, nil
}

// check fills d from the greeting of a bootstrap session, refusing an
// agent that is not the one kongctl means for the node.
func (d *Delivery) check(boot *bootstrap, hello *agentproto.HelloResult) error {
	bin := boot.bin
	if bin == nil { // in place: the agent of the architecture it runs on
		bin = boot.bins[hello.GOARCH]
		d.Skipped = true
	}
	if bin == nil {
		return fmt.Errorf("agent %s runs on %s/%s, kongctl has no agent for it", hello.Path, hello.GOOS, hello.GOARCH)
	}
	d.GOARCH, d.SHA256, d.Path = bin.GOARCH, bin.SHA256, boot.finalPath(bin)
	if hello.SHA256 != bin.SHA256 {
		return fmt.Errorf("agent %s has sha256 %s, want %s", d.Path, hello.SHA256, bin.SHA256)
	}
	return nil
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
