package runner

import (
	"context"
	"path/filepath"
	"slices"

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
