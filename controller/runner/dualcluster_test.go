package runner

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/controller/fleet"
)

var _ fleet.TargetDB = fakeDB{}

func (d fakeDB) TargetState(ctx context.Context, name string) (fleet.TargetInfo, error) {
	if err := d.c.record("db target-state " + name); err != nil {
		return fleet.TargetInfo{}, err
	}
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	s, ok := d.c.scratch[name]
	return fleet.TargetInfo{Exists: ok, Kong: ok && s.schema != "", Empty: ok && s.schema == "" && s.writes == 0}, nil
}

func (d fakeDB) CanCreateTarget(ctx context.Context) (bool, string, error) {
	if err := d.c.record("db can-create-target"); err != nil {
		return false, "", err
	}
	if d.c.noCreateDB {
		return false, "role kong_y has neither CREATEDB nor SUPERUSER", nil
	}
	return true, "", nil
}

func (d fakeDB) RestoreTarget(ctx context.Context, b fleet.BackupInfo, name string, how fleet.TargetRestore) error {
	call := "db restore-target " + name
	if how != fleet.TargetCreate {
		call += " " + string(how)
	}
	if err := d.c.record(call); err != nil {
		return err
	}
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	cur, ok := d.c.scratch[name]
	switch {
	case how == fleet.TargetCreate && ok:
		return fmt.Errorf("database %s exists", name)
	case how == fleet.TargetIntoEmpty && (!ok || cur.schema != "" || cur.writes != 0):
		return fmt.Errorf("database %s missing or not empty", name)
	}
	s, ok := d.c.backups[b.Path]
	if !ok {
		return fmt.Errorf("no backup %s", b.Path)
	}
	d.c.scratch[name] = s
	return nil
}

func (l *fakeLB) SetWeight(ctx context.Context, server string, weight int) error {
	return l.set(fmt.Sprintf("lb weight %s %d", server, weight), server, func(s *fleet.LBServer) { s.Weight = weight })
}

// dcCluster is X on kong-1..3 behind the load balancer, spares new-1..3
// without Kong, and the dual-cluster spec onto them with database kong_y.
func dcCluster(t *testing.T) (*fakeCluster, *fakeLB, *Spec) {
	return dcClusterAt(t, "2.8.4")
}

// dcClusterAt is dcCluster with X on version from.
func dcClusterAt(t *testing.T, from string) (*fakeCluster, *fakeLB, *Spec) {
	c := newFakeCluster(t, from, "kong-1", "kong-2", "kong-3", "new-1", "new-2", "new-3")
	for _, n := range []string{"new-1", "new-2", "new-3"} {
		c.nodes[n].version, c.nodes[n].running = "", false
	}
	lb := newFakeLB(c, "k1", "k2", "k3", "n1", "n2", "n3")
	for _, s := range []string{"k1", "k2", "k3"} {
		lb.servers[s].Weight = 1
	}
	spec := lbTestSpec(t)
	spec.Spares, spec.NewHosts = []string{"new-1", "new-2", "new-3"}, true
	spec.DualCluster, spec.TargetDB, spec.Shift = true, "kong_y", []int{50, 100}
	spec.DB.Name = "kong"
	for i, h := range spec.Spares {
		spec.LB.Servers[h] = fmt.Sprintf("n%d", i+1)
		spec.Hosts = append(spec.Hosts, HostSpec{Name: h, Roles: []string{"spare"}})
	}
	return c, lb, spec
}

// The dual-cluster runs in order: backup of X, restore into kong_y, Y
// installed on the spares pointed at kong_y, migrations there, Y started
// and verified, Y's servers enabled without weight, the shift at 50% and
// 100% (Y's weight raised before X's lowered), X drained last. X keeps
// running on its untouched database; no X node is stopped.
func TestDualClusterOrder(t *testing.T) {
	c, lb, spec := dcCluster(t)
	before := c.fingerprint()
	r := upgradeExpect(t, c, spec, Succeeded)
	calls := c.Calls()
	order := []string{"db backup", "db restore-target kong_y", "new-1 install 3.4.2", "new-1 writeconf", "new-1 migrations up", "new-1 migrations finish",
		"new-1 start", "lb weight n1 0", "lb ready n1", "lb weight n1 100", "lb weight k1 100", "lb weight n1 100", "lb weight k1 0", "lb drain k1", "lb idle k1"}
	at := 0
	for _, want := range order {
		i := slices0(calls, want, at)
		if i < 0 {
			t.Fatalf("no %q after call %d in\n%s", want, at, strings.Join(calls, "\n"))
		}
		at = i
	}
	for _, n := range []string{"kong-1", "kong-2", "kong-3"} {
		if x := c.nodes[n]; !x.running || x.version != "2.8.4" {
			t.Errorf("%s: running=%v version %s, want X untouched", n, x.running, x.version)
		}
		if indexOfCall(calls, n+" stop", 0) >= 0 || indexOfCall(calls, n+" migrations up", 0) >= 0 {
			t.Errorf("%s was stopped or migrated", n)
		}
	}
	for _, n := range []string{"new-1", "new-2", "new-3"} {
		if y := c.nodes[n]; !y.running || y.version != "3.4.2" || y.scratchDB != "kong_y" {
			t.Errorf("%s: running=%v version %s database %q, want Y on kong_y", n, y.running, y.version, y.scratchDB)
		}
	}
	if after := c.fingerprint(); after.Sum != before.Sum {
		t.Errorf("X's database changed: %s -> %s", before.Sum, after.Sum)
	}
	if c.scratch["kong_y"].schema != "3.4.2" || c.db.schema == "3.4.2" {
		t.Errorf("schemas: kong_y %q, X's %q", c.scratch["kong_y"].schema, c.db.schema)
	}
	for s, w := range map[string]int{"k1": 0, "n1": 100} {
		if got := lb.servers[s].Weight; got != w {
			t.Errorf("server %s weight %d, want %d", s, got, w)
		}
	}
	if !lb.servers["k2"].Drain || lb.servers["n2"].Drain {
		t.Errorf("k2 drained %v, n2 drained %v: want X drained, Y serving", lb.servers["k2"].Drain, lb.servers["n2"].Drain)
	}
	if strings.Contains(strings.Join(calls, "\n"), "db restore ") {
		t.Error("X's database was restored")
	}
	_ = r
}

func slices0(calls []string, prefix string, from int) int {
	for i := from; i < len(calls); i++ {
		if strings.HasPrefix(calls[i], prefix) {
			return i
		}
	}
	return -1
}

// A gate failing at the 50% step rolls back: X's servers ready at their
// weight again, Y's without weight and drained, Y stopped; X ran
// throughout on its untouched database, and the target database is kept
// (named in the report).
func TestDualClusterRollbackAtFailingGate(t *testing.T) {
	c, lb, spec := dcCluster(t)
	shifted := gateFailsOnceShifted(c, spec)
	c.fail = func(call string) error {
		if call == "lb weight k3 100" {
			shifted.Store(true)
		}
		return nil
	}
	before := c.fingerprint()
	r := upgradeExpect(t, c, spec, RolledBack)
	if !strings.Contains(r.Error, "gates at 50%") {
		t.Errorf("error %q: want the failing step named", r.Error)
	}
	calls := c.Calls()
	if slices0(calls, "lb weight k1 0", 0) >= 0 {
		t.Error("shifted to 100% after a failing gate")
	}
	for s, w := range map[string]int{"k1": 1, "k2": 1, "k3": 1, "n1": 0, "n2": 0, "n3": 0} {
		if got := lb.servers[s]; got.Weight != w || got.Drain != strings.HasPrefix(s, "n") {
			t.Errorf("server %s: weight %d drain %v", s, got.Weight, got.Drain)
		}
	}
	for _, n := range []string{"kong-1", "kong-2", "kong-3"} {
		if x := c.nodes[n]; !x.running || x.version != "2.8.4" {
			t.Errorf("%s: running=%v version %s, want X serving", n, x.running, x.version)
		}
	}
	for _, n := range []string{"new-1", "new-2", "new-3"} {
		if c.nodes[n].running {
			t.Errorf("%s: Y still running after the rollback", n)
		}
	}
	if after := c.fingerprint(); after.Sum != before.Sum {
		t.Errorf("X's database changed: %s -> %s", before.Sum, after.Sum)
	}
	var kept bool
	for _, f := range r.Findings {
		kept = kept || f.Code == "target-db-kept"
	}
	if !kept {
		t.Errorf("no target-db-kept finding: %+v", r.Findings)
	}
}

// Preflight refuses a target database that already holds Kong's tables;
// nothing is installed.
func TestDualClusterTargetExists(t *testing.T) {
	c, _, spec := dcCluster(t)
	c.scratch["kong_y"] = dbSnap{schema: "2.8.4"}
	r := upgradeExpect(t, c, spec, Failed)
	if !strings.Contains(r.Error, "kong_y already holds Kong's tables") {
		t.Errorf("error %q", r.Error)
	}
	if n := countCalls(c.Calls(), hasSuffix(" install 3.4.2")); n != 0 {
		t.Errorf("%d installs after a refused preflight", n)
	}
}

// shiftWeights sends the asked share to Y whatever the counts of servers.
func TestShiftWeights(t *testing.T) {
	for _, tc := range []struct{ pct, nx, ny, wx, wy int }{
		{50, 3, 3, 100, 100}, {100, 3, 3, 0, 100}, {10, 3, 3, 100, 11}, {50, 2, 4, 100, 50}, {1, 1, 1, 100, 1},
	} {
		wx, wy := shiftWeights(tc.pct, tc.nx, tc.ny)
		if wx != tc.wx || wy != tc.wy {
			t.Errorf("shiftWeights(%d, %d, %d) = %d, %d; want %d, %d", tc.pct, tc.nx, tc.ny, wx, wy, tc.wx, tc.wy)
		}
	}
}

// The plan says the strategy, the shift steps, no point of no return and
// no downtime.
func TestDualClusterPlan(t *testing.T) {
	c, _, spec := dcCluster(t)
	p, err := plan(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != "dual-cluster" || !p.Ready || p.Downtime.Expected != 0 {
		t.Fatalf("mode %s ready %v downtime %v: %+v", p.Mode, p.Ready, p.Downtime.Expected, p.Findings)
	}
	var names []string
	for _, ph := range p.Phases {
		names = append(names, ph.Name)
		if ph.PointOfNoReturn {
			t.Errorf("phase %s marked point of no return", ph.Name)
		}
		if ph.Name == string(PhaseShift) && !strings.Contains(ph.Does, "[50% 100%]") {
			t.Errorf("shift: %s", ph.Does)
		}
	}
	if got := strings.Join(names, ","); got != "preflight,lock,backup,target-db,prepare,migrate-up,migrate-finish,start,verify,shift,cleanup" {
		t.Errorf("phases %s", got)
	}
}
