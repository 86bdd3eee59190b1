package runner

import (
	"context"
	"fmt"
	"strings"

	"github.com/kongctl/kongctl/controller/fleet"
)

// A dual-cluster's X decommissioned on request (upgrade.decommission, or
// kongctl upgrade --decommission): once the shift's last step passed its
// gates with all the traffic on Y and X's servers drained, each X node is
// disabled in the load balancer (maint) and Kong stopped on it. Kong
// stays installed and X's database was never written: a rollback of the
// run (`kongctl rollback`) starts X again on its nodes, then the shift's
// undo sends the traffic back to them. Admin writes made on Y since are
// not in X's database.

// The X decommission's steps: X disabled and stopped on a node, and
// (undo) started again there.
const (
	xDecommissionSteps hostSteps = "decommission-x/"
	xRestartSteps      hostSteps = "rollback/restart-x/"
)

// dualDecommissionPhase stops X after a dual-cluster shift. Y serves by
// then: a node that cannot be decommissioned is a warning, and the run
// still succeeds.
type dualDecommissionPhase struct{}

func (dualDecommissionPhase) name() PhaseName { return PhaseDecommission }

func (dualDecommissionPhase) total(e *engine) int { return len(e.spec.Nodes) }

func (dualDecommissionPhase) run(ctx context.Context, e *engine) error {
	lb, err := e.loadBalancer(ctx)
	if err != nil {
		e.find(Finding{Severity: SevWarning, Code: "decommission", Host: e.spec.LB.Host, Message: e.red.err(err),
			Fix: fmt.Sprintf("Y serves all the traffic; disable and stop X (%s) by hand, or run the upgrade again", strings.Join(e.spec.Nodes, ", "))})
		return nil
	}
	_ = e.forEach(ctx, e.spec.Nodes, nodeLimit, func(ctx context.Context, h string) error {
		err := e.step(ctx, PhaseDecommission, xDecommissionSteps.of(h), h, func(ctx context.Context) (any, error) {
			// Out of the load balancing first: a stopped X must not
			// count as a server down, nor take a request.
			if err := e.setState(ctx, lb, h, fleet.LBMaint); err != nil {
				return nil, err
			}
			if err := e.stopKong(ctx, h, e.pf.From); err != nil {
				return nil, err
			}
			srv, _ := e.lbServer(h)
			return map[string]string{"server": srv, "state": fleet.LBMaint, "kong": e.pf.From + " stopped, installed"}, nil
		})
		if err != nil {
			e.find(Finding{Severity: SevWarning, Code: "decommission", Host: h, Message: e.red.err(err),
				Fix: fmt.Sprintf("Y serves all the traffic; disable and stop %s by hand, or run the upgrade again", h)})
		}
		return err
	})
	return nil
}

// undo starts X again on every node the run decommissioned and waits
// until the load balancer counts it up (still without weight: the
// shift's undo, which runs next, gives X the traffic back). X's keyring
// is imported again where X keeps one in memory.
func (dualDecommissionPhase) undo(ctx context.Context, e *engine) error {
	hosts := e.startedOn(e.spec.Nodes, xDecommissionSteps)
	return e.forEach(ctx, hosts, startLimit, func(ctx context.Context, h string) error {
		if err := e.undoStep(ctx, PhaseDecommission, xRestartSteps.of(h), h, func(ctx context.Context) error {
			return e.startAndWait(ctx, h, e.pf.From)
		}); err != nil {
			return err
		}
		if err := e.restoreKeyring(ctx, PhaseDecommission, h, true); err != nil {
			return err
		}
		return e.lbReadyUp(ctx, PhaseDecommission, lbUndoReadySteps.of(h), h)
	})
}

// xDecommissioned tells whether the run decommissioned the dual-cluster's
// X node h.
func (e *engine) xDecommissioned(h string) bool {
	return e.spec.DualCluster && e.j != nil && stepDone(e.j, xDecommissionSteps.of(h))
}

// dualClusterXReport is X node h's result and version in the report of
// a dual-cluster run that succeeded.
func (e *engine) dualClusterXReport(h string) (Result, string) {
	if e.xDecommissioned(h) {
		return ResultDecommissioned, e.pf.From + " (stopped, disabled in the load balancer)"
	}
	return ResultOK, e.pf.From + " (running, drained)"
}

// dualClusterOldHosts is the cleanup's word on X after a dual-cluster
// run: what it runs, and what a rollback means now.
func (e *engine) dualClusterOldHosts() Finding {
	x := strings.Join(e.spec.Nodes, ", ")
	var stopped []string
	for _, h := range e.spec.Nodes {
		if e.xDecommissioned(h) {
			stopped = append(stopped, h)
		}
	}
	if len(stopped) == 0 {
		return Finding{Severity: SevInfo, Code: "old-hosts",
			Message: fmt.Sprintf("X hosts %s still run %s on database %s, drained in the load balancer: sending the traffic back to them is the rollback", x, e.pf.From, e.spec.DB.Name),
			Fix:     "decommission them when Y has proven itself (upgrade.decommission = true, or kongctl upgrade --decommission)"}
	}
	return Finding{Severity: SevInfo, Code: "old-hosts",
		Message: fmt.Sprintf("X decommissioned: Kong %s stopped on %s and disabled in the load balancer, still installed; X's database %s was never written. The way back is X started again: `kongctl rollback` starts it on those hosts and sends the traffic back to it (admin writes made on Y since are not in %s)", e.pf.From, strings.Join(stopped, ", "), e.spec.DB.Name, e.spec.DB.Name),
		Fix:     fmt.Sprintf("remove Kong from %s when Y has proven itself; until then keep them and database %s", strings.Join(stopped, ", "), e.spec.DB.Name)}
}

// rollbackQuestion is what `kongctl rollback` asks before it undoes a
// run that succeeded.
func (e *engine) rollbackQuestion() string {
	if e.spec.DualCluster {
		return fmt.Sprintf("Run %s succeeded. Rolling back starts X again where it was decommissioned and sends all traffic back to it, on its database %s as it was before the run: admin writes made on Y since are lost. Continue?", e.runID, e.spec.DB.Name)
	}
	return fmt.Sprintf("Run %s succeeded. Rolling back restores the database backup taken before it: admin writes made since are lost. Continue?", e.runID)
}
