package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"
)

// transientRetry is how long a rollback step keeps trying again after a
// fault that passes by itself: the connection to its host lost, or the
// database unreachable from the host. A network or database blip shorter
// than this no longer leaves the fleet half rolled back.
const transientRetry = 2 * time.Minute

// retryTransient runs fn and, while it fails only because the connection
// to host was lost (then it reconnects first) or because host could not
// reach the database, runs it again, for up to transientRetry. Only for
// steps that are safe to run twice: rollback steps are (a resumed rollback
// runs them again anyway), releasing the fleet lock, and reads (the
// database fingerprint after the stop).
func (e *engine) retryTransient(ctx context.Context, host, what string, fn func(ctx context.Context) error) error {
	var since time.Time
	for {
		err := fn(ctx)
		if err == nil || ctx.Err() != nil {
			return err
		}
		lost := fleet.ConnectionLost(err)
		if !lost && !fleet.DatabaseUnreachable(err) {
			return err
		}
		if since.IsZero() {
			since = e.clk.Now()
		}
		if e.clk.Now().Sub(since) >= transientRetry {
			if lost {
				return fmt.Errorf("%w (connection to %s not back within %s)", err, host, transientRetry)
			}
			return fmt.Errorf("%w (database still unreachable from %s after %s)", err, host, transientRetry)
		}
		cause := "the database is unreachable from " + host
		if lost {
			cause = "connection to " + host + " lost"
		}
		e.note("%s: %s (%s); trying again", what, cause, e.red.err(err))
		if err := e.clk.Sleep(ctx, 2*time.Second); err != nil {
			return err
		}
		if r, ok := e.conn.(fleet.Reconnector); ok && lost {
			// A failed reconnect leaves the lost connection; the next
			// try fails the same way and comes back here.
			_ = r.Reconnect(ctx, host)
		}
	}
}

// retryNode runs fn on node h under retryTransient: for reads, and steps
// safe to run twice. The node is looked up on each try, as retryDatabase
// and retryLB do theirs.
func (e *engine) retryNode(ctx context.Context, h, what string, fn func(ctx context.Context, n fleet.Node) error) error {
	return e.retryTransient(ctx, h, what, func(ctx context.Context) error {
		n, err := e.node(ctx, h)
		if err != nil {
			return err
		}
		return fn(ctx, n)
	})
}

// retryDatabase runs fn on the database (through the tools host) under
// retryTransient: for reads, and steps safe to run twice.
func (e *engine) retryDatabase(ctx context.Context, what string, fn func(ctx context.Context, db fleet.Database) error) error {
	return e.retryTransient(ctx, e.spec.ToolsHost, what, func(ctx context.Context) error {
		db, err := e.database(ctx)
		if err != nil {
			return err
		}
		return fn(ctx, db)
	})
}
