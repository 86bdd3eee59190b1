package agent

import (
	"context"
	"io"
	"net"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// lbHAProxy answers lb.haproxy: one command written to HAProxy's runtime
// API socket, the reply read until HAProxy closes the connection (it does
// after one command without "prompt"), at most agentproto.MaxLBReply
// bytes. The node needs no socat for it.
func (a *Agent) lbHAProxy(ctx context.Context, p *agentproto.LBHAProxyParams) (*agentproto.LBHAProxyResult, error) {
	ctx, cancel := withDialTimeout(ctx, p.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", p.Socket)
	if err != nil {
		return nil, agentproto.Errorf(agentproto.CodeNotFound, "haproxy runtime api %s: %v", p.Socket, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if _, err := io.WriteString(conn, p.Command+"\n"); err != nil {
		return nil, agentproto.Errorf(agentproto.CodeInternal, "haproxy runtime api %s: send: %v", p.Socket, err)
	}
	b, err := io.ReadAll(io.LimitReader(conn, agentproto.MaxLBReply+1))
	if err != nil {
		return nil, agentproto.Errorf(agentproto.CodeTimeout, "haproxy runtime api %s: read the reply to %q: %v", p.Socket, p.Command, err)
	}
	res := &agentproto.LBHAProxyResult{Output: string(b)}
	if len(b) > agentproto.MaxLBReply {
		res.Output, res.Truncated = string(b[:agentproto.MaxLBReply]), true
	}
	return res, nil
}
