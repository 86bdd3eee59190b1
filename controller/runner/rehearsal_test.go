package runner

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/controller/progress"
)

// rehearsalCluster is a 2-node fleet and a rehearsal host rh-1 without Kong.
func rehearsalCluster(t *testing.T) (*fakeCluster, *Spec) {
	t.Helper()
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "rh-1")
	rh := c.nodes["rh-1"]
	rh.version, rh.running = "", false
	spec := testSpec(t, "kong-1", "kong-2")
	spec.Rehearsal = "rh-1"
	spec.Hosts = append(spec.Hosts, HostSpec{Name: "rh-1", Roles: []string{"rehearsal"}})
	// Installing on the fake sets the node's version (phase_install).
	return c, spec
}

func firstStop(calls []string) int {
	for i, c := range calls {
		if strings.HasPrefix(c, "kong-") && strings.HasSuffix(c, " stop") {
			return i
		}
	}
	return -1
}

// TestRehearsalRunsBeforeTheStop: after the backup and before any node
// stops, Y is installed on the rehearsal host, migrates a scratch copy of
// the backup (timed), starts and answers the smoke requests; the copy is
// dropped, X's database is migrated only by the real run, and the report
// keeps the rehearsal's figures.
func TestRehearsalRunsBeforeTheStop(t *testing.T) {
	c, spec := rehearsalCluster(t)
	c.after = func(call string) {
		if call == "rh-1 migrations up" {
			c.clk.t = c.clk.t.Add(40 * time.Second) // a long rehearsed up
		}
	}
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil || r.Outcome != Succeeded {
		t.Fatalf("upgrade: %v %s %s\ncalls: %q", err, r.Outcome, r.Error, c.Calls())
	}
	calls := c.Calls()
	scratch := scratchName(r.RunID)
	seq := []string{"db backup kong-" + r.RunID + "-pre", "db restore-scratch " + scratch, "rh-1 install 3.4.2", "rh-1 writeconf",
		"rh-1 migrations up", "rh-1 migrations finish", "rh-1 start 3.4.2", "rh-1 probe /lab", "rh-1 metrics", "rh-1 stop",
		"rh-1 exec rm -f -- \"$KONGCTL_KONG_CONF\"", "db drop-scratch " + scratch + " all=false", "kong-1 stop", "kong-1 migrations up"}
	pos := 0
	for _, want := range seq {
		i := indexOfCall(calls, want, pos)
		if i < 0 {
			t.Fatalf("call %q missing or out of order after %d\ncalls: %q", want, pos, calls)
		}
		pos = i + 1
	}
	if len(c.scratch) != 0 {
		t.Errorf("scratch databases left: %v", c.scratch)
	}
	rh := r.Rehearsal
	if rh == nil || !rh.Passed() || rh.Up != 40 || !rh.Dropped || rh.Smoke != 1 || rh.Scratch != scratch {
		t.Fatalf("report's rehearsal: %+v", rh)
	}
	// `kongctl report` rebuilds the figures from the journal.
	if rb := ReportFromJournal(mustRead(t, r.Journal), r.Journal); rb.Rehearsal == nil || *rb.Rehearsal != *rh {
		t.Errorf("rebuilt report's rehearsal %+v, want %+v", rb.Rehearsal, rh)
	}
	// The real run's migrations allow 3 times the rehearsed up.
	var upReq *fleet.MigrationsRequest
	for i, q := range c.migReqs {
		if q.Command == "up" && strings.Contains(q.StepID, "-migrations-up-") {
			upReq = &c.migReqs[i]
		}
	}
	if upReq == nil || upReq.StepTimeout < 120*time.Second || upReq.DBTimeout < 120*time.Second {
		t.Errorf("the real up was not sized from the rehearsal: %+v", upReq)
	}
}

// TestRehearsalFailureRefusesBeforeAnyStop: Y's `migrations finish`
// failing on the scratch copy refuses the upgrade before any node stops,
// with Kong's own output; nothing is rolled back, the copy is dropped.
func TestRehearsalFailureRefusesBeforeAnyStop(t *testing.T) {
	c, spec := rehearsalCluster(t)
	const kongErr = "Error: [PostgreSQL error] failed to run migration '016_280_to_300' teardown: boom"
	c.migOutput["rh-1 migrations finish"] = kongErr
	r, _ := upgrade(context.Background(), spec, testConfig(c))
	if r.Outcome != Failed {
		t.Fatalf("outcome %s, want failed", r.Outcome)
	}
	if !strings.Contains(r.Error, kongErr) || !strings.Contains(r.Error, "rh-1") {
		t.Errorf("error does not carry Kong's output and the host: %s", r.Error)
	}
	calls := c.Calls()
	if i := firstStop(calls); i >= 0 {
		t.Errorf("a node was stopped after a failed rehearsal: %q", calls[i])
	}
	if slices.ContainsFunc(calls, func(s string) bool {
		return strings.HasPrefix(s, "db restore ") || s == "kong-1 migrations up" || s == "kong-1 migrations finish"
	}) {
		t.Errorf("X's fleet or database touched: %q", calls)
	}
	if len(c.scratch) != 0 || r.Rehearsal == nil || r.Rehearsal.Failed != "migrations finish" || !r.Rehearsal.Dropped {
		t.Errorf("scratch %v, rehearsal %+v", c.scratch, r.Rehearsal)
	}
	if c.db.schema != "2.8.4" || c.lock != nil {
		t.Errorf("database schema %s, lock %+v", c.db.schema, c.lock)
	}
}

// TestPlanRehearsal: the plan takes its own backup, rehearses, deletes the
// dump, and builds the expected downtime from the measured times.
func TestPlanRehearsal(t *testing.T) {
	c, spec := rehearsalCluster(t)
	c.after = func(call string) {
		switch call {
		case "rh-1 migrations up":
			c.clk.t = c.clk.t.Add(100 * time.Second)
		case "rh-1 migrations finish":
			c.clk.t = c.clk.t.Add(7 * time.Second)
		}
	}
	p, err := plan(context.Background(), spec, testConfig(c))
	if err != nil || !p.Ready {
		t.Fatalf("plan: %v ready=%v findings %+v", err, p.Ready, p.Findings)
	}
	if p.Rehearsal == nil || p.Rehearsal.Up != 100 || p.Rehearsal.Finish != 7 {
		t.Fatalf("plan's rehearsal: %+v", p.Rehearsal)
	}
	if p.Downtime.Migrations != "measured on a rehearsal" || !strings.Contains(p.Downtime.Basis, "measured on a rehearsal on rh-1") {
		t.Errorf("downtime: %+v", p.Downtime)
	}
	for _, ph := range p.Phases {
		if ph.Name == string(PhaseMigrateUp) && ph.Estimate != 100 || ph.Name == string(PhaseMigrateFinish) && ph.Estimate != 7 {
			t.Errorf("phase %s estimate %v", ph.Name, ph.Estimate)
		}
	}
	calls := c.Calls()
	if !slices.ContainsFunc(calls, func(s string) bool { return strings.HasPrefix(s, "db remove ") || strings.HasPrefix(s, "db delete ") }) {
		t.Errorf("the plan's dump was not deleted: %q", calls)
	}
	if len(c.scratch) != 0 || c.db.schema != "2.8.4" || firstStop(calls) >= 0 {
		t.Errorf("scratch %v, schema %s, calls %q", c.scratch, c.db.schema, calls)
	}

	// Without a rehearsal host the times are estimates.
	c2 := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	p2, err := plan(context.Background(), testSpec(t, "kong-1", "kong-2"), testConfig(c2))
	if err != nil || p2.Downtime.Migrations != "estimate" || p2.Rehearsal != nil {
		t.Errorf("plan without rehearsal host: %v %+v %+v", err, p2.Downtime, p2.Rehearsal)
	}
}

// TestRehearsalWithoutCreateDB: the plan says the rehearsal cannot run and
// why; the upgrade refuses it in preflight unless --no-rehearsal.
func TestRehearsalWithoutCreateDB(t *testing.T) {
	c, spec := rehearsalCluster(t)
	c.noCreateDB = true
	p, err := plan(context.Background(), spec, testConfig(c))
	if err != nil || !p.Ready || p.Rehearsal != nil || p.Downtime.Migrations != "estimate" {
		t.Fatalf("plan: %v ready=%v rehearsal=%+v %+v", err, p.Ready, p.Rehearsal, p.Downtime)
	}
	if !slices.ContainsFunc(p.Findings, func(f Finding) bool {
		return f.Code == "rehearsal-createdb" && f.Severity == SevWarning && strings.Contains(f.Message, "cannot run") && strings.Contains(f.Message, "CREATEDB")
	}) {
		t.Errorf("plan findings: %+v", p.Findings)
	}
	r, _ := upgrade(context.Background(), spec, testConfig(c))
	if r.Outcome != Failed || !strings.Contains(r.Error, "CREATEDB") || firstStop(c.Calls()) >= 0 {
		t.Fatalf("upgrade without CREATEDB: %s %s", r.Outcome, r.Error)
	}
	if !slices.ContainsFunc(r.Findings, func(f Finding) bool { return strings.Contains(f.Fix, "--no-rehearsal") }) {
		t.Errorf("no finding asks for --no-rehearsal: %+v", r.Findings)
	}
	spec2 := *spec
	spec2.NoRehearsal = true
	c2, _ := rehearsalCluster(t)
	c2.noCreateDB = true
	r2, _ := upgrade(context.Background(), &spec2, testConfig(c2))
	if r2.Outcome != Succeeded || slices.ContainsFunc(c2.Calls(), func(s string) bool { return strings.HasPrefix(s, "rh-1") }) {
		t.Errorf("--no-rehearsal: %s %s, calls %q", r2.Outcome, r2.Error, c2.Calls())
	}
}

// TestRehearsalHostChecks: another OS family, no route to the database or
// too little disk refuse the rehearsal host in preflight, naming it.
func TestRehearsalHostChecks(t *testing.T) {
	for _, tc := range []struct {
		name, code string
		set        func(c *fakeCluster)
	}{
		{"os family", "rehearsal-os", func(c *fakeCluster) { c.nodes["rh-1"].pkgFormat = "rpm" }},
		{"database", "rehearsal-database", func(c *fakeCluster) {
			c.fail = func(call string) error {
				if strings.HasPrefix(call, "rh-1 exec ") && strings.Contains(call, "/dev/tcp") {
					return errors.New("connection refused")
				}
				return nil
			}
		}},
		{"unreachable", "rehearsal-unreachable", func(c *fakeCluster) {
			c.fail = func(call string) error {
				if call == "rh-1 connect" {
					return errors.New("dial tcp: no route to host")
				}
				return nil
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, spec := rehearsalCluster(t)
			tc.set(c)
			p, err := plan(context.Background(), spec, testConfig(c))
			if err != nil || p.Ready {
				t.Fatalf("plan ready=%v: %v", p.Ready, err)
			}
			if !slices.ContainsFunc(p.Findings, func(f Finding) bool {
				return f.Code == tc.code && f.Severity == SevError && f.Host == "rh-1" && strings.Contains(f.Message, "rehearsal host rh-1")
			}) {
				t.Errorf("findings: %+v", p.Findings)
			}
		})
	}
}

// TestRehearsalDisk: too little disk on the rehearsal host for Y.
func TestRehearsalDisk(t *testing.T) {
	c, spec := rehearsalCluster(t)
	spec.MinDiskFree = 1 << 40
	spec.Package.Source = "apt"
	p, _ := plan(context.Background(), spec, testConfig(c))
	if !slices.ContainsFunc(p.Findings, func(f Finding) bool { return f.Code == "rehearsal-disk" && f.Host == "rh-1" }) {
		t.Errorf("findings: %+v", p.Findings)
	}
}

// TestResumeDropsTheScratchCopy: a controller killed during the rehearsal
// leaves the scratch database; the resumed run drops it first.
func TestResumeDropsTheScratchCopy(t *testing.T) {
	c, spec := rehearsalCluster(t)
	ctx, cancel := context.WithCancel(context.Background())
	killed := false
	c.after = func(call string) {
		if call == "rh-1 migrations up" {
			killed = true
			cancel()
		}
	}
	c.fail = func(call string) error {
		if killed && strings.HasPrefix(call, "db drop-scratch") {
			return errors.New("the controller is gone")
		}
		return nil
	}
	r, _ := upgrade(ctx, spec, testConfig(c))
	if r.Outcome != Paused || len(c.scratch) != 1 {
		t.Fatalf("outcome %s, scratch %v", r.Outcome, c.scratch)
	}
	c.after, c.fail = nil, nil
	before := len(c.Calls())
	r2, _ := upgrade(context.Background(), spec, runConfig{conn: c, clk: c.clk, yes: true, resume: true})
	if r2.Outcome != Succeeded || len(c.scratch) != 0 {
		t.Fatalf("resume: %s %s, scratch %v", r2.Outcome, r2.Error, c.scratch)
	}
	second := c.Calls()[before:]
	if i, j := indexOfCall(second, "db drop-scratch "+scratchName(r.RunID)+" all=false", 0), indexOfCall(second, "db restore-scratch "+scratchName(r.RunID), 0); i < 0 || j < i {
		t.Errorf("resume did not drop the leftover first: %q", second)
	}
}

func TestConfWithDatabase(t *testing.T) {
	for in, want := range map[string]string{
		"pg_host = db\npg_database = kong\npg_user = kong\n": "pg_host = db\npg_database = kongctl_rehearsal_x\npg_user = kong\n",
		"  pg_database=kong  # prod\n":                       "pg_database = kongctl_rehearsal_x\n",
		"pg_host = db":                                       "pg_host = db\npg_database = kongctl_rehearsal_x\n",
		"#pg_database = kong\n":                              "#pg_database = kong\npg_database = kongctl_rehearsal_x\n",
	} {
		if got := string(confWithDatabase([]byte(in), "kongctl_rehearsal_x")); got != want {
			t.Errorf("confWithDatabase(%q) = %q, want %q", in, got, want)
		}
	}
	if got := scratchName("20261206T151355Z-a1b2c3"); got != "kongctl_rehearsal_20261206t151355z_a1b2c3" {
		t.Errorf("scratchName = %s", got)
	}
}

// TestUnlockDropsTheScratchCopy: `kongctl unlock` of a dead run drops the
// scratch database its rehearsal left.
func TestUnlockDropsTheScratchCopy(t *testing.T) {
	inv := labInventory(t, "pw-123")
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3", "db")
	c.lock = &fleet.LockInfo{RunID: "20261206T151355Z-a1b2c3", Owner: "x@y"}
	c.scratch[scratchName("20261206T151355Z-a1b2c3")] = dbSnap{}
	c.scratch[scratchName("20261206T090000Z-ffffff")] = dbSnap{} // another run's
	if err := Unlock(context.Background(), Options{Inventory: inv, Connector: c}, "20261206T151355Z-a1b2c3"); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.scratch[scratchName("20261206T151355Z-a1b2c3")]; ok || len(c.scratch) != 1 {
		t.Errorf("scratch databases after unlock: %v", c.scratch)
	}
}

// fleetEnv is kong-1's service environment: the database settings and
// the password, a plugin list and an Enterprise license (a secret), and
// systemd's KONG_NGINX_DAEMON=off.
func fleetEnv(c *fakeCluster) {
	n := c.nodes["kong-1"]
	n.envSource = "file /etc/kong/kong.env"
	n.svcEnv = agentproto.KongEnv{"KONG_PG_HOST": "env-db", "KONG_PG_USER": "kong", "KONG_PG_DATABASE": "kong", "KONG_PG_PASSWORD": "env-pg-secret-1",
		"KONG_PLUGINS": "bundled,my-plugin", "KONG_LICENSE_DATA": "license-secret-2", "KONG_NGINX_DAEMON": "off"}
	n.db = []fleet.ConfSetting{{Key: "pg_host", Value: "env-db", Source: "environment (file /etc/kong/kong.env)"},
		{Key: "pg_user", Value: "kong", Source: "environment (file /etc/kong/kong.env)"},
		{Key: "pg_password", Value: "set", Source: "environment (file /etc/kong/kong.env)"}}
}

// TestRehearsalCarriesTheFleetEnv: the migration node takes its database
// settings, plugins and license from its service environment; the
// rehearsal host runs Y with that environment, only the database target
// pointed at the scratch copy, KONG_NGINX_DAEMON left out; the plan has
// measured times; the secrets reach no report, event or journal.
func TestRehearsalCarriesTheFleetEnv(t *testing.T) {
	c, spec := rehearsalCluster(t)
	fleetEnv(c)
	spec.DB = DBSpec{Host: "db.internal", Port: 5433, Name: "kong", User: "kong"}
	var evs eventLog
	cfg := testConfig(c)
	cfg.sink = &evs
	p, err := plan(context.Background(), spec, cfg)
	if err != nil || p.Rehearsal == nil || !p.Rehearsal.Passed() || p.Downtime.Migrations != "measured on a rehearsal" {
		t.Fatalf("plan: %v rehearsal=%+v %+v findings %+v", err, p.Rehearsal, p.Downtime, p.Findings)
	}
	rh := c.nodes["rh-1"]
	want := agentproto.KongEnv{"KONG_PG_HOST": "db.internal", "KONG_PG_PORT": "5433", "KONG_PG_USER": "kong", "KONG_PG_DATABASE": p.Rehearsal.Scratch,
		"KONG_PG_PASSWORD": "env-pg-secret-1", "KONG_PLUGINS": "bundled,my-plugin", "KONG_LICENSE_DATA": "license-secret-2"}
	if !maps.Equal(rh.carried, want) {
		t.Errorf("carried environment %v\nwant %v", rh.carried, want)
	}
	out, _ := json.Marshal(struct {
		P *UpgradePlan
		E []progress.Event
	}{p, evs.evs})
	for _, sec := range []string{"env-pg-secret-1", "license-secret-2"} {
		if strings.Contains(string(out), sec) {
			t.Errorf("%s appears in the plan or its events", sec)
		}
	}

	c2, spec2 := rehearsalCluster(t)
	fleetEnv(c2)
	r, err := upgrade(context.Background(), spec2, testConfig(c2))
	if err != nil || r.Outcome != Succeeded || r.Rehearsal == nil || !r.Rehearsal.Passed() {
		t.Fatalf("upgrade: %v %s %s", err, r.Outcome, r.Error)
	}
	var j []byte
	if err := filepath.WalkDir(r.Journal, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, rerr := os.ReadFile(path)
			j = append(j, b...)
			return rerr
		}
		return err
	}); err != nil || len(j) == 0 {
		t.Fatalf("read the run's journal: %v", err)
	}
	rep, _ := json.Marshal(r)
	for _, sec := range []string{"env-pg-secret-1", "license-secret-2"} {
		if strings.Contains(string(j), sec) || strings.Contains(string(rep), sec) {
			t.Errorf("%s appears in the journal or the report", sec)
		}
	}
}

// Where the node connects as another role than the inventory's database
// user (who owns the scratch copy), the rehearsal connects as the
// inventory's user with its password; a read replica is pointed at the
// copy too.
func TestRehearsalEnvOtherUser(t *testing.T) {
	c, spec := rehearsalCluster(t)
	fleetEnv(c)
	c.nodes["kong-1"].svcEnv["KONG_PG_RO_HOST"] = "replica"
	spec.DB = DBSpec{Host: "db.internal", Name: "kong", User: "kong_owner", Password: func() ([]byte, error) { return []byte("inventory-pw-3"), nil }}
	p, err := plan(context.Background(), spec, testConfig(c))
	if err != nil || p.Rehearsal == nil || !p.Rehearsal.Passed() {
		t.Fatalf("plan: %v %+v %+v", err, p.Rehearsal, p.Findings)
	}
	env := c.nodes["rh-1"].carried
	if env["KONG_PG_USER"] != "kong_owner" || env["KONG_PG_PASSWORD"] != "inventory-pw-3" || env["KONG_PG_PORT"] != "5432" ||
		env["KONG_PG_RO_HOST"] != "db.internal" || env["KONG_PG_RO_DATABASE"] != p.Rehearsal.Scratch {
		t.Errorf("carried environment %v", env)
	}
}

// TestRehearsalRefusedForVaultReferences: what cannot be carried (a value
// of the service environment that is a vault reference, resolved on the
// node): the plan says the rehearsal cannot run and why, and the upgrade
// is refused before any stop unless --no-rehearsal.
func TestRehearsalRefusedForVaultReferences(t *testing.T) {
	vault := func(c *fakeCluster) {
		fleetEnv(c)
		c.nodes["kong-1"].svcEnv["KONG_PG_PASSWORD"] = "{vault://env/pg-password}"
	}
	c, spec := rehearsalCluster(t)
	vault(c)
	p, err := plan(context.Background(), spec, testConfig(c))
	if err != nil || p.Rehearsal != nil || p.Downtime.Migrations != "estimate" {
		t.Fatalf("plan: %v rehearsal=%+v %+v", err, p.Rehearsal, p.Downtime)
	}
	if !slices.ContainsFunc(p.Findings, func(f Finding) bool {
		return f.Code == "rehearsal-env" && f.Severity == SevWarning && strings.Contains(f.Message, "kong-1's service environment (file /etc/kong/kong.env) sets KONG_PG_PASSWORD to a vault reference")
	}) {
		t.Errorf("plan findings: %+v", p.Findings)
	}
	r, _ := upgrade(context.Background(), spec, testConfig(c))
	if r.Outcome != Failed || !strings.Contains(r.Error, "rehearsal") || firstStop(c.Calls()) >= 0 {
		t.Fatalf("upgrade: %s %s", r.Outcome, r.Error)
	}
	spec2 := *spec
	spec2.NoRehearsal = true
	c2, _ := rehearsalCluster(t)
	vault(c2)
	if r2, _ := upgrade(context.Background(), &spec2, testConfig(c2)); r2.Outcome != Succeeded {
		t.Errorf("--no-rehearsal: %s %s", r2.Outcome, r2.Error)
	}
}

// The rehearsal's smoke request is sent again while Y's router is not
// built yet (404 at first), up to the health timeout; past it the
// rehearsal fails at smoke with the last answer.
func TestRehearsalSmokeWaitsForTheRouter(t *testing.T) {
	c, spec := rehearsalCluster(t)
	c.nodes["rh-1"].notRouted = 3
	p, err := plan(context.Background(), spec, testConfig(c))
	if err != nil || p.Rehearsal == nil || !p.Rehearsal.Passed() || p.Rehearsal.Smoke != 1 {
		t.Fatalf("plan: %v %+v", err, p.Rehearsal)
	}
	if n := countCalls(c.Calls(), func(s string) bool { return s == "rh-1 probe /lab" }); n != 4 {
		t.Errorf("%d smoke requests, want 4 (3 not routed, then 200)", n)
	}
	c, spec = rehearsalCluster(t)
	c.nodes["rh-1"].notRouted = 1 << 20
	p, _ = plan(context.Background(), spec, testConfig(c))
	if p.Rehearsal == nil || p.Rehearsal.Failed != "smoke" || !strings.Contains(p.Rehearsal.Error, "status 404, want 200") || !p.Rehearsal.Dropped {
		t.Fatalf("a router never built: %+v", p.Rehearsal)
	}
}
