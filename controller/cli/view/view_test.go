package view

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kongctl/kongctl/controller"
	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/controller/progress"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the current output")

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// lastEvent is what --output json prints for a plan or a run: the result
// as the last event line.
func lastEvent(t *testing.T, payload any) []byte {
	var b bytes.Buffer
	progress.NewJSON(&b).Emit(progress.Event{Time: at(90), Type: progress.Report, RunID: "20261206T120000Z", Payload: payload})
	return b.Bytes()
}

func rolledBackReport() *controller.Report {
	base := 0.0
	return &controller.Report{
		RunID: "20261206T120000Z", Operation: "upgrade", Outcome: controller.RolledBack,
		From: "2.8.4", To: "3.4.2", MigrationHost: "kong-1", Started: t0, Finished: at(95),
		Timeline: []controller.PhaseResult{
			{Phase: "preflight", Status: "ok", Started: t0, Finished: at(4.2)},
			{Phase: "stop", Status: "ok", Started: at(10), Finished: at(12.5)},
			{Phase: "verify", Status: "failed", Started: at(40), Finished: at(70), Error: "gate max_5xx on fleet FAILED"},
			{Phase: "stop", Status: "rolled-back", Started: at(70), Finished: at(90)},
		},
		Hosts: []controller.HostReport{
			{Name: "kong-1", Roles: []string{"kong", "migrations"}, FromVersion: "2.8.4", Version: "2.8.4", Result: "rolled-back",
				Steps: []controller.StepResult{{Phase: "stop", Status: "ok", Duration: 1.5, Agent: map[string]float64{"service.stop": 1.2}}}},
			{Name: "kong-2", Roles: []string{"kong"}, FromVersion: "2.8.4", Result: "untouched"},
		},
		Downtime: &controller.Window{Start: at(10), End: at(30), Duration: 20, AllStopped: at(12.5), FirstServing: at(22),
			FirstServingAfter: 12, FleetDown: 9.5},
		Order:           "parallel stop, migrations on kong-1",
		Backup:          &fleet.BackupInfo{Path: "/var/backups/kong-pre.dump", SHA256: "ab12", Size: 4096, LocalPath: ".kongctl/backups/kong-pre.dump", Taken: at(8)},
		BackupsPruned:   []string{"20261201T080000Z"},
		PointOfNoReturn: true,
		Findings: []controller.Finding{
			{Severity: controller.SevWarning, Code: "db-tls", Host: "db", Message: "TLS below verify-full", Fix: `set tls_mode = "verify-full"`},
			{Severity: controller.SevInfo, Code: "note", Message: "an informational line"},
		},
		Gates:         []controller.GateResult{{Gate: "max_5xx", Threshold: 5, Measured: 12, Baseline: &base, Unit: "responses", Measurable: true}},
		Error:         "verify: gate max_5xx on fleet FAILED: measured 12, threshold 5",
		RollbackError: "",
		Next:          "kongctl status -i hosts.hcl",
		Journal:       ".kongctl/runs/20261206T120000Z",
	}
}

func TestReportGolden(t *testing.T) {
	for name, r := range map[string]*controller.Report{
		"report_rolled_back": rolledBackReport(),
		"report_succeeded": {RunID: "20261206T130000Z", Operation: "upgrade", Outcome: controller.Succeeded, From: "2.8.4", To: "3.4.2",
			Started: t0, Finished: at(60), Timeline: []controller.PhaseResult{{Phase: "preflight", Status: "ok", Started: t0, Finished: at(3)}},
			Hosts:  []controller.HostReport{{Name: "kong-1", Roles: []string{"kong"}, FromVersion: "2.8.4", Version: "3.4.2", Result: "ok"}},
			Backup: &fleet.BackupInfo{Path: "/var/backups/kong-pre.dump", SHA256: "ab12", Size: 4096, LocalPath: ".kongctl/backups/kong-pre.dump.age", Encrypted: true, EncryptedSHA256: "cd34", Taken: at(8)}},
	} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Report(&b, r); err != nil {
				t.Fatal(err)
			}
			golden(t, name+".txt", b.Bytes())
			golden(t, name+".json", lastEvent(t, r))
		})
	}
}

func TestPlanGolden(t *testing.T) {
	p := &controller.UpgradePlan{
		From: "2.8.4", To: "3.4.2", Edition: "oss", Mode: "in-place", MigrationHost: "kong-1",
		Path: controller.PlanPath{Allowed: true, Kind: "direct", Reason: "2.8 → 3.4 is a documented LTS-to-LTS upgrade", Chain: []string{"3.4.2"}},
		Hosts: []controller.PlanHost{
			{Name: "kong-1", Roles: []string{"kong"}, Version: "2.8.4", Edition: "oss", Running: true, Actions: []string{"stop", "install 3.4.2"},
				DB: []fleet.ConfSetting{
					{Key: "pg_host", Value: "198.18.7.2", Source: "environment (file /etc/kong/kong_env.conf)"},
					{Key: "pg_password", Value: "set", Source: "kong.conf"},
					{Key: "pg_schema", Value: "", Source: "default"},
				}, EnvSource: "file /etc/kong/kong_env.conf"},
			{Name: "kong-2", Roles: []string{"kong"}, Running: false, Actions: []string{"stop"}},
		},
		Phases: []controller.PlanPhase{
			{Name: "stop", Does: "stops every node", Reversible: true, Undo: "start 2.8.4 again", InDowntime: true, Estimate: 5},
			{Name: "migrate-finish", Does: "kong migrations finish", PointOfNoReturn: true, InDowntime: true, Estimate: 10},
			{Name: "cleanup", Does: "releases the lock", Reversible: true},
		},
		Downtime: controller.PlanWindow{Expected: 45, Worst: 600, Basis: "typical step durations"},
		MigrationTimeouts: &controller.MigrationTimeouts{DBTimeout: 1, LockTimeout: 90, SizedDB: 260, SizedLock: 660, DBSource: "inventory", LockSource: "inventory",
			Rows: map[string]int64{"plugins": 200000, "routes": 12}, Migrations: []string{"core/016_280_to_300"}, Formula: "db-timeout = max(60s, 60s + 1ms x rows)"},
		Findings: []controller.Finding{{Severity: controller.SevError, Code: "disk", Host: "kong-2", Message: "not enough disk", Fix: "free 200 MB"}},
	}
	var b bytes.Buffer
	if err := Plan(&b, p); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan.txt", b.Bytes())
	golden(t, "plan.json", lastEvent(t, p))
}

func TestStatusGolden(t *testing.T) {
	s := &controller.StatusReport{
		Hosts: []controller.HostStatus{
			{Name: "kong-1", Roles: []string{"kong"}, Version: "3.4.2", Edition: "oss", Running: true, Healthy: true},
			{Name: "kong-2", Roles: []string{"kong"}, Error: "connect to kong-2: connection refused"},
		},
		Schema:    &fleet.SchemaState{ExitCode: 4, Pending: []string{"core:000_base"}},
		SchemaVia: "kong-1",
		Lock:      &fleet.LockInfo{RunID: "20261206T120000Z", Owner: "ops@bastion", Acquired: t0, Heartbeat: at(30), Expires: at(150)},
		LastRun:   &controller.RunSummary{RunID: "20261206T120000Z", From: "2.8.4", To: "3.4.2", Status: "paused", Last: "migrate-up ok", Dir: ".kongctl/runs/20261206T120000Z"},
		Agent:     &fleet.AgentDelivery{Hosts: 2, UploadedTo: 1, UploadedBytes: 9000000},
		// A dual-cluster's target on another server.
		TargetDatabase: "10.0.0.6:5433/kong_y",
	}
	var b, j bytes.Buffer
	if err := Status(&b, s); err != nil {
		t.Fatal(err)
	}
	if err := StatusJSON(&j, s); err != nil {
		t.Fatal(err)
	}
	golden(t, "status.txt", b.Bytes())
	golden(t, "status.json", j.Bytes())

	free := &controller.StatusReport{Hosts: s.Hosts[:1], SchemaErr: "no host answered", LockErr: "connect to fleet lock: ssh db: connection refused"}
	b.Reset()
	if err := Status(&b, free); err != nil {
		t.Fatal(err)
	}
	golden(t, "status_unknown_schema.txt", b.Bytes())
}
