package sshfleet

import (
	"context"
	"fmt"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/controller/fleet"
)

// The dual-cluster's target database, through the tools host's agent:
// on X's server (conn), or on another server (the inventory's
// target_database object), reached with its own credentials.

var _ fleet.TargetDB = (*agentDB)(nil)

// targetMaintenanceDB is what a connection to another target server
// names: the agent creates, probes and drops the target from the
// maintenance database, and never replaces the one its connection names.
const targetMaintenanceDB = "postgres"

// targetConn is the connection for the target's operations: x (X's) when
// the target is on X's server, else the target server's with its own
// user, password reference, sslmode and CA, and Kong's schema (the
// dump's).
func (c *sshConnector) targetConn(x agentproto.DBConn) (agentproto.DBConn, error) {
	u := c.inv.Upgrade
	if u == nil || u.TargetServer == nil {
		return x, nil
	}
	conn, err := dbConnOf(u.TargetServer, "target database")
	if err != nil {
		return conn, err
	}
	conn.Database, conn.Schema = targetMaintenanceDB, x.Schema
	return conn, nil
}

// targetName is the target's server and name as errors write them.
func (d *agentDB) targetName(name string) string {
	return fmt.Sprintf("%s:%d/%s", d.target.Host, d.target.Port, name)
}

// TargetState reads whether the database name exists on the target's
// server, holds Kong's tables, or is empty.
func (d *agentDB) TargetState(ctx context.Context, name string) (fleet.TargetInfo, error) {
	r, err := d.h.client().Scratch(ctx, agentproto.ScratchParams{DB: d.target, Probe: name})
	if err != nil {
		return fleet.TargetInfo{}, fmt.Errorf("look for database %s from %s: %w", d.targetName(name), d.h.name, err)
	}
	return fleet.TargetInfo{Exists: r.ProbeExists, Kong: r.ProbeKong, Empty: r.ProbeExists && r.ProbeEmpty}, nil
}

// RestoreTarget restores the backup into the database name on the
// target's server, as how says, and keeps it: the dual-cluster's Y runs
// on it. The agent refuses to replace the database its connection names
// (X's on X's server), and to restore into an existing one not empty.
func (d *agentDB) RestoreTarget(ctx context.Context, b fleet.BackupInfo, name string, how fleet.TargetRestore) error {
	_, err := d.h.client().VerifyRestore(ctx, agentproto.VerifyRestoreParams{DB: d.target, Path: b.Path, SHA256: b.SHA256, Scratch: name, Keep: true, Target: true,
		Replace: how == fleet.TargetReplace, Existing: how == fleet.TargetIntoEmpty})
	if err != nil {
		return fmt.Errorf("restore %s into target database %s (%s) from %s: %w", b.Path, d.targetName(name), how, d.h.name, err)
	}
	return nil
}

// CanCreateTarget reads whether the target server's role has CREATEDB
// (or is a superuser).
func (d *agentDB) CanCreateTarget(ctx context.Context) (bool, string, error) {
	r, err := d.h.client().Scratch(ctx, agentproto.ScratchParams{DB: d.target, CheckCreate: true})
	if err != nil {
		return false, "", fmt.Errorf("read the attributes of role %s on %s:%d from %s: %w", d.target.User, d.target.Host, d.target.Port, d.h.name, err)
	}
	return r.CanCreate, r.CreateReason, nil
}
