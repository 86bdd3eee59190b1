package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"
)

// preflightStep journals what preflight learnt (preflightData).
const preflightStep StepKey = "preflight"

// preflightPhase checks everything before any downtime: reachability and
// agent delivery, facts, one X and one edition across the fleet, the
// upgrade path, breaking kong.conf settings, disk, plugin sets, the
// database and its schema state, Kong's migration lock, the fleet lock,
// hybrid data-plane compatibility, and (not in plan mode) stages Y and X
// on every node. It fails when any finding is an error.
type preflightPhase struct{}

func (preflightPhase) name() PhaseName { return PhasePreflight }

func (preflightPhase) total(e *engine) int { return len(e.allHosts()) }

func (preflightPhase) run(ctx context.Context, e *engine) error {
	e.redactSecrets()
	if stepDone(e.prior, preflightStep) && stepData(e.prior, preflightStep, &e.pf) {
		e.note("preflight done before resume (X=%s, Y=%s)", e.pf.From, e.pf.To)
		return nil
	}
	pf := preflightData{To: e.spec.To, Facts: map[string]fleet.Facts{}, PkgX: map[string]fleet.PackageRef{}, PkgY: map[string]fleet.PackageRef{}, Baseline: map[string]rateSample{}}
	var mu sync.Mutex

	// Reachability, agent delivery, facts, first metric sample.
	hosts := e.allHosts()
	m0 := map[string]fleet.Metrics{}
	t0 := map[string]time.Time{}
	_ = e.forEach(ctx, hosts, bastionLimit, func(ctx context.Context, h string) error {
		n, err := e.node(ctx, h)
		if err != nil {
			e.find(Finding{Severity: SevError, Code: "unreachable", Host: h, Message: e.red.err(err), Fix: "check the host's address, SSH settings and known_hosts in the inventory"})
			e.hostResult(PhasePreflight, h, ResultFailed, 0, "", err)
			return err
		}
		f, err := n.Facts(ctx)
		if err != nil {
			e.find(Finding{Severity: SevError, Code: "facts", Host: h, Message: e.red.err(err)})
			e.hostResult(PhasePreflight, h, ResultFailed, 0, "", err)
			return err
		}
		mu.Lock()
		pf.Facts[h] = f
		mu.Unlock()
		if slices.Contains(e.spec.Nodes, h) && f.Running {
			m, err := n.Metrics(ctx)
			switch {
			case err == nil:
				mu.Lock()
				m0[h], t0[h] = m, e.clk.Now()
				mu.Unlock()
			case e.spec.Verify.hasGates():
				// The gates would find no sample after the downtime.
				e.find(Finding{Severity: SevError, Code: "metrics-unreadable", Host: h, Message: "the verify gates read /metrics, which failed: " + e.red.err(err),
					Fix: "make the Admin API's /metrics answer on the node (the prometheus plugin is bundled with Kong and must stay in `plugins`), or remove the verify gates"})
			}
		}
		e.hostResult(PhasePreflight, h, ResultOK, 0, fmt.Sprintf("kong %s (%s), running=%v", dash(f.Version), dash(f.Edition), f.Running), nil)
		return nil
	})

	e.checkFleetVersion(&pf)
	e.checkPath(&pf)
	e.checkNodes(&pf)
	e.checkConfRules(&pf)
	e.checkNodeKinds(&pf)
	e.checkEffectiveConf(&pf)
	e.checkEffectiveDB(&pf)
	e.checkSpares(&pf)
	e.checkRehearsalHost(ctx, &pf)  // preflight_rehearsal.go
	e.checkPluginPackages(ctx, &pf) // plugins.go
	e.checkDatabase(ctx, &pf)
	e.checkTargetDB(ctx, &pf) // dualcluster.go
	e.checkMigrationTimeouts(ctx, &pf)
	e.checkPostgres(ctx, &pf)
	e.checkDatabaseTLS()
	e.checkBackupKeys() // backupcrypt.go
	e.checkFleetLock(ctx)
	e.checkHybrid(ctx, &pf)
	e.checkKeyring(ctx, &pf)
	e.checkSecrets()
	e.checkLoadBalancer(ctx)

	// Packages: resolved and staged (Y on targets, X kept on in-place
	// nodes for rollback), before any downtime.
	e.resolvePackages(&pf)
	e.checkDisk(&pf)
	e.checkRehearsalDisk(&pf)
	if !e.plan && len(e.errorFindings()) == 0 {
		e.stagePackages(ctx, &pf)
		e.checkConfWithY(ctx, &pf)
		e.takeKeyringExport(ctx, &pf)
	}

	// Second metric sample: the pre-upgrade error rate.
	_ = e.forEach(ctx, sortedKeys(m0), nodeLimit, func(ctx context.Context, h string) error {
		n, err := e.node(ctx, h)
		if err != nil {
			return nil
		}
		if m1, err := n.Metrics(ctx); err == nil {
			mu.Lock()
			pf.Baseline[h] = rateSample{M0: m0[h], M1: m1, Seconds: e.clk.Now().Sub(t0[h]).Seconds()}
			mu.Unlock()
		}
		return nil
	})
	e.checkGatesMeasurable(&pf)

	e.pf = pf
	if errs := e.errorFindings(); len(errs) > 0 {
		// Another run holding the fleet lock explains the rest (its nodes
		// stopped, half-applied migrations, Kong's migrations lock): name
		// it first.
		first := errs[0]
		for _, f := range errs {
			if strings.HasPrefix(f.Code, "fleet-lock") {
				first = f
				break
			}
		}
		return fmt.Errorf("preflight found %d problem(s); first: %s", len(errs), first.Message)
	}
	if e.plan {
		return nil
	}
	return e.step(ctx, PhasePreflight, preflightStep, "", func(context.Context) (any, error) { return pf, nil })
}
