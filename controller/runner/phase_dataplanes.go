package runner

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kongctl/kongctl/controller/upgradepath"
	"github.com/kongctl/kongctl/kongver"
)

// PhaseDataPlanes rolls the hybrid data planes to Y in batches, once the
// control planes serve Y (upgrade.data_planes = "rolling").
const PhaseDataPlanes PhaseName = "data-planes"

// The data-plane roll's steps. Forward, per data plane: stopped, Y
// installed, started, then reported connected on Y by a control plane
// (the load balancer's lb/drain/ and lb/ready/ steps and the per-node
// hooks around them, as in the window); per batch: Kong's CP/DP version
// rule checked. Undo, per rolled data plane: Y stopped, X reinstalled, X
// started and reported connected again.
const (
	dpStopSteps       hostSteps = "dp/stop/"
	dpInstallSteps    hostSteps = "dp/install/"
	dpStartSteps      hostSteps = "dp/start/"
	dpConnectedSteps  hostSteps = "dp/connected/"
	dpCompatSteps     hostSteps = "dp/compat/"  // + the batch's number
	dpServingSteps    hostSteps = "dp/serving/" // + the batch's number
	dpStopYSteps      hostSteps = "rollback/dp-stop-y/"
	dpInstallXSteps   hostSteps = "rollback/dp-install-x/"
	dpStartXSteps     hostSteps = "rollback/dp-start-x/"
	dpReconnectXSteps hostSteps = "rollback/dp-connected-x/"
)

// dataPlanePhase upgrades the data planes, DPBatch at a time, in
// inventory order (kong-reference 9.8: control planes first, then the
// data planes, rolling). Before each batch the control planes' running
// versions are checked against Kong's rule for Y (6.9). Each data plane
// of the batch is drained in the load balancer (when one fronts it),
// stopped, given Y, started and waited for until a control plane reports
// it connected on Y with the configuration the others run (dpconnect.go);
// then it is set ready again. A batch that fails stops the roll: the run
// pauses whatever on_failure says (the control planes serve Y, verified;
// undoing them would cost the downtime the failure does not need), and
// the report says which data plane runs what. Undo: the rolled data
// planes back on X, one batch at a time, before the control planes'.
type dataPlanePhase struct{}

func (dataPlanePhase) name() PhaseName { return PhaseDataPlanes }

// total counts the steps that report a host result: stop, install,
// start and connected per data plane, and drain and ready where a load
// balancer fronts it.
func (dataPlanePhase) total(e *engine) int {
	n := 0
	for _, h := range e.spec.rolledDataPlanes() {
		n += 4
		if _, ok := e.lbServer(h); ok {
			n += 2
		}
	}
	return n
}

func (dataPlanePhase) run(ctx context.Context, e *engine) error {
	var rolled []string
	for i, batch := range dpBatches(e.spec.rolledDataPlanes(), e.spec.DPBatch) {
		e.note("data planes: batch %d: %s", i+1, strings.Join(batch, ", "))
		key := dpCompatSteps.of(fmt.Sprint(i + 1))
		if err := e.step(ctx, PhaseDataPlanes, key, "", func(ctx context.Context) (any, error) {
			return e.checkCPCompat(ctx, batch)
		}); err != nil {
			return err
		}
		if err := e.forEach(ctx, batch, nodeLimit, e.rollDataPlane); err != nil {
			return fmt.Errorf("data-plane batch %d (%s): %w", i+1, strings.Join(batch, ", "), err)
		}
		e.holdPackages(ctx, batch)
		// Every data plane rolled so far still serves before the next
		// batch leaves the load balancing (one that died once counted
		// connected would leave too few behind); the last batch's check
		// ends the roll.
		rolled = append(rolled, batch...)
		if err := e.step(ctx, PhaseDataPlanes, dpServingSteps.of(fmt.Sprint(i+1)), "", func(ctx context.Context) (any, error) {
			return nil, e.dpAllServing(ctx, rolled)
		}); err != nil {
			return fmt.Errorf("data-plane batch %d (%s): %w", i+1, strings.Join(batch, ", "), err)
		}
	}
	return nil
}

// dpAllServing: every one of hosts serves (dpServing), else an error
// naming those that do not.
func (e *engine) dpAllServing(ctx context.Context, hosts []string) error {
	var why []string
	for _, h := range hosts {
		if w := e.dpServing(ctx, h); w != "" {
			why = append(why, w)
		}
	}
	if len(why) > 0 {
		return fmt.Errorf("rolled data planes no longer serving: %s", strings.Join(why, "; "))
	}
	return nil
}

// dpBatches cuts hosts into batches of n, in order.
func dpBatches(hosts []string, n int) [][]string {
	var out [][]string
	for n > 0 && len(hosts) > 0 {
		k := min(n, len(hosts))
		out = append(out, hosts[:k])
		hosts = hosts[k:]
	}
	return out
}

// controlPlanes are the nodes of role control_plane.
func (e *engine) controlPlanes() []string {
	var cps []string
	for _, h := range e.spec.Nodes {
		if e.spec.host(h).Has("control_plane") {
			cps = append(cps, h)
		}
	}
	return cps
}

// checkCPCompat applies Kong's CP/DP rule (kong-reference 6.9) to Y on
// the batch against every control plane's running version: a control
// plane that would refuse Y (or cannot say what it runs) stops the roll
// before the batch is touched. Its data are the versions it read.
func (e *engine) checkCPCompat(ctx context.Context, batch []string) (map[string]string, error) {
	y := e.toVersion()
	seen := map[string]string{}
	cps := e.controlPlanes()
	if len(cps) == 0 {
		return nil, fmt.Errorf("roll data planes %s: the inventory has no control plane", strings.Join(batch, ", "))
	}
	for _, cp := range cps {
		n, err := e.node(ctx, cp)
		if err != nil {
			return nil, err
		}
		hl, err := n.Health(ctx)
		if err != nil {
			return nil, fmt.Errorf("read the version of control plane %s before data planes %s: %w", cp, strings.Join(batch, ", "), err)
		}
		v, err := kongver.ParseReported(hl.Version)
		if err != nil || !hl.Running {
			return nil, fmt.Errorf("control plane %s is not running a known version (running=%v version=%s): data planes %s not rolled", cp, hl.Running, dash(hl.Version), strings.Join(batch, ", "))
		}
		if ok, why := upgradepath.DPCompatible(v, y); !ok {
			return nil, fmt.Errorf("control plane %s on %s would refuse data planes %s on %s: %s", cp, v, strings.Join(batch, ", "), y, why)
		}
		seen[cp] = v.String()
	}
	return seen, nil
}

// rollDataPlane takes one data plane to Y: drained, before_stop hooks,
// stopped, Y installed, started, connected on Y, ready, after_start
// hooks; every part a journaled step, skipped on a resume once done.
func (e *engine) rollDataPlane(ctx context.Context, h string) error {
	if err := e.lbDrain(ctx, PhaseDataPlanes, lbDrainSteps.of(h), h); err != nil {
		return err
	}
	if err := e.nodeHooks(ctx, PhaseDataPlanes, HookBeforeStop, h, ""); err != nil {
		return err
	}
	if err := e.step(ctx, PhaseDataPlanes, dpStopSteps.of(h), h, func(ctx context.Context) (any, error) {
		return nil, e.stopKong(ctx, h, "")
	}); err != nil {
		return err
	}
	if err := e.step(ctx, PhaseDataPlanes, dpInstallSteps.of(h), h, func(ctx context.Context) (any, error) {
		ref := e.pf.PkgY[h]
		return nil, e.installDetached(ctx, "dp-install", dpInstallSteps.of(h), h, ref, e.spec.To)
	}); err != nil {
		return err
	}
	var started time.Time
	if err := e.step(ctx, PhaseDataPlanes, dpStartSteps.of(h), h, func(ctx context.Context) (any, error) {
		started = e.clk.Now()
		if err := e.startDataPlane(ctx, h, e.spec.To); err != nil {
			return nil, err
		}
		return map[string]time.Time{"started": started, "healthy": e.clk.Now()}, nil
	}); err != nil {
		return err
	}
	if started.IsZero() { // started before a resume: its journaled time
		started = e.journaledStart(dpStartSteps.of(h))
		if err := e.reviveDataPlane(ctx, h, &started); err != nil {
			return err
		}
	}
	if err := e.step(ctx, PhaseDataPlanes, dpConnectedSteps.of(h), h, func(ctx context.Context) (any, error) {
		return e.waitConnected(ctx, h, e.spec.To, started)
	}); err != nil {
		return err
	}
	// Waited for at most data_plane_timeout too: a data plane that died
	// once connected never comes UP.
	limit := min(e.spec.Timeouts.Health, e.spec.Timeouts.DataPlane)
	if err := e.lbReadyUpWithin(ctx, PhaseDataPlanes, lbReadySteps.of(h), h, limit); err != nil {
		return err
	}
	return e.nodeHooks(ctx, PhaseDataPlanes, HookAfterStart, h, "")
}

// stopKong stops Kong on h and verifies it down; want names the version
// stopped in the error ("" none).
func (e *engine) stopKong(ctx context.Context, h, want string) error {
	n, err := e.node(ctx, h)
	if err != nil {
		return err
	}
	if err := n.Stop(ctx, e.spec.Timeouts.Stop); err != nil {
		return fmt.Errorf("stop kong %son %s: %w", strings.TrimLeft(want+" ", " "), h, err)
	}
	return nil
}

// startDataPlane starts Kong (want installed) on data plane h and waits
// until it serves. A data plane has no Admin API to read its version from
// (admin_listen = off): the install checked `kong version`, and the
// control plane's list checks it again (waitConnected).
func (e *engine) startDataPlane(ctx context.Context, h, want string) error {
	n, err := e.node(ctx, h)
	if err != nil {
		return err
	}
	hl, err := n.Start(ctx, e.spec.Timeouts.Start)
	if err != nil {
		return fmt.Errorf("start kong %s on data plane %s: %w", want, h, err)
	}
	if hl.Healthy() {
		return nil
	}
	if err := e.waitHealthy(ctx, h, ""); err != nil {
		return fmt.Errorf("data plane %s on %s: %w", h, want, err)
	}
	return nil
}

// reviveDataPlane, on a resume, starts Y again on data plane h, started
// before the resume, when its Kong no longer runs (killed, its host
// rebooted): the roll stopped waiting for it, or found it dead after.
// started becomes the new start; a data plane already seen connected
// before is waited for again. Not a journaled step: a check, run again
// on every resume.
func (e *engine) reviveDataPlane(ctx context.Context, h string, started *time.Time) error {
	done := func(k hostSteps) bool { return e.j != nil && stepDone(e.j, k.of(h)) }
	n, err := e.node(ctx, h)
	if err != nil {
		return err
	}
	hl, err := n.Health(ctx)
	if err != nil {
		return fmt.Errorf("read the health of data plane %s before waiting for it again: %w", h, err)
	}
	if hl.Running {
		return nil
	}
	e.note("data planes: %s no longer runs Kong since its start before the resume: starting %s again", h, e.spec.To)
	*started = e.clk.Now()
	if err := e.startDataPlane(ctx, h, e.spec.To); err != nil {
		return err
	}
	if done(dpConnectedSteps) {
		if _, err := e.waitConnected(ctx, h, e.spec.To, *started); err != nil {
			return err
		}
	}
	return nil
}

// journaledStart is the start time a start step journaled (zero: none).
func (e *engine) journaledStart(key StepKey) time.Time {
	var d map[string]time.Time
	if e.j != nil && stepData(e.j, key, &d) {
		return d["started"]
	}
	return time.Time{}
}

// undo puts every data plane the roll touched back on X, batch by batch
// (the control planes still serve Y then, and X data planes are
// compatible with them: preflight checked it): drained when it served Y,
// Y stopped, X reinstalled from the package kept on it, X started and
// reported connected, then ready again in the load balancer.
func (dataPlanePhase) undo(ctx context.Context, e *engine) error {
	for _, batch := range dpBatches(e.dpTouched(), e.spec.DPBatch) {
		if err := e.forEach(ctx, batch, nodeLimit, e.unrollDataPlane); err != nil {
			return err
		}
	}
	return nil
}

// resumableRoll refuses to resume a run that rolled data planes with an
// inventory that no longer rolls them: the run would end with them half
// done and call it a success.
func (e *engine) resumableRoll() error {
	if e.spec.DataPlaneMode == DataPlanesRolling {
		return nil
	}
	if t := e.dpTouched(); len(t) > 0 {
		return fmt.Errorf("run %s rolled data planes %s: set upgrade.data_planes = \"rolling\" again to resume it, or undo it with kongctl rollback", e.runID, strings.Join(t, ", "))
	}
	return nil
}

// dpTouched are the data planes the roll drained or stopped, whatever
// the inventory says of data_planes now.
func (e *engine) dpTouched() []string {
	var out []string
	for _, h := range e.spec.DataPlanes {
		if e.stepStarted(lbDrainSteps.of(h)) || e.stepStarted(dpStopSteps.of(h)) {
			out = append(out, h)
		}
	}
	return out
}

func (e *engine) unrollDataPlane(ctx context.Context, h string) error {
	if !e.stepStarted(dpStopSteps.of(h)) { // drained only: X serves on it
		e.lbUndoReady(ctx, PhaseDataPlanes, h)
		return nil
	}
	x := e.pf.PkgX[h].Version
	if e.stepStarted(lbReadySteps.of(h)) {
		if err := e.lbDrain(ctx, PhaseDataPlanes, lbUndoDrainSteps.of(h), h); err != nil {
			e.find(Finding{Severity: SevWarning, Code: "lb-drain", Host: h, Message: e.red.err(err)})
		}
	}
	if e.stepStarted(dpInstallSteps.of(h)) {
		if err := e.undoStep(ctx, PhaseDataPlanes, dpStopYSteps.of(h), h, func(ctx context.Context) error {
			return e.stopKong(ctx, h, e.spec.To)
		}); err != nil {
			return err
		}
		if err := e.undoStep(ctx, PhaseDataPlanes, dpInstallXSteps.of(h), h, func(ctx context.Context) error {
			return e.installDetached(ctx, "dp-install-x", dpInstallXSteps.of(h), h, e.pf.PkgX[h], x)
		}); err != nil {
			return err
		}
	}
	var started time.Time
	if err := e.undoStep(ctx, PhaseDataPlanes, dpStartXSteps.of(h), h, func(ctx context.Context) error {
		started = e.clk.Now()
		return e.startDataPlane(ctx, h, x)
	}); err != nil {
		return err
	}
	if err := e.undoStep(ctx, PhaseDataPlanes, dpReconnectXSteps.of(h), h, func(ctx context.Context) error {
		_, err := e.waitConnected(ctx, h, x, started)
		return err
	}); err != nil {
		return err
	}
	e.lbUndoReady(ctx, PhaseDataPlanes, h)
	return nil
}
