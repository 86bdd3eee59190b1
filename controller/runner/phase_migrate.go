package runner

import "context"

// migratePhase runs one `kong migrations` command on the migration node
// as one journaled step: up (migrateUpStep), or finish when finish is set
// (migrateFinishStep, the point of no return). Undo: restore the database
// from the kept backup (X cannot run on a finished database; before finish
// reinstalling X alone would also work); a finish that ran after Y started
// stops Y first.
type migratePhase struct{ finish bool }

func (p migratePhase) name() PhaseName {
	if p.finish {
		return PhaseMigrateFinish
	}
	return PhaseMigrateUp
}

func (migratePhase) total(e *engine) int { return 1 }

func (p migratePhase) run(ctx context.Context, e *engine) error {
	if p.finish {
		return e.migrateFinishStep(ctx, PhaseMigrateFinish, migrateFinishStep, "")
	}
	return e.migrateUpStep(ctx, PhaseMigrateUp, migrateUpStep, "")
}

func (p migratePhase) undo(ctx context.Context, e *engine) error {
	if p.finish && e.spec.finishAfterVerify() {
		// Finish ran after Y started: Y stops before the database is
		// restored under it (start's own undo then finds it done).
		if err := (startPhase{}).undo(ctx, e); err != nil {
			return err
		}
	}
	return e.restoreDB(ctx)
}
