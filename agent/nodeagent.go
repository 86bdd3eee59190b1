//go:build nodeagent

package agent

import "github.com/kongctl/kongctl/agent/agentproto"

// HasDBOps reports whether this build of the agent carries the database
// operations: false for the node agent (built with the tag nodeagent),
// which answers them with agentproto.CodeNoDBOps (noDBOps) and carries no
// database driver.
const HasDBOps = false

// dbHandlers is empty in a node agent (noDBOps refuses a database
// operation before dispatch).
var dbHandlers map[agentproto.Op]handler
