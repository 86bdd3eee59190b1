// Package agentclient delivers kongctl-agent to a node and calls its
// operations (see agent/agentproto) over the controller's SSH transport.
//
// A Client is bound to one host. Its calls share one agent process on the
// node, in one SSH session, started by the first call (session.go). It is
// safe for concurrent calls as long as the Remote is; Deliver must have
// returned before the first call. Close ends the session.
package agentclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/sshremote"
)

// Remote is what the client needs of a connection to one host.
// *sshremote.Client satisfies it.
type Remote interface {
	Name() string
	Run(ctx context.Context, req sshremote.RunRequest) (sshremote.RunResult, error)
}

// DefaultAgentDir is where agents live on a node.
const DefaultAgentDir = "/var/lib/kongctl/bin"

// Options tune a Client. The zero value is usable.
type Options struct {
	// AgentDir is the node directory of agent binaries (DefaultAgentDir).
	AgentDir string
	// StateDir overrides the agent's state root (/var/lib/kongctl) with
	// --state-dir; "" leaves the agent's default.
	StateDir string
	// Become runs the agent (and the install of it) through the host's
	// become method (sudo).
	Become bool
	// Redact lists secrets (e.g. the sudo password) the agent must scrub
	// from its replies in addition to those in each request's params.
	Redact []string
	// Kind is which agent the host receives: KindNode (the zero value)
	// for a Kong node, KindTools for the database tools host.
	Kind Kind
	// Binary returns the agent for a GOARCH (default AgentBinary of Kind).
	Binary func(goarch string) (*Binary, error)
	// Observe, when set, sees every reply the agent sends (after
	// decoding, failures included), e.g. to account the agent's own
	// Duration of each operation. It must be safe for concurrent use.
	Observe func(rep *agentproto.Reply)
}

// Client calls one host's agent.
type Client struct {
	r    Remote
	opts Options
	path string // the delivered agent, set by Deliver or SetPath
	sha  string // its SHA-256, sent with every request (the agent refuses to run if it differs)

	processes atomic.Int64 // agent processes started (Processes)

	smu  sync.Mutex
	sess *session // the agent's session (session.go); nil before the first call
}

// Processes is the number of agent processes the client's calls started
// on the node: one per session (see session.go), one more per detached
// step started.
func (c *Client) Processes() int64 { return c.processes.Load() }

// New returns a client for the host behind r.
func New(r Remote, opts Options) *Client {
	if opts.AgentDir == "" {
		opts.AgentDir = DefaultAgentDir
	}
	if opts.Kind == "" {
		opts.Kind = KindNode
	}
	if opts.Binary == nil {
		kind := opts.Kind
		opts.Binary = func(goarch string) (*Binary, error) { return AgentBinary(kind, goarch) }
	}
	return &Client{r: r, opts: opts}
}

// Host is the inventory name of the client's host.
func (c *Client) Host() string { return c.r.Name() }

// Path is the remote path of the delivered agent ("" before Deliver).
func (c *Client) Path() string { return c.path }

// SetPath uses an agent already on the node at p (tests, resume). Its
// hash is not checked by the agent until Deliver has run. A session of
// the agent used before ends.
func (c *Client) SetPath(p string) {
	c.Close()
	c.path, c.sha = p, ""
}

// Call sends req to the agent and returns its reply. A reply carrying an
// Error is returned together with an *OpError. Secrets of the request go
// in its body only. A ctx deadline becomes the request's Timeout unless it
// has one.
func (c *Client) Call(ctx context.Context, req *agentproto.Request) (*agentproto.Reply, error) {
	host := c.r.Name()
	if c.path == "" {
		return nil, fmt.Errorf("host %s: agent %s: agent not delivered", host, req.Op)
	}
	if req.ProtocolVersion == 0 {
		req.ProtocolVersion = agentproto.ProtocolVersion
	}
	if req.Timeout == 0 {
		if dl, ok := ctx.Deadline(); ok {
			// leave a little time for the reply to travel
			if d := time.Until(dl) - 2*time.Second; d > 0 {
				req.Timeout = d
			}
		}
	}
	req.Redact = append(req.Redact, c.opts.Redact...)
	if req.AgentSHA256 == "" {
		req.AgentSHA256 = c.sha
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("host %s: agent %s: %w", host, req.Op, err)
	}
	payload, err := c.roundTrip(ctx, req.Op, body)
	if big := (*ReplyTooLargeError)(nil); errors.As(err, &big) {
		return nil, big // a failed call, not a lost one
	}
	if err != nil {
		return nil, fmt.Errorf("host %s: agent %s: %w", host, req.Op, err)
	}
	rep, derr := agentproto.DecodeReply(bytes.NewReader(payload))
	if derr != nil {
		return nil, fmt.Errorf("host %s: agent %s: %w", host, req.Op, derr)
	}
	if req.Detach && rep.Error == nil {
		c.processes.Add(1) // the detached step's own agent process
	}
	if c.opts.Observe != nil {
		c.opts.Observe(rep)
	}
	if err := checkReply(host, req, rep); err != nil {
		return nil, err
	}
	if rep.Error != nil {
		return rep, &OpError{Host: host, Op: req.Op, Err: rep.Error, ExitStatus: rep.ExitStatus, StdoutTail: rep.StdoutTail, StderrTail: rep.StderrTail, Reply: rep}
	}
	return rep, nil
}

// call runs op with params and decodes its result into T.
func call[T any](ctx context.Context, c *Client, op agentproto.Op, params any) (*T, error) {
	req, err := c.newRequest(op, params)
	if err != nil {
		return nil, err
	}
	return send[T](ctx, c, req)
}

// newRequest is op's request with params.
func (c *Client) newRequest(op agentproto.Op, params any) (*agentproto.Request, error) {
	req, err := agentproto.NewRequest(op, params)
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", c.r.Name(), err)
	}
	return req, nil
}

// roundTrip sends one encoded request over the client's session and
// returns the encoded reply. Its errors are a *TransportError (no reply:
// the session could not start or was lost), a *ReplyTooLargeError, or
// the agent's failure to answer.
func (c *Client) roundTrip(ctx context.Context, op agentproto.Op, body []byte) ([]byte, error) {
	s, err := c.session(ctx, op)
	if err != nil {
		return nil, err
	}
	return s.call(ctx, op, body)
}

// send sends req and decodes the reply's result into T.
func send[T any](ctx context.Context, c *Client, req *agentproto.Request) (*T, error) {
	rep, err := c.Call(ctx, req)
	if err != nil {
		return nil, err
	}
	v, err := agentproto.DecodeResult[T](rep)
	if err != nil {
		return nil, fmt.Errorf("host %s: agent %s: %w", c.r.Name(), req.Op, err)
	}
	return &v, nil
}

func errOr(err error) error {
	if err == nil {
		return errors.New("command failed")
	}
	return err
}
