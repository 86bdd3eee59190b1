package runner

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/controller/journal"
	"github.com/kongctl/kongctl/controller/progress"
)

// repairSteps journals what a resume or a rollback found half-done on a
// node's package database and repaired, before anything else ran there.
const repairSteps hostSteps = "repair-packages/"

// phaseRepair names the repair's journal records and progress.
const phaseRepair PhaseName = "repair-packages"

// repairInterrupted runs first on a resume and on `kongctl rollback`: on
// every node the run works on, it waits for the detached package
// installs still running (a controller killed or stopped with a second
// Ctrl-C leaves them to finish on their own), then repairs a package
// operation left half-done (dpkg --configure -a when dpkg --audit reports
// anything; rpm's duplicates), and says so. A repair that fails stops
// here, naming the host and the command's output.
func (e *engine) repairInterrupted(ctx context.Context) error {
	hosts := e.stagedHosts()
	e.note("checking %s for a package operation left half-done before going on", strings.Join(hosts, ", "))
	return e.forEach(ctx, hosts, nodeLimit, e.repairNode)
}

// repairNode repairs h's package database (RepairPackages), riding out
// a lost connection; a repair is a finding and a journal record.
func (e *engine) repairNode(ctx context.Context, h string) error {
	ref := e.pf.PkgY[h]
	var r fleet.PackageRepair
	err := e.retryNode(ctx, h, "check the package database on "+h, func(ctx context.Context, n fleet.Node) (err error) {
		r, err = n.RepairPackages(ctx, ref, e.installWait())
		return err
	})
	if err != nil {
		err = fmt.Errorf("repair an interrupted package operation on %s: %w", h, err)
		_ = e.journalStep(phaseRepair, repairSteps.of(h), h, journal.Failed, nil, err)
		e.find(Finding{Severity: SevError, Code: "package-repair", Host: h, Message: e.red.err(err),
			Fix: "repair the node's package database by hand (dpkg --audit, dpkg --configure -a; rpm -q), then resume or roll back again"})
		return err
	}
	if len(r.WaitedFor) > 0 {
		e.note("%s: waited for the package install still running there (step %s) to finish", h, strings.Join(r.WaitedFor, ", "))
	}
	if r.Found == "" {
		return nil
	}
	msg := fmt.Sprintf("%s reported a package operation left half-done (%s): repaired with %s", r.Checked, firstLine(r.Found), r.Repaired)
	e.find(Finding{Severity: SevWarning, Code: "package-repaired", Host: h, Message: msg})
	return e.journalStep(phaseRepair, repairSteps.of(h), h, journal.Done, r, nil)
}

// installWait bounds a wait for a package install: the install timeout,
// or 10 minutes.
func (e *engine) installWait() time.Duration {
	if t := e.spec.Timeouts.Install; t > 0 {
		return t
	}
	return 10 * time.Minute
}

// repairFailed ends a resume or rollback whose repair failed before
// anything else ran: the fleet stays as it was, the lock held by the run.
func (e *engine) repairFailed(started time.Time, err error) *Report {
	e.stopHeartbeat()
	_ = e.j.Run("failed", e.red.err(err))
	r := e.finish(started, Failed, err, nil)
	inv := orDefault(e.spec.InventoryPath, "INVENTORY")
	r.Next = fmt.Sprintf("nothing else was done; the fleet lock stays held by run %s. Repair the node's package database (see the error), then `kongctl upgrade -i %s --resume` or `kongctl rollback -i %s`", e.runID, inv, inv)
	e.emit(progress.Event{Type: progress.Message, Message: r.Next})
	return r
}
