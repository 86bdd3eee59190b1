//go:build nodeagent

package agent

import (
	"context"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// HasDBOps reports whether this build of the agent carries the database
// operations: false for the node agent (built with the tag nodeagent),
// which answers them with agentproto.CodeNoDBOps (noDBOps) and carries no
// database driver.
const HasDBOps = false

// dispatchDB is never reached in a node agent (noDBOps refuses first).
func (a *Agent) dispatchDB(context.Context, *opRun, agentproto.Op, any) (any, bool, error) {
	return nil, false, nil
}
