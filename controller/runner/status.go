package runner

import (
	"context"
	"fmt"
	"sync"

	"github.com/kongctl/kongctl/controller/fleet"

	"github.com/kongctl/kongctl/controller/journal"
)

// StatusReport is the fleet's state: versions, running state, schema state
// and the fleet lock, plus the latest run.
type StatusReport struct {
	Hosts     []HostStatus       `json:"hosts"`
	Schema    *fleet.SchemaState `json:"schema,omitempty"`
	SchemaVia string             `json:"schema_via,omitempty"`
	SchemaErr string             `json:"schema_error,omitempty"`
	Lock      *fleet.LockInfo    `json:"fleet_lock,omitempty"`
	LockErr   string             `json:"fleet_lock_error,omitempty"` // the lock could not be read
	LastRun   *RunSummary        `json:"last_run,omitempty"`
	// TargetDatabase is where a dual-cluster's target database is
	// (host:port/name on another server, else its name on X's).
	TargetDatabase string `json:"target_database,omitempty"`
	// Agent is what delivering the agent cost (SSH connector only).
	Agent *fleet.AgentDelivery `json:"agent_delivery,omitempty"`
}

// HostStatus is one host's state.
type HostStatus struct {
	Name    string   `json:"name"`
	Roles   []string `json:"roles"`
	Version string   `json:"version,omitempty"`
	Edition string   `json:"edition,omitempty"`
	Running bool     `json:"running"`
	Healthy bool     `json:"healthy"`
	Error   string   `json:"error,omitempty"`
}

// RunSummary is the latest run in the journal.
type RunSummary struct {
	RunID  string `json:"run_id"`
	From   string `json:"from"`
	To     string `json:"to"`
	Status string `json:"status"` // running/interrupted, paused, succeeded, rolled-back, failed
	Last   string `json:"last_step,omitempty"`
	Dir    string `json:"dir"`
}

func status(ctx context.Context, spec *Spec, cfg runConfig) (*StatusReport, error) {
	spec.withDefaults()
	e := newEngine(spec, cfg.conn, cfg.clk, cfg.sink, &redactor{})
	e.op = "status"
	defer e.close()
	e.redactSecrets()
	rep := &StatusReport{}
	if spec.DualCluster {
		rep.TargetDatabase = spec.targetWhere()
		if spec.TargetServer == nil {
			rep.TargetDatabase += " on X's server"
		}
	}
	var mu sync.Mutex
	hosts := e.allHosts()
	rep.Hosts = make([]HostStatus, len(hosts))
	_ = e.forEach(ctx, hosts, bastionLimit, func(ctx context.Context, h string) error {
		i := indexOf(hosts, h)
		hs := HostStatus{Name: h, Roles: spec.host(h).Roles}
		defer func() { mu.Lock(); rep.Hosts[i] = hs; mu.Unlock() }()
		n, err := e.node(ctx, h)
		if err != nil {
			hs.Error = e.red.err(err)
			return nil
		}
		f, err := n.Facts(ctx)
		if err != nil {
			hs.Error = e.red.err(err)
			return nil
		}
		hs.Version, hs.Edition, hs.Running = f.Version, f.Edition, f.Running
		if f.Running {
			if hl, err := n.Health(ctx); err == nil {
				hs.Healthy = hl.Healthy()
				if hl.Version != "" {
					hs.Version = hl.Version
				}
			}
		}
		return nil
	})
	// Schema state from the first host that answers.
	for _, h := range append(append([]string{spec.MigrationHost}, spec.Nodes...), spec.Spares...) {
		n, err := e.node(ctx, h)
		if err != nil {
			continue
		}
		st, err := n.Migrations(ctx, fleet.MigrationsRequest{Command: "list"})
		if err != nil {
			rep.SchemaErr = e.red.err(err)
			continue
		}
		rep.Schema, rep.SchemaVia, rep.SchemaErr = &st, h, ""
		break
	}
	if l, err := e.fleetLocker(ctx); err != nil {
		rep.LockErr = e.red.err(err)
	} else if info, held, err := l.Inspect(ctx); err != nil {
		rep.LockErr = e.red.err(err)
	} else if held {
		rep.Lock = &info
	}
	if dr, ok := cfg.conn.(fleet.DeliveryReporter); ok {
		d := dr.AgentDelivery()
		rep.Agent = &d
	}
	if spec.StateDir != "" {
		if dir, err := journal.Latest(spec.StateDir); err == nil && dir != "" {
			if recs, err := journal.Read(dir); err == nil {
				st := journal.Fold(recs)
				h := recs[0].Header
				s := &RunSummary{RunID: h.RunID, From: h.From, To: h.To, Dir: dir, Status: string(st.LastRun().Status)}
				if s.Status == "" {
					s.Status = "running or interrupted"
				}
				for i := len(recs) - 1; i >= 0; i-- {
					if recs[i].Kind == "step" {
						s.Last = fmt.Sprintf("%s %s", recs[i].Step, recs[i].Status)
						break
					}
				}
				rep.LastRun = s
			}
		}
	}
	return rep, nil
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// Unreachable counts the hosts whose state could not be read.
func (s *StatusReport) Unreachable() int {
	n := 0
	for _, h := range s.Hosts {
		if h.Error != "" {
			n++
		}
	}
	return n
}
