package runner

import (
	"context"
	"fmt"
	"slices"

	"github.com/kongctl/kongctl/controller/progress"
)

// rollback undoes the started phases in reverse order. It stops at the
// first undo that fails: starting X on a database that could not be
// restored would be worse than stopping.
func (e *engine) rollback(ctx context.Context) error {
	e.mu.Lock()
	started := slices.Clone(e.started)
	// A rollback under way completes on a soft interrupt.
	e.rollingBack = true
	e.mu.Unlock()
	e.note("rolling back %d phase(s)", len(started))
	return runBounded(ctx, "rollback", e.spec.Timeouts.Rollback, func(ctx context.Context) error { return e.undoAll(ctx, started) })
}

// undoAll undoes the started phases in reverse order (rollback).
func (e *engine) undoAll(ctx context.Context, started []phase) error {
	for i := len(started) - 1; i >= 0; i-- {
		u, ok := started[i].(undoer)
		if !ok {
			continue
		}
		name := "rollback-" + string(started[i].name())
		t0 := e.clk.Now()
		e.emit(progress.Event{Type: progress.PhaseStart, Phase: name, Total: e.phaseTotal(started[i])})
		err := u.undo(ctx, e)
		pr := PhaseResult{Phase: name, Started: t0, Finished: e.clk.Now(), Status: ResultRolledBack}
		if err != nil {
			pr.Status, pr.Error = ResultFailed, e.red.err(err)
		}
		e.mu.Lock()
		e.timeline = append(e.timeline, pr)
		e.mu.Unlock()
		e.emit(progress.Event{Type: progress.PhaseEnd, Phase: name, Status: string(pr.Status), Error: pr.Error, Duration: pr.Finished.Sub(t0).Seconds()})
		if err != nil {
			return fmt.Errorf("rollback of %s: %w", started[i].name(), err)
		}
	}
	return nil
}
