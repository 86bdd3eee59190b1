package runner

import (
	"context"

	"github.com/kongctl/kongctl/controller/fleet"
)

// retryLB runs fn on the load balancer, tried again (reconnected first)
// while its host cannot be reached, for up to transientRetry: for undo
// steps, safe to run twice. The load balancer is connected to on each
// try, so a try after a reconnect uses the new connection.
func (e *engine) retryLB(ctx context.Context, what string, fn func(ctx context.Context, lb fleet.LoadBalancer) error) error {
	return e.retryTransient(ctx, e.spec.LB.Host, what, func(ctx context.Context) error {
		lb, err := e.loadBalancer(ctx)
		if err != nil {
			return err
		}
		return fn(ctx, lb)
	})
}

// lbUndoStep is undoStep for a step of node h done on the load balancer:
// journaled under h, tried again while the load balancer's host (not h)
// cannot be reached.
func (e *engine) lbUndoStep(ctx context.Context, ph PhaseName, key StepKey, h string, fn func(ctx context.Context, lb fleet.LoadBalancer) error) error {
	if e.j != nil && stepDone(e.j, key) {
		return nil
	}
	return e.step(ctx, ph, key, h, func(ctx context.Context) (any, error) {
		return nil, e.retryLB(ctx, string(key), fn)
	})
}
