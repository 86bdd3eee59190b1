package runner

import (
	"context"
	"fmt"
	"strings"
)

// cleanupPhase releases the fleet lock and records the run; X packages
// stay staged on the nodes, X hosts (new-hosts mode) stay stopped with X
// installed.
type cleanupPhase struct{}

func (cleanupPhase) name() PhaseName { return PhaseCleanup }

func (cleanupPhase) run(ctx context.Context, e *engine) error {
	switch {
	case e.spec.DualCluster:
		e.find(e.dualClusterOldHosts()) // dualcluster_decommission.go
	case e.spec.NewHosts && !e.spec.Decommission:
		e.find(Finding{Severity: SevInfo, Code: "old-hosts", Message: fmt.Sprintf("X hosts %s are stopped with %s installed, kept for rollback", strings.Join(e.spec.Nodes, ", "), e.pf.From),
			Fix: "decommission them when the new hosts have proven themselves (upgrade.decommission = true, or kongctl upgrade --decommission)"})
	}
	e.recordRun(ctx, string(PhaseCleanup), "succeeded")
	return e.releaseLock(ctx)
}
