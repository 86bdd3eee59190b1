package runner

import (
	"context"
	"fmt"

	"github.com/kongctl/kongctl/controller/fleet"

	"github.com/kongctl/kongctl/controller/progress"
)

// The finish's steps: the point of no return, journaled before `kong
// migrations finish` starts, and the finish itself.
const (
	pointOfNoReturnStep StepKey = "point-of-no-return"
	migrateFinishStep   StepKey = "migrate/finish"
)

// migrateFinishStep runs `kong migrations finish` as journaled step key
// of phase ph: Y's (hop "") or an intermediate hop's (hops.go). The
// first finish of a run is its POINT OF NO RETURN, journaled as such
// before it starts. Afterwards `list` must exit 0.
func (e *engine) migrateFinishStep(ctx context.Context, ph PhaseName, key StepKey, hop string) error {
	h := e.spec.MigrationHost
	if e.spec.DualCluster {
		// Y's own database is finished: X's is untouched, nothing is
		// beyond return.
		return e.finishStep(ctx, ph, key, hop)
	}
	if !stepDone(e.prior, key) && !(e.j != nil && stepDone(e.j, pointOfNoReturnStep)) {
		e.emit(progress.Event{Type: progress.Message, Phase: string(ph), Message: "POINT OF NO RETURN: kong migrations finish; from here, rolling back means restoring the database backup"})
		if err := e.journalStep(ph, pointOfNoReturnStep, h, "done", map[string]bool{"point_of_no_return": true}, nil); err != nil {
			return err
		}
	}
	e.pnr = true
	return e.finishStep(ctx, ph, key, hop)
}

// finishStep runs `kong migrations finish` on the migration host as
// journaled step key, unless `list` says nothing is pending; `list` must
// exit 0 afterwards.
func (e *engine) finishStep(ctx context.Context, ph PhaseName, key StepKey, hop string) error {
	h := e.spec.MigrationHost
	return e.onMigrationNode(ctx, ph, key, func(ctx context.Context, n fleet.Node) (any, error) {
		// The list migrate-up just ran (this process, nothing in between)
		// is the state before finish; a resumed run lists again.
		var st fleet.SchemaState
		var err error
		if e.mig.lastList != nil {
			st, e.mig.lastList = *e.mig.lastList, nil
		} else if st, err = e.migList(ctx, n); err != nil {
			return nil, err
		}
		if st.ExitCode == 0 {
			return st, nil // nothing pending (no teardowns, or finished before a resume)
		}
		if st.ExitCode != 4 {
			return nil, fmt.Errorf("kong migrations list on %s before finish: exit %d (want 4): %s", h, st.ExitCode, firstLine(st.Output))
		}
		if st, err = e.migrateAndList(ctx, n, hop, "finish"); err != nil {
			return nil, err
		}
		if st.ExitCode != 0 {
			return nil, fmt.Errorf("kong migrations finish on %s: afterwards list exits %d (want 0): %s", h, st.ExitCode, firstLine(st.Output))
		}
		return st, nil
	})
}
