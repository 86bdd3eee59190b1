package sshfleet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/controller/agentclient"
	"github.com/kongctl/kongctl/controller/fleet"
)

// reattachFor bounds how long a lost connection to a node running a
// detached step is retried before the wait fails.
const reattachFor = 3 * time.Minute

// detachedStep names a detached step for runDetached.
type detachedStep struct {
	ID     string
	Op     agentproto.Op
	Timing string // the agent-time key its duration is added under
	Lost   string // what a lost runner means, for the error
}

// runDetached starts op as detached step s.ID and waits for its reply (or
// attaches to the step when it already exists: a step is never started
// twice). The step runs in its own session on the node: a lost
// connection loses only this wait, which reconnects and attaches again
// for up to reattachFor; a cancelled ctx stops the wait, never the step.
// The returned reply is the step's own (its Error is the op's failure).
func (n *agentNode) runDetached(ctx context.Context, s detachedStep, params any, stepTimeout time.Duration) (*agentproto.Reply, error) {
	// Start and wait in one call; then attach again while it runs.
	ar, err := n.h.client().StartAttached(ctx, s.ID, s.Op, params, stepTimeout, 20*time.Second)
	if err != nil && ar == nil {
		var opErr *agentclient.OpError
		if errors.As(err, &opErr) || ctx.Err() != nil {
			return nil, err
		}
		// The connection was lost: the step may have started; the
		// loop attaches to it (never starting it a second time).
	}
	// A start whose connection was lost may never have reached the node:
	// until a reply says the step exists there, the loop asks to start it
	// again, which attaches instead when it does exist (a step is never
	// started twice); a bare attach would fail with not_found.
	started := ar != nil
	var lost time.Time // when the connection was first found lost
	for first := true; ; first = false {
		if !first || ar == nil {
			if started {
				ar, err = n.h.client().Attach(ctx, s.ID, 20*time.Second)
			} else {
				ar, err = n.h.client().StartAttached(ctx, s.ID, s.Op, params, stepTimeout, 20*time.Second)
			}
			started = started || ar != nil
		}
		if err != nil {
			var opErr *agentclient.OpError
			if errors.As(err, &opErr) || ctx.Err() != nil {
				return nil, err
			}
			if lost.IsZero() {
				lost = time.Now()
			}
			if time.Since(lost) > reattachFor {
				return nil, fmt.Errorf("host %s: %s step %s: connection lost and not back within %s: %w", n.h.name, s.Op, s.ID, reattachFor, err)
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(2 * time.Second):
			}
			if rerr := n.h.reconnect(ctx); rerr != nil {
				continue // still the lost connection: the next Attach fails and retries
			}
			lost = time.Time{}
			continue
		}
		switch ar.Status.State {
		case agentproto.StepRunning:
			continue
		case agentproto.StepDone:
			if ar.Reply == nil {
				return nil, fmt.Errorf("host %s: %s step %s done without a reply", n.h.name, s.Op, s.ID)
			}
			n.h.time.add(s.Timing, ar.Reply.Duration)
			return ar.Reply, nil
		default:
			return nil, fmt.Errorf("host %s: %s step %s is %s (%s): %w", n.h.name, s.Op, s.ID, ar.Status.State, s.Lost, fleet.ErrStepLost)
		}
	}
}
