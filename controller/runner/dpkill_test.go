package runner

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A data plane whose Kong dies right after its first sync (its row at
// the control plane is fresh, on Y, with the configuration) is not
// counted connected: the roll stops within data_plane_timeout, naming
// it. --resume starts its Kong again (not stop, not install) and
// finishes the roll.
func TestDataPlaneKilledAfterStartThenResume(t *testing.T) {
	c, spec := hybridFleet(t, 1)
	var started, killed bool
	c.fail = func(call string) error {
		switch {
		case call == "dp-2 start 3.5.0":
			started = true
		case started && !killed && strings.HasSuffix(call, " dataplanes"):
			// The list refreshes dp-2's row (it runs); then it dies.
			c.cp.rows()
			c.mu.Lock()
			c.nodes["dp-2"].running = false
			c.mu.Unlock()
			killed = true
		}
		return nil
	}
	t0 := c.clk.Now()
	r := upgradeExpect(t, c, spec, Paused)
	if !strings.Contains(r.Error, "wait for data plane dp-2 connected on 3.5.0: not after 20s") || !strings.Contains(r.Error, "dp-2 does not serve") {
		t.Errorf("error %q: want dp-2 named, not serving", r.Error)
	}
	if !killed {
		t.Fatal("dp-2 was never killed")
	}
	if d := c.clk.Now().Sub(t0); d > time.Minute {
		t.Errorf("the run took %s of clock time, want the roll stopped within data_plane_timeout (20s)", d)
	}
	if got := dpVersions(r); got["dp-2"] != "3.5.0 (running, not seen connected) failed" || got["dp-3"] != "3.4.2 untouched" {
		t.Errorf("report: %v", got)
	}
	c.fail = nil
	mark := len(c.Calls())
	r2, err := upgrade(context.Background(), testSpecLike(spec), runConfig{conn: c, clk: c.clk, yes: true, resume: true})
	if err != nil || r2.Outcome != Succeeded {
		t.Fatalf("resume: %v %s: %s", err, r2.Outcome, r2.Error)
	}
	second := c.Calls()[mark:]
	if indexOfCall(second, "dp-2 start 3.5.0", 0) < 0 {
		t.Error("resume did not start dp-2's Kong again")
	}
	for _, forbidden := range []string{"dp-2 stop", "dp-2 install 3.5.0", "dp-1 start 3.5.0"} {
		if indexOfCall(second, forbidden, 0) >= 0 {
			t.Errorf("resume repeated %q", forbidden)
		}
	}
	for _, h := range []string{"dp-1", "dp-2", "dp-3"} {
		if n := c.nodes[h]; n.version != "3.5.0" || !n.running {
			t.Errorf("%s on %s running=%v after the resume", h, n.version, n.running)
		}
	}
}

// A data plane that dies once connected and set ready (the load balancer
// took kongctl's word that it is healthy) is caught before the next
// batch leaves the load balancing; --resume starts it again and waits
// for it connected again.
func TestDataPlaneKilledAfterReadyThenResume(t *testing.T) {
	c, spec := hybridFleet(t, 1)
	newFakeLB(c, "d1", "d2", "d3")
	spec.LB = &LBSpec{Host: "lb", Backend: "dps", DrainTimeout: 30 * time.Second, Servers: map[string]string{"dp-1": "d1", "dp-2": "d2", "dp-3": "d3"}}
	c.fail = func(call string) error {
		if call == "lb ready d2" {
			c.mu.Lock()
			c.nodes["dp-2"].running = false
			c.mu.Unlock()
		}
		return nil
	}
	r := upgradeExpect(t, c, spec, Paused)
	if !strings.Contains(r.Error, "data-plane batch 2 (dp-2)") || !strings.Contains(r.Error, "data plane dp-2 does not serve") {
		t.Errorf("error %q: want batch 2 stopped, dp-2 named", r.Error)
	}
	if n := countCalls(c.Calls(), func(s string) bool { return s == "dp-3 stop" || s == "lb drain d3" }); n != 0 {
		t.Errorf("dp-3 drained or stopped with dp-2 dead (%d calls)", n)
	}
	mark := len(c.Calls())
	r2, err := upgrade(context.Background(), testSpecLike(spec), runConfig{conn: c, clk: c.clk, yes: true, resume: true})
	if err != nil || r2.Outcome != Succeeded {
		t.Fatalf("resume: %v %s: %s", err, r2.Outcome, r2.Error)
	}
	second := c.Calls()[mark:]
	if indexOfCall(second, "dp-2 start 3.5.0", 0) < 0 || indexOfCall(second, "dp-2 install 3.5.0", 0) >= 0 {
		t.Errorf("resume: want dp-2 started again, not reinstalled: %v", second)
	}
	for _, h := range []string{"dp-1", "dp-2", "dp-3"} {
		if n := c.nodes[h]; n.version != "3.5.0" || !n.running {
			t.Errorf("%s on %s running=%v after the resume", h, n.version, n.running)
		}
	}
}
