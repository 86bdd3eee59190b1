package runner

import (
	"context"
	"fmt"
	"maps"

	"github.com/kongctl/kongctl/controller/fleet"
)

// hookPhase runs the operator's hooks of one point.
type hookPhase struct {
	ph    PhaseName
	point HookPoint
}

func (p hookPhase) name() PhaseName { return p.ph }

func (p hookPhase) run(ctx context.Context, e *engine) error {
	for i, hk := range e.spec.Hooks[p.point] {
		if hk.PerNode {
			continue // around each node's own stop or start (nodeHooks)
		}
		for _, h := range hookHosts(e, hk) {
			if err := e.runHook(ctx, p.ph, p.point, i, hk, h, "", "", nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// nodeHooks runs the per-node hooks of point for node, where each says
// (the bastion, or its hosts), with the node's name and address. tag
// prefixes their journal keys ("rollback/" for the rollback's own runs).
func (e *engine) nodeHooks(ctx context.Context, ph PhaseName, point HookPoint, node, tag string) error {
	for i, hk := range e.spec.Hooks[point] {
		if !hk.PerNode {
			continue
		}
		env := map[string]string{"KONGCTL_NODE": node, "KONGCTL_NODE_ADDRESS": e.spec.host(node).Address}
		for _, h := range hookHosts(e, hk) {
			if err := e.runHook(ctx, ph, point, i, hk, h, node, tag, env); err != nil {
				return err
			}
		}
	}
	return nil
}

func hookHosts(e *engine, hk HookSpec) []string {
	switch {
	case hk.OnBastion:
		return []string{bastionHost}
	case len(hk.Hosts) == 0:
		return []string{e.spec.MigrationHost}
	}
	return hk.Hosts
}

// runHook runs hook i of point on h as a journaled step (for node, when
// it runs per node; tag prefixes its journal key). A failure fails the
// step unless the hook continues on error (a warning then).
func (e *engine) runHook(ctx context.Context, ph PhaseName, point HookPoint, i int, hk HookSpec, h, node, tag string, extra map[string]string) error {
	key := hookStep(tag, point, i, node, h)
	where := h
	if node != "" {
		where = h + " for " + node
	}
	err := e.step(ctx, ph, key, h, func(ctx context.Context) (any, error) {
		env := map[string]string{
			"KONGCTL_RUN_ID": e.runID, "KONGCTL_FROM": e.pf.From, "KONGCTL_TO": e.spec.To, "KONGCTL_HOOK": string(point),
		}
		maps.Copy(env, extra)
		req := fleet.ExecRequest{Command: hk.Command, Timeout: hk.Timeout, Env: env}
		var res fleet.ExecResult
		var err error
		if h == bastionHost {
			res, err = e.localExec(ctx, req)
		} else {
			var n fleet.Node
			if n, err = e.node(ctx, h); err != nil {
				return nil, err
			}
			res, err = n.Exec(ctx, req)
		}
		if err != nil {
			return nil, fmt.Errorf("hook %s on %s: %w", hookName(hk, i), where, err)
		}
		if res.ExitCode != 0 {
			return nil, fmt.Errorf("hook %s on %s: exit %d: %s", hookName(hk, i), where, res.ExitCode, hookFailure(res))
		}
		return e.hookRecord(res), nil
	})
	if err != nil && hk.ContinueOnError {
		e.find(Finding{Severity: SevWarning, Code: "hook", Host: h, Message: e.red.err(err)})
		return nil
	}
	return err
}

func hookName(h HookSpec, i int) string {
	if h.Name != "" {
		return h.Name
	}
	return fmt.Sprintf("#%d", i+1)
}

// hookStep is the journal key of hook i of point on h ("hook/<point>/<i>/<h>",
// with the node it runs for when per node), under tag ("rollback/" for
// the rollback's own runs of the hooks).
func hookStep(tag string, point HookPoint, i int, node, h string) StepKey {
	if node != "" {
		return StepKey(fmt.Sprintf("%shook/%s/%d/%s/%s", tag, point, i, node, h))
	}
	return StepKey(fmt.Sprintf("%shook/%s/%d/%s", tag, point, i, h))
}
