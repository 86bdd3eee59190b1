//go:build !nodeagent

package agent

import "github.com/kongctl/kongctl/agent/agentproto"

// HasDBOps reports whether this build of the agent carries the database
// operations: true for the tools agent (the default build).
const HasDBOps = true

// dbHandlers are the database operations, which only the database tools
// host's agent carries.
var dbHandlers = map[agentproto.Op]handler{
	agentproto.OpDBFingerprint:  withRun((*Agent).fingerprintOp),
	agentproto.OpWriteSignature: withRun((*Agent).writeSignature),
	agentproto.OpFleetLock:      withRun((*Agent).fleetLock),
	agentproto.OpRunJournal:     withRun((*Agent).runJournal),
	agentproto.OpBackup:         withRun((*Agent).backup),
	agentproto.OpRestore:        withRun((*Agent).restore),
	agentproto.OpVerifyRestore:  withRun((*Agent).verifyRestore),
	agentproto.OpMigrationLock:  withRun((*Agent).migrationLock),
	agentproto.OpServerInfo:     noRun((*Agent).serverInfo),
	agentproto.OpRowCounts:      withRun((*Agent).rowCounts),
	agentproto.OpScratch:        withRun((*Agent).scratch),
}
