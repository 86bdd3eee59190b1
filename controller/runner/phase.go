package runner

import (
	"context"
)

// PhaseName names a phase of the upgrade.
type PhaseName string

// The phases, in the order they run.
const (
	PhasePreflight     PhaseName = "preflight"
	PhaseLock          PhaseName = "lock"
	PhaseBackup        PhaseName = "backup"
	PhasePrepare       PhaseName = "prepare" // new-hosts mode only
	PhaseBeforeStop    PhaseName = "hooks-before-stop"
	PhaseStop          PhaseName = "stop"
	PhaseBackupCheck   PhaseName = "backup-check"
	PhaseAfterStop     PhaseName = "hooks-after-stop"
	PhaseInstall       PhaseName = "install" // in-place only
	PhaseMigrateUp     PhaseName = "migrate-up"
	PhaseMigrateFinish PhaseName = "migrate-finish"
	PhaseStart         PhaseName = "start"
	PhaseAfterStart    PhaseName = "hooks-after-start"
	PhaseVerify        PhaseName = "verify"
	PhaseCleanup       PhaseName = "cleanup"
)

// phase is one typed step of the pipeline. A phase may also implement
// undoer; rollbacks run in reverse order for the phases that started.
type phase interface {
	name() PhaseName
	run(ctx context.Context, e *engine) error
}

// sized is implemented by phases that know how many hosts they work on.
type sized interface {
	total(e *engine) int
}

type undoer interface {
	undo(ctx context.Context, e *engine) error
}
