package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/controller/agentclient"
	"github.com/kongctl/kongctl/controller/sshremote"
)

// transientRetry is how long a rollback step keeps trying again after a
// fault that passes by itself: the connection to its host lost, or the
// database unreachable from the host. A network or database blip shorter
// than this no longer leaves the fleet half rolled back.
const transientRetry = 2 * time.Minute

// reconnector is implemented by connectors that can replace a host's lost
// connection in place (the SSH connector).
type reconnector interface {
	Reconnect(ctx context.Context, host string) error
}

// connectError is a failed connection to a host that may succeed later
// (not a host key or authentication refusal).
type connectError struct{ err error }

func (e *connectError) Error() string { return e.err.Error() }
func (e *connectError) Unwrap() error { return e.err }

// transientConnect marks a failed connection as one that may succeed
// later, unless SSH refused it for good (host key, authentication).
func transientConnect(err error) error {
	if sshremote.IsFatal(err) {
		return err
	}
	return &connectError{err}
}

// connectionLost reports whether err is a call that never got an answer
// from its host (the connection could not be made or broke), as opposed to
// an operation the host ran and reported as failed.
func connectionLost(err error) bool {
	var t *agentclient.TransportError
	var c *connectError
	return errors.As(err, &t) || errors.As(err, &c)
}

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
		lost := connectionLost(err)
		if !lost && agentproto.CodeOf(err) != agentproto.CodeDBUnreachable {
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
		if r, ok := e.conn.(reconnector); ok && lost {
			// A failed reconnect leaves the lost connection; the next
			// try fails the same way and comes back here.
			_ = r.Reconnect(ctx, host)
		}
	}
}

// retryDatabase runs fn on the database (through the tools host) under
// retryTransient: for reads, and steps safe to run twice.
func (e *engine) retryDatabase(ctx context.Context, what string, fn func(ctx context.Context, db Database) error) error {
	return e.retryTransient(ctx, e.spec.ToolsHost, what, func(ctx context.Context) error {
		db, err := e.database(ctx)
		if err != nil {
			return err
		}
		return fn(ctx, db)
	})
}
