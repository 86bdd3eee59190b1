package runner

import (
	"context"
	"fmt"
	"strings"
)

// backupCheckStep journals the backup the fleet was stopped with (the
// same, or retaken when writes slipped in).
const backupCheckStep StepKey = "backup-check"

// backupCheckPhase runs after the stop: when Kong's configuration tables
// changed since the backup (writes slipped in before the nodes went down),
// the backup is taken again, so the kept backup holds every accepted admin
// write. The check reads write counters, not rows (writecheck.go).
type backupCheckPhase struct{}

func (backupCheckPhase) name() PhaseName { return PhaseBackupCheck }

func (backupCheckPhase) run(ctx context.Context, e *engine) error {
	if stepDone(e.prior, backupCheckStep) {
		if b := journaledBackup(e.prior, backupCheckStep); b != nil {
			e.backup = b
		}
		return nil
	}
	return e.step(ctx, PhaseBackupCheck, backupCheckStep, e.spec.ToolsHost, func(ctx context.Context) (any, error) {
		var changed []string
		if e.backup != nil {
			var err error
			if changed, err = e.writesSinceBackup(ctx); err != nil {
				return nil, err
			}
			if len(changed) == 0 {
				e.note("database configuration unchanged since the backup: the backup holds every accepted write")
				return *e.backup, nil
			}
		}
		e.find(Finding{Severity: SevWarning, Code: "writes-during-freeze", Message: fmt.Sprintf("the database changed between the backup and the stop (tables: %s); taking the backup again", strings.Join(changed, ", "))})
		return e.backUp(ctx, "final")
	})
}
