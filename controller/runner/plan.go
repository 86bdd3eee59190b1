package runner

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"

	"github.com/kongctl/kongctl/controller/progress"
	"github.com/kongctl/kongctl/controller/upgradepath"
	"github.com/kongctl/kongctl/kongver"
)

// UpgradePlan is what an upgrade would do, from a preflight that changes nothing.
type UpgradePlan struct {
	From          string   `json:"from"`
	To            string   `json:"to"`
	Edition       string   `json:"edition"`
	Mode          string   `json:"mode"` // in-place | new-hosts
	MigrationHost string   `json:"migration_host"`
	Path          PlanPath `json:"path"`
	// Hops are the upgrade's hops when Y lies more than one supported
	// jump away, all run in this one window (the last one is to Y).
	Hops     []PlanHop   `json:"hops,omitempty"`
	Hosts    []PlanHost  `json:"hosts"`
	Phases   []PlanPhase `json:"phases"`
	Downtime PlanWindow  `json:"downtime"`
	Findings []Finding   `json:"findings"`
	// MigrationTimeouts are the --db-timeout and --lock-timeout the
	// migrations will run with (migtimeouts.go).
	MigrationTimeouts *MigrationTimeouts `json:"migration_timeouts,omitempty"`
	// Rehearsal is the rehearsal's figures (nil: no rehearsal host, or it
	// could not run: a finding says why).
	Rehearsal *RehearsalResult `json:"rehearsal,omitempty"`
	// Ready is true when preflight found no errors.
	Ready bool `json:"ready"`
}

// PlanPath is the upgrade-path decision.
type PlanPath struct {
	Allowed bool     `json:"allowed"`
	Kind    string   `json:"kind,omitempty"`
	Reason  string   `json:"reason"`
	Chain   []string `json:"chain,omitempty"`
}

// PlanHop is one hop of a multi-hop upgrade: its versions, what its
// migrations do, and its expected durations on the migration node.
type PlanHop struct {
	From       string  `json:"from"`
	To         string  `json:"to"`
	Kind       string  `json:"kind"`
	Package    string  `json:"package,omitempty"` // the staged file (intermediate hops)
	Migrations string  `json:"migrations,omitempty"`
	Install    float64 `json:"install_seconds"`
	Up         float64 `json:"up_seconds"`
	Finish     float64 `json:"finish_seconds"`
}

// PlanHost is one host and what will happen to it.
type PlanHost struct {
	Name    string   `json:"name"`
	Roles   []string `json:"roles"`
	Version string   `json:"version,omitempty"`
	Edition string   `json:"edition,omitempty"`
	Running bool     `json:"running"`
	Actions []string `json:"actions"`
	// DB is the node's effective database settings and the source of
	// each (secrets shown as set or not set); EnvSource is where the
	// service's environment was read.
	DB        []fleet.ConfSetting `json:"db,omitempty"`
	EnvSource string              `json:"env_source,omitempty"`
}

// PlanPhase is one phase: whether it can be undone, and how.
type PlanPhase struct {
	Name            string  `json:"name"`
	Does            string  `json:"does"`
	Reversible      bool    `json:"reversible"`
	Undo            string  `json:"undo,omitempty"`
	PointOfNoReturn bool    `json:"point_of_no_return,omitempty"`
	InDowntime      bool    `json:"in_downtime,omitempty"`
	Estimate        float64 `json:"estimate_seconds,omitempty"`
}

// PlanWindow is the expected downtime.
type PlanWindow struct {
	Expected float64 `json:"expected_seconds"`
	Worst    float64 `json:"worst_seconds"` // sum of the timeouts
	Basis    string  `json:"basis"`
	// Migrations says where the migration times come from: "measured on
	// a rehearsal" or "estimate".
	Migrations string `json:"migrations"`
}

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

func plan(ctx context.Context, spec *Spec, cfg runConfig) (*UpgradePlan, error) {
	spec.withDefaults()
	if err := spec.validate(); err != nil {
		return nil, err
	}
	e := newEngine(spec, cfg.conn, cfg.clk, cfg.sink, &redactor{})
	e.op, e.plan = "plan", true
	defer e.close()
	e.emit(progress.Event{Type: progress.RunStart, Message: "plan: preflight only, nothing is changed"})
	_ = e.runPhase(ctx, preflightPhase{})
	if e.pf.Rehearsal != "" && len(e.errorFindings()) == 0 {
		e.planRehearsal(ctx) // plan_rehearsal.go
	}

	p := &UpgradePlan{From: e.pf.From, To: spec.To, Edition: string(spec.Edition), Mode: "in-place", MigrationHost: spec.MigrationHost, Findings: e.findings}
	switch {
	case spec.DualCluster:
		p.Mode = "dual-cluster"
	case spec.NewHosts:
		p.Mode = "new-hosts"
	}
	p.Ready = len(e.errorFindings()) == 0
	p.MigrationTimeouts = e.pf.MigTimeouts
	p.Rehearsal = e.rehearsal
	if from, err := kongver.ParseReported(e.pf.From); err == nil {
		if to := spec.to; !to.IsZero() {
			d := upgradepath.Check(from, to, e.pf.FromEdition, string(spec.Edition))
			p.Path = PlanPath{Allowed: d.Allowed, Kind: string(d.Kind), Reason: d.Reason}
			for _, h := range d.Chain {
				p.Path.Chain = append(p.Path.Chain, h.String())
			}
		}
	}
	for _, h := range e.allHosts() {
		f := e.pf.Facts[h]
		ph := PlanHost{Name: h, Roles: spec.host(h).Roles, Version: f.Version, Edition: f.Edition, Running: f.Running, DB: f.DB, EnvSource: f.EnvSource}
		switch {
		case slices.Contains(spec.rolledDataPlanes(), h):
			ph.Actions = []string{"checked for compatibility with " + spec.To + " control planes", "once the control planes serve " + spec.To + ", in its batch: stop, install " + spec.To + ", start, wait until a control plane reports it connected on " + spec.To}
		case slices.Contains(spec.DataPlanes, h):
			ph.Actions = []string{"checked for compatibility with " + spec.To + " control planes; not changed"}
		case spec.DualCluster && slices.Contains(spec.Nodes, h):
			ph.Actions = []string{"keeps serving " + dash(e.pf.From) + " on database " + spec.DB.Name + " (never written)", "drained in the load balancer once " + spec.To + " has all the traffic"}
			if spec.Decommission {
				ph.Actions = append(ph.Actions, "decommissioned: disabled in the load balancer and stopped, "+dash(e.pf.From)+" kept installed for a rollback")
			}
		case spec.NewHosts && slices.Contains(spec.Spares, h):
			ph.Actions = []string{"stage and install " + spec.To + " before the stop", "carry kong.conf", "start " + spec.To}
		case spec.NewHosts && spec.Decommission:
			ph.Actions = []string{"stop", "after verify passed: decommissioned (kong.conf kept on the bastion, " + dash(e.pf.From) + " package kept staged for rollback, Kong removed)"}
		case spec.NewHosts:
			ph.Actions = []string{"stop", "left stopped with " + dash(e.pf.From) + " installed for rollback"}
		default:
			ph.Actions = []string{"stage " + spec.To + " and keep " + dash(e.pf.From) + " for rollback", "stop", "install " + spec.To, "start " + spec.To}
		}
		if h == spec.MigrationHost {
			started := "not started on it"
			if spec.StartBetweenHops {
				started = "then started until healthy and stopped (upgrade.start_between_hops)"
			}
			for _, hp := range e.pf.Hops {
				ph.Actions = append(ph.Actions, "hop to "+hp.To+": install "+hp.To+", kong migrations up + finish, "+started)
			}
			ph.Actions = append(ph.Actions, "kong migrations up + finish (the only node that migrates)")
		}
		p.Hosts = append(p.Hosts, ph)
	}
	p.Phases, p.Downtime = planPhases(e)
	p.Hops = planHopList(e)
	return p, nil
}

// planHopList is the plan's hops, the last one to Y (none for one hop).
func planHopList(e *engine) []PlanHop {
	if len(e.pf.Hops) == 0 {
		return nil
	}
	one := func(from, to, kind, migs string) PlanHop {
		return PlanHop{From: from, To: to, Kind: kind, Migrations: migs, Install: typical[PhaseInstall].Seconds(), Up: typical[PhaseMigrateUp].Seconds(), Finish: typical[PhaseMigrateFinish].Seconds()}
	}
	var out []PlanHop
	for _, hp := range e.pf.Hops {
		ph := one(hp.From, hp.To, hp.Kind, hp.Migrations)
		ph.Package = filepath.Base(hp.Pkg.LocalPath)
		out = append(out, ph)
	}
	last := e.pf.Hops[len(e.pf.Hops)-1].To
	from, err1 := kongver.ParseReported(last)
	kind, migs := "", ""
	if err1 == nil {
		d := upgradepath.Check(from, e.spec.to, string(e.spec.Edition), string(e.spec.Edition))
		kind = string(d.Kind)
		migs = upgradepath.HopMigrations(upgradepath.Hop{From: from.Series(), To: e.spec.to.Series()})
	}
	return append(out, one(last, e.spec.To, kind, migs))
}

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
