package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// restoreDBStep journals the database restored from the backup (the undo
// of the migrations).
const restoreDBStep StepKey = "rollback/restore-db"

// restoreDB puts the kept backup back when migrations touched the
// database, and checks the fingerprint equals the pre-upgrade one. Once
// per rollback.
func (e *engine) restoreDB(ctx context.Context) error {
	if e.rb.dbRestored {
		return nil
	}
	upStarted := e.stepStarted(migrateUpStep) || e.hopStepStarted("migrate/up")
	finishStarted := e.stepStarted(migrateFinishStep) || e.stepStarted(pointOfNoReturnStep)
	if !upStarted && !finishStarted {
		return nil
	}
	if !stepDone(e.prior, restoreDBStep) && !(e.j != nil && stepDone(e.j, restoreDBStep)) {
		if err := e.settleMigrations(ctx); err != nil {
			return err
		}
	}
	if !finishStarted && !e.spec.RestoreDB {
		e.note("migrations up ran but finish did not: X can use the database as it is (restore skipped as configured)")
		e.rb.dbRestored = true
		return nil
	}
	if e.backup == nil {
		return errors.New("restore database: no backup recorded in the journal")
	}
	err := e.undoStep(ctx, PhaseMigrateUp, restoreDBStep, e.spec.ToolsHost, func(ctx context.Context) error {
		db, err := e.database(ctx)
		if err != nil {
			return err
		}
		done, err := e.stageEncryptedRestore(ctx, db) // backupcrypt.go
		if err != nil {
			return err
		}
		defer done()
		if err := db.Restore(ctx, *e.backup); err != nil {
			return fmt.Errorf("restore database from %s on %s: %w", e.backup.Path, e.spec.ToolsHost, err)
		}
		fp, err := db.Fingerprint(ctx)
		if err != nil {
			return fmt.Errorf("fingerprint database after restore: %w", err)
		}
		if !fp.Equal(e.backup.Fingerprint) {
			return fmt.Errorf("database after restore differs from the pre-upgrade fingerprint (tables: %s)", strings.Join(e.backup.Fingerprint.ChangedTables(fp), ", "))
		}
		return nil
	})
	if err == nil {
		e.rb.dbRestored = true
	}
	return err
}

// rollbackState is what this rollback did to the database.
type rollbackState struct {
	dbRestored bool // restored in this rollback
}
