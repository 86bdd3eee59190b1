package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"
)

// onMigrationNode runs fn on the migration node as journaled step key of
// phase ph (migrate-up, migrate-finish and the hops' steps).
func (e *engine) onMigrationNode(ctx context.Context, ph PhaseName, key StepKey, fn func(ctx context.Context, n fleet.Node) (any, error)) error {
	h := e.spec.MigrationHost
	return e.step(ctx, ph, key, h, func(ctx context.Context) (any, error) {
		n, err := e.node(ctx, h)
		if err != nil {
			return nil, err
		}
		return fn(ctx, n)
	})
}

func (e *engine) migList(ctx context.Context, n fleet.Node) (fleet.SchemaState, error) {
	st, err := n.Migrations(ctx, fleet.MigrationsRequest{Command: "list", DBTimeout: e.spec.Timeouts.Migrations})
	if err != nil {
		return st, fmt.Errorf("kong migrations list on %s: %w", e.spec.MigrationHost, err)
	}
	return st, nil
}

// migrateAndList runs up or finish (migrate) and returns the state after
// it: the list the node ran right after the command when it reports one,
// else a list of its own.
func (e *engine) migrateAndList(ctx context.Context, n fleet.Node, hop, cmd string) (fleet.SchemaState, error) {
	st, err := e.migrate(ctx, n, hop, cmd)
	if err != nil {
		return st, err
	}
	if st.After != nil {
		return *st.After, nil
	}
	return e.migList(ctx, n)
}

// migrate runs up or finish detached, retrying once after Kong's lock TTL
// when Kong answered "aborted: another node is performing database changes".
// hop is the intermediate hop's version ("" for Y).
func (e *engine) migrate(ctx context.Context, n fleet.Node, hop, cmd string) (fleet.SchemaState, error) {
	h := e.spec.MigrationHost
	for attempt := 1; ; attempt++ {
		dbTimeout, lockTimeout := e.migrationTimeouts()
		req := fleet.MigrationsRequest{Command: cmd, StepID: e.migrationStepID(hop, cmd, attempt),
			DBTimeout: dbTimeout, LockTimeout: lockTimeout, StepTimeout: e.spec.Timeouts.Migrations}
		st, err := n.Migrations(ctx, req)
		if err != nil {
			return st, fmt.Errorf("kong migrations %s on %s: %w", cmd, h, err)
		}
		if st.ExitCode != 0 {
			return st, fmt.Errorf("kong migrations %s on %s: exit %d: %s", cmd, h, st.ExitCode, firstLine(st.Output))
		}
		if !st.Aborted {
			return st, nil
		}
		if attempt >= 2 {
			return st, fmt.Errorf("kong migrations %s on %s: aborted twice: another node holds Kong's migrations lock", cmd, h)
		}
		e.note("kong migrations %s on %s aborted (Kong's migrations lock is held); retrying after the lock TTL %s", cmd, h, e.spec.Timeouts.MigrationLockTTL)
		if err := e.clk.Sleep(ctx, e.spec.Timeouts.MigrationLockTTL+time.Second); err != nil {
			return st, err
		}
	}
}

// migrationStepID names the detached step of one attempt of `kong
// migrations <cmd>` in this run: Y's (hop ""), or an intermediate hop's,
// named by the hop's version.
func (e *engine) migrationStepID(hop, cmd string, attempt int) string {
	if hop != "" {
		return fmt.Sprintf("%s-hop%s-migrations-%s-%d", e.runID, hop, cmd, attempt)
	}
	return fmt.Sprintf("%s-migrations-%s-%d", e.runID, cmd, attempt)
}

// settleMigrations makes sure no `kong migrations up` or `finish` is still
// running when the database is about to be restored (or X put back on
// it): the detached steps this run may have started on the migration
// host outlive a lost connection or a killed controller. A running one is
// waited for, up to the migrations timeout (the bound the agent puts on
// the step itself) plus a minute; then Kong's own migrations lock must be
// free. Each wait is reported. Past the bound the rollback stops here,
// the database untouched, and `kongctl rollback` continues it later.
func (e *engine) settleMigrations(ctx context.Context) error {
	h := e.spec.MigrationHost
	// Every read below rides out a lost connection or a database blip
	// (retryTransient), as the rollback steps do.
	var n fleet.Node
	err := e.retryTransient(ctx, h, "connect to the migration host", func(ctx context.Context) (err error) {
		n, err = e.node(ctx, h)
		return err
	})
	if err != nil {
		return fmt.Errorf("check for a running migrations step on %s before the restore: %w", h, err)
	}
	bound := e.spec.Timeouts.Migrations + time.Minute
	deadline := e.clk.Now().Add(bound)
	tooLong := func(what string) error {
		err := fmt.Errorf("%s still running on %s after waiting %s: the database is not restored under it; once it ended, `kongctl rollback -i %s` continues the rollback", what, h, bound, orDefault(e.spec.InventoryPath, "INVENTORY"))
		e.find(Finding{Severity: SevError, Code: "migrations-running", Host: h, Message: err.Error()})
		return err
	}
	for _, ms := range e.migrationSteps() {
		cmd, id := ms[0], ms[1]
		var waitedFrom time.Time
		for {
			var st string
			err := e.retryTransient(ctx, h, "check migrations step "+id, func(ctx context.Context) (err error) {
				st, err = n.MigrationStep(ctx, id, 10*time.Second)
				return err
			})
			if err != nil {
				return fmt.Errorf("check migrations step %s on %s before the restore: %w", id, h, err)
			}
			if st != fleet.StepRunning {
				if !waitedFrom.IsZero() {
					e.find(Finding{Severity: SevWarning, Code: "migrations-waited", Host: h,
						Message: fmt.Sprintf("kong migrations %s (step %s) ended (%s) after %s; the database is restored only now", cmd, id, st, e.clk.Now().Sub(waitedFrom).Round(time.Second))})
				}
				break
			}
			if waitedFrom.IsZero() {
				waitedFrom = e.clk.Now()
				e.find(Finding{Severity: SevWarning, Code: "migrations-running", Host: h,
					Message: fmt.Sprintf("kong migrations %s (step %s) is still running on %s: waiting for it to end before restoring the database (at most %s)", cmd, id, h, bound)})
			}
			if !e.clk.Now().Before(deadline) {
				return tooLong(fmt.Sprintf("kong migrations %s (step %s)", cmd, id))
			}
		}
	}
	var waitedFrom time.Time
	for {
		var ml fleet.MigrationLock
		err := e.retryDatabase(ctx, "read Kong's migrations lock", func(ctx context.Context, db fleet.Database) (err error) {
			ml, err = db.MigrationLock(ctx)
			return err
		})
		if err != nil {
			return fmt.Errorf("read Kong's migrations lock before the restore: %w", err)
		}
		if !ml.Held {
			if !waitedFrom.IsZero() {
				e.note("Kong's migrations lock is free after %s", e.clk.Now().Sub(waitedFrom).Round(time.Second))
			}
			return nil
		}
		if waitedFrom.IsZero() {
			waitedFrom = e.clk.Now()
			e.find(Finding{Severity: SevWarning, Code: "migrations-lock", Message: fmt.Sprintf("Kong's migrations lock is held (owner %s, until %s): waiting for it before restoring the database", dash(ml.Owner), ml.Expires.UTC().Format(time.RFC3339))})
		}
		if !e.clk.Now().Before(deadline) {
			return tooLong("a process holding Kong's migrations lock")
		}
		if err := e.clk.Sleep(ctx, 2*time.Second); err != nil {
			return err
		}
	}
}

// migrationSteps are the detached migrations steps this run may have
// started, as {cmd, step id}: every intermediate hop's (in order), then
// Y's, two attempts of up and of finish each.
func (e *engine) migrationSteps() [][2]string {
	var out [][2]string
	for _, hop := range append(e.hopVersions(), "") {
		for _, cmd := range []string{"up", "finish"} {
			for attempt := 1; attempt <= 2; attempt++ {
				out = append(out, [2]string{cmd, e.migrationStepID(hop, cmd, attempt)})
			}
		}
	}
	return out
}

// migrationState is what the migration phases share in one process.
type migrationState struct {
	// lastList is the `migrations list` that migrate-up ran last, reused
	// once by migrate-finish right after it.
	lastList *fleet.SchemaState
}
