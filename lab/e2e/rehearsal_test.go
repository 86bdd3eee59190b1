//go:build integration

package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/lab/labenv"
)

// rehearsalInventory makes the lab's spare host the rehearsal host.
func (e *env) rehearsalInventory() string {
	e.t.Helper()
	return e.writeInventory(e.rehearsalHCL)
}

// rehearsalHCL is inventory s with spare-1's role "rehearsal".
func (e *env) rehearsalHCL(s string) string {
	e.t.Helper()
	re := regexp.MustCompile(`(host "spare-1" \{[^}]*roles\s*=\s*)\["spare"\]`)
	if !re.MatchString(s) {
		e.t.Fatalf("lab inventory has no spare-1 with roles [\"spare\"]:\n%s", s)
	}
	return re.ReplaceAllString(s, `${1}["rehearsal"]`)
}

// scratchDatabases lists the rehearsal scratch databases on the lab's
// database server.
func (e *env) scratchDatabases() string {
	e.t.Helper()
	out, err := e.lab.Exec(e.t.Context(), e.lab.DBHost().Name,
		`runuser -u postgres -- psql -X -At -h /run/postgresql -d postgres -c "SELECT string_agg(datname, ',') FROM pg_database WHERE datname LIKE 'kongctl\_rehearsal\_%'"`)
	if err != nil {
		e.t.Fatalf("list scratch databases: %v: %s", err, out)
	}
	return strings.TrimSpace(out)
}

type planRehearsal struct {
	Downtime struct {
		Expected   float64 `json:"expected_seconds"`
		Basis      string  `json:"basis"`
		Migrations string  `json:"migrations"`
	} `json:"downtime"`
	Phases []struct {
		Name     string  `json:"name"`
		Estimate float64 `json:"estimate_seconds"`
	} `json:"phases"`
	Rehearsal *struct {
		Host    string  `json:"host"`
		Scratch string  `json:"scratch_database"`
		Up      float64 `json:"up_seconds"`
		Finish  float64 `json:"finish_seconds"`
		Smoke   int     `json:"smoke"`
		Dropped bool    `json:"dropped"`
	} `json:"rehearsal"`
	Ready bool `json:"ready"`
}

// Issue 23 (a): on a lab with many rows and a rehearsal host, `kongctl
// plan` rehearses Y's migrations on a scratch copy, shows the measured up
// and finish times and builds the expected downtime from them; X's
// database is unchanged and no scratch database is left.
func TestPlanRehearsesOnACopy(t *testing.T) {
	rows := 200000
	e := upLab(t, labenv.Options{Nodes: 1, Spares: 1, Edition: labenv.EditionEnterprise, From: "3.4.3.5", To: "3.10.0.2", Rows: rows})
	inv := e.rehearsalInventory()
	before := e.fingerprint()

	r := e.kongctl("plan", "-i", inv, "--output", "json")
	if r.code != 0 {
		t.Fatalf("plan: %s", r)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var ev struct {
		Payload planRehearsal `json:"payload"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &ev); err != nil {
		t.Fatalf("plan JSON: %v\n%s", err, r.stdout)
	}
	p := ev.Payload
	rh := p.Rehearsal
	if !p.Ready || rh == nil || rh.Host != "spare-1" || !rh.Dropped || rh.Up <= 0 || !strings.HasPrefix(rh.Scratch, "kongctl_rehearsal_") {
		t.Fatalf("plan's rehearsal: ready=%v %+v\n%s", p.Ready, rh, r)
	}
	if p.Downtime.Migrations != "measured on a rehearsal" || !strings.Contains(p.Downtime.Basis, "measured on a rehearsal on spare-1") {
		t.Errorf("downtime not built from the rehearsal: %+v", p.Downtime)
	}
	var up, finish float64
	for _, ph := range p.Phases {
		switch ph.Name {
		case "migrate-up":
			up = ph.Estimate
		case "migrate-finish":
			finish = ph.Estimate
		}
	}
	if up != rh.Up || finish != rh.Finish || p.Downtime.Expected < rh.Up+rh.Finish {
		t.Errorf("phase estimates up %.1f finish %.1f, expected downtime %.1f; rehearsal up %.1f finish %.1f", up, finish, p.Downtime.Expected, rh.Up, rh.Finish)
	}
	t.Logf("rehearsal over %d rows: up %.1fs, finish %.1fs; expected downtime %.1fs", rows, rh.Up, rh.Finish, p.Downtime.Expected)

	text := e.kongctl("plan", "-i", inv)
	if !strings.Contains(text.stdout, "migration times: measured on a rehearsal on spare-1") {
		t.Errorf("plan text does not say the times were measured:\n%s", text.stdout)
	}
	if d := diffFingerprints(before, e.fingerprint()); len(d) > 0 {
		t.Fatalf("X's database changed by the plan's rehearsal: %v", d)
	}
	if s := e.scratchDatabases(); s != "" {
		t.Fatalf("scratch databases left: %s\n%s", s, text)
	}
}

// Issue 23 (b): Y's `migrations finish` fails on the rehearsal host (the
// simulator's fault knob there only): the upgrade is refused before any
// node stops, with the simulator's error text; every node still serves X,
// the database is unchanged, no scratch database is left.
func TestRehearsalFailureRefusesUpgrade(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2, Spares: 1, From: "2.8.4", To: "3.4.2"})
	nodes := names(e.lab.KongHosts())
	inv := e.rehearsalInventory()
	e.writeFault("spare-1", "FAKE_KONG_MIGRATION_FAIL=016_280_to_300:teardown")
	e.requireServing(nodes, []route{{"/lab", ""}})
	pids := e.kongPIDs(nodes)
	before := e.fingerprint()

	r := e.kongctl("upgrade", "-i", inv, "--yes", "--output", "json")
	rep := finalReport(t, r.stdout)
	if r.code == 0 || rep.Outcome != "failed" {
		t.Fatalf("upgrade with a failing rehearsal: want failed: %s", r)
	}
	const simErr = "failed to run migration '016_280_to_300' teardown: ERROR: injected failure (FAKE_KONG_MIGRATION_FAIL)"
	if !strings.Contains(rep.Error, simErr) || !strings.Contains(rep.Error, "spare-1") || !strings.Contains(rep.Error, "migrations finish") {
		t.Fatalf("error lacks the simulator's text or the host: %s", rep.Error)
	}
	t.Logf("refused: %s", rep.Error)
	if got := e.kongPIDs(nodes); !equalMaps(pids, got) {
		t.Errorf("Kong restarted on a node (pids %v, then %v): a node was stopped", pids, got)
	}
	e.requireVersion("2.8.4", nodes...)
	e.requireServing(nodes, []route{{"/lab", ""}})
	if d := diffFingerprints(before, e.fingerprint()); len(d) > 0 {
		t.Fatalf("X's database changed: %v", d)
	}
	if s := e.scratchDatabases(); s != "" {
		t.Fatalf("scratch databases left: %s", s)
	}

	// Without the fault the rehearsal passes and the upgrade goes through.
	e.clearFault("spare-1")
	r = e.kongctl("upgrade", "-i", inv, "--yes", "--output", "json")
	if r.code != 0 {
		t.Fatalf("upgrade after the fault is gone: %s", r)
	}
	e.requireVersion("3.4.2", nodes...)
	if s := e.scratchDatabases(); s != "" {
		t.Fatalf("scratch databases left after the upgrade: %s", s)
	}
}

// Issue 23 (c): the controller killed during the rehearsal leaves the
// scratch database; `kongctl upgrade --resume` drops it first and goes on.
func TestRehearsalKilledThenResumed(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 1, Spares: 1, From: "2.8.4", To: "3.4.2"})
	nodes := names(e.lab.KongHosts())
	inv := e.rehearsalInventory()
	// Slow migrations on the rehearsal host only: time to kill the
	// controller while they run on the scratch copy.
	e.writeFault("spare-1", "FAKE_KONG_SLOW=2")
	run := e.start("upgrade", "-i", inv, "--yes", "--output", "json")
	deadline := time.Now().Add(3 * time.Minute)
	for e.scratchDatabases() == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no scratch database appeared\nstderr:\n%s", run.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(5 * time.Second) // into Y's install or migrations on the copy
	_ = run.cmd.Process.Kill()
	if code := run.wait(t, time.Minute); code != -9 {
		t.Fatalf("kongctl exited %d before it was killed\nstderr:\n%s", code, run.stderr)
	}
	if s := e.scratchDatabases(); s == "" {
		t.Fatal("test setup: the killed controller left no scratch database")
	}
	e.clearFault("spare-1")
	r := e.kongctl("upgrade", "-i", inv, "--yes", "--resume", "--output", "json")
	if r.code != 0 {
		t.Fatalf("resume: %s", r)
	}
	if s := e.scratchDatabases(); s != "" {
		t.Fatalf("scratch databases left after the resume: %s", s)
	}
	e.requireVersion("3.4.2", nodes...)
}
