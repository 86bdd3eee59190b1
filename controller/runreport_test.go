package controller

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/kongctl/kongctl/controller/journal"
)

// Every host step of a run's report carries its start time, within the
// step's span in the journal; the kept report loads back as
// written, and a run without one is rebuilt from its journal with the same
// host steps, window, backup and point of no return.
func TestReportKeptAndRebuiltFromJournal(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	spec := testSpec(t)
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil || r.Outcome != Succeeded {
		t.Fatalf("upgrade: %v %+v", err, r)
	}
	recs, err := journal.Read(r.Journal)
	if err != nil {
		t.Fatal(err)
	}
	st := journal.Fold(recs)
	for _, h := range r.Hosts {
		for _, key := range []string{"stop/" + h.Name, "install/" + h.Name, "start/" + h.Name} {
			rec, ok := st.Record(key)
			if !ok || rec.Status != journal.Done || rec.Started.IsZero() {
				t.Fatalf("%s: journal record %+v", key, rec)
			}
			i := -1
			for j, s := range h.Steps {
				if s.Phase == rec.Phase {
					i = j
				}
			}
			// The report's start is the controller's own reading, taken
			// right after the journal's started record was written.
			if i < 0 || h.Steps[i].Started.Before(rec.Started) || h.Steps[i].Started.After(rec.Time) {
				t.Errorf("%s: report step %+v, journal %s → %s", key, h.Steps, rec.Started, rec.Time)
			}
		}
	}

	n := len(r.Findings)
	keepReport(r)
	if len(r.Findings) != n {
		t.Fatalf("report not kept: %v", r.Findings[n:])
	}
	if st, err := os.Stat(filepath.Join(r.Journal, ReportFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("kept report: %v %v", st, err)
	}
	dir, err := RunDir(spec.StateDir, "")
	if err != nil || dir != r.Journal {
		t.Fatalf("latest run dir %q (%v), want %q", dir, err, r.Journal)
	}
	loaded, lrecs, err := LoadRun(dir)
	if err != nil || len(lrecs) != len(recs) {
		t.Fatalf("LoadRun: %v, %d records", err, len(lrecs))
	}
	want, _ := json.Marshal(r)
	got, _ := json.Marshal(loaded)
	if string(got) != string(want) {
		t.Errorf("loaded report differs:\n%s\nwant\n%s", got, want)
	}

	rb := ReportFromJournal(recs, dir)
	if rb.RunID != r.RunID || rb.Outcome != Succeeded || rb.From != "2.8.4" || rb.To != "3.4.2" || rb.MigrationHost != "kong-1" || !rb.PointOfNoReturn {
		t.Errorf("rebuilt report: %+v", rb)
	}
	if !reflect.DeepEqual(rb.Downtime, r.Downtime) {
		t.Errorf("rebuilt window %+v, want %+v", rb.Downtime, r.Downtime)
	}
	if rb.Backup == nil || rb.Backup.SHA256 != r.Backup.SHA256 || rb.Backup.LocalPath != r.Backup.LocalPath {
		t.Errorf("rebuilt backup %+v, want %+v", rb.Backup, r.Backup)
	}
	for i, h := range rb.Hosts {
		var phases []string
		for _, s := range h.Steps {
			if s.Started.IsZero() || s.Duration < 0 {
				t.Errorf("%s: rebuilt step without a start: %+v", h.Name, s)
			}
			phases = append(phases, s.Phase)
		}
		if h.Name != r.Hosts[i].Name || h.Result != "ok" || len(phases) < 3 {
			t.Errorf("rebuilt host %s: %s, steps %v", h.Name, h.Result, phases)
		}
	}
	if len(rb.Timeline) == 0 || rb.Timeline[0].Phase != string(PhasePreflight) {
		t.Errorf("rebuilt phases: %+v", rb.Timeline)
	}

	// Without the kept report, LoadRun rebuilds it.
	if err := os.Remove(filepath.Join(dir, ReportFile)); err != nil {
		t.Fatal(err)
	}
	again, _, err := LoadRun(dir)
	if err != nil || again.RunID != r.RunID || again.Gates != nil || !reflect.DeepEqual(again.Downtime, r.Downtime) {
		t.Errorf("LoadRun without report.json: %v %+v", err, again)
	}
	if _, err := RunDir(spec.StateDir, "../x"); err == nil {
		t.Error("RunDir accepted a path as run id")
	}
	if _, err := RunDir(spec.StateDir, "20991231T000000Z-000000"); err == nil {
		t.Error("RunDir found a run that does not exist")
	}
	if _, err := RunDir(t.TempDir(), ""); err == nil {
		t.Error("RunDir found a latest run in an empty state dir")
	}
}
