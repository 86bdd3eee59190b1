package runner

import (
	"context"
	"strings"
	"testing"
)

// With decommission, once the shift's last step passed and X drained,
// each X node is disabled in the load balancer and then stopped, Kong
// left installed; the report says so and what a rollback means now. A
// `kongctl rollback` of the run starts X again, gives it its traffic
// back and stops Y; X's database is untouched throughout.
func TestDualClusterDecommissionAndRollback(t *testing.T) {
	c, lb, spec := dcCluster(t)
	spec.Decommission = true
	before := c.fingerprint()
	r := upgradeExpect(t, c, spec, Succeeded)
	calls := c.Calls()
	for i, h := range spec.Nodes {
		srv := []string{"k1", "k2", "k3"}[i]
		shifted := indexOfCall(calls, "lb weight "+srv+" 0", 0)
		idle := indexOfCall(calls, "lb idle "+srv, shifted)
		maint := indexOfCall(calls, "lb maint "+srv, idle)
		stop := indexOfCall(calls, h+" stop", maint)
		if shifted < 0 || idle < 0 || maint < 0 || stop < 0 {
			t.Errorf("%s: shifted %d, drained %d, disabled %d, stopped %d: want that order\n%s", h, shifted, idle, maint, stop, strings.Join(calls, "\n"))
		}
		if x := c.nodes[h]; x.running || x.version != "2.8.4" {
			t.Errorf("%s: running=%v version %q, want X stopped and installed", h, x.running, x.version)
		}
		if lb.servers[srv].Status != "MAINT" {
			t.Errorf("server %s: %q, want MAINT", srv, lb.servers[srv].Status)
		}
	}
	for _, hr := range r.Hosts {
		if strings.HasPrefix(hr.Name, "kong-") && (hr.Result != ResultDecommissioned || !strings.Contains(hr.Version, "stopped")) {
			t.Errorf("report of %s: %s %q", hr.Name, hr.Result, hr.Version)
		}
	}
	var said bool
	for _, f := range r.Findings {
		said = said || f.Code == "old-hosts" && strings.Contains(f.Message, "kongctl rollback") && strings.Contains(f.Message, "never written")
	}
	if !said {
		t.Errorf("no old-hosts finding saying what a rollback means now: %+v", r.Findings)
	}

	n := len(c.Calls())
	rb, err := rollbackRun(context.Background(), spec, testConfig(c))
	if err != nil || rb.Outcome != RolledBack {
		t.Fatalf("rollback: %v %+v", err, rb)
	}
	calls = c.Calls()[n:]
	for i, h := range spec.Nodes {
		srv := []string{"k1", "k2", "k3"}[i]
		start := indexOfCall(calls, h+" start 2.8.4", 0)
		ready := indexOfCall(calls, "lb ready "+srv, max(start, 0))
		weight := indexOfCall(calls, "lb weight "+srv+" 1", max(ready, 0))
		if start < 0 || ready < 0 || weight < 0 {
			t.Errorf("%s: started %d, ready %d, weight back %d: want X started before it takes traffic\n%s", h, start, ready, weight, strings.Join(calls, "\n"))
		}
		if x := c.nodes[h]; !x.running || x.version != "2.8.4" {
			t.Errorf("%s after the rollback: running=%v version %q", h, x.running, x.version)
		}
		if s := lb.servers[srv]; s.Status != "UP" || s.Weight != 1 || s.Drain {
			t.Errorf("server %s after the rollback: %+v", srv, *s)
		}
	}
	for i, h := range spec.Spares {
		srv := []string{"n1", "n2", "n3"}[i]
		if c.nodes[h].running || lb.servers[srv].Weight != 0 {
			t.Errorf("%s after the rollback: running=%v weight %d", h, c.nodes[h].running, lb.servers[srv].Weight)
		}
	}
	if indexOfCall(calls, "db restore", 0) >= 0 || c.fingerprint().Sum != before.Sum {
		t.Errorf("X's database restored or changed by the rollback")
	}
}

// Without decommission, X keeps running, drained, and the report says
// it is the way back.
func TestDualClusterXLeftRunning(t *testing.T) {
	c, _, spec := dcCluster(t)
	r := upgradeExpect(t, c, spec, Succeeded)
	for _, hr := range r.Hosts {
		if strings.HasPrefix(hr.Name, "kong-") && (hr.Result != ResultOK || hr.Version != "2.8.4 (running, drained)") {
			t.Errorf("report of %s: %s %q", hr.Name, hr.Result, hr.Version)
		}
	}
	if indexOfCall(c.Calls(), "lb maint k1", 0) >= 0 {
		t.Error("X disabled without decommission")
	}
}

// replace_target_database: a target that holds Kong's tables is a loud
// warning in preflight (not a refusal), the plan says it is dropped, and
// the restore replaces it.
func TestDualClusterReplaceTarget(t *testing.T) {
	c, _, spec := dcCluster(t)
	c.scratch["kong_y"] = dbSnap{schema: "2.8.4"}
	spec.ReplaceTarget = true
	p, err := plan(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	var loud bool
	for _, f := range p.Findings {
		loud = loud || f.Code == "target-db-replace" && f.Severity == SevWarning && strings.Contains(f.Message, "DROPPED")
	}
	for _, ph := range p.Phases {
		if ph.Name == string(PhaseTargetDB) && !strings.Contains(ph.Does, "DROPS") {
			t.Errorf("plan of %s: %s", ph.Name, ph.Does)
		}
	}
	if !loud || !p.Ready {
		t.Errorf("ready %v, findings %+v: want a target-db-replace warning", p.Ready, p.Findings)
	}
	upgradeExpect(t, c, spec, Succeeded)
	if indexOfCall(c.Calls(), "db restore-target kong_y replace", 0) < 0 {
		t.Errorf("no replacing restore in %q", c.Calls())
	}
	if c.scratch["kong_y"].schema != "3.4.2" {
		t.Errorf("kong_y schema %q after the run", c.scratch["kong_y"].schema)
	}
}
