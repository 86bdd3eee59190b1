package runner

import (
	"context"
	"fmt"

	"github.com/kongctl/kongctl/controller/fleet"
)

// migrateUpStep journals `kong migrations up`.
const migrateUpStep StepKey = "migrate/up"

// migrateUpStep runs `kong migrations up` as journaled step key of phase
// ph: Y's (hop "") or an intermediate hop's (hops.go). It runs on exactly
// one node (Y installed, whole fleet down), detached under a step id so a
// dropped SSH connection or a controller restart attaches rather than
// re-runs. The result is checked, never trusted: "aborted" is retried
// once after Kong's lock TTL, and `list` must then exit 4 (teardowns
// pending) or 0.
func (e *engine) migrateUpStep(ctx context.Context, ph PhaseName, key StepKey, hop string) error {
	return e.onMigrationNode(ctx, ph, key, func(ctx context.Context, n fleet.Node) (any, error) {
		if stepStatus(e.prior, key) == "" {
			// A first attempt: preflight found the database current for X
			// (nothing pending) and the fleet lock kept it so; up runs
			// straight away (Kong's up is itself a no-op on a current
			// database), its result checked by the list after it.
			return e.upAndCheck(ctx, n, hop)
		}
		st, err := e.migList(ctx, n)
		if err != nil {
			return nil, err
		}
		if st.UpApplied() {
			// Up already applied (a resumed run) or nothing new: re-checked
			// state, not re-run.
			e.mig.lastList = &st
			return st, nil
		}
		if st.ExitCode != 5 && st.ExitCode != 4 {
			return nil, fmt.Errorf("kong migrations list on %s before up: exit %d: %s", e.spec.MigrationHost, st.ExitCode, firstLine(st.Output))
		}
		// New migrations left (exit 5, or 4 beside pending ones): the
		// interrupted run's up may still be running, detached: its step
		// id re-attaches and waits for it; else up runs again.
		return e.upAndCheck(ctx, n, hop)
	})
}

// upAndCheck runs `kong migrations up` on the migration node and checks
// the list after it: 4 (teardowns pending) or 0.
func (e *engine) upAndCheck(ctx context.Context, n fleet.Node, hop string) (fleet.SchemaState, error) {
	st, err := e.migrateAndList(ctx, n, hop, "up")
	if err != nil {
		return st, err
	}
	if !st.UpApplied() {
		return st, fmt.Errorf("kong migrations up on %s: afterwards list exits %d with new migrations %v (want 4 with teardowns pending, or 0, and nothing new): %s", e.spec.MigrationHost, st.ExitCode, st.New, firstLine(st.Output))
	}
	e.mig.lastList = &st
	return st, nil
}
