package runner

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kongctl/kongctl/controller/fleet"
)

// lbLostAfterShift is a dual-cluster whose gate fails at 50% (the run
// rolls back) and whose load balancer host cannot be reached from then
// on for lost calls to it (-1: for ever).
func lbLostAfterShift(t *testing.T, lost int) (*fakeCluster, *fakeLB, *Spec) {
	c, lb, spec := dcCluster(t)
	shifted := gateFailsOnceShifted(c, spec)
	var left atomic.Int64
	left.Store(int64(lost))
	c.fail = func(call string) error {
		if call == "lb weight k3 100" {
			shifted.Store(true)
			return nil
		}
		if shifted.Load() && strings.HasPrefix(call, "lb ") && left.Load() != 0 {
			left.Add(-1)
			return lostCall{"ssh lb (198.18.0.4:22): dial: no route to host"}
		}
		return nil
	}
	return c, lb, spec
}

// gateFailsOnceShifted makes Y's error rate fail the max_error_rate gate
// once the returned flag is set (the fake's c.fail sets it at the shift).
func gateFailsOnceShifted(c *fakeCluster, spec *Spec) *atomic.Bool {
	spec.Verify.MaxErrorRate = 0.01
	var shifted atomic.Bool
	healthy, failing := trafficMetrics(0, 0, 5, 5), trafficMetrics(0, 20, 5, 5)
	c.metrics = func(host, version string, n int) fleet.Metrics {
		if shifted.Load() {
			return failing(host, version, n)
		}
		return healthy(host, version, n)
	}
	return &shifted
}

// The load balancer unreachable for a while as the shift is undone: the
// rollback tries again on the load balancer's host (not the node whose
// server it sets) until it answers, and the traffic goes back to X.
func TestShiftUndoRetriesTheLoadBalancer(t *testing.T) {
	c, lb, spec := lbLostAfterShift(t, 4)
	r := upgradeExpect(t, c, spec, RolledBack)
	for s, w := range map[string]int{"k1": 1, "k2": 1, "k3": 1, "n1": 0, "n2": 0, "n3": 0} {
		if got := lb.servers[s]; got.Weight != w || got.Drain {
			if !(strings.HasPrefix(s, "n") && got.Drain) {
				t.Errorf("server %s: weight %d drain %v", s, got.Weight, got.Drain)
			}
		}
	}
	if r.RollbackError != "" {
		t.Errorf("rollback error %q", r.RollbackError)
	}
}

// The load balancer gone for good: the rollback stops, says the load
// balancer's host did not come back (not a node's), and names the
// command that continues it.
func TestShiftUndoLoadBalancerGone(t *testing.T) {
	c, _, spec := lbLostAfterShift(t, -1)
	r, err := upgrade(t.Context(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.RollbackError, "connection to lb not back within 2m0s") || strings.Contains(r.RollbackError, "connection to kong-") {
		t.Errorf("rollback error %q: want the load balancer's host named", r.RollbackError)
	}
	if !strings.Contains(r.Next, "kongctl rollback -i "+spec.InventoryPath) {
		t.Errorf("next %q", r.Next)
	}
	for _, n := range []string{"kong-1", "kong-2", "kong-3"} {
		if x := c.nodes[n]; !x.running || x.version != "2.8.4" {
			t.Errorf("%s: running=%v version %s, want X serving", n, x.running, x.version)
		}
	}
}
