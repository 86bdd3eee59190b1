package sshfleet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/controller/agentclient"
)

func (n *agentNode) Migrations(ctx context.Context, req fleet.MigrationsRequest) (fleet.SchemaState, error) {
	params := agentproto.MigrationsParams{Action: req.Command, Conf: n.conf, Prefix: n.prefix, Manager: n.manager, EnvFile: n.envFile, Force: req.Force, DBTimeout: req.DBTimeout, LockTimeout: req.LockTimeout}
	var res *agentproto.MigrationsResult
	var err error
	if req.Command == agentproto.MigUp || req.Command == agentproto.MigFinish {
		res, err = n.detachedMigrations(ctx, req, params)
	} else {
		res, err = n.h.client().Migrations(ctx, params)
	}
	switch agentproto.CodeOf(err) {
	case agentproto.CodeAborted:
		return fleet.SchemaState{Aborted: true, Output: err.Error()}, nil
	case agentproto.CodeDBUnreachable:
		return fleet.SchemaState{ExitCode: 1, Output: err.Error()}, nil
	}
	if err != nil {
		return fleet.SchemaState{}, err
	}
	st := fleet.SchemaState{ExitCode: res.State.ExitCode, NeedsBootstrap: res.State.NeedsBootstrap, Pending: flatten(res.State.Pending), New: flatten(res.State.New)}
	if req.Command == agentproto.MigUp || req.Command == agentproto.MigFinish {
		// The agent re-checks up/finish with list itself: its State is that
		// list, reported as After; ExitCode is the command's.
		after := st
		st.After = &after
		st.ExitCode = res.ExitCode
	}
	return st, nil
}

// reattachFor bounds how long a lost connection to a node running a
// detached step is retried before the wait fails.
const reattachFor = 3 * time.Minute

// detachedMigrations starts up/finish as a detached step (or attaches to
// it when it already exists) and waits for its reply.
func (n *agentNode) detachedMigrations(ctx context.Context, req fleet.MigrationsRequest, params agentproto.MigrationsParams) (*agentproto.MigrationsResult, error) {
	// Start and wait in one call; then attach again while it runs.
	stepTimeout := req.StepTimeout
	if stepTimeout == 0 {
		stepTimeout = req.DBTimeout
	}
	ar, err := n.h.client().StartAttached(ctx, req.StepID, agentproto.OpMigrations, params, stepTimeout, 20*time.Second)
	if err != nil && ar == nil {
		var opErr *agentclient.OpError
		if errors.As(err, &opErr) || ctx.Err() != nil {
			return nil, err
		}
		// The connection was lost: the step may have started; the
		// loop attaches to it (never starting it a second time).
	}
	var lost time.Time // when the connection was first found lost
	for first := true; ; first = false {
		if !first || ar == nil {
			ar, err = n.h.client().Attach(ctx, req.StepID, 20*time.Second)
		}
		if err != nil {
			// The step runs detached on the node: a lost connection loses
			// only this wait. Reconnect and attach again (never start the
			// step a second time), for as long as the step may run.
			var opErr *agentclient.OpError
			if errors.As(err, &opErr) || ctx.Err() != nil {
				return nil, err
			}
			if lost.IsZero() {
				lost = time.Now()
			}
			if time.Since(lost) > reattachFor {
				return nil, fmt.Errorf("host %s: migrations step %s: connection lost and not back within %s: %w", n.h.name, req.StepID, reattachFor, err)
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
				return nil, fmt.Errorf("host %s: migrations step %s done without a reply", n.h.name, req.StepID)
			}
			n.h.time.add(string(agentproto.OpMigrations)+"."+req.Command, ar.Reply.Duration)
			if ar.Reply.Error != nil {
				return nil, ar.Reply.Error
			}
			r, err := agentproto.DecodeResult[agentproto.MigrationsResult](ar.Reply)
			if err != nil {
				return nil, err
			}
			return &r, nil
		default:
			return nil, fmt.Errorf("host %s: migrations step %s is %s (its runner died; the state is re-checked with list)", n.h.name, req.StepID, ar.Status.State)
		}
	}
}

// MigrationStep attaches to detached step stepID for up to wait and
// reports its state (StepNone when the agent does not know it).
func (n *agentNode) MigrationStep(ctx context.Context, stepID string, wait time.Duration) (string, error) {
	ar, err := n.h.client().Attach(ctx, stepID, wait)
	switch agentproto.CodeOf(err) {
	case agentproto.CodeNotFound:
		return fleet.StepNone, nil
	case agentproto.CodeStepLost:
		return fleet.StepLost, nil
	}
	if err != nil {
		return "", fmt.Errorf("host %s: state of migrations step %s: %w", n.h.name, stepID, err)
	}
	switch ar.Status.State {
	case agentproto.StepRunning:
		return fleet.StepRunning, nil
	case agentproto.StepDone:
		return fleet.StepDone, nil
	}
	return fleet.StepLost, nil
}

func flatten(ss []agentproto.SubsystemMigrations) []string {
	var out []string
	for _, s := range ss {
		for _, m := range s.Migrations {
			out = append(out, s.Subsystem+":"+m)
		}
	}
	return out
}
