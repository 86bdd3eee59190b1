package faults

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kongctl/kongctl/controller/journal"
	"github.com/kongctl/kongctl/lab/labenv"
)

// The cells of issue 17, outside the phase × fault grid: they need labs of
// their own, with HAProxy in front (LB=1), where the grid runs on the
// default 3-node lab. Each starts on a fresh lab of its topology (a
// dual-cluster run leaves its target database behind, a hybrid one its
// data planes half rolled), and the grid's next cell brings the default
// lab back.

// Topology is the lab a cell runs on ("" = the default 3-node lab).
type Topology string

const (
	// TopoDualCluster: 3 nodes on X, 3 spares for Y, HAProxy in front;
	// the inventory upgrades by strategy = "dual-cluster".
	TopoDualCluster Topology = "dual-cluster"
	// TopoHybrid: 1 control plane, 3 data planes behind HAProxy
	// (Enterprise); the inventory rolls the data planes one at a time.
	TopoHybrid Topology = "hybrid"
)

// The phases and faults of the topology cells.
const (
	PhaseShift      Phase = "shift"       // dual-cluster: traffic moved from X to Y
	PhaseDataPlanes Phase = "data-planes" // hybrid: the data planes rolled

	FaultLBUnreachable Fault = "lb-unreachable" // the load balancer host's link cut
	FaultDPKill        Fault = "dp-kill"        // a data plane's Kong SIGKILLed
)

const (
	// killedDP is the data plane whose Kong the dp-kill cell kills, the
	// second of three rolled one at a time: one before it on Y, one after
	// it untouched.
	killedDP = "dp-2"
	// dpTimeout is the cells' data_plane_timeout; the roll must stop
	// within it (plus dpSlack for the polls and the agent's round trips).
	dpTimeout = 20 * time.Second
	dpSlack   = 10 * time.Second
	// targetDB is the dual-cluster's new database.
	targetDB = "kong_y"
	// shiftMessage is the note kongctl prints once a shift step's weights
	// are set, before its gates: "mid-shift".
	shiftMessage = "dual-cluster: 50% of the traffic on"
)

// TopologyCells are the cells that run on labs of their own.
func TopologyCells() []Cell {
	return []Cell{
		{
			// Cut once 50% of the traffic is on Y, until the run ends: the
			// shift cannot finish nor be undone through HAProxy.
			Phase: PhaseShift, Fault: FaultLBUnreachable, Topology: TopoDualCluster, Host: labenv.LBHostName,
			Trigger: Trigger{Event: "message", Message: shiftMessage},
		},
		{
			// Killed once its Y start is journaled done: it may have
			// synced once with the control plane already.
			Phase: PhaseDataPlanes, Fault: FaultDPKill, Topology: TopoHybrid, Host: killedDP,
			Trigger: Trigger{Event: "phase_start", Phase: string(PhaseDataPlanes), Step: "dp/start/" + killedDP},
		},
	}
}

// Options is the lab of topology t, with lab ID id.
func (t Topology) Options(id int) labenv.Options {
	switch t {
	case TopoDualCluster:
		return labenv.Options{ID: id, Nodes: 3, Spares: 3, LB: true}
	case TopoHybrid:
		return labenv.Options{ID: id, Nodes: 1, Hybrid: true, DPs: 3, LB: true,
			Edition: labenv.EditionEnterprise, From: labenv.DefaultFromEE, To: labenv.DefaultToEE}
	}
	return labenv.Options{ID: id, Nodes: 3}
}

// editInventory turns the lab's inventory into the topology's: the
// dual-cluster strategy onto the spares and kong_y in two shift steps,
// or the data planes rolled one at a time within dpTimeout.
func (t Topology) editInventory(b []byte) ([]byte, error) {
	var old, repl string
	switch t {
	case TopoDualCluster:
		old = "upgrade {\n"
		repl = old + fmt.Sprintf("  strategy        = \"dual-cluster\"\n  target_database = %q\n  shift           = [\"50%%\", \"100%%\"]\n", targetDB)
	case TopoHybrid:
		old = "  on_failure      = \"rollback\"\n"
		repl = old + fmt.Sprintf("  data_planes     = \"rolling\"\n  batch           = 1\n  data_plane_timeout = %q\n", dpTimeout.String())
	default:
		return b, nil
	}
	if !bytes.Contains(b, []byte(old)) {
		return nil, fmt.Errorf("%s inventory: no %q line to extend in the lab's inventory", t, strings.TrimSpace(old))
	}
	return bytes.Replace(b, []byte(old), []byte(repl), 1), nil
}

// useLab brings up a fresh lab of topology t for a topology cell, or the
// default lab again for a grid cell after one (then Reset does the rest).
func (r *Runner) useLab(ctx context.Context, t Topology) error {
	if t == "" && r.Topology == "" {
		return nil
	}
	opts := t.Options(r.Lab.Options().ID)
	r.logf("lab %d: bringing up a fresh %s lab", opts.ID, orDash(string(t)))
	if err := r.Lab.Down(); err != nil {
		return fmt.Errorf("lab down: %w", err)
	}
	l, err := labenv.Up(ctx, opts)
	if err != nil {
		return fmt.Errorf("lab up (%s): %w", orDash(string(t)), err)
	}
	r.Lab, r.Topology, r.baseline = l, t, ""
	return nil
}

// injectTopology puts a topology cell's fault in place (ok false: not
// one of them).
func (r *Runner) injectTopology(ctx context.Context, c *Cell) (heal func(context.Context) error, ok bool, err error) {
	l := r.Lab
	switch c.Fault {
	case FaultLBUnreachable:
		if err := l.CutNetwork(ctx, c.Host); err != nil {
			return nil, true, err
		}
		return func(ctx context.Context) error { return l.RestoreNetwork(ctx, c.Host) }, true, nil
	case FaultDPKill:
		// Nothing brings it back but kongctl: the resume (or the
		// rollback) must start it.
		return nil, true, l.KillKong(ctx, c.Host)
	}
	return nil, false, nil
}

// checkTopology verifies a topology cell's end state, and returns what it
// checked (Result.Checked).
func (r *Runner) checkTopology(ctx context.Context, c Cell, o Outcome, before, state string) (string, error) {
	if run, err := FleetLock(ctx, r.Lab); err != nil {
		return "", err
	} else if run != "" {
		return "", fmt.Errorf("the fleet lock is still held by run %s", run)
	}
	if o != OutUpgraded && o != OutRolledBack {
		return "", fmt.Errorf("outcome %s is not an accepted end of a %s cell", o, c.Topology)
	}
	switch c.Topology {
	case TopoDualCluster:
		return r.checkDualCluster(ctx, o, before)
	case TopoHybrid:
		return r.checkHybrid(ctx, o, before, state)
	}
	return "", fmt.Errorf("unknown topology %q", c.Topology)
}

// checkDualCluster: X's database as before the run whatever the end
// (kongctl never writes it), X's nodes serving X; rolled back, the
// traffic on X (X's servers UP, the spares' out); upgraded, on Y (the
// spares UP and serving Y, X's servers drained).
func (r *Runner) checkDualCluster(ctx context.Context, o Outcome, before string) (string, error) {
	l, opts := r.Lab, r.Lab.Options()
	fp, err := Fingerprint(ctx, l)
	if err != nil {
		return "", err
	}
	if fp != before {
		return "", fmt.Errorf("X's database fingerprint %s, before the upgrade %s: kongctl wrote X's database", short(fp), short(before))
	}
	if err := FleetOn(ctx, l, opts.From); err != nil {
		return "", fmt.Errorf("X's nodes: %w", err)
	}
	on, off := names(l.KongHosts()), names(l.Spares())
	if o == OutUpgraded {
		for _, h := range off {
			if st := Node(ctx, l, h); st.Version != opts.To || !st.Serving {
				return "", fmt.Errorf("spare %s: kong %q serving=%v, want %s serving", h, st.Version, st.Serving, opts.To)
			}
		}
		on, off = off, on
	}
	st, err := waitLB(ctx, l, on, "UP")
	if err != nil {
		return "", err
	}
	for _, h := range off {
		if st[h] == "UP" {
			return "", fmt.Errorf("load balancer: server %s is UP, want it out of the load balancing: %v", h, st)
		}
	}
	return fmt.Sprintf("X's database fingerprint unchanged; %s serve %s; load balancer: %s UP, %s out",
		strings.Join(names(l.KongHosts()), ","), opts.From, strings.Join(on, ","), strings.Join(off, ",")), nil
}

// checkHybrid: the roll stopped within data_plane_timeout of the kill,
// naming the data plane (the journal: its start done, then its step
// failed), and the end has every control plane and data plane on one
// version, the data planes serving; rolled back, the database as before.
func (r *Runner) checkHybrid(ctx context.Context, o Outcome, before, state string) (string, error) {
	l, opts := r.Lab, r.Lab.Options()
	stopped, err := rollStopped(state, killedDP)
	if err != nil {
		return "", err
	}
	if stopped > dpTimeout+dpSlack {
		return "", fmt.Errorf("the roll stopped %s after %s's start, want within data_plane_timeout %s", stopped.Round(time.Second), killedDP, dpTimeout)
	}
	v := opts.To
	if o == OutRolledBack {
		v = opts.From
		fp, err := Fingerprint(ctx, l)
		if err != nil {
			return "", err
		}
		if fp != before {
			return "", fmt.Errorf("database fingerprint %s, before the upgrade %s: data changed", short(fp), short(before))
		}
	}
	var errs []error
	for _, h := range l.KongHosts() {
		if st := Node(ctx, l, h.Name); st.Version != v {
			errs = append(errs, fmt.Errorf("control plane %s: kong %q, want %s", h.Name, st.Version, v))
		}
	}
	for _, h := range l.DataPlanes() {
		if st := Node(ctx, l, h.Name); st.Version != v || !st.Serving {
			errs = append(errs, fmt.Errorf("data plane %s: kong %q serving=%v, want %s serving", h.Name, st.Version, st.Serving, v))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return "", err
	}
	if _, err := waitLB(ctx, l, names(l.DataPlanes()), "UP"); err != nil {
		return "", err
	}
	data := "the database restored (fingerprint as before)"
	if o == OutUpgraded {
		data = "the database migrated by the control planes"
	}
	return fmt.Sprintf("roll stopped %s after %s's start, naming it; every node on %s, data planes serving and UP; %s",
		stopped.Round(time.Second), killedDP, v, data), nil
}

// rollStopped reads the cell's journals: how long after host's Y start
// was journaled done the first step of host (or a batch's step naming
// it) failed.
func rollStopped(state, host string) (time.Duration, error) {
	files, err := filepath.Glob(filepath.Join(state, "runs", "*", "journal.jsonl"))
	if err != nil || len(files) == 0 {
		return 0, fmt.Errorf("no run journal under %s", state)
	}
	var recs []journal.Record
	for _, f := range files {
		rs, err := journal.Read(filepath.Dir(f))
		if err != nil {
			return 0, err
		}
		recs = append(recs, rs...)
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Time.Before(recs[j].Time) })
	var started time.Time
	for _, rec := range recs {
		switch {
		case rec.Kind != "step" || (rec.Host != host && rec.Host != ""):
		case rec.Step == "dp/start/"+host && rec.Status == journal.Done && started.IsZero() && rec.Host == host:
			started = rec.Time
		case !started.IsZero() && rec.Status == journal.Failed:
			if rec.Host == "" && !strings.Contains(rec.Error, host) {
				continue // a fleet-wide step (dp/serving/N) failed for another
			}
			if !strings.Contains(rec.Error, host) {
				return 0, fmt.Errorf("step %s failed without naming %s: %s", rec.Step, host, rec.Error)
			}
			return rec.Time.Sub(started), nil
		}
	}
	return 0, fmt.Errorf("the journals hold no failed step of %s after its start (started %v): the roll did not stop for it", host, !started.IsZero())
}

// waitLB waits a few seconds (the health checks' rise) until every
// server of hosts has status want in the lab's HAProxy, and returns the
// last statuses read.
func waitLB(ctx context.Context, l *labenv.Lab, hosts []string, want string) (map[string]string, error) {
	var st map[string]string
	var err error
	for i := 0; i < 20; i++ {
		if st, err = l.LBStatus(ctx); err == nil {
			ok := true
			for _, h := range hosts {
				ok = ok && st[h] == want
			}
			if ok {
				return st, nil
			}
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return nil, err
		}
	}
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("load balancer: want %s %s: %v", strings.Join(hosts, ","), want, st)
}

// waitJournalStep polls the journals under state until one holds step
// done (true), or ended is closed (false).
func (r *Runner) waitJournalStep(ctx context.Context, state, step string, ended <-chan struct{}) bool {
	needle := []byte(`"step":"` + step + `"`)
	return pollUntil(ctx, ended, 20*time.Millisecond, func() bool {
		files, _ := filepath.Glob(filepath.Join(state, "runs", "*", "journal.jsonl"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			for _, line := range bytes.Split(b, []byte("\n")) {
				if bytes.Contains(line, needle) && bytes.Contains(line, []byte(`"status":"done"`)) {
					return true
				}
			}
		}
		return false
	})
}

func names(hs []*labenv.Host) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Name
	}
	return out
}
