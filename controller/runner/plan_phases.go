package runner

import (
	"fmt"
	"strings"
	"time"
)

// typical step durations used for the estimate (measured on the lab and
// on small fleets; the worst case comes from the inventory's timeouts).
var typical = map[PhaseName]time.Duration{
	PhaseStop:          5 * time.Second, // per node when sequential
	PhaseBackupCheck:   3 * time.Second,
	PhaseInstall:       20 * time.Second,
	PhaseMigrateUp:     30 * time.Second,
	PhaseMigrateFinish: 10 * time.Second,
	PhaseStart:         15 * time.Second,
}

// planPhases is the plan's phases, each with what it does, its undo and
// its estimate, and the expected downtime along the migration node's
// chain.
func planPhases(e *engine) ([]PlanPhase, PlanWindow) {
	spec := e.spec
	after := spec.finishAfterVerify()
	stopDoes := "stops " + spec.MigrationHost + " first and installs " + spec.To + " on it while the other nodes still serve, then stops the others at once (" + strings.Join(spec.Nodes, ", ") + "): the fleet is down from then"
	switch {
	case spec.StopMode == StopSequential:
		stopDoes = "stops every node one after the other in order (" + strings.Join(spec.Nodes, ", ") + "): downtime starts"
	case spec.NewHosts || len(spec.Nodes) == 1:
		stopDoes = "stops every node at once (" + strings.Join(spec.Nodes, ", ") + "): downtime starts"
	}
	startDoes := "starts " + spec.To + " on " + spec.MigrationHost + " right after the migrations (the fleet serves again), on the others as soon as they are installed; waits until healthy"
	if lb := spec.LB; lb != nil && len(lb.Servers) > 0 {
		stopDoes = fmt.Sprintf("drains each node in the load balancer (%s, backend %s: its sessions end, at most %s) before its stop; ", lb.Host, lb.Backend, lb.DrainTimeout) + stopDoes
		startDoes += "; sets each node ready in the load balancer once healthy"
	}
	finishDoes := "kong migrations finish: POINT OF NO RETURN for the old version"
	if after {
		startDoes = "starts " + spec.To + " right after migrations up, with pending migrations (Kong starts with pending migrations: only new ones refuse it), " + spec.MigrationHost + " first; waits until healthy"
		finishDoes = "kong migrations finish, once the verify gates passed (outside the downtime): POINT OF NO RETURN for the old version"
	}
	desc := map[PhaseName][3]string{ // does, undo, reversible("y"/"n")
		PhasePreflight:     {"checks reachability, versions, path, config, disk, plugins, schema state, locks, hybrid compatibility; stages packages", "", "y"},
		PhaseLock:          {"takes the fleet lock in the database", "release the lock", "y"},
		PhaseBackup:        {"reads the write counters, pg_dump on " + spec.ToolsHost + ", verifies it restores, copies it to the bastion", "", "y"},
		PhaseRehearsal:     {"restores the backup into a scratch database, runs " + spec.To + "'s migrations up and finish on " + spec.Rehearsal + " against it (timed), starts it, smoke requests, drops the copy; a failure refuses the upgrade here", "", "y"},
		PhasePrepare:       {"installs " + spec.To + " on the new hosts and carries kong.conf", "", "y"},
		PhaseBeforeStop:    {"runs before_stop hooks", "", "y"},
		PhaseStop:          {stopDoes, "start " + dash(e.pf.From) + " again", "y"},
		PhaseBackupCheck:   {"compares the configuration tables' write counters (constant time); retakes the backup if writes slipped in", "", "y"},
		PhaseAfterStop:     {"runs after_stop hooks", "", "y"},
		PhaseHops:          {"the intermediate hops on " + spec.MigrationHost + " alone (" + hopsText(e.pf.From, e.pf.Hops, spec.To) + "): for each, install it, kong migrations up and finish (the first finish is the POINT OF NO RETURN); Kong is not started on them", "restore the database backup and reinstall " + dash(e.pf.From) + " on " + spec.MigrationHost, "n"},
		PhaseInstall:       {"installs " + spec.To + ": " + spec.MigrationHost + " first, the other nodes while the migrations run", "reinstall " + dash(e.pf.From) + " from the kept package", "y"},
		PhaseMigrateUp:     {"kong migrations up on " + spec.MigrationHost + " only (non-destructive)", "restore the database backup (reinstalling X alone would also work before finish)", "y"},
		PhaseMigrateFinish: {finishDoes, "only by restoring the database backup (writes since are lost)", "n"},
		PhaseStart:         {startDoes, "stop " + spec.To, "y"},
		PhaseAfterStart:    {"runs after_start hooks", "", "y"},
		PhaseVerify:        {fmt.Sprintf("version, /status, readiness, smoke requests, metric gates over a %s soak", spec.Verify.Soak), "", "y"},
		PhaseDecommission:  {"removes Kong from the old hosts (" + strings.Join(spec.Nodes, ", ") + "), keeping kong.conf on the bastion and " + dash(e.pf.From) + "'s package staged", "reinstall " + dash(e.pf.From) + " and restore kong.conf", "y"},
		PhaseDataPlanes:    {fmt.Sprintf("rolls the data planes to %s, %d at a time (drain, stop, install, start, connected on %s at a control plane within %s, ready); Kong's CP/DP version rule checked before each batch; a failed batch pauses the run", spec.To, spec.DPBatch, spec.To, spec.Timeouts.DataPlane), "reinstall each rolled data plane's own version and start it", "y"},
		PhaseCleanup:       {"releases the lock; X packages stay staged", "", "y"},
	}
	if spec.DualCluster {
		e.dualClusterPlan(desc)
	}
	var out []PlanPhase
	// The fleet is down from the last stop until the migration node's
	// chain ends; the estimate follows that chain.
	var expected, worst time.Duration
	down := false
	hops := time.Duration(len(e.pf.Hops))
	parallelEarly := spec.StopMode != StopSequential && len(spec.Nodes) > 1
	for _, p := range flatPhases(e.phases()) {
		if p.name() == PhaseHops && hops == 0 {
			continue
		}
		d := desc[p.name()]
		pp := PlanPhase{Name: string(p.name()), Does: d[0], Undo: d[1], Reversible: d[2] == "y", PointOfNoReturn: p.name() == PhaseMigrateFinish && !spec.DualCluster}
		if p.name() == PhaseStop {
			down = true
		}
		pp.InDowntime = down
		est := typical[p.name()]
		if p.name() == PhaseHops {
			// Each intermediate hop: its install, up and finish; the
			// first hop's install is done before the others stop when
			// the stop is parallel (windowPhase), Y's then in the outage.
			installs := hops
			if parallelEarly {
				installs--
			}
			est = installs*typical[PhaseInstall] + hops*(typical[PhaseMigrateUp]+typical[PhaseMigrateFinish])
			pp.PointOfNoReturn = true
		}
		if r := e.rehearsal; r.Passed() {
			switch p.name() {
			case PhaseMigrateUp:
				est = time.Duration(r.Up * float64(time.Second))
			case PhaseMigrateFinish:
				est = time.Duration(r.Finish * float64(time.Second))
			}
		}
		if p.name() == PhaseStop && spec.StopMode == StopSequential {
			est *= time.Duration(len(spec.Nodes))
		}
		// With the parallel stop in place, Y goes on the migration node
		// while the others still serve: its install is not in the outage.
		earlyInstall := p.name() == PhaseInstall && parallelEarly && hops == 0
		if down && !earlyInstall {
			expected += est
			switch p.name() {
			case PhaseStop:
				worst += spec.Timeouts.Stop
				if spec.StopMode == StopSequential {
					worst += spec.Timeouts.Stop * time.Duration(len(spec.Nodes)-1)
				}
			case PhaseInstall:
				worst += spec.Timeouts.Install
			case PhaseMigrateUp, PhaseMigrateFinish:
				worst += spec.Timeouts.Migrations
			case PhaseHops:
				worst += hops * (spec.Timeouts.Install + 2*spec.Timeouts.Migrations)
			case PhaseStart:
				worst += spec.Timeouts.Start + spec.Timeouts.Health
			}
		}
		pp.Estimate = est.Seconds()
		if p.name() == PhaseStart {
			down = false
		}
		out = append(out, pp)
	}
	w := PlanWindow{Expected: expected.Seconds(), Worst: worst.Seconds(), Migrations: "estimate",
		Basis: "typical step durations along the migration node's chain (stop, install, migrations, start until healthy); worst case is the sum of the inventory's timeouts along it"}
	if hops > 0 {
		w.Basis += fmt.Sprintf("; counts every hop's install and migrations (%d hops)", hops+1)
	}
	if r := e.rehearsal; r.Passed() {
		w.Migrations = "measured on a rehearsal"
		w.Basis = fmt.Sprintf("migrations up (%.1fs) and finish (%.1fs) measured on a rehearsal on %s, typical durations for the other steps along the migration node's chain; worst case is the sum of the inventory's timeouts along it", r.Up, r.Finish, r.Host)
	}
	return out, w
}
