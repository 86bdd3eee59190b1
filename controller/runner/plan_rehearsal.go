package runner

import (
	"context"
	"fmt"
	"time"
)

// planRehearsal rehearses for `kongctl plan`, which has no backup of its
// own: it takes one on the tools host as the upgrade does (pg_dump into
// backup.dir, named kong-<id>-rehearsal), restores it into the scratch
// database (which proves it restores), rehearses, and deletes the dump.
// Nothing is copied to the bastion and no journal is written. A failure
// is an error finding: the plan is then not ready.
func (e *engine) planRehearsal(ctx context.Context) {
	h := e.pf.Rehearsal
	if e.runID == "" {
		e.runID = newRunID(e.clk.Now())
	}
	refuse := func(err error) {
		e.find(Finding{Severity: SevError, Code: "rehearsal", Host: h, Message: e.red.err(err),
			Fix: "Y's migrations fail on a copy of this database: the upgrade would fail in the downtime; fix the cause first"})
	}
	db, err := e.database(ctx)
	if err != nil {
		refuse(err)
		return
	}
	e.note("plan: taking a backup on %s for the rehearsal on %s", e.spec.ToolsHost, h)
	b, err := db.Backup(ctx, e.backupRequest("rehearsal"))
	if err != nil {
		refuse(fmt.Errorf("back up database on %s for the rehearsal: %w", e.spec.ToolsHost, err))
		return
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := db.Remove(rctx, b); err != nil {
			e.find(Finding{Severity: SevWarning, Code: "rehearsal-backup", Host: e.spec.ToolsHost, Message: e.red.err(err)})
		}
	}()
	r, err := e.rehearse(ctx, b)
	e.useRehearsal(r)
	if err != nil {
		refuse(err)
	}
}
