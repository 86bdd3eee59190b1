package sshfleet

import (
	"context"
	"fmt"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"

	"github.com/kongctl/kongctl/agent/agentproto"
)

func (n *agentNode) Migrations(ctx context.Context, req fleet.MigrationsRequest) (fleet.SchemaState, error) {
	params := agentproto.MigrationsParams{Action: req.Command, Conf: n.conf, Prefix: n.prefix, Manager: n.manager, EnvFile: n.envFile, KongEnv: n.kongEnv, Force: req.Force, DBTimeout: req.DBTimeout, LockTimeout: req.LockTimeout}
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

// detachedMigrations starts up/finish as a detached step (or attaches to
// it when it already exists) and waits for its reply.
func (n *agentNode) detachedMigrations(ctx context.Context, req fleet.MigrationsRequest, params agentproto.MigrationsParams) (*agentproto.MigrationsResult, error) {
	stepTimeout := req.StepTimeout
	if stepTimeout == 0 {
		stepTimeout = req.DBTimeout
	}
	rep, err := n.runDetached(ctx, detachedStep{ID: req.StepID, Op: agentproto.OpMigrations, Timing: string(agentproto.OpMigrations) + "." + req.Command,
		Lost: "its runner died; the state is re-checked with list"}, params, stepTimeout)
	if err != nil {
		return nil, err
	}
	if rep.Error != nil {
		return nil, rep.Error
	}
	r, err := agentproto.DecodeResult[agentproto.MigrationsResult](rep)
	if err != nil {
		return nil, err
	}
	return &r, nil
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
