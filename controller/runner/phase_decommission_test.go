package runner

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/controller/fleet"
)

func newHostsCluster(t *testing.T) (*fakeCluster, *Spec) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "new-1", "new-2")
	for _, n := range []string{"new-1", "new-2"} {
		c.nodes[n].version, c.nodes[n].running = "", false
	}
	spec := testSpec(t, "kong-1", "kong-2")
	spec.Spares, spec.NewHosts = []string{"new-1", "new-2"}, true
	spec.Decommission = true
	return c, spec
}

func lastIndexOf(calls []string, pred func(string) bool) int {
	last := -1
	for i, c := range calls {
		if pred(c) {
			last = i
		}
	}
	return last
}

func TestDecommissionAfterVerify(t *testing.T) {
	c, spec := newHostsCluster(t)
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil || r.Outcome != Succeeded {
		t.Fatalf("%v %s: %s", err, r.Outcome, r.Error)
	}
	calls := c.Calls()
	verified := lastIndexOf(calls, func(s string) bool { return strings.HasPrefix(s, "new-") && strings.HasSuffix(s, " metrics") })
	for _, h := range []string{"kong-1", "kong-2"} {
		rm := indexOfCall(calls, h+" remove kong 2.8.4", 0)
		if rm < 0 || rm < verified {
			t.Errorf("%s removed at %d, want after the verify's last read (%d)", h, rm, verified)
		}
		if st := indexOfCall(calls, h+" stage 2.8.4", verified); st < 0 || st > rm {
			t.Errorf("%s: X not kept staged before the removal", h)
		}
		if !c.removed[h] {
			t.Errorf("%s still has Kong", h)
		}
		var hr HostReport
		for _, x := range r.Hosts {
			if x.Name == h {
				hr = x
			}
		}
		if hr.Result != "decommissioned" {
			t.Errorf("%s: result %q", h, hr.Result)
		}
	}
	n := 0
	for _, f := range r.Findings {
		if f.Code == "decommissioned" {
			n++
			p := f.Message[strings.Index(f.Message, "/"):]
			p = p[:strings.Index(p, ",")]
			st, err := os.Stat(p)
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("kong.conf copy %s: %v %v", p, st, err)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d decommissioned findings: %+v", n, r.Findings)
	}
	for _, h := range []string{"new-1", "new-2"} {
		if c.removed[h] {
			t.Errorf("new host %s decommissioned", h)
		}
	}
}

func TestNoDecommissionUnlessVerifyPasses(t *testing.T) {
	c, spec := newHostsCluster(t)
	spec.Verify.MaxErrorRate = 0
	spec.Verify.Max5xx = intp(0)
	c.metrics = func(host, version string, n int) fleet.Metrics {
		m := trafficMetrics(0, 3, 5, 5)(host, version, n)
		if strings.HasPrefix(host, "new-") {
			m.Errors = 3 * float64(n)
		}
		return m
	}
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil || r.Outcome != RolledBack {
		t.Fatalf("%v %s: %s", err, r.Outcome, r.Error)
	}
	if n := countCalls(c.Calls(), func(s string) bool { return strings.Contains(s, " remove ") }); n != 0 {
		t.Errorf("%d removals although verify failed", n)
	}
	for _, h := range []string{"kong-1", "kong-2"} {
		if !c.nodes[h].running || c.nodes[h].version != "2.8.4" {
			t.Errorf("%s not serving X after the rollback", h)
		}
	}
}

func TestRollbackAfterDecommission(t *testing.T) {
	c, spec := newHostsCluster(t)
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil || r.Outcome != Succeeded {
		t.Fatalf("%v %s: %s", err, r.Outcome, r.Error)
	}
	mark := len(c.Calls())
	rs := testSpecLike(spec)
	rs.Decommission = false // `kongctl rollback` has no --decommission: the journal says
	rb, err := rollbackRun(context.Background(), rs, testConfig(c))
	if err != nil || rb.Outcome != RolledBack {
		t.Fatalf("rollback: %v %s: %s", err, rb.Outcome, rb.RollbackError)
	}
	calls := c.Calls()
	for _, h := range []string{"kong-1", "kong-2"} {
		inst := indexOfCall(calls, h+" install 2.8.4", mark)
		conf := indexOfCall(calls, h+" writeconf", mark)
		start := indexOfCall(calls, h+" start 2.8.4", mark)
		if inst < 0 || conf < inst || start < conf {
			t.Errorf("%s: reinstall %d, kong.conf %d, start %d: want in that order", h, inst, conf, start)
		}
		if !c.nodes[h].running || c.nodes[h].version != "2.8.4" {
			t.Errorf("%s not back on X", h)
		}
		// Reinstalled detached, as every install: a killed controller
		// never cuts the package manager off.
		if ids := c.installStepIDs(h); len(ids) != 1 || !strings.Contains(ids[0], "-undecommission-"+h+"-1") {
			t.Errorf("%s: reinstall step ids %q, want one undecommission step", h, ids)
		}
	}
	for _, h := range []string{"new-1", "new-2"} {
		if ids := c.installStepIDs(h); len(ids) != 1 || !strings.Contains(ids[0], "-prepare-"+h+"-1") {
			t.Errorf("%s: install step ids %q, want Y's install detached as one prepare step", h, ids)
		}
	}
}

func TestDecommissionFailureDoesNotRollBack(t *testing.T) {
	c, spec := newHostsCluster(t)
	c.fail = func(call string) error {
		if call == "kong-2 remove kong 2.8.4" {
			return errors.New("dpkg: error: lock held")
		}
		return nil
	}
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil || r.Outcome != Succeeded {
		t.Fatalf("%v %s: %s", err, r.Outcome, r.Error)
	}
	found := false
	for _, f := range r.Findings {
		found = found || f.Code == "decommission" && f.Host == "kong-2" && strings.Contains(f.Message, "lock held")
	}
	if !found || !c.removed["kong-1"] {
		t.Errorf("findings %+v, kong-1 removed %v", r.Findings, c.removed["kong-1"])
	}
}

func TestDecommissionNeedsNewHosts(t *testing.T) {
	s := testSpec(t)
	s.Decommission = true
	s.withDefaults()
	if err := s.validate(); err == nil || !strings.Contains(err.Error(), "decommission") {
		t.Errorf("validate: %v", err)
	}
}
