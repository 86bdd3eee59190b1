package runner

import (
	"context"
	"slices"
)

// The stop's steps: a node stopped, and (undo) X started again on it.
const (
	stopSteps   hostSteps = "stop/"
	startXSteps hostSteps = "rollback/start-x/"
)

// stopPhase stops the X nodes (see windowPhase for the order) gracefully
// and verifies each down. Downtime starts with the first stop. Undo:
// start X again on the stopped nodes (after the database restore and the
// reinstall of X that undo later phases) and verify them healthy.
type stopPhase struct{}

func (stopPhase) name() PhaseName { return PhaseStop }

func (stopPhase) total(e *engine) int { return len(e.spec.Nodes) }

// run stops every node at once. The pipeline does not call it: the window
// (windowPhase) runs the stop node by node, interleaved with its other
// parts; the phase is kept whole for its name, its steps and its undo.
func (stopPhase) run(ctx context.Context, e *engine) error {
	return e.forEach(ctx, e.spec.Nodes, nodeLimit, e.stopNode)
}

// stopNode stops Kong on h as a journaled step, after draining it in the
// inventory's load balancer and the per-node before_stop hooks for h
// (draining it from another load balancer).
func (e *engine) stopNode(ctx context.Context, h string) error {
	if err := e.lbDrain(ctx, PhaseStop, lbDrainSteps.of(h), h); err != nil {
		return err
	}
	if err := e.nodeHooks(ctx, PhaseStop, HookBeforeStop, h, ""); err != nil {
		return err
	}
	return e.step(ctx, PhaseStop, stopSteps.of(h), h, func(ctx context.Context) (any, error) {
		return nil, e.stopKong(ctx, h, "")
	})
}

func (stopPhase) undo(ctx context.Context, e *engine) error {
	hosts := e.startedOn(e.spec.Nodes, stopSteps)
	// Nodes drained in the load balancer but never stopped serve X
	// still: ready again at once.
	for _, h := range e.startedOn(e.spec.Nodes, lbDrainSteps) {
		if !slices.Contains(hosts, h) {
			e.lbUndoReady(ctx, PhaseStop, h)
		}
	}
	// X comes back on every node at once (as Y starts), not one after the
	// other: the fleet is down until the first node serves again.
	return e.forEach(ctx, hosts, startLimit, func(ctx context.Context, h string) error {
		if err := e.undoStep(ctx, PhaseStop, startXSteps.of(h), h, func(ctx context.Context) error {
			return e.startAndWait(ctx, h, e.pf.From)
		}); err != nil {
			return err
		}
		if err := e.restoreKeyring(ctx, PhaseStop, h, true); err != nil {
			return err
		}
		e.lbUndoReady(ctx, PhaseStop, h)
		// X serves again on h: the per-node after_start hooks (enabling
		// it in a load balancer); a failure there is a warning only, the
		// rollback goes on.
		if err := e.nodeHooks(ctx, PhaseStop, HookAfterStart, h, "rollback/"); err != nil {
			e.find(Finding{Severity: SevWarning, Code: "hook", Host: h, Message: e.red.err(err)})
		}
		return nil
	})
}
