package runner

import (
	"fmt"
	"strings"
)

// What the report, a paused run and the confirmation say of the
// data-plane roll (phase_dataplanes.go), from the journal.

// dpState is where a rolled data plane stands, from the journal: the
// version it runs (or what is known of it) and its report result.
func (e *engine) dpState(h string) (string, Result) {
	x, y := e.pf.PkgX[h].Version, e.spec.To
	done := func(k hostSteps) bool { return e.j != nil && stepDone(e.j, k.of(h)) }
	switch {
	case done(dpStartXSteps):
		return x, ResultRolledBack
	case !e.stepStarted(dpStopSteps.of(h)):
		return x, ResultUntouched
	case done(dpConnectedSteps):
		return y, ResultOK
	case done(dpStartSteps):
		return y + " (running, not seen connected)", ResultFailed
	case done(dpInstallSteps):
		return y + " (installed, not running)", ResultFailed
	case done(dpStopSteps):
		return x + " (stopped)", ResultFailed
	}
	return x + " (stop failed)", ResultFailed
}

// dataPlaneReports are the rolled data planes as report hosts.
func (e *engine) dataPlaneReports() []HostReport {
	var out []HostReport
	hosts := e.spec.rolledDataPlanes()
	if len(hosts) == 0 {
		hosts = e.dpTouched() // rolled by a run the inventory no longer asks to roll
	}
	for _, h := range hosts {
		v, res := e.dpState(h)
		out = append(out, HostReport{Name: h, Roles: e.spec.host(h).Roles, FromVersion: e.pf.Facts[h].Version, Version: v, Result: res, Steps: e.hostSteps[h]})
	}
	return out
}

// dpSummary says which data plane runs what: "dp-1 3.10.0.2, dp-2 ...".
func (e *engine) dpSummary() string {
	var parts []string
	for _, r := range e.dataPlaneReports() {
		parts = append(parts, r.Name+" "+r.Version)
	}
	return strings.Join(parts, ", ")
}

// dpRollStopped is the way forward once a data-plane batch failed.
func (e *engine) dpRollStopped() string {
	inv := orDefault(e.spec.InventoryPath, "INVENTORY")
	var failed []string
	for _, r := range e.dataPlaneReports() {
		if r.Result == ResultFailed {
			failed = append(failed, r.Name)
		}
	}
	cause := "stopped before its next batch"
	if len(failed) > 0 {
		cause = "stopped: " + strings.Join(failed, ", ") + " failed"
	}
	return fmt.Sprintf("the data-plane roll %s; the control planes serve %s; data planes: %s. The fleet lock stays held by run %s. Fix the cause, then continue the roll with `kongctl upgrade -i %s --resume`, or put the whole fleet back on %s (data planes, control planes and the database) with `kongctl rollback -i %s`",
		cause, e.spec.To, e.dpSummary(), e.runID, inv, e.pf.From, inv)
}

// dpPrompt is what the confirmation says of the data-plane roll ("" when
// there is none).
func (e *engine) dpPrompt() string {
	dps := e.spec.rolledDataPlanes()
	if len(dps) == 0 {
		return ""
	}
	return fmt.Sprintf(", then roll the data planes (%s) to %s, %d at a time", strings.Join(dps, ", "), e.spec.To, e.spec.DPBatch)
}
