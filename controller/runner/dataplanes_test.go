package runner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/controller/journal"
)

// fakeCP is the control planes' /clustering/data-planes: a row per data
// plane that ever synced, refreshed (version, last_seen, hash) whenever
// the list is read while the data plane runs, as its pings would.
// silent data planes never reach the control plane again.
type fakeCP struct {
	c      *fakeCluster
	dps    []string
	hash   string
	silent map[string]bool
	last   map[string]fleet.DataPlane
}

func (p *fakeCP) rows() []fleet.DataPlane {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	var out []fleet.DataPlane
	for _, h := range p.dps {
		n := p.c.nodes[h]
		if n.running && !p.silent[h] {
			p.last[h] = fleet.DataPlane{ID: "id-" + h, Hostname: h, IP: "10.0.1." + h[len(h)-1:], Version: n.version,
				ConfigHash: p.hash, SyncStatus: "normal", LastSeen: p.c.clk.t.Unix()}
		}
		if r, ok := p.last[h]; ok {
			out = append(out, r)
		}
	}
	return out
}

// hybridFleet is a hybrid fleet, 3.4.2 → 3.5.0: control planes cp-1 and
// cp-2 upgraded in place, data planes dp-1..dp-3 rolled batch at a time.
func hybridFleet(t *testing.T, batch int) (*fakeCluster, *Spec) {
	t.Helper()
	cps, dps := []string{"cp-1", "cp-2"}, []string{"dp-1", "dp-2", "dp-3"}
	c := newFakeCluster(t, "3.4.2", append(append([]string(nil), cps...), dps...)...)
	c.cp = &fakeCP{c: c, dps: dps, hash: "c0ffee00c0ffee00c0ffee00c0ffee00", silent: map[string]bool{}, last: map[string]fleet.DataPlane{}}
	c.cp.rows()
	spec := testSpec(t, cps...)
	spec.From, spec.To = "3.4.2", "3.5.0"
	for _, v := range []string{"3.4.2", "3.5.0"} {
		os.WriteFile(filepath.Join(spec.Package.Dir, "kong_"+v+"_amd64.deb"), []byte("pkg "+v), 0o644)
	}
	spec.Hosts = nil
	for _, h := range cps {
		spec.Hosts = append(spec.Hosts, HostSpec{Name: h, Roles: []string{"control_plane"}})
	}
	for _, h := range dps {
		spec.Hosts = append(spec.Hosts, HostSpec{Name: h, Address: "10.0.1." + h[len(h)-1:], Roles: []string{"data_plane"}})
	}
	spec.Hosts = append(spec.Hosts, HostSpec{Name: "db", Roles: []string{"database"}})
	spec.DataPlanes, spec.DataPlaneMode, spec.DPBatch = dps, DataPlanesRolling, batch
	spec.Timeouts.DataPlane = 20 * time.Second
	return c, spec
}

// stepAt is the index in recs of key's first record with status st (-1).
func stepAt(recs []journal.Record, key StepKey, st journal.Status) int {
	for i, r := range recs {
		if r.Kind == "step" && r.Step == string(key) && r.Status == st {
			return i
		}
	}
	return -1
}

func journalOf(t *testing.T, r *Report) []journal.Record {
	t.Helper()
	recs, err := journal.Read(r.Journal)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// dpVersions are the report's data planes as "name version result".
func dpVersions(r *Report) map[string]string {
	out := map[string]string{}
	for _, h := range r.Hosts {
		if strings.HasPrefix(h.Name, "dp-") {
			out[h.Name] = h.Version + " " + string(h.Result)
		}
	}
	return out
}

// Batches of two: the control planes serve Y before any data plane
// stops; each batch's version rule is checked before it; every data plane
// of a batch is seen connected on Y before the next batch stops; the
// report lists each data plane on Y.
func TestDataPlanesRolledInBatches(t *testing.T) {
	c, spec := hybridFleet(t, 2)
	r := upgradeExpect(t, c, spec, Succeeded)
	calls, recs := c.Calls(), journalOf(t, r)
	firstDPStop := indexOfCall(calls, "dp-1 stop", 0)
	for _, cp := range []string{"cp-1", "cp-2"} {
		if at := indexOfCall(calls, cp+" start 3.5.0", 0); at < 0 || at > firstDPStop {
			t.Errorf("%s started Y at %d, first data plane stopped at %d", cp, at, firstDPStop)
		}
	}
	if at := stepAt(recs, dpCompatSteps.of("1"), journal.Done); at < 0 || at > stepAt(recs, dpStopSteps.of("dp-1"), journal.Started) {
		t.Errorf("batch 1's version rule checked at %d", at)
	}
	next := stepAt(recs, dpStopSteps.of("dp-3"), journal.Started)
	for _, h := range []string{"dp-1", "dp-2"} {
		if at := stepAt(recs, dpConnectedSteps.of(h), journal.Done); at < 0 || at > next {
			t.Errorf("%s seen connected at %d, batch 2 stopped dp-3 at %d", h, at, next)
		}
	}
	if at := stepAt(recs, dpCompatSteps.of("2"), journal.Done); at < stepAt(recs, dpConnectedSteps.of("dp-2"), journal.Done) || at > next {
		t.Errorf("batch 2's version rule checked at %d", at)
	}
	for h, want := range map[string]string{"dp-1": "3.5.0 ok", "dp-2": "3.5.0 ok", "dp-3": "3.5.0 ok"} {
		if got := dpVersions(r)[h]; got != want {
			t.Errorf("report: %s %q, want %q", h, got, want)
		}
		if n := c.nodes[h]; n.version != "3.5.0" || !n.running {
			t.Errorf("%s on %s running=%v", h, n.version, n.running)
		}
		if indexOfCall(calls, h+" hold kong 3.5.0", 0) < 0 {
			t.Errorf("%s: Y not held", h)
		}
	}
}

// A control plane that would refuse Y's data planes (it runs an older
// minor by the time batch 2 comes) stops the roll before the batch is
// touched; the run pauses and says the way forward.
func TestDataPlaneVersionRuleRefusesBatch(t *testing.T) {
	c, spec := hybridFleet(t, 1)
	c.after = func(call string) {
		if call == "dp-1 install 3.5.0" {
			c.nodes["cp-2"].version = "3.4.2"
		}
	}
	r := upgradeExpect(t, c, spec, Paused)
	if !strings.Contains(r.Error, "control plane cp-2 on 3.4.2 would refuse data planes dp-2 on 3.5.0") {
		t.Errorf("error %q: want the refusing control plane named", r.Error)
	}
	if indexOfCall(c.Calls(), "dp-2 stop", 0) >= 0 {
		t.Error("dp-2 stopped although its batch was refused")
	}
	if got := dpVersions(r); got["dp-1"] != "3.5.0 ok" || got["dp-2"] != "3.4.2 untouched" {
		t.Errorf("report: %v", got)
	}
	if !strings.Contains(r.Next, "--resume") || !strings.Contains(r.Next, "kongctl rollback") {
		t.Errorf("next: %q", r.Next)
	}
}

// A data plane whose Y start fails stops the roll (on_failure rollback
// or not: the control planes stay on Y), the report says who runs what,
// and --resume continues where it stopped: dp-1 is not touched again.
func TestDataPlaneBatchFailsThenResume(t *testing.T) {
	c, spec := hybridFleet(t, 1)
	c.fail = func(call string) error {
		if call == "dp-2 start 3.5.0" {
			return errors.New("injected: kong start failed")
		}
		return nil
	}
	r := upgradeExpect(t, c, spec, Paused)
	want := map[string]string{"dp-1": "3.5.0 ok", "dp-2": "3.5.0 (installed, not running) failed", "dp-3": "3.4.2 untouched"}
	for h, w := range want {
		if got := dpVersions(r)[h]; got != w {
			t.Errorf("report: %s %q, want %q", h, got, w)
		}
	}
	if !strings.Contains(r.Next, "dp-2 failed") || !strings.Contains(r.Next, "dp-1 3.5.0, dp-2 3.5.0 (installed, not running), dp-3 3.4.2") ||
		!strings.Contains(r.Next, "kongctl upgrade -i "+spec.InventoryPath+" --resume") {
		t.Errorf("next: %q", r.Next)
	}
	for _, h := range r.Hosts {
		if strings.HasPrefix(h.Name, "cp-") && h.Version != "3.5.0" {
			t.Errorf("report: %s on %q, want 3.5.0", h.Name, h.Version)
		}
	}
	if indexOfCall(c.Calls(), "cp-1 start 3.4.2", 0) >= 0 || c.nodes["cp-1"].version != "3.5.0" {
		t.Error("the control planes were rolled back for a data plane's failure")
	}
	check := testSpecLike(spec)
	check.DataPlaneMode = DataPlanesCheck
	if _, err := upgrade(context.Background(), check, runConfig{conn: c, clk: c.clk, yes: true, resume: true}); err == nil || !strings.Contains(err.Error(), "rolled data planes dp-1, dp-2") {
		t.Errorf("resume with data_planes = check: %v, want it refused", err)
	}
	mark := len(c.Calls())
	r2, err := upgrade(context.Background(), testSpecLike(spec), runConfig{conn: c, clk: c.clk, yes: true, resume: true})
	if err != nil || r2.Outcome != Succeeded {
		t.Fatalf("resume: %v %s: %s", err, r2.Outcome, r2.Error)
	}
	second := c.Calls()[mark:]
	for _, forbidden := range []string{"dp-1 stop", "dp-1 install 3.5.0", "dp-2 stop", "dp-2 install 3.5.0", "cp-1 stop"} {
		if indexOfCall(second, forbidden, 0) >= 0 {
			t.Errorf("resume repeated %q", forbidden)
		}
	}
	for _, h := range []string{"dp-1", "dp-2", "dp-3"} {
		if got := dpVersions(r2)[h]; got != "3.5.0 ok" {
			t.Errorf("after resume: %s %q", h, got)
		}
	}
}

// A data plane that never reconnects stops the roll within
// data_plane_timeout, naming it; `kongctl rollback` then puts the rolled
// data planes back on X (reported connected again) and the control
// planes with them, even with the inventory no longer asking for a roll.
func TestDataPlaneNeverReconnectsThenRollback(t *testing.T) {
	c, spec := hybridFleet(t, 1)
	c.after = func(call string) {
		if call == "dp-2 stop" {
			c.cp.silent["dp-2"] = true
		}
	}
	t0 := c.clk.Now()
	r := upgradeExpect(t, c, spec, Paused)
	if !strings.Contains(r.Error, "wait for data plane dp-2 connected on 3.5.0: not after 20s") {
		t.Errorf("error %q", r.Error)
	}
	if c.clk.Now().Sub(t0) > 5*time.Minute {
		t.Errorf("the roll took %s of clock time", c.clk.Now().Sub(t0))
	}
	c.after, c.cp.silent = nil, map[string]bool{}
	// The operator set data_planes back to "check" meanwhile: the journal
	// still says which data planes were rolled.
	rs := testSpecLike(spec)
	rs.DataPlaneMode = DataPlanesCheck
	rb, err := rollbackRun(context.Background(), rs, testConfig(c))
	if err != nil || rb.Outcome != RolledBack {
		t.Fatalf("rollback: %v %s: %s", err, rb.Outcome, rb.RollbackError)
	}
	for _, h := range []string{"cp-1", "cp-2", "dp-1", "dp-2", "dp-3"} {
		if n := c.nodes[h]; n.version != "3.4.2" || !n.running {
			t.Errorf("%s on %s running=%v after the rollback", h, n.version, n.running)
		}
	}
	got := dpVersions(rb)
	// Without data_planes = "rolling" the report lists the data planes
	// the run touched.
	if got["dp-1"] != "3.4.2 rolled-back" || got["dp-2"] != "3.4.2 rolled-back" || len(got) != 2 {
		t.Errorf("rollback report: %v", got)
	}
	if n := countCalls(c.Calls(), func(s string) bool { return s == "dp-3 stop" }); n != 0 {
		t.Errorf("dp-3 was stopped %d times", n)
	}
}

// connectedRow: only a row seen since the start, on Y, synced, with the
// configuration the other data planes hold counts.
func TestConnectedRow(t *testing.T) {
	_, spec := hybridFleet(t, 1)
	e := &engine{spec: spec}
	start := time.Unix(1000, 0)
	other := fleet.DataPlane{ID: "o", Hostname: "dp-2", IP: "10.0.1.2", Version: "3.4.2", ConfigHash: "aa", SyncStatus: "normal", LastSeen: 1005}
	row := func(v, hash, status string, seen int64) fleet.DataPlane {
		return fleet.DataPlane{ID: "n", Hostname: "x", IP: "10.0.1.1", Version: v, ConfigHash: hash, SyncStatus: status, LastSeen: seen}
	}
	for _, tc := range []struct {
		rows []fleet.DataPlane
		why  string
	}{
		{[]fleet.DataPlane{other, row("3.5.0", "aa", "normal", 1001)}, ""},
		{[]fleet.DataPlane{row("3.5.0", "bb", "normal", 1001)}, ""}, // no other data plane: its own hash stands
		{[]fleet.DataPlane{other, row("3.5.0", "aa", "normal", 999)}, "has not seen dp-1 since its start"},
		{[]fleet.DataPlane{other, row("3.4.2", "aa", "normal", 1001)}, "sees dp-1 on 3.4.2"},
		{[]fleet.DataPlane{other, row("3.5.0", "aa", "kong_version_incompatible", 1001)}, "sync_status kong_version_incompatible"},
		{[]fleet.DataPlane{other, row("3.5.0", zeroHash, "normal", 1001)}, "no configuration yet"},
		{[]fleet.DataPlane{other, row("3.5.0", "bb", "normal", 1001)}, "configuration bb, the other data planes have aa"},
	} {
		_, why := e.connectedRow("dp-1", "3.5.0", start, tc.rows)
		if (tc.why == "") != (why == "") || !strings.Contains(why, tc.why) {
			t.Errorf("%+v: %q, want %q", tc.rows, why, tc.why)
		}
	}
	if got := dpBatches([]string{"a", "b", "c"}, 2); len(got) != 2 || len(got[1]) != 1 {
		t.Errorf("batches %v", got)
	}
}

// With a load balancer in front of the data planes, each is drained
// before its stop and set ready only once the control plane saw it
// connected on Y; none is left drained.
func TestDataPlanesDrainedInLoadBalancer(t *testing.T) {
	c, spec := hybridFleet(t, 1)
	lb := newFakeLB(c, "d1", "d2", "d3")
	lb.rising["d1"] = 3     // its health checks pass on the third read after ready
	lb.refuseHealthy = true // and it does not take kongctl's word for it
	spec.LB = &LBSpec{Host: "lb", Backend: "dps", DrainTimeout: 30 * time.Second, Servers: map[string]string{"dp-1": "d1", "dp-2": "d2", "dp-3": "d3"}}
	r := upgradeExpect(t, c, spec, Succeeded)
	calls, recs := c.Calls(), journalOf(t, r)
	for h, srv := range map[string]string{"dp-1": "d1", "dp-2": "d2", "dp-3": "d3"} {
		if drain, stop := indexOfCall(calls, "lb drain "+srv, 0), indexOfCall(calls, h+" stop", 0); drain < 0 || stop < drain {
			t.Errorf("%s: drained at %d, stopped at %d", h, drain, stop)
		}
		if conn, ready := stepAt(recs, dpConnectedSteps.of(h), journal.Done), stepAt(recs, lbReadySteps.of(h), journal.Started); conn < 0 || ready < conn {
			t.Errorf("%s: ready at record %d, connected at %d", h, ready, conn)
		}
	}
	if up, next := lbUpAt(calls, "d1"), indexOfCall(calls, "lb drain d2", 0); up < 0 || next < up {
		t.Errorf("d1 UP at %d, d2 drained at %d: want the next batch drained once this one takes traffic", up, next)
	}
	lb.requireReady(t)
	var warned bool
	for _, f := range r.Findings {
		warned = warned || f.Code == "lb-health" && f.Host == "dp-1" && strings.Contains(f.Message, "Permission denied")
	}
	if !warned {
		t.Errorf("no lb-health warning for dp-1: %+v", r.Findings)
	}
}

// A load balancer that takes kongctl's word counts a data plane UP as
// soon as it is set ready: the roll does not wait out its checks' rise.
func TestDataPlaneMarkedHealthyInLoadBalancer(t *testing.T) {
	c, spec := hybridFleet(t, 1)
	lb := newFakeLB(c, "d1", "d2", "d3")
	lb.rising["d1"] = 1000 // its own checks would never pass
	spec.LB = &LBSpec{Host: "lb", Backend: "dps", DrainTimeout: 30 * time.Second, Servers: map[string]string{"dp-1": "d1", "dp-2": "d2", "dp-3": "d3"}}
	upgradeExpect(t, c, spec, Succeeded)
	calls := c.Calls()
	ready, healthy, next := indexOfCall(calls, "lb ready d1", 0), indexOfCall(calls, "lb healthy d1", 0), indexOfCall(calls, "lb drain d2", 0)
	if ready < 0 || healthy < ready || next < healthy {
		t.Errorf("d1 ready at %d, marked healthy at %d, d2 drained at %d", ready, healthy, next)
	}
	lb.requireReady(t)
}

// lbUpAt is the index of the "lb servers" read after which the fake
// load balancer counted srv UP again (its rising reads used up).
func lbUpAt(calls []string, srv string) int {
	ready := indexOfCall(calls, "lb ready "+srv, 0)
	if ready < 0 {
		return -1
	}
	n := 0
	for i := ready; i < len(calls); i++ {
		if calls[i] == "lb servers" {
			if n++; n == 3 {
				return i
			}
		}
	}
	return -1
}

// The plan names the data-plane roll, the confirmation too.
func TestDataPlanesInPlanAndPrompt(t *testing.T) {
	c, spec := hybridFleet(t, 2)
	p, err := plan(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	var phase bool
	for _, ph := range p.Phases {
		phase = phase || (ph.Name == string(PhaseDataPlanes) && strings.Contains(ph.Does, "2 at a time") && strings.Contains(ph.Undo, "reinstall"))
	}
	if !phase {
		t.Errorf("plan phases lack the data-plane roll: %+v", p.Phases)
	}
	for _, h := range p.Hosts {
		if h.Name == "dp-1" && !strings.Contains(strings.Join(h.Actions, "; "), "wait until a control plane reports it connected on 3.5.0") {
			t.Errorf("dp-1's actions: %q", h.Actions)
		}
	}
	var prompt string
	cfg := testConfig(c)
	cfg.yes, cfg.confirm = false, func(s string) bool { prompt = s; return false }
	if _, err := upgrade(context.Background(), testSpecLike(spec), cfg); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(prompt, "then roll the data planes (dp-1, dp-2, dp-3) to 3.5.0, 2 at a time") {
		t.Errorf("prompt %q", prompt)
	}
}
