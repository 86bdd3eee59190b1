package agentclient

import (
	"context"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// ServerInfo reads the PostgreSQL server's version and how Kong's user
// authenticates.
func (c *Client) ServerInfo(ctx context.Context, p agentproto.ServerInfoParams) (*agentproto.ServerInfoResult, error) {
	return call[agentproto.ServerInfoResult](ctx, c, agentproto.OpServerInfo, p)
}

// Scratch drops rehearsal scratch databases and reads whether the role
// may create one.
func (c *Client) Scratch(ctx context.Context, p agentproto.ScratchParams) (*agentproto.ScratchResult, error) {
	return call[agentproto.ScratchResult](ctx, c, agentproto.OpScratch, p)
}
