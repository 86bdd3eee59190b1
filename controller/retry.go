package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kongctl/kongctl/controller/agentclient"
)

// lostConnectionRetry is how long a rollback step keeps trying again over
// a new connection after its connection to the host was lost. A network
// fault shorter than this no longer leaves the fleet half rolled back.
const lostConnectionRetry = 2 * time.Minute

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

// connectionLost reports whether err is a call that never got an answer
// from its host (the connection could not be made or broke), as opposed to
// an operation the host ran and reported as failed.
func connectionLost(err error) bool {
	var t *agentclient.TransportError
	var c *connectError
	return errors.As(err, &t) || errors.As(err, &c)
}

// retryLost runs fn and, while it fails only because the connection to
// host was lost, reconnects and runs it again, for up to
// lostConnectionRetry. Only for steps that are safe to run twice: rollback
// steps are (a resumed rollback runs them again anyway).
func (e *engine) retryLost(ctx context.Context, host, what string, fn func(ctx context.Context) error) error {
	var since time.Time
	for {
		err := fn(ctx)
		if err == nil || ctx.Err() != nil || !connectionLost(err) {
			return err
		}
		if since.IsZero() {
			since = e.clk.Now()
		}
		if e.clk.Now().Sub(since) >= lostConnectionRetry {
			return fmt.Errorf("%w (connection to %s not back within %s)", err, host, lostConnectionRetry)
		}
		e.note("%s: connection to %s lost (%s); trying again", what, host, e.red.err(err))
		if err := e.clk.Sleep(ctx, 2*time.Second); err != nil {
			return err
		}
		if r, ok := e.conn.(reconnector); ok {
			// A failed reconnect leaves the lost connection; the next
			// try fails the same way and comes back here.
			_ = r.Reconnect(ctx, host)
		}
	}
}
