package runner

import (
	"context"
	"errors"
)

// ErrInterrupted ends a run that the operator interrupted once (SIGINT or
// SIGTERM): the steps already running finished, no new step started, and
// the run is paused where it stood.
var ErrInterrupted = errors.New("interrupted by the operator: the running steps finished, no new step was started")

type interruptKey struct{}

// WithInterrupt returns ctx carrying a soft interrupt: once ch is closed,
// an upgrade starts no new step and pauses when the steps running then
// have finished (a rollback under way completes). Cancelling ctx itself
// is the hard stop: running steps are cut off. Plan and status, which
// change nothing, stop at once on the soft interrupt.
func WithInterrupt(ctx context.Context, ch <-chan struct{}) context.Context {
	return context.WithValue(ctx, interruptKey{}, ch)
}

func interruptOf(ctx context.Context) <-chan struct{} {
	ch, _ := ctx.Value(interruptKey{}).(<-chan struct{})
	return ch
}

// closed reports, without waiting, whether ch is closed (a nil ch never
// is): whether the soft interrupt came, or the window halted.
func closed(ch <-chan struct{}) bool {
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// hardOnInterrupt turns the soft interrupt into a cancel, for operations
// that change nothing and may stop at once.
func hardOnInterrupt(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	if ch := interruptOf(ctx); ch != nil {
		go func() {
			select {
			case <-ch:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	return ctx, cancel
}
