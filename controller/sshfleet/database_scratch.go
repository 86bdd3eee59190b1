package sshfleet

import (
	"context"
	"fmt"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/controller/fleet"
)

var _ fleet.ScratchDB = (*agentDB)(nil)

// RestoreScratch restores the backup into the scratch database name on the
// database server and leaves it for the rehearsal.
func (d *agentDB) RestoreScratch(ctx context.Context, b fleet.BackupInfo, name string) error {
	_, err := d.h.client().VerifyRestore(ctx, agentproto.VerifyRestoreParams{DB: d.conn, Path: b.Path, SHA256: b.SHA256, Scratch: name, Keep: true})
	if err != nil {
		return fmt.Errorf("restore %s into scratch database %s from %s: %w", b.Path, name, d.h.name, err)
	}
	return nil
}

// DropScratch drops scratch databases through the tools host's agent.
func (d *agentDB) DropScratch(ctx context.Context, names []string, all bool) ([]string, error) {
	r, err := d.h.client().Scratch(ctx, agentproto.ScratchParams{DB: d.conn, Drop: names, DropAll: all})
	if err != nil {
		return nil, fmt.Errorf("drop scratch databases from %s: %w", d.h.name, err)
	}
	return r.Dropped, nil
}

// CanCreateDB reads whether Kong's role has CREATEDB (or is a superuser).
func (d *agentDB) CanCreateDB(ctx context.Context) (bool, string, error) {
	r, err := d.h.client().Scratch(ctx, agentproto.ScratchParams{DB: d.conn, CheckCreate: true})
	if err != nil {
		return false, "", fmt.Errorf("read the database role's attributes from %s: %w", d.h.name, err)
	}
	return r.CanCreate, r.CreateReason, nil
}
