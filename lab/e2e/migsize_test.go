//go:build integration

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/lab/labenv"
)

// migrationSeconds is the time the report's timeline gives the migrate-up
// and migrate-finish phases.
func migrationSeconds(t *testing.T, stdout string) float64 {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var ev struct {
		Payload struct {
			Timeline []struct {
				Phase    string    `json:"phase"`
				Status   string    `json:"status"`
				Started  time.Time `json:"started"`
				Finished time.Time `json:"finished"`
			} `json:"timeline"`
		} `json:"payload"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &ev); err != nil {
		t.Fatalf("report: %v", err)
	}
	total, n := 0.0, 0
	for _, p := range ev.Payload.Timeline {
		if p.Phase == "migrate-up" || p.Phase == "migrate-finish" {
			total += p.Finished.Sub(p.Started).Seconds()
			n++
		}
	}
	if n != 2 {
		t.Fatalf("report timeline has %d migrate phases, want 2: %+v", n, ev.Payload.Timeline)
	}
	return total
}

type planTimeouts struct {
	DB      int64            `json:"db_timeout_seconds"`
	Lock    int64            `json:"lock_timeout_seconds"`
	DBSrc   string           `json:"db_source"`
	LockSrc string           `json:"lock_source"`
	Rows    map[string]int64 `json:"rows"`
}

func (e *env) planTimeouts(inv string) planTimeouts {
	e.t.Helper()
	r := e.kongctl("plan", "-i", inv, "--output", "json")
	if r.code != 0 {
		e.t.Fatalf("plan: %s", r)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var ev struct {
		Payload struct {
			MT *planTimeouts `json:"migration_timeouts"`
		} `json:"payload"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &ev); err != nil || ev.Payload.MT == nil {
		e.t.Fatalf("plan JSON has no migration_timeouts (%v):\n%s", err, r.stdout)
	}
	return *ev.Payload.MT
}

// Issue 16, production-sized databases: Enterprise 3.4.3.5 -> 3.10.0.2,
// the path whose migrations rewrite every rate-limiting row (3.6's
// 006_350_to_360, up and teardown; Kong/kong#12978). On an unseeded lab
// the plan sizes the timeouts at their floor and the upgrade's migrations
// are quick. On a ROWS=200000 lab the plan shows --db-timeout and
// --lock-timeout sized from the 200,000 plugin rows; an inventory override
// too small for them (1s) fails `kong migrations up` on Kong's timeout and
// the run rolls back to a database equal to the one before; with the sized
// values the fleet upgrades (3.10 alone would give each query 5 s, less
// than the rewrite takes), every row is rewritten, and the report's
// migration phases took longer than on the unseeded lab.
func TestUpgradeProductionSizedDatabase(t *testing.T) {
	const rows = 200000
	opts := labenv.Options{Nodes: 1, Edition: labenv.EditionEnterprise, From: "3.4.3.5", To: "3.10.0.2"}

	// Unseeded: the floor, and the time the migrations take without data.
	e := upLab(t, opts)
	node := names(e.lab.KongHosts())
	if mt := e.planTimeouts(e.inv); mt.DB != 60 || mt.DBSrc != "sized" || mt.LockSrc != "sized" || mt.Rows["plugins"] > 100 {
		t.Fatalf("unseeded plan: %+v, want the 60s floor", mt)
	}
	r := e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	if r.code != 0 {
		t.Fatalf("unseeded upgrade: %s", r)
	}
	base := migrationSeconds(t, r.stdout)
	e.requireVersion("3.10.0.2", node...)
	if err := e.lab.Down(); err != nil {
		t.Fatal(err)
	}

	// Seeded with 200,000 consumers, credentials and rate-limiting rows.
	opts.Rows = rows
	e = upLab(t, opts)
	node = names(e.lab.KongHosts())
	// ROWS fills consumers, one key-auth credential each, and plugins.
	out, err := e.lab.Exec(t.Context(), e.lab.DBHost().Name, "runuser -u postgres -- psql -X -At -h /run/postgresql -d "+labenv.DBName+
		` -c "SELECT (SELECT count(*) FROM consumers) || '|' || (SELECT count(*) FROM keyauth_credentials) || '|' || (SELECT count(*) FROM plugins WHERE name = 'rate-limiting' AND config ? 'redis_host')"`)
	if err != nil || strings.TrimSpace(out) != "200000|200000|200000" {
		t.Fatalf("consumers|credentials|rate-limiting rows with redis_host: %q %v, want 200000|200000|200000", out, err)
	}
	mt := e.planTimeouts(e.inv)
	wantDB := int64(60 + rows/1000) // 60s + 1ms a row of plugins
	if mt.Rows["plugins"] < rows || mt.DB < wantDB || mt.Lock <= mt.DB || mt.DBSrc != "sized" {
		t.Fatalf("seeded plan: %+v, want --db-timeout >= %ds sized from >= %d plugin rows", mt, wantDB, rows)
	}
	if pr := e.kongctl("plan", "-i", e.inv); !strings.Contains(pr.stdout, "migration timeouts: --db-timeout ") ||
		!strings.Contains(pr.stdout, "(sized), --lock-timeout ") || !strings.Contains(pr.stdout, "rate-limiting/006_350_to_360") {
		t.Errorf("plan text lacks the sized migration timeouts:\n%s", pr.stdout)
	}

	// Too small for the rows: Kong's timeout, then a clean rollback.
	before := e.fingerprint()
	// (writeInventory rewrites the same hosts-e2e.hcl as e.inv.)
	small := e.writeInventory(func(s string) string {
		return strings.Replace(s, "upgrade {\n", "upgrade {\n  migrations_db_timeout   = \"1s\"\n  migrations_lock_timeout = \"15s\"\n", 1)
	})
	if mt := e.planTimeouts(small); mt.DB != 1 || mt.DBSrc != "inventory" || mt.Lock != 15 {
		t.Fatalf("plan with the override: %+v", mt)
	}
	r = e.kongctl("upgrade", "-i", small, "--yes", "--output", "json")
	rep := finalReport(t, r.stdout)
	if r.code == 0 || rep.Outcome != "rolled-back" || !strings.Contains(rep.Error, "kong migrations up") {
		t.Fatalf("upgrade with a 1s --db-timeout: want a rollback after kong migrations up failed: %s", r)
	}
	if msg, ok := rep.finding("migration-timeouts"); !ok || !strings.Contains(msg, "below the sized ones") {
		t.Errorf("no warning for the override below the sized timeouts: %+v", rep.Findings)
	}
	t.Logf("too small: %s", rep.Error)
	if d := diffFingerprints(before, e.fingerprint()); len(d) > 0 {
		t.Fatalf("database after the rollback differs from before: %v", d)
	}
	e.requireVersion("3.4.3.5", node...)
	e.requireServing(node, []route{{"/lab", ""}})

	// Sized (the inventory without the override again): the upgrade goes
	// through and rewrites every row.
	e.inv = e.writeInventory(nil)
	if mt := e.planTimeouts(e.inv); mt.DBSrc != "sized" {
		t.Fatalf("plan without the override: %+v", mt)
	}
	r = e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	if r.code != 0 {
		t.Fatalf("seeded upgrade with the sized timeouts: %s", r)
	}
	seeded := migrationSeconds(t, r.stdout)
	e.requireVersion("3.10.0.2", node...)
	e.requireServing(node, []route{{"/lab", ""}})
	out, err = e.lab.Exec(t.Context(), e.lab.DBHost().Name, "runuser -u postgres -- psql -X -At -h /run/postgresql -d "+labenv.DBName+
		` -c "SELECT count(*) FILTER (WHERE config ? 'redis'), count(*) FILTER (WHERE config ? 'redis_host') FROM plugins WHERE name = 'rate-limiting'"`)
	if err != nil || !strings.HasPrefix(strings.TrimSpace(out), "200000|0") {
		t.Errorf("rate-limiting rows with config.redis | with redis_host after the upgrade: %q %v, want 200000|0", out, err)
	}
	t.Logf("migrate-up + migrate-finish: %.1fs unseeded, %.1fs with %d rows", base, seeded, rows)
	if seeded <= base {
		t.Errorf("migrations over %d rows took %.1fs, not longer than %.1fs without them", rows, seeded, base)
	}
}
