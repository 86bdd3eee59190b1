//go:build !nodeagent

package agent

import "github.com/kongctl/kongctl/agent/agentproto"

// HasDBOps reports whether this build of the agent carries the database
// operations: true for the tools agent (the default build).
const HasDBOps = true

// dbHandlers are the database operations, which only the database tools
// host's agent carries.
var dbHandlers = map[agentproto.Op]handler{
	agentproto.OpDBFingerprint:  on((*Agent).fingerprintOp),
	agentproto.OpWriteSignature: on((*Agent).writeSignature),
	agentproto.OpFleetLock:      on((*Agent).fleetLock),
	agentproto.OpRunJournal:     on((*Agent).runJournal),
	agentproto.OpBackup:         on((*Agent).backup),
	agentproto.OpRestore:        on((*Agent).restore),
	agentproto.OpVerifyRestore:  on((*Agent).verifyRestore),
	agentproto.OpMigrationLock:  on((*Agent).migrationLock),
	agentproto.OpServerInfo:     onNoRun((*Agent).serverInfo),
	agentproto.OpRowCounts:      on((*Agent).rowCounts),
	agentproto.OpScratch:        on((*Agent).scratch),
}
