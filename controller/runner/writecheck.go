package runner

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"
)

// The write check proves, inside the downtime, that the backup still holds
// every configuration write: the write counters of Kong's configuration
// tables (a read of the catalog, whatever the row count) are compared with
// those taken right before the dump. Runtime tables that change on their
// own (kong-reference 9.5, fleet.ConfigChanged) are left out, so
// data-plane heartbeats, cache invalidations or rate-limiting counters
// never make the backup be taken again.

// writeCheckSettle bounds the wait after the stop for Kong's connections
// to close: a backend flushes its write counters when it exits.
const writeCheckSettle = 3 * time.Second

// writeSignatureBeforeDump reads the baseline right before the dump starts,
// without waiting for Kong's connections (they serve): a count still
// pending in a live backend can only show as a change after the stop (a
// retake for nothing), never hide one. Nil when the server's counters are
// unusable; the check after the stop then fingerprints.
func (e *engine) writeSignatureBeforeDump(ctx context.Context, db fleet.Database) (*fleet.WriteSignature, error) {
	sig, err := db.WriteSignature(ctx, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("read write counters on %s: %w", e.spec.ToolsHost, err)
	}
	if !sig.Usable {
		e.note("write check: %s; the check after the stop fingerprints the configuration tables instead", sig.Note)
		return nil, nil
	}
	return &sig, nil
}

// stoppedAddresses are the addresses of the Kong nodes stopped for the
// window (every node by the time of the check), whose connections left
// to the database the check may end.
func (e *engine) stoppedAddresses() []string {
	out := make([]string, 0, len(e.spec.Nodes))
	for _, h := range e.spec.Nodes {
		if a := e.spec.host(h).Address; a != "" {
			out = append(out, a)
		}
	}
	return out
}

// writesSinceBackup returns the configuration tables written since the
// backup was taken (empty: the backup holds every accepted write). It
// compares write counters when the backup recorded them and they can be
// trusted after the stop; otherwise (a backup from an older kongctl, a
// client still connected, a server restart) it fingerprints the tables and
// compares their content with the backup's, runtime tables left out.
func (e *engine) writesSinceBackup(ctx context.Context) ([]string, error) {
	b := e.backup
	if base := b.WriteSignature; base != nil {
		// A read: a database or network blip here (the fleet already
		// down) is waited out rather than turned into a rollback, which
		// would need the database as much.
		var sig fleet.WriteSignature
		err := e.retryDatabase(ctx, "read write counters after stop", func(ctx context.Context, db fleet.Database) (err error) {
			sig, err = db.WriteSignature(ctx, writeCheckSettle, e.stoppedAddresses())
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("read write counters on %s after stop: %w", e.spec.ToolsHost, err)
		}
		if len(sig.Ended) > 0 {
			e.note("write check: ended %d connection(s) the stopped nodes left to Kong's database (%s): a query a node started before its stop runs on without its client",
				len(sig.Ended), strings.Join(sig.Ended, ", "))
		}
		if sig.Usable && sig.Note != "" {
			e.note("write check: %s", sig.Note)
		}
		switch {
		case !sig.Usable:
			e.note("write check: %s; fingerprinting the configuration tables instead", sig.Note)
		case !sig.Settled:
			e.note("write check: %d other client(s) still connected to Kong's database %s after the stop (%s): their last writes may not be in the counters yet; fingerprinting the configuration tables instead",
				len(sig.Others), sig.Waited.Round(time.Millisecond), strings.Join(sig.Others, ", "))
		case sig.Server != base.Server || sig.Transactions < base.Transactions:
			e.note("write check: the database server restarted or its statistics were reset (crash recovery, pg_stat_reset) since the backup; fingerprinting the configuration tables instead")
		default:
			changed := base.ChangedTables(sig)
			if len(changed) == 0 {
				e.note("write check: the write counters of %d configuration tables are as before the backup", len(sig.Tables))
				return nil, nil
			}
			// Counters can move without a write since the dump: a count
			// still pending in a connection that was live before the dump
			// (PostgreSQL flushes it when the connection ends, at the
			// stop). The content decides, before a retake inside the
			// window: the configuration tables against the dump's own
			// fingerprint.
			e.note("write check: the write counters of %s moved since the backup; comparing those tables' content with the backup's", strings.Join(changed, ", "))
		}
	}
	var fp fleet.Fingerprint
	err := e.retryDatabase(ctx, "fingerprint database after stop", func(ctx context.Context, db fleet.Database) (err error) {
		fp, err = db.Fingerprint(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("fingerprint database after stop: %w", err)
	}
	changed := fleet.ConfigChanged(b.Fingerprint, fp)
	if len(changed) == 0 {
		e.note("write check: the configuration tables hold what the backup holds")
	}
	return changed, nil
}
