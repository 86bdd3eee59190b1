package controller

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// phaseTimeout is the inventory's bound on a whole phase: timeouts.preflight,
// timeouts.backup and timeouts.verify (health, smoke and soak together).
// Other phases are bounded step by step (timeouts.stop, install,
// migrations, start, hook) and return 0 here; the rollback is bounded by
// timeouts.rollback in engine.rollback.
func (s *Spec) phaseTimeout(p PhaseName) time.Duration {
	switch p {
	case PhasePreflight:
		return s.Timeouts.Preflight
	case PhaseBackup:
		return s.Timeouts.Backup
	case PhaseVerify:
		return s.Timeouts.Verify
	}
	return 0
}

// errPhaseTimeout is the cause of a phase's ctx when its timeout ran out.
var errPhaseTimeout = errors.New("timed out")

// runBounded runs fn with ctx bounded by d (d <= 0: not bounded). When the
// bound is what ended fn, the error says so and names the setting
// (timeouts.<name>), still wrapping fn's error.
func runBounded(ctx context.Context, name PhaseName, d time.Duration, fn func(context.Context) error) error {
	if d <= 0 {
		return fn(ctx)
	}
	cause := fmt.Errorf("%s %w after %s (timeouts.%s)", name, errPhaseTimeout, d, name)
	bctx, cancel := context.WithTimeoutCause(ctx, d, cause)
	defer cancel()
	err := fn(bctx)
	if err != nil && ctx.Err() == nil && context.Cause(bctx) == cause {
		return fmt.Errorf("%w: %w", cause, err)
	}
	return err
}
