package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kongctl/kongctl/controller/fleet"

	"github.com/kongctl/kongctl/controller/journal"
)

// DefaultBackupRetention is how many runs' backups are kept when the
// inventory does not say (backup.retention).
const DefaultBackupRetention = 5

// runBackups is what one journaled run left behind.
type runBackups struct {
	runID   string
	status  journal.Status // the run's last run-level status ("" = not ended)
	stopped bool           // a node was ever stopped by the run
	backups []fleet.BackupInfo
}

// ended reports whether no rollback can need the run's backup any more:
// it succeeded or was rolled back, or it failed before stopping anything.
// A paused run, an unfinished one (controller killed) and one whose
// rollback failed keep their backup.
func (r runBackups) ended() bool {
	switch r.status {
	case "succeeded", "rolled-back":
		return true
	case "failed":
		return !r.stopped
	}
	return false
}

// pruneBackups keeps the backups of the newest Backup.Retention runs that
// still have one (this run, whose backup was just verified and copied,
// counts first) and deletes older runs' backups, on the bastion and on
// the tools host, when those runs ended. It never fails the run: a
// backup it cannot delete is reported and left.
func (e *engine) pruneBackups(ctx context.Context) {
	keep := e.spec.Backup.Retention
	if keep <= 0 {
		keep = DefaultBackupRetention
	}
	runs, err := journaledBackups(e.spec.StateDir)
	if err != nil {
		e.find(Finding{Severity: SevWarning, Code: "backup-retention", Message: fmt.Sprintf("backup retention: %s", e.red.err(err))})
		return
	}
	kept := 0
	var pruned, held []string
	for _, r := range runs {
		if len(r.backups) == 0 {
			continue
		}
		if r.runID == e.runID || kept < keep {
			kept++
			continue
		}
		if !r.ended() {
			held = append(held, fmt.Sprintf("%s (%s)", r.runID, orDefault(string(r.status), "not finished")))
			continue
		}
		for _, b := range r.backups {
			if err := e.deleteBackup(ctx, r.runID, b); err != nil {
				e.find(Finding{Severity: SevWarning, Code: "backup-retention", Message: e.red.err(err)})
				continue
			}
			pruned = append(pruned, orDefault(b.LocalPath, b.Path))
		}
	}
	if len(held) > 0 {
		e.note("backup retention (%d): kept the backups of runs that may still need them for a rollback: %s", keep, strings.Join(held, ", "))
	}
	if len(pruned) > 0 {
		e.note("backup retention (%d): deleted %d older backup(s): %s", keep, len(pruned), strings.Join(pruned, ", "))
		e.mu.Lock()
		e.retention.pruned = append(e.retention.pruned, pruned...)
		e.mu.Unlock()
	}
}

// deleteBackup removes one backup of run runID: the bastion copy, then
// the dump on the tools host. Only files named after that run are
// touched.
func (e *engine) deleteBackup(ctx context.Context, runID string, b fleet.BackupInfo) error {
	prefix := "kong-" + runID + "-"
	for _, p := range []string{b.LocalPath, b.Path} {
		if p != "" && (!strings.HasPrefix(filepath.Base(p), prefix) || !filepath.IsAbs(p) || filepath.Clean(p) != p) {
			return fmt.Errorf("backup retention: %s is not a backup of run %s; left in place", p, runID)
		}
	}
	if b.LocalPath != "" {
		if err := os.Remove(b.LocalPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("backup retention: delete %s on the bastion: %w", b.LocalPath, err)
		}
	}
	if b.Path != "" {
		db, err := e.database(ctx)
		if err != nil {
			return err
		}
		if err := db.Remove(ctx, b); err != nil {
			return fmt.Errorf("backup retention: delete %s on %s: %w", b.Path, e.spec.ToolsHost, err)
		}
	}
	return nil
}

// journaledBackups reads every run journal under root, newest run first,
// with the backups whose bastion copy is still there (a run whose copy is
// gone has been pruned, or never had one).
func journaledBackups(root string) ([]runBackups, error) {
	dirs, err := filepath.Glob(filepath.Join(root, "runs", "*", journal.FileName))
	if err != nil {
		return nil, err
	}
	type dated struct {
		r       runBackups
		started string
	}
	var all []dated
	for _, p := range dirs {
		recs, err := journal.Read(filepath.Dir(p))
		if err != nil || len(recs) == 0 || recs[0].Header == nil {
			continue // not a journal this kongctl can read: leave its run alone
		}
		st := journal.Fold(recs)
		r := runBackups{runID: recs[0].Header.RunID, status: st.LastRun().Status, stopped: len(st.Steps(string(stopSteps))) > 0}
		seen := map[string]bool{}
		for _, step := range []StepKey{backupStep, backupCheckStep} {
			var b fleet.BackupInfo
			if !stepData(st, step, &b) || b.Path == "" || seen[b.Path] {
				continue
			}
			seen[b.Path] = true
			if b.LocalPath != "" {
				if _, err := os.Stat(b.LocalPath); err != nil {
					continue
				}
			}
			r.backups = append(r.backups, b)
		}
		all = append(all, dated{r, recs[0].Header.Started.UTC().Format("2006-01-02T15:04:05.000000000") + r.runID})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].started > all[j].started })
	out := make([]runBackups, len(all))
	for i, d := range all {
		out[i] = d.r
	}
	return out, nil
}

// retentionState is what backup retention deleted in this run.
type retentionState struct {
	pruned []string // the runs whose backups were deleted
}
