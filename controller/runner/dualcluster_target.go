package runner

import (
	"context"
	"errors"
	"fmt"

	"github.com/kongctl/kongctl/controller/fleet"
)

// The dual-cluster's target database: Y's, restored from X's verified
// backup on X's PostgreSQL server or another (dualcluster_server.go).
// It must not exist (then it is created), or exist empty (a DBA made it
// for a role without CREATEDB: restored into), unless the inventory says
// it may be replaced (upgrade.replace_target_database): then it is
// dropped and restored again. X's database is only read.

// targetDBStep is the restore into the target database.
const targetDBStep StepKey = "target-db/restore"

// targetDB is the database adapter's dual-cluster side.
func (e *engine) targetDB(ctx context.Context) (fleet.TargetDB, error) {
	db, err := e.database(ctx)
	if err != nil {
		return nil, err
	}
	tdb, ok := db.(fleet.TargetDB)
	if !ok {
		return nil, errors.New("the database adapter creates no target database")
	}
	return tdb, nil
}

// checkTargetDB (preflight): the target database does not exist yet
// (and the role may create it), or exists empty, or may be replaced; and
// Y is one hop from X.
func (e *engine) checkTargetDB(ctx context.Context, pf *preflightData) {
	if !e.spec.DualCluster {
		return
	}
	if len(pf.Hops) > 0 {
		e.find(Finding{Severity: SevError, Code: "dual-cluster-hops", Message: fmt.Sprintf("%s → %s takes %d intermediate hop(s); kongctl's dual-cluster runs one", pf.From, e.spec.To, len(pf.Hops)),
			Fix: "upgrade in place, or dual-cluster to a version one hop away first"})
	}
	name, host, where := e.spec.TargetDB, e.spec.ToolsHost, e.spec.targetWhere()
	tdb, err := e.targetDB(ctx)
	var st fleet.TargetInfo
	if err == nil {
		_, err = e.targetPassword()
	}
	if err == nil {
		st, err = tdb.TargetState(ctx, name)
	}
	exists, kong := st.Exists, st.Kong
	switch {
	case err != nil:
		e.find(Finding{Severity: SevError, Code: "target-db", Host: host, Message: "target database " + where + ": " + e.red.err(err)})
	case exists && e.spec.ReplaceTarget:
		what := "exists"
		if kong {
			what = "holds Kong's tables (schema_meta)"
		}
		e.find(Finding{Severity: SevWarning, Code: "target-db-replace", Host: host,
			Message: fmt.Sprintf("REPLACING the target database %s: it %s and will be DROPPED, then created again from X's backup (upgrade.replace_target_database = true); X's database %s is not touched", where, what, e.spec.DB.Name),
			Fix:     fmt.Sprintf("remove replace_target_database if %s holds anything to keep", name)})
	case kong:
		e.find(Finding{Severity: SevError, Code: "target-db", Host: host,
			Message: fmt.Sprintf("the target database %s already holds Kong's tables (schema_meta): kongctl replaces a database only when the inventory says so", where),
			Fix:     fmt.Sprintf("name a new database in upgrade.target_database, drop %s, or let kongctl replace it (upgrade.replace_target_database = true) if it is a leftover of an earlier attempt", name)})
	case exists && !st.Empty:
		e.find(Finding{Severity: SevError, Code: "target-db", Host: host,
			Message: fmt.Sprintf("the target database %s exists already and is not empty; kongctl creates it from X's backup, or restores into an empty one", where),
			Fix:     fmt.Sprintf("name a new database in upgrade.target_database, empty or drop %s, or set upgrade.replace_target_database = true", name)})
	case exists:
		e.find(Finding{Severity: SevInfo, Code: "target-db-empty", Host: host,
			Message: fmt.Sprintf("the target database %s exists, empty: X's backup is restored into it (not created, so its role needs no CREATEDB)", where)})
	}
	if err == nil {
		e.checkTargetServer(ctx, tdb) // dualcluster_server.go
	}
	// An existing empty target is restored into: no CREATEDB needed.
	if err == nil && (!exists || e.spec.ReplaceTarget) {
		if can, why, err := tdb.CanCreateTarget(ctx); err != nil {
			e.find(Finding{Severity: SevError, Code: "target-db", Host: host, Message: "target database " + where + ": " + e.red.err(err)})
		} else if !can {
			e.find(Finding{Severity: SevError, Code: "target-db", Host: host, Message: why + " (target database " + where + ")", Fix: "grant the role CREATEDB (ALTER ROLE ... CREATEDB) for the dual-cluster's target database"})
		}
	}
}

// targetDBPhase restores the run's verified backup into the target
// database, which is kept: Y runs on it. X's database is only read.
type targetDBPhase struct{}

func (targetDBPhase) name() PhaseName { return PhaseTargetDB }

func (targetDBPhase) run(ctx context.Context, e *engine) error {
	return e.step(ctx, PhaseTargetDB, targetDBStep, e.spec.ToolsHost, func(ctx context.Context) (any, error) {
		if e.backup == nil {
			return nil, fmt.Errorf("restore into target database %s: no verified backup of this run", e.spec.TargetDB)
		}
		tdb, err := e.targetDB(ctx)
		if err != nil {
			return nil, err
		}
		how := fleet.TargetCreate
		switch {
		case e.spec.ReplaceTarget:
			how = fleet.TargetReplace
			e.note("dual-cluster: REPLACING the target database %s (dropped if it exists, upgrade.replace_target_database), then restoring the backup into it", e.spec.targetWhere())
		default:
			st, err := tdb.TargetState(ctx, e.spec.TargetDB)
			if err != nil {
				return nil, err
			}
			if st.Exists && st.Empty && !st.Kong {
				how = fleet.TargetIntoEmpty
			}
			e.note("dual-cluster: restoring the backup into the target database %s (%s)", e.spec.targetWhere(), how)
		}
		if err := tdb.RestoreTarget(ctx, *e.backup, e.spec.TargetDB, how); err != nil {
			return nil, err
		}
		return map[string]any{"database": e.spec.TargetDB, "where": e.spec.targetWhere(), "replaced": how == fleet.TargetReplace, "how": string(how)}, nil
	})
}

// undo keeps the target database (kongctl drops no database it does not
// own by name): the report says so, and a new run refuses it until it is
// dropped or the inventory lets kongctl replace it.
func (targetDBPhase) undo(ctx context.Context, e *engine) error {
	if e.stepStarted(targetDBStep) {
		e.find(Finding{Severity: SevInfo, Code: "target-db-kept", Host: e.spec.ToolsHost,
			Message: fmt.Sprintf("the target database %s is left as it was; X's database was not touched", e.spec.targetWhere()),
			Fix:     fmt.Sprintf("drop %s (DROP DATABASE %s) before the next dual-cluster run, or set upgrade.replace_target_database = true", e.spec.TargetDB, e.spec.TargetDB)})
	}
	return nil
}
