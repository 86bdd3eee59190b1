package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"

	"github.com/kongctl/kongctl/controller/journal"
	"github.com/kongctl/kongctl/inventory"
)

// ReportFile is the report of a run's latest upgrade or rollback, kept in
// the run's directory beside its journal (`kongctl report` reads it).
const ReportFile = "report.json"

// StateDirOf is where an inventory's run journals live by default: the
// directory .kongctl beside it.
func StateDirOf(inv *inventory.Inventory) string { return filepath.Join(inv.Dir, ".kongctl") }

// makeStateDirs creates the bastion's state directories of an upgrade,
// the run journals and the backups' local copies: they sit beside the
// inventory, usually a git checkout, and the backups hold certificate keys
// and credentials. Each directory kongctl creates gets a .gitignore of "*"
// (in the outermost directory it creates), so they are never committed.
// Directories that exist are left as they are.
func makeStateDirs(spec *Spec) error {
	for _, dir := range []string{spec.StateDir, spec.Backup.LocalDir} {
		if dir == "" {
			continue
		}
		top := dir
		for {
			if _, err := os.Lstat(top); err == nil {
				break
			}
			parent := filepath.Dir(top)
			if _, err := os.Lstat(parent); err == nil || parent == top {
				break
			}
			top = parent
		}
		if _, err := os.Lstat(top); err == nil {
			continue
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create state directory %s: %w", dir, err)
		}
		ignore := "# Created by kongctl: run journals and database backups (keys, credentials).\n# Never commit them.\n*\n"
		if err := os.WriteFile(filepath.Join(top, ".gitignore"), []byte(ignore), 0o600); err != nil {
			return fmt.Errorf("create state directory %s: %w", dir, err)
		}
	}
	return nil
}

// saveReport keeps r in its run's directory (replacing an earlier
// operation's report of the same run), written whole or not at all.
func saveReport(r *Report) error {
	if r == nil || r.Journal == "" {
		return nil
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("save report of run %s: %w", r.RunID, err)
	}
	path := filepath.Join(r.Journal, ReportFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("save report of run %s: %w", r.RunID, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save report of run %s: %w", r.RunID, err)
	}
	return nil
}

// keepReport saves r beside its journal; a report that cannot be kept is
// a warning of the run, not a failure.
func keepReport(r *Report) {
	if err := saveReport(r); err != nil {
		r.Findings = append(r.Findings, Finding{Severity: SevWarning, Code: "report", Message: err.Error()})
	}
}

// RunDir is the directory of run runID under stateDir, the latest run's
// when runID is "".
func RunDir(stateDir, runID string) (string, error) {
	if runID == "" {
		dir, err := journal.Latest(stateDir)
		if err != nil {
			return "", err
		}
		if dir == "" {
			return "", fmt.Errorf("no run under %s", stateDir)
		}
		return dir, nil
	}
	if runID != filepath.Base(runID) || strings.HasPrefix(runID, ".") {
		return "", fmt.Errorf("run id %q: not a run id", runID)
	}
	dir := journal.RunDir(stateDir, runID)
	if _, err := os.Stat(filepath.Join(dir, journal.FileName)); err != nil {
		return "", fmt.Errorf("run %s: no journal under %s", runID, stateDir)
	}
	return dir, nil
}

// LoadRun reads the run in dir: its journal and its report, the one the
// run's last upgrade or rollback kept, or one rebuilt from the journal
// when none was kept (the controller was killed before the end).
func LoadRun(dir string) (*Report, []journal.Record, error) {
	recs, err := journal.Read(dir)
	if err != nil {
		return nil, nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if errors.Is(err, os.ErrNotExist) {
		return ReportFromJournal(recs, dir), recs, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read report of run %s: %w", recs[0].Header.RunID, err)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, nil, fmt.Errorf("read report of run %s: %s: %w", recs[0].Header.RunID, filepath.Join(dir, ReportFile), err)
	}
	return &r, recs, nil
}

// ReportFromJournal rebuilds what the journal of a run knows of its
// report: versions, per-host steps with their start times, the phases,
// the downtime window, the backup and the point of no return. Gates and
// findings are only in a kept report.
func ReportFromJournal(recs []journal.Record, dir string) *Report {
	h := recs[0].Header
	st := journal.Fold(recs)
	r := &Report{
		RunID: h.RunID, Operation: "upgrade", From: h.From, To: h.To, MigrationHost: h.MigrationHost,
		Started: h.Started, Finished: recs[len(recs)-1].Time, Journal: dir,
		PointOfNoReturn: st.Status("point-of-no-return") != "",
		Downtime:        downtime(recs, nil),
	}
	if last := st.LastRun(); last.Status != "" {
		r.Outcome = Outcome(last.Status)
		r.Error = last.Error
	}
	var b fleet.BackupInfo
	if st.Data("backup-check", &b) && b.Path != "" || st.Data("backup", &b) && b.Path != "" {
		r.Backup = &b
	}
	var rh RehearsalResult
	if st.Data(string(rehearsalStep), &rh) && rh.Host != "" {
		r.Rehearsal = &rh
	}
	steps := map[string][]StepResult{}
	started := map[string]time.Time{}
	phases := map[string]*PhaseResult{}
	var order []string
	for _, rec := range recs {
		if rec.Kind != "step" || rec.Phase == "" {
			continue
		}
		p := phases[rec.Phase]
		if p == nil {
			p = &PhaseResult{Phase: rec.Phase, Status: "ok", Started: rec.Time}
			phases[rec.Phase] = p
			order = append(order, rec.Phase)
		}
		p.Finished = rec.Time
		if strings.HasPrefix(rec.Step, "rollback/") {
			r.Operation = "rollback"
		}
		if rec.Status == journal.Started {
			started[rec.Step] = rec.Time
		}
		if rec.Status != journal.Done && rec.Status != journal.Failed {
			continue
		}
		status := ResultOK
		if rec.Status == journal.Failed {
			status, p.Status = ResultFailed, ResultFailed
		}
		// Journals of older versions carry no start on the ending record.
		t0 := rec.Started
		if t0.IsZero() {
			t0 = started[rec.Step]
		}
		// A record that ends no started step is a marker (the point of
		// no return, the lock's data), not a host's step.
		if rec.Host != "" && !t0.IsZero() {
			steps[rec.Host] = append(steps[rec.Host], StepResult{Phase: rec.Phase, Status: status, Started: t0, Duration: rec.Time.Sub(t0).Seconds(), Error: rec.Error})
		}
	}
	for _, name := range order {
		r.Timeline = append(r.Timeline, *phases[name])
	}
	for _, name := range h.Hosts {
		hr := HostReport{Name: name, FromVersion: h.From, Steps: steps[name], Result: ResultUntouched}
		if len(hr.Steps) > 0 {
			hr.Result = ResultOK
		}
		if slices.ContainsFunc(hr.Steps, func(s StepResult) bool { return s.Status == ResultFailed }) {
			hr.Result = ResultFailed
		}
		r.Hosts = append(r.Hosts, hr)
	}
	return r
}
