package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/kongver"
)

// RowCounts answers from the cluster's rows (tables it lacks are left out,
// as the agent leaves out tables the database does not have).
func (d fakeDB) RowCounts(ctx context.Context, tables []string) (map[string]int64, error) {
	if err := d.c.record("db row-counts " + strings.Join(tables, ",")); err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, t := range tables {
		if n, ok := d.c.rows[t]; ok {
			out[t] = n
		}
	}
	return out, nil
}

func migNames(ms []dataMigration) []string {
	var out []string
	for _, m := range ms {
		if !slices.Contains(out, m.name) {
			out = append(out, m.name)
		}
	}
	return out
}

// The migrations between X and Y: those first shipped after X's minor up
// to Y's, Enterprise ones on Enterprise only.
func TestMigrationsBetween(t *testing.T) {
	v := kongver.MustParse
	if got := migNames(migrationsBetween(v("2.8.4"), v("3.4.2"), false)); !slices.Equal(got, []string{
		"core/016_280_to_300", "pre-function/001_280_to_300", "post-function/001_280_to_300", "http-log/001_280_to_300"}) {
		t.Errorf("2.8 -> 3.4: %q", got)
	}
	got := migNames(migrationsBetween(v("3.4.3.5"), v("3.10.0.2"), true))
	for _, want := range []string{"rate-limiting/006_350_to_360", "enterprise/020_3600_to_3700", "opentelemetry/001_331_to_332", "rate-limiting-advanced/001_370_to_380"} {
		if !slices.Contains(got, want) {
			t.Errorf("EE 3.4 -> 3.10 lacks %s: %q", want, got)
		}
	}
	for _, not := range []string{"core/016_280_to_300", "enterprise/018_3300_to_3400"} {
		if slices.Contains(got, not) {
			t.Errorf("EE 3.4 -> 3.10 has %s (shipped by 3.4 already): %q", not, got)
		}
	}
	if got := migNames(migrationsBetween(v("3.4.2"), v("3.4.3"), false)); len(got) != 0 {
		t.Errorf("a patch upgrade: %q", got)
	}
}

// The formula: 60 s floors; 1 ms per row of the largest table for the
// query timeout, per row one command reads for the lock.
func TestSizeMigTimeouts(t *testing.T) {
	migs := migrationsBetween(kongver.MustParse("2.8.4"), kongver.MustParse("3.4.2"), false)
	if db, lock := sizeMigTimeouts(migs, nil); db != 60 || lock != 60 {
		t.Errorf("no rows: %s %s, want the 60s floors", db, lock)
	}
	// plugins: up reads it twice (pre/post-function), finish three times
	// (their teardowns and http-log's); routes once in up.
	db, lock := sizeMigTimeouts(migs, map[string]int64{"plugins": 200000, "routes": 10})
	if db != 260 || lock != 660 {
		t.Errorf("200000 plugins: db %s lock %s, want 260s 660s", db, lock)
	}
	if db, _ := sizeMigTimeouts(migs, map[string]int64{"plugins": 1}); db != 61 {
		t.Errorf("1 row: %s, want 61s (rounded up)", db)
	}
}

// Preflight counts the rows through the tools host and every `kong
// migrations up/finish` gets the sized --db-timeout and --lock-timeout;
// the step itself stays bounded by the migrations timeout.
func TestUpgradePassesSizedMigrationTimeouts(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	c.rows = map[string]int64{"plugins": 200000, "routes": 10}
	spec := testSpec(t, "kong-1", "kong-2")
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil || r.Outcome != Succeeded {
		t.Fatalf("%v %+v", err, r)
	}
	if !slices.Contains(c.Calls(), "db row-counts plugins,routes,targets") {
		t.Errorf("rows not counted: %q", c.Calls())
	}
	n := 0
	for _, req := range c.migReqs {
		if req.Command != "up" && req.Command != "finish" {
			continue
		}
		n++
		if req.DBTimeout != 260*time.Second || req.LockTimeout != 660*time.Second || req.StepTimeout != spec.Timeouts.Migrations {
			t.Errorf("%s: db %s lock %s step %s", req.Command, req.DBTimeout, req.LockTimeout, req.StepTimeout)
		}
	}
	if n != 2 {
		t.Errorf("up/finish requests: %d", n)
	}
	if hasFinding(r, "migration-timeouts") {
		t.Errorf("a warning for sized timeouts: %+v", r.Findings)
	}
}

// The inventory's values win, a value below the sized one is a warning,
// and the plan shows both, in text and JSON.
func TestPlanShowsMigrationTimeouts(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1")
	c.rows = map[string]int64{"plugins": 200000}
	p, err := plan(context.Background(), testSpec(t, "kong-1"), testConfig(c))
	if err != nil || !p.Ready {
		t.Fatalf("%v %+v", err, p)
	}
	planTextHas(t, p,
		"migration timeouts: --db-timeout 260s (sized), --lock-timeout 660s (sized)",
		"rows: plugins 200000 rows",
		"migrations that rewrite them: core/016_280_to_300, pre-function/001_280_to_300",
		"db-timeout = max(60s, 60s + 1ms x rows of the largest table rewritten)")
	var js bytes.Buffer
	p.WriteJSON(&js)
	var back struct {
		MT map[string]any `json:"migration_timeouts"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.MT["db_timeout_seconds"] != 260.0 || back.MT["lock_timeout_seconds"] != 660.0 || back.MT["db_source"] != "sized" {
		t.Errorf("plan json: %v %v", err, back.MT)
	}

	spec := testSpec(t, "kong-1")
	spec.MigrationsDBTimeout, spec.MigrationsLockTimeout = time.Second, 90*time.Second
	p, err = plan(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	planTextHas(t, p,
		"migration timeouts: --db-timeout 1s (inventory), --lock-timeout 90s (inventory)",
		"sized from the data: --db-timeout 260s, --lock-timeout 660s")
	if f := findingOf(&Report{Findings: p.Findings}, "migration-timeouts"); f == nil || f.Severity != SevWarning || !strings.Contains(f.Message, "below the sized ones") {
		t.Errorf("override below the sized values: %+v", p.Findings)
	}
}

// planTextHas checks that the plan's text holds every line part in wants.
func planTextHas(t *testing.T, p *UpgradePlan, wants ...string) {
	t.Helper()
	var text bytes.Buffer
	p.WriteText(&text)
	for _, want := range wants {
		if !strings.Contains(text.String(), want) {
			t.Errorf("plan text lacks %q:\n%s", want, text.String())
		}
	}
}
