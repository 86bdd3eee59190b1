package runner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/kongctl/kongctl/controller/fleet"
)

// The dual-cluster strategy (kong-reference 6.5, 9.8): X keeps serving
// on its hosts and its database while Y is built beside it on the spare
// hosts, on a new database restored from X's verified backup; then the
// load balancer shifts the traffic from X to Y in steps, the gates
// checked on Y at each, and X's servers are drained. Nothing of X is
// written: a rollback sends all traffic back to X.

// The dual-cluster's own phases.
const (
	PhaseTargetDB PhaseName = "target-db" // X's backup restored into Y's database
	PhaseShift    PhaseName = "shift"     // traffic moved from X to Y
)

// The dual-cluster's steps.
const (
	shiftEnableY   StepKey   = "shift/enable-y"
	shiftSteps     hostSteps = "shift/" // shift/50, shift/100: percentages on Y
	shiftUndoSteps hostSteps = "rollback/shift/"
)

// dualClusterPhases follow the backup (and the rehearsal): Y built on
// the spares, verified alone, then given the traffic; X decommissioned
// after that when asked (dualcluster_decommission.go).
func (e *engine) dualClusterPhases(decommission bool) []phase {
	ps := []phase{targetDBPhase{}, preparePhase{}, targetMigratePhase{}, targetMigratePhase{finish: true},
		startPhase{}, verifyPhase{}, shiftPhase{}}
	if decommission {
		ps = append(ps, dualDecommissionPhase{})
	}
	return append(ps, cleanupPhase{})
}

// validateDualCluster checks the spec of a dual-cluster upgrade.
func (s *Spec) validateDualCluster() error {
	if !s.DualCluster {
		return nil
	}
	switch {
	case len(s.Spares) == 0:
		return errors.New("the dual-cluster strategy needs hosts with role spare for Y")
	case s.LB == nil:
		return errors.New("the dual-cluster strategy needs a load_balancer to shift traffic in")
	case s.TargetDB == "" || s.TargetDB == s.DB.Name && s.targetOnXServer():
		return fmt.Errorf("the dual-cluster strategy needs a target_database other than X's (%s)", s.DB.Name)
	case len(s.Shift) == 0 || s.Shift[len(s.Shift)-1] != 100:
		return fmt.Errorf("shift %v: the last step must be 100%%", s.Shift)
	}
	return nil
}

// targetMigratePhase is migratePhase on the first spare against the
// target database (migrateFinishStep knows a dual-cluster run). No point
// of no return and no undo: X's database is not the one migrated.
type targetMigratePhase struct{ finish bool }

func (p targetMigratePhase) name() PhaseName { return migratePhase(p).name() }

func (targetMigratePhase) total(e *engine) int { return 1 }

func (p targetMigratePhase) run(ctx context.Context, e *engine) error {
	return migratePhase(p).run(ctx, e)
}

// shiftPhase moves the traffic from X to Y in the load balancer: Y's
// servers enabled without weight (lb/ready/SPARE, as a node in place),
// then each step's weights, the freeze
// and the gates checked on Y at each, then X's servers drained. Undo:
// all traffic back to X, Y without weight (startPhase's undo drains and
// stops it).
type shiftPhase struct{}

func (shiftPhase) name() PhaseName { return PhaseShift }

func (shiftPhase) total(e *engine) int { return len(e.spec.Shift) }

func (shiftPhase) run(ctx context.Context, e *engine) error {
	lbh := e.spec.LB.Host
	lb, err := e.loadBalancer(ctx)
	if err != nil {
		return err
	}
	err = e.step(ctx, PhaseShift, shiftEnableY, lbh, func(ctx context.Context) (any, error) {
		return e.enableY(ctx, lb)
	})
	if err != nil {
		return err
	}
	// Then ready, and waited for until HAProxy's checks see them up.
	err = e.forEach(ctx, e.spec.Spares, nodeLimit, func(ctx context.Context, h string) error {
		return e.lbReadyUp(ctx, PhaseShift, lbReadySteps.of(h), h)
	})
	if err != nil {
		return err
	}
	for _, pct := range e.spec.Shift {
		key := shiftSteps.of(fmt.Sprint(pct))
		err := e.step(ctx, PhaseShift, key, lbh, func(ctx context.Context) (any, error) {
			if err := e.checkFreeze(ctx); err != nil {
				return nil, err
			}
			wx, wy := shiftWeights(pct, len(e.spec.Nodes), len(e.spec.Spares))
			// Y first: X's share never falls before Y's rises.
			if err := e.setWeights(ctx, lb, e.spec.Spares, wy); err != nil {
				return nil, err
			}
			if err := e.setWeights(ctx, lb, e.spec.Nodes, wx); err != nil {
				return nil, err
			}
			e.note("dual-cluster: %d%% of the traffic on %s (weights: X %d, Y %d); checking the gates on Y", pct, e.spec.To, wx, wy)
			if err := e.verifyOn(ctx, PhaseShift); err != nil {
				return nil, fmt.Errorf("gates at %d%% of the traffic on Y: %w", pct, err)
			}
			return map[string]int{"percent": pct, "weight_x": wx, "weight_y": wy}, nil
		})
		if err != nil {
			return err
		}
	}
	// All traffic on Y: X's servers drained (their sessions end).
	return e.forEach(ctx, e.spec.Nodes, nodeLimit, func(ctx context.Context, h string) error {
		return e.lbDrain(ctx, PhaseShift, lbDrainSteps.of(h), h)
	})
}

// enableY takes Y's servers to weight 0 (no traffic yet); the data keeps
// X's servers' weights for the rollback.
func (e *engine) enableY(ctx context.Context, lb fleet.LoadBalancer) (any, error) {
	servers, err := lb.Servers(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the servers of the load balancer on %s: %w", e.spec.LB.Host, err)
	}
	weights := map[string]int{}
	for _, h := range e.spec.Nodes {
		srv, _ := e.lbServer(h)
		for _, s := range servers {
			if s.Name == srv {
				weights[srv] = s.Weight
			}
		}
	}
	if err := e.setWeights(ctx, lb, e.spec.Spares, 0); err != nil {
		return nil, err
	}
	return map[string]map[string]int{"x_weights": weights}, nil
}

// setWeights sets the servers of hosts to weight w.
func (e *engine) setWeights(ctx context.Context, lb fleet.LoadBalancer, hosts []string, w int) error {
	for _, h := range hosts {
		srv, _ := e.lbServer(h)
		if err := lb.SetWeight(ctx, srv, w); err != nil {
			return fmt.Errorf("set the weight of %s (server %s/%s) to %d in the load balancer: %w", h, e.spec.LB.Backend, srv, w, err)
		}
	}
	return nil
}

// setState sets h's server to state.
func (e *engine) setState(ctx context.Context, lb fleet.LoadBalancer, h, state string) error {
	srv, _ := e.lbServer(h)
	if err := lb.SetState(ctx, srv, state); err != nil {
		return fmt.Errorf("set %s (server %s/%s) %s in the load balancer: %w", h, e.spec.LB.Backend, srv, state, err)
	}
	return nil
}

// shiftWeights are the weights of each of nx X servers and ny Y servers
// that send pct percent of the traffic to Y (a weighted round robin),
// the larger of the two 100 (HAProxy allows 0-256); a server with a
// share keeps weight 1 at least.
func shiftWeights(pct, nx, ny int) (wx, wy int) {
	x, y := float64((100-pct)*ny), float64(pct*nx)
	f := 100 / max(x, y)
	wx, wy = int(math.Round(x*f)), int(math.Round(y*f))
	if pct < 100 && wx == 0 {
		wx = 1
	}
	if pct > 0 && wy == 0 {
		wy = 1
	}
	return wx, wy
}

// checkFreeze (before each step) reads X's configuration tables and
// compares them with the backup Y's database came from: an admin write
// that reached X since is not on Y. A read only: X's database is never
// written.
func (e *engine) checkFreeze(ctx context.Context) error {
	if e.backup == nil {
		return errors.New("freeze check: no backup of this run to compare with")
	}
	var fp fleet.Fingerprint
	err := e.retryDatabase(ctx, "fingerprint X's database", func(ctx context.Context, db fleet.Database) (err error) {
		fp, err = db.Fingerprint(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("freeze check: fingerprint X's database on %s: %w", e.spec.ToolsHost, err)
	}
	if changed := fleet.ConfigChanged(e.backup.Fingerprint, fp); len(changed) > 0 {
		return fmt.Errorf("freeze check: X's configuration changed since the backup (tables: %v): Y's database %s lacks those writes; keep admin writes frozen for the whole upgrade", changed, e.spec.TargetDB)
	}
	return nil
}

func (shiftPhase) undo(ctx context.Context, e *engine) error {
	if !e.stepStarted(shiftEnableY) {
		return nil
	}
	var weights struct {
		X map[string]int `json:"x_weights"`
	}
	if e.j != nil {
		stepData(e.j, shiftEnableY, &weights)
	}
	// X first: ready at its own weight, then Y drained; traffic always
	// has somewhere to go.
	for _, h := range e.spec.Nodes {
		srv, _ := e.lbServer(h)
		w, ok := weights.X[srv]
		if !ok || w == 0 {
			w = 1
		}
		err := e.lbUndoStep(ctx, PhaseShift, shiftUndoSteps.of(h), h, func(ctx context.Context, lb fleet.LoadBalancer) error {
			if err := e.setState(ctx, lb, h, fleet.LBReady); err != nil {
				return err
			}
			return e.setWeights(ctx, lb, []string{h}, w)
		})
		if err != nil {
			return err
		}
	}
	// Y without weight; the start's undo then drains each Y server
	// (its sessions end) and stops Y.
	return e.retryLB(ctx, "rollback/shift: "+e.spec.To+" without weight", func(ctx context.Context, lb fleet.LoadBalancer) error {
		return e.setWeights(ctx, lb, e.spec.Spares, 0)
	})
}

// dualClusterPlan describes the dual-cluster's phases in the plan.
func (e *engine) dualClusterPlan(desc map[PhaseName][3]string) {
	s := e.spec
	steps := make([]string, len(s.Shift))
	for i, p := range s.Shift {
		steps[i] = fmt.Sprint(p, "%")
	}
	where := s.targetWhere()
	if s.TargetServer == nil {
		where += " on X's server"
	}
	restore := "restores the verified backup into the new database " + where
	if s.ReplaceTarget {
		restore = "REPLACES the database " + where + ": DROPS it if it exists (upgrade.replace_target_database), then restores the verified backup into it"
	}
	desc[PhaseTargetDB] = [3]string{restore, "keeps " + where + " (named in the report)", "y"}
	desc[PhaseDecommission] = [3]string{"disables X's servers in " + s.LB.Host + " (maint) and stops Kong on " + strings.Join(s.Nodes, ", ") + ", once all the traffic is on Y; Kong stays installed, X's database untouched",
		"start X again; the shift's undo sends the traffic back to it", "y"}
	desc[PhasePrepare] = [3]string{"installs " + s.To + " on the spare hosts and carries kong.conf pointed at " + where, "", "y"}
	desc[PhaseMigrateUp] = [3]string{"kong migrations up on " + s.MigrationHost + " against " + where, "none needed: X's database is not migrated", "y"}
	desc[PhaseMigrateFinish] = [3]string{"kong migrations finish on " + s.MigrationHost + " against " + where + " (X's database is not touched)", "none needed", "y"}
	desc[PhaseStart] = [3]string{"starts " + s.To + " on the spare hosts beside X; waits until healthy", "stop " + s.To, "y"}
	desc[PhaseShift] = [3]string{fmt.Sprintf("enables Y's servers in %s without weight, then shifts the traffic to Y in steps %v with the freeze check and the gates at each, then drains X's servers", s.LB.Host, steps),
		"all traffic back to X (X's servers ready, Y's drained)", "y"}
}
