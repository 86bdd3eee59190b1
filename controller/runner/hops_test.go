package runner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/controller/journal"
)

// hopsFleet is an Enterprise fleet on 3.4.3.5 with packages for 3.10.0.2
// (an older 3.10 beside it) and 3.14.0.1: two LTS hops away.
func hopsFleet(t *testing.T, nodes ...string) (*fakeCluster, *Spec) {
	t.Helper()
	c := newFakeCluster(t, "3.4.3.5", nodes...)
	for _, n := range c.nodes {
		n.edition = "enterprise"
	}
	spec := testSpec(t, nodes...)
	spec.From, spec.To, spec.Edition = "3.4.3.5", "3.14.0.1", "enterprise"
	for _, v := range []string{"3.4.3.5", "3.10.0.1", "3.10.0.2", "3.14.0.1"} {
		if err := os.WriteFile(filepath.Join(spec.Package.Dir, "kong-enterprise-edition_"+v+"_amd64.deb"), []byte("pkg "+v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return c, spec
}

func TestHopsInOneWindow(t *testing.T) {
	c, spec := hopsFleet(t, "kong-1", "kong-2", "kong-3")
	r := upgradeExpect(t, c, spec, Succeeded)
	calls := c.Calls()
	// One backup, one stop per node, one start per node.
	if n := countCalls(calls, func(s string) bool { return strings.HasPrefix(s, "db backup") }); n != 1 {
		t.Errorf("%d backups, want 1: %q", n, calls)
	}
	for _, h := range spec.Nodes {
		if n := countCalls(calls, func(s string) bool { return s == h+" stop" }); n != 1 {
			t.Errorf("%s stopped %d times, want 1", h, n)
		}
		if n := countCalls(calls, func(s string) bool { return strings.HasPrefix(s, h+" start ") }); n != 1 {
			t.Errorf("%s started %d times, want 1 (never on the intermediate version)", h, n)
		}
		if v := c.nodes[h].version; v != "3.14.0.1" {
			t.Errorf("%s runs %s, want 3.14.0.1", h, v)
		}
	}
	// The intermediate version (the newest 3.10 package) is staged and
	// installed on the migration node only, then migrated to, in order.
	for _, h := range []string{"kong-2", "kong-3"} {
		if n := countCalls(calls, func(s string) bool { return strings.HasPrefix(s, h+" ") && strings.Contains(s, "3.10.") }); n != 0 {
			t.Errorf("%s touched an intermediate version: %q", h, calls)
		}
	}
	requireCallOrder(t, calls, "kong-1 stage 3.10.0.2", "kong-1 stop", "kong-1 install 3.10.0.2", "kong-1 migrations up", "kong-1 migrations finish", "kong-1 install 3.14.0.1", "kong-1 migrations up", "kong-1 migrations finish", "kong-1 start 3.14.0.1")
	if c.db.schema != "3.14.0.1" || c.db.pending {
		t.Errorf("database at %s (pending %v), want 3.14.0.1 finished", c.db.schema, c.db.pending)
	}
	// Each migrations step has its own detached step id per hop.
	ids := map[string]bool{}
	for _, req := range c.migReqs {
		if req.StepID != "" {
			if ids[req.StepID] {
				t.Errorf("step id %s used twice", req.StepID)
			}
			ids[req.StepID] = true
		}
	}
	if len(r.Hops) != 2 || r.Hops[0].From != "3.4.3.5" || r.Hops[0].To != "3.10.0.2" || r.Hops[1].To != "3.14.0.1" {
		t.Fatalf("report hops %+v", r.Hops)
	}
	for _, h := range r.Hops {
		if !h.Done || len(h.Pending) == 0 {
			t.Errorf("hop %s → %s: done %v, pending after up %v", h.From, h.To, h.Done, h.Pending)
		}
	}
	if !r.PointOfNoReturn {
		t.Error("point of no return not reported")
	}
}

func TestHopsPlan(t *testing.T) {
	c, spec := hopsFleet(t, "kong-1", "kong-2")
	p, err := plan(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Ready {
		t.Fatalf("plan not ready: %+v", p.Findings)
	}
	if len(p.Hops) != 2 || p.Hops[0].To != "3.10.0.2" || p.Hops[0].Package != "kong-enterprise-edition_3.10.0.2_amd64.deb" || p.Hops[1].From != "3.10.0.2" || p.Hops[1].Kind != "lts" || p.Hops[0].Migrations == "" {
		t.Fatalf("plan hops %+v", p.Hops)
	}
	// The expected downtime counts the intermediate hop's migrations.
	c1, spec1 := hopsFleet(t, "kong-1", "kong-2")
	spec1.To = "3.10.0.2"
	p1, err := plan(context.Background(), spec1, testConfig(c1))
	if err != nil {
		t.Fatal(err)
	}
	extra := p.Downtime.Expected - p1.Downtime.Expected
	want := (typical[PhaseMigrateUp] + typical[PhaseMigrateFinish] + typical[PhaseInstall]).Seconds()
	if extra != want {
		t.Errorf("two hops expect %.0fs of downtime, one hop %.0fs: %.0fs more, want %.0fs", p.Downtime.Expected, p1.Downtime.Expected, extra, want)
	}
	if len(p1.Hops) != 0 {
		t.Errorf("one hop lists hops: %+v", p1.Hops)
	}
	if n := countCalls(c.Calls(), func(s string) bool { return strings.Contains(s, " stage ") }); n != 0 {
		t.Errorf("plan staged packages: %q", c.Calls())
	}
}

func TestHopsMissingIntermediatePackage(t *testing.T) {
	c, spec := hopsFleet(t, "kong-1", "kong-2")
	for _, v := range []string{"3.10.0.1", "3.10.0.2"} {
		os.Remove(filepath.Join(spec.Package.Dir, "kong-enterprise-edition_"+v+"_amd64.deb"))
	}
	if r := upgradeExpect(t, c, spec, Failed); !strings.Contains(r.Error, "kong-enterprise-edition 3.10.x") {
		t.Fatalf("error %q: want refused naming the 3.10 package", r.Error)
	}
	if n := countCalls(c.Calls(), func(s string) bool { return strings.HasSuffix(s, " stop") || strings.Contains(s, " stage ") }); n != 0 {
		t.Errorf("refused run changed something: %q", c.Calls())
	}
}

func TestHopsNoPathRefusedBeforeAnyHost(t *testing.T) {
	for _, to := range []string{"3.20.0", "3.2.0"} {
		c, spec := hopsFleet(t, "kong-1")
		spec.To = to
		_, err := upgrade(context.Background(), spec, testConfig(c))
		if err == nil || !strings.Contains(err.Error(), "nearest valid target") {
			t.Errorf("to %s: %v, want refused naming the nearest valid target", to, err)
		}
		if len(c.Calls()) != 0 {
			t.Errorf("to %s: hosts reached: %q", to, c.Calls())
		}
	}
}

// A failure in either hop's `migrations up` restores the one backup and
// puts X back everywhere.
func TestHopsRollback(t *testing.T) {
	for _, failAt := range []int{1, 2} {
		c, spec := hopsFleet(t, "kong-1", "kong-2", "kong-3")
		before := c.fingerprint()
		ups := 0
		c.fail = func(call string) error {
			if call == "kong-1 migrations up" {
				if ups++; ups == failAt {
					return errors.New("migration exploded")
				}
			}
			return nil
		}
		upgradeExpect(t, c, spec, RolledBack)
		for _, h := range spec.Nodes {
			if v := c.nodes[h].version; v != "3.4.3.5" || !c.nodes[h].running {
				t.Errorf("fail in hop %d: %s on %s (running %v), want 3.4.3.5 running", failAt, h, v, c.nodes[h].running)
			}
		}
		if !c.fingerprint().Equal(before) {
			t.Errorf("fail in hop %d: database %+v, want the pre-upgrade %+v", failAt, c.fingerprint(), before)
		}
		if c.db.schema != "3.4.3.5" {
			t.Errorf("fail in hop %d: database schema %s", failAt, c.db.schema)
		}
	}
}

// `kongctl rollback` of a run paused in the intermediate hop finds the
// hop in the journal: the database restored, X back on the migration node.
func TestHopsRollbackOnDemand(t *testing.T) {
	c, spec := hopsFleet(t, "kong-1", "kong-2")
	before := c.fingerprint()
	spec.OnFailure = OnFailurePause
	c.fail = func(call string) error {
		if call == "kong-1 migrations finish" {
			return errors.New("teardown failed")
		}
		return nil
	}
	upgradeExpect(t, c, spec, Paused)
	r, err := rollbackRun(context.Background(), spec, testConfig(c))
	if err != nil || r.Outcome != RolledBack {
		t.Fatalf("rollback: %v %s %s %s", err, r.Outcome, r.Error, r.RollbackError)
	}
	if !r.PointOfNoReturn {
		t.Error("the hop's finish started: the point of no return was passed")
	}
	for _, h := range spec.Nodes {
		if v := c.nodes[h].version; v != "3.4.3.5" || !c.nodes[h].running {
			t.Errorf("%s on %s (running %v)", h, v, c.nodes[h].running)
		}
	}
	if !c.fingerprint().Equal(before) {
		t.Errorf("database %+v, want %+v", c.fingerprint(), before)
	}
}

// A controller that dies between the hops resumes at the next hop:
// nothing of the first hop runs again.
func TestHopsResumeBetweenHops(t *testing.T) {
	c, spec := hopsFleet(t, "kong-1", "kong-2", "kong-3")
	interruptAt(t, c, spec, "kong-1 install 3.14.0.1")
	st := journal.Fold(mustRead(t, mustLatest(t, spec)))
	if !st.Done("hop/3.10.0.2/migrate/finish") || st.Done("migrate/up") {
		t.Fatalf("journal: hop finish %q, migrate/up %q", st.Status("hop/3.10.0.2/migrate/finish"), st.Status("migrate/up"))
	}
	r, second := resumeSucceeds(t, c, spec)
	for _, s := range second {
		if strings.Contains(s, "3.10.0.2") || strings.HasSuffix(s, " stop") || strings.HasPrefix(s, "db backup") {
			t.Errorf("resume repeated %q", s)
		}
	}
	if n := countCalls(second, hasSuffix("migrations up")); n != 1 {
		t.Errorf("resume ran up %d times, want once (Y's)", n)
	}
	for _, h := range spec.Nodes {
		if v := c.nodes[h].version; v != "3.14.0.1" {
			t.Errorf("%s on %s", h, v)
		}
	}
	if len(r.Hops) != 2 || !r.Hops[0].Done || !r.Hops[1].Done {
		t.Errorf("report hops after resume %+v", r.Hops)
	}
}

func mustLatest(t *testing.T, spec *Spec) string {
	t.Helper()
	dir, err := journal.Latest(spec.StateDir)
	if err != nil || dir == "" {
		t.Fatalf("no journal: %v", err)
	}
	return dir
}

// upgrade.start_between_hops: the migration node runs the intermediate
// version until healthy, then stops, before the next hop; a failure there
// stops it again before the database is restored.
func TestHopsStartBetweenHops(t *testing.T) {
	c, spec := hopsFleet(t, "kong-1", "kong-2")
	spec.StartBetweenHops = true
	upgradeExpect(t, c, spec, Succeeded)
	requireCallOrder(t, c.Calls(), "kong-1 migrations finish", "kong-1 start 3.10.0.2", "kong-1 stop", "kong-1 install 3.14.0.1", "kong-1 migrations up")

	c, spec = hopsFleet(t, "kong-1", "kong-2")
	spec.StartBetweenHops = true
	before := c.fingerprint()
	c.fail = func(call string) error {
		if call == "kong-1 health" && c.nodes["kong-1"].version == "3.10.0.2" {
			return errors.New("not healthy")
		}
		return nil
	}
	upgradeExpect(t, c, spec, RolledBack)
	calls := c.Calls()
	stop := indexOfCall(calls, "kong-1 stop", indexOfCall(calls, "kong-1 start 3.10.0.2", 0))
	restore := slices.IndexFunc(calls, func(s string) bool { return strings.HasPrefix(s, "db restore ") })
	if stop < 0 || restore < 0 || stop > restore {
		t.Errorf("kong-1 stopped at call %d, the database restored at %d: want stopped first: %q", stop, restore, calls)
	}
	for _, h := range spec.Nodes {
		if v := c.nodes[h].version; v != "3.4.3.5" || !c.nodes[h].running {
			t.Errorf("%s on %s (running %v)", h, v, c.nodes[h].running)
		}
	}
	if !c.fingerprint().Equal(before) {
		t.Errorf("database %+v, want %+v", c.fingerprint(), before)
	}
}

// requireCallOrder fails unless calls holds want in this order.
func requireCallOrder(t *testing.T, calls []string, want ...string) {
	t.Helper()
	at := 0
	for _, w := range want {
		i := indexOfCall(calls, w, at)
		if i < 0 {
			t.Fatalf("%q not found after call %d in %q", w, at, calls)
		}
		at = i + 1
	}
}
