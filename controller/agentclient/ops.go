package agentclient

import (
	"context"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// Hello returns the agent's identity (protocol, version, own SHA-256).
func (c *Client) Hello(ctx context.Context) (*agentproto.HelloResult, error) {
	return call[agentproto.HelloResult](ctx, c, agentproto.OpHello, agentproto.HelloParams{})
}

// Facts gathers the node's facts.
func (c *Client) Facts(ctx context.Context, p agentproto.FactsParams) (*agentproto.Facts, error) {
	return call[agentproto.Facts](ctx, c, agentproto.OpFacts, p)
}

// ServiceStop stops Kong gracefully (drain, quit/systemctl stop, forced
// after the grace timeout) and checks it is gone.
func (c *Client) ServiceStop(ctx context.Context, p agentproto.ServiceParams) (*agentproto.ServiceResult, error) {
	return call[agentproto.ServiceResult](ctx, c, agentproto.OpServiceStop, p)
}

// ServiceStart starts Kong and waits until it really serves.
func (c *Client) ServiceStart(ctx context.Context, p agentproto.ServiceParams) (*agentproto.ServiceResult, error) {
	return call[agentproto.ServiceResult](ctx, c, agentproto.OpServiceStart, p)
}

// Health runs `kong health` and the HTTP probes.
func (c *Client) Health(ctx context.Context, p agentproto.HealthParams) (*agentproto.HealthResult, error) {
	return call[agentproto.HealthResult](ctx, c, agentproto.OpHealth, p)
}

// HTTPGet sends one GET from the node to one of its own listeners and
// returns the whole answer.
func (c *Client) HTTPGet(ctx context.Context, p agentproto.HTTPGetParams) (*agentproto.HTTPGetResult, error) {
	return call[agentproto.HTTPGetResult](ctx, c, agentproto.OpHTTPGet, p)
}

// ConfCheck runs the staged Y package's own `kong check` and `kong
// prepare` (into a scratch prefix) against the node's kong.conf, Y not
// installed.
func (c *Client) ConfCheck(ctx context.Context, p agentproto.ConfCheckParams) (*agentproto.ConfCheckResult, error) {
	return call[agentproto.ConfCheckResult](ctx, c, agentproto.OpConfCheck, p)
}

// StagePackage checks and keeps a package file under <state>/packages.
func (c *Client) StagePackage(ctx context.Context, p agentproto.StageParams) (*agentproto.StageResult, error) {
	return call[agentproto.StageResult](ctx, c, agentproto.OpPackageStage, p)
}

// InstallPackage installs (or downgrades to) a staged package and holds it.
func (c *Client) InstallPackage(ctx context.Context, p agentproto.InstallParams) (*agentproto.InstallResult, error) {
	return call[agentproto.InstallResult](ctx, c, agentproto.OpPackageInstall, p)
}

// RepairPackages finishes a package operation left half-done on the node
// (dpkg --configure -a, rpm's duplicates), after the detached installs
// still running there.
func (c *Client) RepairPackages(ctx context.Context, p agentproto.RepairParams) (*agentproto.RepairResult, error) {
	return call[agentproto.RepairResult](ctx, c, agentproto.OpPackageRepair, p)
}

// HoldPackage pins an installed package against automatic upgrades.
func (c *Client) HoldPackage(ctx context.Context, p agentproto.HoldParams) (*agentproto.HoldResult, error) {
	return call[agentproto.HoldResult](ctx, c, agentproto.OpPackageHold, p)
}

// Migrations runs `kong migrations <p.Action>` and returns the parsed state.
func (c *Client) Migrations(ctx context.Context, p agentproto.MigrationsParams) (*agentproto.MigrationsResult, error) {
	return call[agentproto.MigrationsResult](ctx, c, agentproto.OpMigrations, p)
}

// DBFingerprint hashes Kong's tables in one consistent snapshot.
func (c *Client) DBFingerprint(ctx context.Context, p agentproto.FingerprintParams) (*agentproto.Fingerprint, error) {
	return call[agentproto.Fingerprint](ctx, c, agentproto.OpDBFingerprint, p)
}

// WriteSignature reads the write counters of Kong's configuration tables,
// waiting up to p.Settle for Kong's other clients to disconnect.
func (c *Client) WriteSignature(ctx context.Context, p agentproto.WriteSignatureParams) (*agentproto.WriteSignature, error) {
	return call[agentproto.WriteSignature](ctx, c, agentproto.OpWriteSignature, p)
}

// FleetLock runs the fleet-lock action p.Action (agentproto.LockAcquire:
// held by another run it fails with code lock_held; LockHeartbeat,
// LockRelease, LockInspect: the lock, stale or not, unchanged).
func (c *Client) FleetLock(ctx context.Context, p agentproto.FleetLockParams) (*agentproto.FleetLockResult, error) {
	return call[agentproto.FleetLockResult](ctx, c, agentproto.OpFleetLock, p)
}

// RunJournal upserts the run's summary row in kongctl.runs.
func (c *Client) RunJournal(ctx context.Context, p agentproto.RunJournalParams) (*agentproto.RunJournalResult, error) {
	return call[agentproto.RunJournalResult](ctx, c, agentproto.OpRunJournal, p)
}

// Backup dumps Kong's schema with pg_dump.
func (c *Client) Backup(ctx context.Context, p agentproto.BackupParams) (*agentproto.BackupResult, error) {
	return call[agentproto.BackupResult](ctx, c, agentproto.OpBackup, p)
}

// Restore restores a dump into Kong's database and re-fingerprints it.
func (c *Client) Restore(ctx context.Context, p agentproto.RestoreParams) (*agentproto.RestoreResult, error) {
	return call[agentproto.RestoreResult](ctx, c, agentproto.OpRestore, p)
}

// VerifyRestore restores a dump into a scratch database, fingerprints and
// drops it.
func (c *Client) VerifyRestore(ctx context.Context, p agentproto.VerifyRestoreParams) (*agentproto.VerifyRestoreResult, error) {
	return call[agentproto.VerifyRestoreResult](ctx, c, agentproto.OpVerifyRestore, p)
}

// MigrationLock reports Kong's own live migrations lock.
func (c *Client) MigrationLock(ctx context.Context, p agentproto.MigrationLockParams) (*agentproto.MigrationLockResult, error) {
	return call[agentproto.MigrationLockResult](ctx, c, agentproto.OpMigrationLock, p)
}

// RowCounts counts the rows of Kong tables on the database.
func (c *Client) RowCounts(ctx context.Context, p agentproto.RowCountsParams) (*agentproto.RowCountsResult, error) {
	return call[agentproto.RowCountsResult](ctx, c, agentproto.OpRowCounts, p)
}

// Exec runs an operator command (a hook); a non-zero exit is in the result,
// not an error.
func (c *Client) Exec(ctx context.Context, p agentproto.ExecParams) (*agentproto.ExecResult, error) {
	return call[agentproto.ExecResult](ctx, c, agentproto.OpExec, p)
}

// StartDetached starts op as detached step stepID (surviving a dropped SSH
// connection) and returns at once. Starting a step that exists returns its
// status without running it again. timeout bounds the step on the node.
func (c *Client) StartDetached(ctx context.Context, stepID string, op agentproto.Op, params any, timeout time.Duration) (*agentproto.StepStatus, error) {
	return detachedCall[agentproto.StepStatus](ctx, c, stepID, op, params, timeout, 0)
}

// StartAttached starts op as detached step stepID like StartDetached (or
// finds it started) and waits up to wait for it in the same call, like
// Attach.
func (c *Client) StartAttached(ctx context.Context, stepID string, op agentproto.Op, params any, timeout, wait time.Duration) (*agentproto.AttachResult, error) {
	return detachedCall[agentproto.AttachResult](ctx, c, stepID, op, params, timeout, wait)
}

// detachedCall sends op as detached step stepID, waiting up to wait for it
// on the node (0: not at all), and decodes the reply's result as T.
func detachedCall[T any](ctx context.Context, c *Client, stepID string, op agentproto.Op, params any, timeout, wait time.Duration) (*T, error) {
	req, err := c.newRequest(op, params)
	if err != nil {
		return nil, err
	}
	req.Detach, req.StepID, req.Timeout, req.AttachWait = true, stepID, timeout, wait
	return send[T](ctx, c, req)
}

// Attach waits up to wait for detached step stepID. The result's Reply is
// the step's own reply once it is done (decode it with
// agentproto.DecodeResult); an unknown step fails with code not_found.
func (c *Client) Attach(ctx context.Context, stepID string, wait time.Duration) (*agentproto.AttachResult, error) {
	return call[agentproto.AttachResult](ctx, c, agentproto.OpAttach, agentproto.AttachParams{StepID: stepID, Wait: wait})
}

// LBHAProxy sends one command to HAProxy's runtime API on the node's unix
// socket and returns the reply.
func (c *Client) LBHAProxy(ctx context.Context, p agentproto.LBHAProxyParams) (*agentproto.LBHAProxyResult, error) {
	return call[agentproto.LBHAProxyResult](ctx, c, agentproto.OpLBHAProxy, p)
}

// ServiceEnv reads the node's Kong service environment with its values
// (secrets included): the caller keeps them in memory and hands them on
// only inside other agent requests.
func (c *Client) ServiceEnv(ctx context.Context, p agentproto.ServiceEnvParams) (*agentproto.ServiceEnvResult, error) {
	return call[agentproto.ServiceEnvResult](ctx, c, agentproto.OpServiceEnv, p)
}
