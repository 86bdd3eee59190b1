package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"
)

// The start's steps: Y started on a node, and (undo) Y stopped again.
const (
	startSteps hostSteps = "start/"
	stopYSteps hostSteps = "rollback/stop-y/"
)

// startPhase starts Y on every target (the migration node first, then the
// others: windowPhase) and waits until each is healthy on Y (running,
// /status 200, ready, database reachable). The fleet serves again with the
// first; the window ends with the last. Undo: stop Y again.
type startPhase struct{}

func (startPhase) name() PhaseName { return PhaseStart }

func (startPhase) total(e *engine) int { return len(e.spec.targets()) }

// run starts Y everywhere at once; like stopPhase.run, the pipeline runs
// the start inside the window instead.
func (startPhase) run(ctx context.Context, e *engine) error {
	return e.forEach(ctx, e.spec.targets(), startLimit, e.startY)
}

// startY starts Y on h as a journaled step and waits until it is healthy
// on Y; the step's data holds the time it was.
func (e *engine) startY(ctx context.Context, h string) error {
	err := e.step(ctx, PhaseStart, startSteps.of(h), h, func(ctx context.Context) (any, error) {
		if err := e.startAndWait(ctx, h, e.spec.To); err != nil {
			return nil, err
		}
		return map[string]time.Time{"healthy": e.clk.Now()}, nil
	})
	if err != nil {
		return err
	}
	if err := e.restoreKeyring(ctx, PhaseStart, h, false); err != nil {
		return err
	}
	// The node serves Y: ready in the inventory's load balancer, then
	// the per-node after_start hooks (enabling it in another). A
	// dual-cluster's Y takes traffic in the shift only.
	if e.spec.DualCluster {
		return nil
	}
	if err := e.lbReady(ctx, PhaseStart, lbReadySteps.of(h), h); err != nil {
		return err
	}
	return e.nodeHooks(ctx, PhaseStart, HookAfterStart, h, "")
}

// startAndWait starts Kong on h and returns once it is healthy on want.
// The agent's start already waits for health: when what it saw answers,
// no second round trip asks again.
func (e *engine) startAndWait(ctx context.Context, h, want string) error {
	n, err := e.node(ctx, h)
	if err != nil {
		return err
	}
	return e.startNodeAndWait(ctx, n, h, want)
}

// startNodeAndWait is startAndWait on n, the node h (or a view of it:
// the rehearsal host with the fleet's environment).
func (e *engine) startNodeAndWait(ctx context.Context, n fleet.Node, h, want string) error {
	hl, err := n.Start(ctx, e.spec.Timeouts.Start)
	if err != nil {
		return fmt.Errorf("start kong %s on %s: %w", want, h, err)
	}
	if hl.Healthy() && sameVersion(hl.Version, want) {
		return nil
	}
	return e.waitNodeHealthy(ctx, n, h, want)
}

func (startPhase) undo(ctx context.Context, e *engine) error {
	hosts := e.startedOn(e.spec.targets(), startSteps)
	return e.forEach(ctx, hosts, nodeLimit, func(ctx context.Context, h string) error {
		// Y took traffic on h: drained before it stops, as forward.
		if e.stepStarted(lbReadySteps.of(h)) {
			if err := e.lbDrain(ctx, PhaseStart, lbUndoDrainSteps.of(h), h); err != nil {
				e.find(Finding{Severity: SevWarning, Code: "lb-drain", Host: h, Message: e.red.err(err)})
			}
		}
		return e.undoStep(ctx, PhaseStart, stopYSteps.of(h), h, func(ctx context.Context) error {
			return e.stopKong(ctx, h, e.spec.To)
		})
	})
}

// waitHealthy is waitNodeHealthy on the node h.
func (e *engine) waitHealthy(ctx context.Context, h, want string) error {
	n, err := e.node(ctx, h)
	if err != nil {
		return err
	}
	return e.waitNodeHealthy(ctx, n, h, want)
}

// waitNodeHealthy polls n's Health until the node h runs version want and is
// healthy, or the health timeout passes.
func (e *engine) waitNodeHealthy(ctx context.Context, n fleet.Node, h, want string) error {
	deadline := e.clk.Now().Add(e.spec.Timeouts.Health)
	var last fleet.Health
	var lastErr error
	for {
		last, lastErr = n.Health(ctx)
		if lastErr == nil && last.Healthy() && (want == "" || sameVersion(last.Version, want)) {
			return nil
		}
		if !e.clk.Now().Before(deadline) {
			break
		}
		// Every poll is a round trip to the node; the first seconds after
		// a start are where the downtime ends, so poll those closely.
		if err := e.clk.Sleep(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
	if lastErr != nil {
		return fmt.Errorf("wait for kong %s healthy on %s: %w", want, h, lastErr)
	}
	return fmt.Errorf("wait for kong %s healthy on %s: not healthy after %s (running=%v version=%s status=%v ready=%v db=%v %s)",
		want, h, e.spec.Timeouts.Health, last.Running, dash(last.Version), last.StatusOK, last.Ready, last.DBReachable, last.Detail)
}
