package agentproto

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// MaxLBReply bounds what lb.haproxy reads back from the runtime API: a
// `show stat` of a few hundred servers fits many times over.
const MaxLBReply = 1 << 20

// LBHAProxyParams sends one command to HAProxy's runtime API on a unix
// socket of the node (lb.haproxy), as `echo CMD | socat stdio SOCKET`
// does (kong-reference 9.9).
type LBHAProxyParams struct {
	// Socket is the runtime API's unix socket, an absolute path
	// ("/run/haproxy/admin.sock").
	Socket string `json:"socket"`
	// Command is one runtime API command line ("show stat",
	// "set server be/srv state drain"), without a newline.
	Command string `json:"command"`
	// Timeout bounds the exchange (0: 10s).
	Timeout time.Duration `json:"timeout,omitempty"`
}

// Validate checks the params: an absolute socket path and one command
// line.
func (p *LBHAProxyParams) Validate() error {
	if !filepath.IsAbs(p.Socket) {
		return fmt.Errorf("socket %q: not an absolute path", p.Socket)
	}
	if strings.TrimSpace(p.Command) == "" {
		return fmt.Errorf("command: empty")
	}
	if strings.ContainsAny(p.Command, "\r\n") || len(p.Command) > 4096 {
		return fmt.Errorf("command: one line of at most 4096 bytes")
	}
	return nil
}

// LBHAProxyResult is the runtime API's reply, whole (at most MaxLBReply
// bytes; Truncated says when there was more).
type LBHAProxyResult struct {
	Output    string `json:"output"`
	Truncated bool   `json:"truncated,omitempty"`
}
