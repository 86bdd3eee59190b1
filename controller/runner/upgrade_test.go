package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/inventory"

	"github.com/kongctl/kongctl/controller/journal"
	"github.com/kongctl/kongctl/controller/progress"
)

func TestUpgradeRunsKongStepsInOrder(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	spec := testSpec(t)
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != Succeeded {
		t.Fatalf("outcome %s: %s (rollback: %s)\ncalls: %q", r.Outcome, r.Error, r.RollbackError, c.Calls())
	}
	calls := c.Calls()
	// Kong's in-place procedure, in order, around the migration node
	// (kong-1): it stops first and gets Y while the others still serve.
	seq := []string{
		"kong-1 stage 3.4.2", "lock acquire", "db write-signature", "db backup kong-" + r.RunID + "-pre",
		"db verify-restore kong-" + r.RunID + "-pre.dump", "db fetch kong-" + r.RunID + "-pre.dump",
		"kong-1 stop", "kong-1 install 3.4.2", "db write-signature",
		"kong-1 migrations up", "kong-1 migrations finish", "kong-1 start 3.4.2", "lock release",
	}
	pos := 0
	for _, want := range seq {
		i := indexOfCall(calls, want, pos)
		if i < 0 {
			t.Fatalf("call %q missing or out of order after %d\ncalls: %q", want, pos, calls)
		}
		pos = i + 1
	}
	migInstall := indexOfCall(calls, "kong-1 install 3.4.2", 0)
	check := indexOfCall(calls, "db write-signature", migInstall)
	lastStop := max(indexOfCall(calls, "kong-2 stop", 0), indexOfCall(calls, "kong-3 stop", 0))
	for _, h := range []string{"kong-2", "kong-3"} {
		if st := indexOfCall(calls, h+" stop", 0); st < migInstall || st > check {
			t.Errorf("%s stopped at %d: want after Y went on the migration node (%d) and before the write check (%d)", h, st, migInstall, check)
		}
	}
	finish := indexOfCall(calls, "kong-1 migrations finish", 0)
	for _, h := range spec.Nodes {
		inst := indexOfCall(calls, h+" install 3.4.2", 0)
		if h != "kong-1" && inst < lastStop {
			t.Errorf("%s installed at %d: want after the last stop (%d)", h, inst, lastStop)
		}
		st := indexOfCall(calls, h+" start 3.4.2", 0)
		if st < finish || st < inst {
			t.Errorf("%s started at %d, before migrations finish (%d) or its install (%d)", h, st, finish, inst)
		}
		if indexOfCall(calls, h+" stage 2.8.4", 0) < 0 {
			t.Errorf("X package not kept (staged) on %s for rollback", h)
		}
		if indexOfCall(calls, h+" stage 3.4.2", 0) > indexOfCall(calls, "kong-1 stop", 0) {
			t.Errorf("Y not staged on %s before the downtime", h)
		}
	}
	// Migrations on exactly one node.
	for _, cmd := range []string{"up", "finish"} {
		n := countCalls(calls, hasSuffix(" migrations "+cmd))
		if n != 1 || countCalls(calls, func(s string) bool { return s == "kong-1 migrations "+cmd }) != 1 {
			t.Errorf("migrations %s ran %d times; want once, on kong-1", cmd, n)
		}
	}
	for _, h := range []string{"kong-2", "kong-3"} {
		if countCalls(calls, func(s string) bool { return strings.HasPrefix(s, h+" migrations") }) != 0 {
			t.Errorf("%s ran migrations", h)
		}
	}
	if !r.PointOfNoReturn {
		t.Error("report does not mark the point of no return as passed")
	}
	if r.Downtime == nil || r.Downtime.Duration <= 0 {
		t.Errorf("downtime not measured: %+v", r.Downtime)
	}
	if r.Backup == nil || r.Backup.LocalPath == "" || r.Backup.SHA256 == "" {
		t.Errorf("backup not reported with bastion copy and checksum: %+v", r.Backup)
	}
	for _, h := range r.Hosts {
		if h.Version != "3.4.2" || h.FromVersion != "2.8.4" {
			t.Errorf("host %s: %s → %s", h.Name, h.FromVersion, h.Version)
		}
	}
	// Journal: point of no return recorded before finish started.
	recs, err := journal.Read(r.Journal)
	if err != nil {
		t.Fatal(err)
	}
	pnr, fin := -1, -1
	for i, rec := range recs {
		if rec.Step == "point-of-no-return" && pnr < 0 {
			pnr = i
		}
		if rec.Step == "migrate/finish" && rec.Status == journal.Started && fin < 0 {
			fin = i
		}
	}
	if pnr < 0 || fin < 0 || pnr > fin {
		t.Errorf("point of no return at record %d, finish started at %d", pnr, fin)
	}
	if c.lock != nil {
		t.Error("fleet lock not released")
	}
}

func TestStopFollowsUpgradeOrder(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	spec := testSpec(t, "kong-3", "kong-1", "kong-2")
	spec.StopMode = inventory.StopSequential
	r, _ := upgrade(context.Background(), spec, testConfig(c))
	if r.Outcome != Succeeded {
		t.Fatalf("outcome %s: %s", r.Outcome, r.Error)
	}
	var stops []string
	for _, call := range c.Calls() {
		if strings.HasSuffix(call, " stop") {
			stops = append(stops, strings.TrimSuffix(call, " stop"))
		}
	}
	if !slices.Equal(stops, []string{"kong-3", "kong-1", "kong-2"}) {
		t.Errorf("stop order %v", stops)
	}
	if countCalls(c.Calls(), func(s string) bool { return s == "kong-3 migrations up" }) != 1 {
		t.Error("migrations should run on the first node of the order when no migration host is set")
	}
}

// TestRollbackAtEachPhase fails each phase in turn and checks what the
// rollback undid and that the fleet is back on X with the original data.
func TestRollbackAtEachPhase(t *testing.T) {
	tests := []struct {
		name        string
		failOn      string // exact call that fails
		outcome     Outcome
		restore     bool // database restored
		reinstallX  []string
		startX      []string
		stopY       []string
		wantPNR     bool
		wantNoStops bool
	}{
		{name: "backup", failOn: "db fetch", outcome: Failed, wantNoStops: true},
		{name: "stop second node", failOn: "kong-2 stop", outcome: RolledBack, startX: []string{"kong-1", "kong-2"}},
		// The migration node's install fails while the others still serve X.
		{name: "install", failOn: "kong-1 install 3.4.2", outcome: RolledBack, reinstallX: []string{"kong-1"}, startX: []string{"kong-1"}},
		{name: "migrate up", failOn: "kong-1 migrations up", outcome: RolledBack, restore: true, reinstallX: []string{"kong-1", "kong-2", "kong-3"}, startX: []string{"kong-1", "kong-2", "kong-3"}},
		{name: "migrate finish", failOn: "kong-1 migrations finish", outcome: RolledBack, restore: true, wantPNR: true, reinstallX: []string{"kong-1", "kong-2", "kong-3"}, startX: []string{"kong-1", "kong-2", "kong-3"}},
		{name: "start", failOn: "kong-3 start 3.4.2", outcome: RolledBack, restore: true, wantPNR: true, reinstallX: []string{"kong-1", "kong-2", "kong-3"}, startX: []string{"kong-1", "kong-2", "kong-3"}, stopY: []string{"kong-1", "kong-2", "kong-3"}},
		{name: "verify smoke", failOn: "kong-2 probe /lab", outcome: RolledBack, restore: true, wantPNR: true, reinstallX: []string{"kong-1", "kong-2", "kong-3"}, startX: []string{"kong-1", "kong-2", "kong-3"}, stopY: []string{"kong-1", "kong-2", "kong-3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
			c.fail = func(call string) error {
				if strings.HasPrefix(call, tt.failOn) {
					return errors.New("injected failure: " + call)
				}
				return nil
			}
			before := c.fingerprint()
			r, err := upgrade(context.Background(), testSpec(t), testConfig(c))
			if err != nil {
				t.Fatal(err)
			}
			c.fail = nil
			if r.Outcome != tt.outcome {
				t.Fatalf("outcome %s, want %s (error %q, rollback %q)", r.Outcome, tt.outcome, r.Error, r.RollbackError)
			}
			calls := c.Calls()
			restored := countCalls(calls, func(s string) bool { return strings.HasPrefix(s, "db restore") }) > 0
			if restored != tt.restore {
				t.Errorf("database restored = %v, want %v", restored, tt.restore)
			}
			if after := c.fingerprint(); !after.Equal(before) {
				t.Errorf("database after rollback %s, before upgrade %s", after.Sum, before.Sum)
			}
			failAt := indexOfCall(calls, tt.failOn, 0)
			for _, h := range tt.reinstallX {
				// The window installs Y on the other nodes beside the
				// migration chain: a node whose Y install had not begun
				// when the chain failed needs no X (every node's version
				// is checked below).
				if indexOfCall(calls, h+" install 3.4.2", 0) < 0 {
					continue
				}
				if indexOfCall(calls, h+" install 2.8.4", failAt) < 0 {
					t.Errorf("X not reinstalled on %s", h)
				}
			}
			for _, h := range tt.startX {
				if indexOfCall(calls, h+" start 2.8.4", failAt) < 0 {
					t.Errorf("X not started on %s", h)
				}
			}
			for _, h := range tt.stopY {
				if indexOfCall(calls, h+" stop", failAt) < 0 {
					t.Errorf("Y not stopped on %s", h)
				}
			}
			if tt.wantNoStops && countCalls(calls, hasSuffix(" stop")) != 0 {
				t.Errorf("nodes were stopped: %q", calls)
			}
			for name, n := range c.nodes {
				if n.version != "2.8.4" {
					t.Errorf("%s left on %s", name, n.version)
				}
				if !n.running {
					t.Errorf("%s left stopped", name)
				}
			}
			if r.PointOfNoReturn != tt.wantPNR {
				t.Errorf("PointOfNoReturn = %v, want %v", r.PointOfNoReturn, tt.wantPNR)
			}
			if c.lock != nil {
				t.Error("fleet lock still held after the rollback")
			}
		})
	}
}

func TestPauseOnFailure(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	c.fail = func(call string) error {
		if call == "kong-1 migrations up" {
			return errors.New("db timeout")
		}
		return nil
	}
	spec := testSpec(t, "kong-1", "kong-2")
	spec.OnFailure = "pause"
	r, _ := upgrade(context.Background(), spec, testConfig(c))
	if r.Outcome != Paused {
		t.Fatalf("outcome %s", r.Outcome)
	}
	if !strings.Contains(r.Next, "kongctl upgrade -i "+spec.InventoryPath+" --resume") || !strings.Contains(r.Next, "kongctl rollback") {
		t.Errorf("next = %q", r.Next)
	}
	if countCalls(c.Calls(), func(s string) bool {
		return strings.HasPrefix(s, "db restore") || strings.HasSuffix(s, "install 2.8.4")
	}) != 0 {
		t.Error("pause must not roll back")
	}
	if c.lock == nil {
		t.Error("a paused run keeps the fleet lock")
	}
	// Resume after the cause is fixed: finishes without repeating steps.
	c.fail = nil
	before := len(c.Calls())
	r2, err := upgrade(context.Background(), spec, runConfig{conn: c, clk: c.clk, yes: true, resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if r2.Outcome != Succeeded || r2.RunID != r.RunID {
		t.Fatalf("resume outcome %s run %s (first %s): %s", r2.Outcome, r2.RunID, r.RunID, r2.Error)
	}
	second := c.Calls()[before:]
	for _, forbidden := range []string{" stop", "db backup"} {
		if n := countCalls(second, func(s string) bool { return strings.Contains(s, forbidden) }); n != 0 {
			t.Errorf("resume repeated %q %d times: %q", forbidden, n, second)
		}
	}
	// kong-2's install runs beside the chain: the failure may halt the
	// window before it began (then the resume installs it) or after it
	// finished (then the resume must not). Either way each node gets Y
	// exactly once over both runs.
	for _, h := range spec.Nodes {
		if n := countCalls(c.Calls(), func(s string) bool { return s == h+" install 3.4.2" }); n != 1 {
			t.Errorf("%s installed Y %d times over the run and its resume, want 1: %q", h, n, c.Calls())
		}
	}
	if countCalls(second, hasSuffix("migrations up")) != 1 {
		t.Errorf("resume should run the failed migrations up once: %q", second)
	}
}

// TestResumeMidInstall interrupts the run during install (controller
// killed), then resumes: no step repeats, migrations run once.
func TestResumeMidInstall(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	spec := testSpec(t)
	r := interruptAt(t, c, spec, "kong-2 install 3.4.2")
	st := journal.Fold(mustRead(t, r.Journal))
	// The nodes that got Y before the interrupt: journaled done, or a
	// detached install that finished on the node while the controller
	// stopped waiting (the resume attaches to it).
	var doneInstalls []string
	for _, h := range spec.Nodes {
		if c.nodes[h].version == "3.4.2" {
			doneInstalls = append(doneInstalls, h)
		}
	}
	if st.Done("install/kong-2") || st.Status("install/kong-2") == "" {
		t.Fatalf("journal: install/kong-2 = %q", st.Status("install/kong-2"))
	}
	r2, second := resumeSucceeds(t, c, spec)
	for _, s := range second {
		if strings.HasSuffix(s, " stop") || strings.HasPrefix(s, "db backup") || strings.Contains(s, " stage ") {
			t.Errorf("resume repeated %q", s)
		}
	}
	for _, h := range spec.Nodes {
		n := countCalls(second, func(s string) bool { return s == h+" install 3.4.2" })
		want := 1
		if slices.Contains(doneInstalls, h) {
			want = 0
		}
		if n != want {
			t.Errorf("%s installed %d times on resume, want %d", h, n, want)
		}
	}
	all := c.Calls()
	if countCalls(all, hasSuffix("migrations up")) != 1 || countCalls(all, hasSuffix("migrations finish")) != 1 {
		t.Errorf("migrations ran up %d / finish %d times", countCalls(all, hasSuffix("migrations up")), countCalls(all, hasSuffix("migrations finish")))
	}
	if r2.Downtime == nil {
		t.Error("downtime not measured across the resume")
	}
}

// TestResumeAfterUpAppliedNotJournaled: the controller died after `up`
// changed the database but before the journal said so. Resume re-checks
// the state (list exits 4) and does not run up again.
func TestResumeAfterUpAppliedNotJournaled(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	spec := testSpec(t, "kong-1", "kong-2")
	ctx, cancel := context.WithCancel(context.Background())
	c.after = func(call string) {
		if call == "kong-1 migrations up" {
			cancel()
		}
	}
	r, _ := upgrade(ctx, spec, testConfig(c))
	if r.Outcome != Paused {
		t.Fatalf("outcome %s", r.Outcome)
	}
	c.after = nil
	if st := journal.Fold(mustRead(t, r.Journal)); st.Done("migrate/up") {
		t.Fatal("test setup: migrate/up should not be journaled done")
	}
	before := len(c.Calls())
	r2, _ := upgrade(context.Background(), spec, runConfig{conn: c, clk: c.clk, yes: true, resume: true})
	if r2.Outcome != Succeeded {
		t.Fatalf("resume: %s %s", r2.Outcome, r2.Error)
	}
	second := c.Calls()[before:]
	if n := countCalls(second, hasSuffix("migrations up")); n != 0 {
		t.Errorf("migrations up re-run %d times on resume", n)
	}
	if n := countCalls(second, hasSuffix("migrations finish")); n != 1 {
		t.Errorf("migrations finish ran %d times on resume", n)
	}
}

// A resume finding pending and new migrations at once (list exits 4 for
// both: what an up still running detached, or cut off, leaves) must not
// take up as applied: it re-attaches to the up step (the same step id)
// and runs finish only after it.
func TestResumeWhileUpStillRuns(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	spec := testSpec(t, "kong-1", "kong-2")
	interruptAt(t, c, spec, "kong-1 migrations up")
	c.listQueue = []fleet.SchemaState{{ExitCode: 4, Pending: []string{"core:016_280_to_300"}, New: []string{"core:017_300_to_310"}}}
	before := len(c.migReqs)
	_, second := resumeSucceeds(t, c, spec)
	up, finish := indexOfCall(second, "kong-1 migrations up", 0), indexOfCall(second, "kong-1 migrations finish", 0)
	if up < 0 || finish < up {
		t.Errorf("resume: up at %d, finish at %d: want up re-attached before finish\n%s", up, finish, strings.Join(second, "\n"))
	}
	for _, req := range c.migReqs[before:] {
		if req.Command == "up" && !strings.HasSuffix(req.StepID, "-migrations-up-1") {
			t.Errorf("resume ran up under step %q, want the interrupted run's first (re-attach)", req.StepID)
		}
	}
}

// interruptAt runs an upgrade whose controller is interrupted (its context
// cancelled) at call; the run must pause.
func interruptAt(t *testing.T, c *fakeCluster, spec *Spec, at string) *Report {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.fail = func(call string) error {
		if call == at {
			cancel()
			return context.Canceled
		}
		return nil
	}
	r, _ := upgrade(ctx, spec, testConfig(c))
	c.fail = nil
	if r.Outcome != Paused {
		t.Fatalf("run interrupted at %q: outcome %s, want paused", at, r.Outcome)
	}
	return r
}

// resumeSucceeds resumes the latest run on c, which must succeed, and
// returns its report and the calls it made.
func resumeSucceeds(t *testing.T, c *fakeCluster, spec *Spec) (*Report, []string) {
	t.Helper()
	before := len(c.Calls())
	r, err := upgrade(context.Background(), spec, runConfig{conn: c, clk: c.clk, yes: true, resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != Succeeded {
		t.Fatalf("resume: %s %s", r.Outcome, r.Error)
	}
	return r, c.Calls()[before:]
}

func mustRead(t *testing.T, dir string) []journal.Record {
	t.Helper()
	recs, err := journal.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestLockHeldIsRefused(t *testing.T) {
	for _, stale := range []bool{false, true} {
		c := newFakeCluster(t, "2.8.4", "kong-1")
		now := c.clk.Now()
		other := fleet.LockInfo{RunID: "20260301T090000Z-other", Owner: "ops@bastion2", Acquired: now.Add(-time.Hour), Heartbeat: now.Add(-10 * time.Second), Expires: now.Add(time.Minute)}
		if stale {
			other.Heartbeat, other.Expires = now.Add(-30*time.Minute), now.Add(-28*time.Minute)
		}
		c.lock = &other
		// The other run has stopped the node: a finding of its own, which
		// must not hide the lock in the run's error.
		c.nodes["kong-1"].running = false
		c.nodes["kong-1"].version = "3.4.2"
		r, _ := upgrade(context.Background(), testSpec(t, "kong-1"), testConfig(c))
		if r.Outcome != Failed {
			t.Fatalf("stale=%v: outcome %s", stale, r.Outcome)
		}
		if !strings.Contains(r.Error, "first: ") || !strings.Contains(r.Error[strings.Index(r.Error, "first: "):], other.RunID) {
			t.Errorf("stale=%v: the run's error does not name the lock first: %s", stale, r.Error)
		}
		if c.lock == nil || c.lock.RunID != other.RunID {
			t.Errorf("stale=%v: the other run's lock was taken over or removed: %+v", stale, c.lock)
		}
		if n := countCalls(c.Calls(), func(s string) bool { return strings.HasSuffix(s, " stop") || strings.HasPrefix(s, "db backup") }); n != 0 {
			t.Errorf("stale=%v: run went on despite the lock", stale)
		}
		wantCode, wantFix := "fleet-lock-held", "wait"
		if stale {
			wantCode, wantFix = "fleet-lock-stale", "kongctl unlock -i "
		}
		found := false
		for _, f := range r.Findings {
			if f.Code == wantCode && strings.Contains(f.Fix, wantFix) && strings.Contains(f.Message, other.RunID) {
				found = true
			}
		}
		if !found {
			t.Errorf("stale=%v: no %s finding with %q in the fix: %+v", stale, wantCode, wantFix, r.Findings)
		}
	}
}

func TestBackupRetakenWhenWritesSlipIn(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	writeAfterFirstBackup(c)
	// Fail late so the rollback restores the kept backup.
	c.fail = func(call string) error {
		if call == "kong-2 start 3.4.2" {
			return errors.New("nginx failed")
		}
		return nil
	}
	withWrite := dbSnap{schema: "2.8.4", writes: 11}
	r, _ := upgrade(context.Background(), testSpec(t, "kong-1", "kong-2"), testConfig(c))
	if r.Outcome != RolledBack {
		t.Fatalf("outcome %s: %s / %s", r.Outcome, r.Error, r.RollbackError)
	}
	if n := countCalls(c.Calls(), func(s string) bool { return strings.HasPrefix(s, "db backup ") }); n != 2 {
		t.Errorf("backups taken: %d, want 2", n)
	}
	if r.Backup == nil || !strings.HasSuffix(r.Backup.Path, "-final.dump") {
		t.Errorf("kept backup %+v, want the one taken after the stop", r.Backup)
	}
	if c.db != withWrite {
		t.Errorf("database after rollback %+v: the write accepted before the stop was lost (want %+v)", c.db, withWrite)
	}
	found := false
	for _, f := range r.Findings {
		found = found || f.Code == "writes-during-freeze"
	}
	if !found {
		t.Error("no writes-during-freeze finding")
	}
}

func TestMigrationsAbortedIsRetriedThenFails(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1")
	c.abort["up"] = 1
	r, _ := upgrade(context.Background(), testSpec(t, "kong-1"), testConfig(c))
	if r.Outcome != Succeeded {
		t.Fatalf("one abort should be retried after the lock TTL: %s %s", r.Outcome, r.Error)
	}
	if n := countCalls(c.Calls(), hasSuffix("migrations up")); n != 2 {
		t.Errorf("up attempts %d, want 2", n)
	}
	c2 := newFakeCluster(t, "2.8.4", "kong-1")
	c2.abort["finish"] = 2
	r2, _ := upgrade(context.Background(), testSpec(t, "kong-1"), testConfig(c2))
	if r2.Outcome != RolledBack || !strings.Contains(r2.Error, "aborted twice") {
		t.Fatalf("outcome %s error %q", r2.Outcome, r2.Error)
	}
}

func TestPreflightFindings(t *testing.T) {
	tests := []struct {
		name  string
		setup func(c *fakeCluster)
		code  string
		fix   string
	}{
		{"pending migrations from an earlier upgrade", func(c *fakeCluster) { c.db.pending = true }, "pending-migrations", "kong migrations finish"},
		{"mixed versions", func(c *fakeCluster) { c.nodes["kong-2"].version = "2.8.3" }, "mixed-versions", ""},
		{"plugins differ", func(c *fakeCluster) { c.nodes["kong-2"].plugins = []string{"key-auth"} }, "plugins", ""},
		{"breaking conf", func(c *fakeCluster) { c.nodes["kong-1"].conf["pg_ssl_version"] = "tlsv1" }, "kong-conf", "tlsv1_2"},
		{"live migration lock", func(c *fakeCluster) {
			c.migLock = fleet.MigrationLock{Held: true, Owner: "x", Expires: c.clk.t.Add(time.Minute)}
		}, "migration-lock", ""},
		{"unreachable", func(c *fakeCluster) {
			c.fail = func(call string) error {
				if call == "kong-2 connect" {
					return errors.New("dial tcp: connection refused")
				}
				return nil
			}
		}, "unreachable", ""},
		{"path", func(c *fakeCluster) {
			// A chain is run in one window (hops_test.go); a downgrade
			// has no path at all.
			for _, n := range c.nodes {
				n.version = "3.5.0"
			}
			c.db.schema = "3.5.0"
		}, "upgrade-path", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
			tt.setup(c)
			spec := testSpec(t, "kong-1", "kong-2")
			spec.From = ""
			p, err := plan(context.Background(), spec, testConfig(c))
			if err != nil {
				t.Fatal(err)
			}
			if p.Ready {
				t.Fatal("plan is ready despite the problem")
			}
			ok := false
			for _, f := range p.Findings {
				if f.Code == tt.code && f.Severity == SevError && strings.Contains(f.Fix, tt.fix) {
					ok = true
				}
			}
			if !ok {
				t.Errorf("no error finding %s with fix %q: %+v", tt.code, tt.fix, p.Findings)
			}
			if n := countCalls(c.Calls(), func(s string) bool {
				return strings.HasSuffix(s, " stop") || strings.Contains(s, " stage ") || strings.HasPrefix(s, "lock") || strings.HasPrefix(s, "db backup")
			}); n != 0 {
				t.Errorf("plan changed something: %q", c.Calls())
			}
			// And the upgrade refuses before any change.
			c.fail = nil
			if tt.name == "unreachable" {
				return
			}
			r, _ := upgrade(context.Background(), spec, testConfig(c))
			if r.Outcome != Failed || countCalls(c.Calls(), hasSuffix(" stop")) != 0 {
				t.Errorf("upgrade outcome %s with stops", r.Outcome)
			}
		})
	}
}

func TestPlanReadyMarksPointOfNoReturn(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	p, err := plan(context.Background(), testSpec(t, "kong-1", "kong-2"), testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Ready {
		t.Fatalf("not ready: %+v", p.Findings)
	}
	var names []string
	for _, ph := range p.Phases {
		names = append(names, ph.Name)
		if ph.Name == string(PhaseMigrateFinish) && (!ph.PointOfNoReturn || ph.Reversible) {
			t.Error("finish not marked as the point of no return")
		}
		if ph.Name == string(PhaseMigrateUp) && !ph.Reversible {
			t.Error("up should be reversible")
		}
	}
	want := "preflight lock backup hooks-before-stop stop backup-check hooks-after-stop install migrate-up migrate-finish start hooks-after-start verify cleanup"
	if strings.Join(names, " ") != want {
		t.Errorf("phases %v", names)
	}
	if p.Downtime.Expected <= 0 || p.Downtime.Worst < p.Downtime.Expected {
		t.Errorf("downtime estimate %+v", p.Downtime)
	}
	if i := slices.IndexFunc(p.Phases, func(ph PlanPhase) bool { return ph.PointOfNoReturn }); i < 0 || p.Phases[i].Name != string(PhaseMigrateFinish) {
		t.Errorf("no point of no return at migrate-finish: %+v", p.Phases)
	}
}

func TestHybridDataPlaneCompatibility(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "cp-1", "dp-1")
	c.dps = []fleet.DataPlane{{ID: "x", Hostname: "dp-remote", IP: "198.18.0.99", Version: "2.8.4"}}
	spec := testSpec(t, "cp-1")
	spec.Hosts = []HostSpec{{Name: "cp-1", Roles: []string{"control_plane"}}, {Name: "dp-1", Address: "198.18.0.21", Roles: []string{"data_plane"}}}
	spec.DataPlanes = []string{"dp-1"}
	p, _ := plan(context.Background(), spec, testConfig(c))
	var hosts []string
	for _, f := range p.Findings {
		if f.Code == "hybrid-compat" && f.Severity == SevError {
			hosts = append(hosts, f.Host)
		}
	}
	if !slices.Contains(hosts, "dp-1") || !slices.Contains(hosts, "dp-remote (198.18.0.99)") {
		t.Errorf("incompatible DPs reported: %v (findings %+v)", hosts, p.Findings)
	}
}

func TestNoSecretInEventsOrReports(t *testing.T) {
	const secret = "s3cr3t-Pa55word"
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	c.fail = func(call string) error {
		if call == "kong-2 install 3.4.2" {
			return errors.New("dpkg: postinst: connect pg_password=" + secret + " failed; PGPASSWORD: other-secret-x")
		}
		return nil
	}
	spec := testSpec(t, "kong-1", "kong-2")
	spec.DB.Password = func() ([]byte, error) { return []byte(secret), nil }
	var events bytes.Buffer
	cfg := testConfig(c)
	cfg.sink = progress.NewJSON(&events)
	r, _ := upgrade(context.Background(), spec, cfg)
	if r.Outcome != RolledBack {
		t.Fatalf("outcome %s", r.Outcome)
	}
	js, _ := json.Marshal(r)
	recs, _ := journal.Read(r.Journal)
	var jr bytes.Buffer
	for _, rec := range recs {
		jr.WriteString(rec.Error)
	}
	for name, out := range map[string]string{"events": events.String(), "report": string(js), "journal": jr.String()} {
		if strings.Contains(out, secret) || strings.Contains(out, "other-secret-x") {
			t.Errorf("%s contains a secret:\n%s", name, out)
		}
		if name != "journal" && !strings.Contains(out, redacted) {
			t.Errorf("%s: the failing step's error should still be shown, redacted", name)
		}
	}
}

func TestRollbackOnDemandAfterSuccess(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	spec := testSpec(t, "kong-1", "kong-2")
	before := c.fingerprint()
	r, _ := upgrade(context.Background(), spec, testConfig(c))
	if r.Outcome != Succeeded {
		t.Fatal(r.Error)
	}
	if _, err := rollbackRun(context.Background(), spec, runConfig{conn: c, clk: c.clk}); err == nil {
		t.Fatal("rolling back a succeeded run without --yes should be refused")
	}
	rb, err := rollbackRun(context.Background(), spec, runConfig{conn: c, clk: c.clk, yes: true})
	if err != nil {
		t.Fatal(err)
	}
	if rb.Outcome != RolledBack {
		t.Fatalf("outcome %s: %s", rb.Outcome, rb.RollbackError)
	}
	if !c.fingerprint().Equal(before) {
		t.Error("database not restored to the pre-upgrade state")
	}
	for name, n := range c.nodes {
		if n.version != "2.8.4" || !n.running {
			t.Errorf("%s: %s running=%v", name, n.version, n.running)
		}
	}
	if _, err := rollbackRun(context.Background(), spec, runConfig{conn: c, clk: c.clk, yes: true}); err == nil {
		t.Error("a second rollback of the same run should be refused")
	}
}

func TestNewHostsMode(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "new-1", "new-2")
	for _, n := range []string{"new-1", "new-2"} {
		c.nodes[n].version, c.nodes[n].running = "", false
	}
	spec := testSpec(t, "kong-1", "kong-2")
	spec.Spares, spec.NewHosts = []string{"new-1", "new-2"}, true
	r, _ := upgrade(context.Background(), spec, testConfig(c))
	if r.Outcome != Succeeded {
		t.Fatalf("%s: %s", r.Outcome, r.Error)
	}
	calls := c.Calls()
	firstStop := indexOfCall(calls, "kong-1 stop", 0)
	for _, n := range []string{"new-1", "new-2"} {
		if i := indexOfCall(calls, n+" install 3.4.2", 0); i < 0 || i > firstStop {
			t.Errorf("%s not prepared before the stop", n)
		}
	}
	if countCalls(calls, func(s string) bool { return strings.HasPrefix(s, "kong-") && strings.Contains(s, "install") }) != 0 {
		t.Error("old hosts must keep X installed")
	}
	if indexOfCall(calls, "new-1 migrations up", 0) < 0 {
		t.Error("migrations should run on the first new host")
	}
	if c.nodes["kong-1"].running || c.nodes["kong-1"].version != "2.8.4" {
		t.Error("old hosts should be stopped with X installed")
	}
}

func TestVerifySkipsSmokeOnControlPlanes(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "cp-1", "cp-2")
	spec := testSpec(t, "cp-1", "cp-2")
	for i := range spec.Hosts {
		spec.Hosts[i].Roles = []string{"control_plane"}
	}
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil || r.Outcome != Succeeded {
		t.Fatalf("upgrade: %v, outcome %s (%s)", err, r.Outcome, r.Error)
	}
	if n := countCalls(c.Calls(), func(s string) bool { return strings.Contains(s, " probe ") }); n != 0 {
		t.Errorf("%d smoke requests sent through control planes, which do not proxy", n)
	}
}
