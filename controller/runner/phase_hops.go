package runner

import (
	"context"
	"fmt"
)

// PhaseHops is the intermediate hops of an upgrade that lies more than
// one supported jump away, inside the window.
const PhaseHops PhaseName = "hops"

// hopStepsPrefix begins every intermediate hop's step key.
const hopStepsPrefix = "hop/"

// hopKey is the journal key of one step of the hop to version v:
// "hop/3.10.0.2/migrate/up". The hop's version keeps the keys unique per
// hop, so a resumed run knows the hop and the step it stopped at.
func hopKey(v, step string) StepKey { return StepKey(hopStepsPrefix + v + "/" + step) }

// hopsPhase runs the intermediate hops on the migration node, the whole
// fleet down: for each, install its version, `kong migrations up`, and
// `kong migrations finish` (the first finish is the run's point of no
// return). Y's own install, migrations and start follow as for one hop;
// the other nodes install Y alone. Kong is not started on an intermediate
// version unless the inventory asks (Spec.StartBetweenHops): none of
// Kong's LTS guides does (kong-reference 6.2, 6.4).
// Undo: X back on the migration node and the database restored from the
// run's one backup.
type hopsPhase struct{}

func (hopsPhase) name() PhaseName { return PhaseHops }

func (hopsPhase) total(e *engine) int { return len(e.pf.Hops) }

func (hopsPhase) run(ctx context.Context, e *engine) error {
	for i := range e.pf.Hops {
		if err := e.runHop(ctx, i); err != nil {
			return err
		}
	}
	return nil
}

// runHop installs hop i's version on the migration node and migrates the
// database to it, each a journaled step keyed by the hop's version.
func (e *engine) runHop(ctx context.Context, i int) error {
	hp := e.pf.Hops[i]
	if err := e.installHop(ctx, i); err != nil {
		return err
	}
	e.note("hop %d/%d: %s → %s on %s: kong migrations up and finish", i+1, len(e.pf.Hops)+1, hp.From, hp.To, e.spec.MigrationHost)
	if err := e.migrateUpStep(ctx, PhaseHops, hopKey(hp.To, "migrate/up"), hp.To); err != nil {
		return fmt.Errorf("hop %s → %s: %w", hp.From, hp.To, err)
	}
	if err := e.migrateFinishStep(ctx, PhaseHops, hopKey(hp.To, "migrate/finish"), hp.To); err != nil {
		return fmt.Errorf("hop %s → %s: %w", hp.From, hp.To, err)
	}
	if e.spec.StartBetweenHops {
		if err := e.startBetweenHops(ctx, hp.To); err != nil {
			return fmt.Errorf("hop %s → %s: %w", hp.From, hp.To, err)
		}
	}
	e.note("hop %d/%d done: the database is at %s", i+1, len(e.pf.Hops)+1, hp.To)
	return nil
}

// startBetweenHops starts Kong on the migration node on intermediate
// version v until healthy, then stops it (the inventory asks:
// upgrade.start_between_hops), each a journaled step of the hop.
func (e *engine) startBetweenHops(ctx context.Context, v string) error {
	h := e.spec.MigrationHost
	err := e.step(ctx, PhaseHops, hopKey(v, "start/"+h), h, func(ctx context.Context) (any, error) {
		return nil, e.startAndWait(ctx, h, v)
	})
	if err != nil {
		return err
	}
	return e.step(ctx, PhaseHops, hopKey(v, "stop/"+h), h, func(ctx context.Context) (any, error) {
		return nil, e.stopKong(ctx, h, v)
	})
}

// installHop installs hop i's version on the migration node (once per
// run: the window may have done it before the other nodes stopped).
func (e *engine) installHop(ctx context.Context, i int) error {
	hp, h := e.pf.Hops[i], e.spec.MigrationHost
	key := hopKey(hp.To, "install/"+h)
	if e.j != nil && stepDone(e.j, key) {
		return nil
	}
	return e.step(ctx, PhaseHops, key, h, func(ctx context.Context) (any, error) {
		return nil, e.installDetached(ctx, "hop"+hp.To, key, h, hp.Pkg, hp.To)
	})
}

// undo restores the database from the one backup, whatever hop failed
// (once no migrations step runs any more), and puts X back on the
// migration node (the same journaled step as the install's undo: done
// once).
func (hopsPhase) undo(ctx context.Context, e *engine) error {
	h := e.spec.MigrationHost
	// Started on an intermediate version and not stopped: stopped before
	// the database is restored under it.
	for _, v := range e.hopVersions() {
		if e.stepStarted(hopKey(v, "start/"+h)) && (e.j == nil || !stepDone(e.j, hopKey(v, "stop/"+h))) {
			err := e.undoStep(ctx, PhaseHops, hopKey(v, "rollback/stop/"+h), h, func(ctx context.Context) error { return e.stopKong(ctx, h, v) })
			if err != nil {
				return err
			}
		}
	}
	if err := e.restoreDB(ctx); err != nil {
		return err
	}
	if !e.hopStepStarted("install/" + h) {
		return nil
	}
	return e.undoStep(ctx, PhaseInstall, installXSteps.of(h), h, func(ctx context.Context) error {
		return e.installDetached(ctx, "install-x", installXSteps.of(h), h, e.pf.PkgX[h], e.pf.From)
	})
}

// hopStepStarted reports whether step (e.g. "migrate/up") of any hop
// was ever started in this run.
func (e *engine) hopStepStarted(step string) bool {
	for _, v := range e.hopVersions() {
		if e.stepStarted(hopKey(v, step)) {
			return true
		}
	}
	return false
}
