package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/controller"
	"github.com/kongctl/kongctl/controller/journal"
)

// writeRun journals a small succeeded upgrade of kong-1..3 under state,
// with its kept report.
func writeRun(t *testing.T, state, runID string, t0 time.Time) {
	t.Helper()
	clock := t0
	now := func() time.Time { clock = clock.Add(time.Second); return clock }
	hosts := []string{"kong-1", "kong-2", "kong-3"}
	j, err := journal.Create(state, journal.Header{RunID: runID, Started: t0, From: "2.8.4", To: "3.4.2", Hosts: hosts, MigrationHost: "kong-1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"stop/", "install/", "start/"} {
		for _, h := range hosts {
			for _, st := range []journal.Status{journal.Started, journal.Done} {
				if err := j.Step(strings.TrimSuffix(step, "/"), step+h, h, st, nil, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	_ = j.Run("succeeded", "")
	j.Close()
	r := controller.Report{RunID: runID, Operation: "upgrade", Outcome: controller.Succeeded, From: "2.8.4", To: "3.4.2", MigrationHost: "kong-1",
		Started: t0, Finished: clock, Journal: journal.RunDir(state, runID)}
	for _, h := range hosts {
		r.Hosts = append(r.Hosts, controller.HostReport{Name: h, Result: "ok", FromVersion: "2.8.4", Version: "3.4.2"})
	}
	b, _ := json.Marshal(r)
	if err := os.WriteFile(filepath.Join(r.Journal, controller.ReportFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestReportCommand: kongctl report renders the latest run, or the one
// named, in each format, from local files alone.
func TestReportCommand(t *testing.T) {
	lab := examples + "lab.hcl"
	state := t.TempDir()
	env := map[string]string{EnvStateDir: state}
	r := kongctl(t, env, "report", "-i", lab)
	if r.code != ExitFailure || !strings.Contains(r.stderr, "no run under "+state) || r.stdout != "" {
		t.Errorf("no run: exit %d, stderr %q", r.code, r.stderr)
	}
	writeRun(t, state, "20261206T090000Z-000001", time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC))
	writeRun(t, state, "20261206T100000Z-000002", time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC))

	r = kongctl(t, env, "report", "-i", lab)
	if r.code != ExitOK || !strings.HasPrefix(r.stdout, "kongctl upgrade 20261206T100000Z-000002: SUCCEEDED (2.8.4 → 3.4.2)") {
		t.Errorf("text of the latest run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = kongctl(t, env, "report", "-i", lab, "20261206T090000Z-000001", "--format", "html")
	if r.code != ExitOK || !strings.HasPrefix(r.stdout, "<!DOCTYPE html>") || strings.Count(r.stdout, `class="node-row" data-host=`) != 3 ||
		!strings.Contains(r.stdout, "20261206T090000Z-000001") {
		t.Errorf("html of the first run: exit %d, stderr %q\n%.300s", r.code, r.stderr, r.stdout)
	}
	r = kongctl(t, env, "report", "-i", lab, "--format", "mermaid")
	if r.code != ExitOK || !strings.HasPrefix(r.stdout, "gantt\n") || !strings.Contains(r.stdout, "section kong-3") {
		t.Errorf("mermaid: exit %d\n%s", r.code, r.stdout)
	}
	for _, args := range [][]string{{"-o", "json"}, {"--format", "json"}, {"-o", "json", "--format", "json"}} {
		r = kongctl(t, env, append([]string{"report", "-i", lab}, args...)...)
		var doc struct {
			Schema int `json:"schema"`
			Report struct {
				RunID string `json:"run_id"`
			} `json:"report"`
			Timeline struct {
				Rows []struct {
					Host  string `json:"host"`
					Spans []struct {
						Kind string `json:"kind"`
					} `json:"spans"`
				} `json:"rows"`
			} `json:"timeline"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != ExitOK || doc.Schema != controller.JSONSchema ||
			doc.Report.RunID != "20261206T100000Z-000002" || len(doc.Timeline.Rows) != 3 || len(doc.Timeline.Rows[2].Spans) != 4 {
			t.Errorf("%v: exit %d, %v, %+v\n%s", args, r.code, err, doc, r.stdout)
		}
	}
	r = kongctl(t, env, "__complete", "report", "-i", lab, "")
	if r.code != ExitOK || !strings.HasPrefix(r.stdout, "20261206T100000Z-000002\n20261206T090000Z-000001\n:4") {
		t.Errorf("run id completion: exit %d\n%s", r.code, r.stdout)
	}
	for _, tt := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--format", "pdf"}, ExitUsage, "--format must be one of html, json, mermaid, text"},
		{[]string{"-o", "json", "--format", "html"}, ExitUsage, "--format html contradicts it"},
		{[]string{"20261206T110000Z-000003"}, ExitFailure, "run 20261206T110000Z-000003: no journal under"},
		{[]string{"../../etc"}, ExitFailure, "not a run id"},
		{[]string{"a", "b"}, ExitUsage, "accepts at most 1 arg"},
	} {
		r = kongctl(t, env, append([]string{"report", "-i", lab}, tt.args...)...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.msg) || r.stdout != "" {
			t.Errorf("%v: exit %d (want %d), stderr %q (want %q)", tt.args, r.code, tt.code, r.stderr, tt.msg)
		}
	}
}

// TestReportFlag: --report names a file in an existing directory (else a
// usage error before any host), and the run's page is written there at
// the end also when the run failed (here: no host reachable).
func TestReportFlag(t *testing.T) {
	lab := copyInventory(t, examples+"lab.hcl")
	for _, cmd := range []string{"upgrade", "rollback"} {
		r := kongctl(t, nil, cmd, "-i", lab, "--yes", "--report", filepath.Join(t.TempDir(), "no", "such", "r.html"))
		if r.code != ExitUsage || !strings.Contains(r.stderr, "does not exist") || strings.Contains(r.stderr, "ssh ") {
			t.Errorf("%s --report in a missing directory: exit %d, stderr %q", cmd, r.code, r.stderr)
		}
	}
	page := filepath.Join(t.TempDir(), "upgrade.html")
	r := kongctl(t, nil, "upgrade", "-i", lab, "--yes", "--report", page)
	b, err := os.ReadFile(page)
	if r.code != ExitFailure || err != nil || !strings.Contains(string(b), "FAILED") || strings.Count(string(b), `class="node-row"`) != 3 ||
		!strings.Contains(r.stderr, "written to "+page) {
		t.Errorf("failed upgrade: exit %d, %v, stderr:\n%s\npage:\n%.400s", r.code, err, r.stderr, b)
	}
	if st, err := os.Stat(page); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("page mode: %v %v", st, err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(page)); len(ents) != 1 {
		t.Errorf("temporary files left beside the page: %v", ents)
	}
}
