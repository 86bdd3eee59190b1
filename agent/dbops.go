//go:build !nodeagent

package agent

import (
	"context"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// HasDBOps reports whether this build of the agent carries the database
// operations: true for the tools agent (the default build).
const HasDBOps = true

// dispatchDB runs the database operations, which only the database tools
// host's agent carries. ok is false when params is not one of them.
func (a *Agent) dispatchDB(ctx context.Context, run *opRun, op agentproto.Op, params any) (res any, ok bool, err error) {
	switch p := params.(type) {
	case *agentproto.FingerprintParams:
		res, err = a.fingerprintOp(ctx, run, p)
	case *agentproto.WriteSignatureParams:
		res, err = a.writeSignature(ctx, run, p)
	case *agentproto.FleetLockParams:
		res, err = a.fleetLock(ctx, run, p)
	case *agentproto.RunJournalParams:
		res, err = a.runJournal(ctx, run, p)
	case *agentproto.BackupParams:
		res, err = a.backup(ctx, run, p)
	case *agentproto.RestoreParams:
		res, err = a.restore(ctx, run, p)
	case *agentproto.VerifyRestoreParams:
		res, err = a.verifyRestore(ctx, run, p)
	case *agentproto.MigrationLockParams:
		res, err = a.migrationLock(ctx, run, p)
	case *agentproto.ServerInfoParams:
		res, err = a.serverInfo(ctx, p)
	case *agentproto.RowCountsParams:
		res, err = a.rowCounts(ctx, run, p)
	case *agentproto.ScratchParams:
		res, err = a.scratch(ctx, run, p)
	default:
		return nil, false, nil
	}
	return res, true, err
}
