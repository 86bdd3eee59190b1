package runner

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/inventory"
)

// waitForCall blocks until call was recorded, or fails after a while.
func waitForCall(c *fakeCluster, call string) error {
	for range 2000 {
		if indexOfCall(c.Calls(), call, 0) >= 0 {
			return nil
		}
		time.Sleep(time.Millisecond)
	}
	return errors.New("timed out waiting for " + call)
}

// The parallel stop stops the other nodes at once: kong-2's stop does not
// return before kong-3's began.
func TestWindowStopsOthersAtOnce(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	c.fail = func(call string) error {
		if call == "kong-2 stop" {
			return waitForCall(c, "kong-3 stop")
		}
		return nil
	}
	r, err := upgrade(context.Background(), testSpec(t), testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != Succeeded {
		t.Fatalf("outcome %s: %s", r.Outcome, r.Error)
	}
	w := r.Downtime
	if w == nil || w.FirstServing.IsZero() || w.AllStopped.IsZero() {
		t.Fatalf("downtime %+v: want first serving and all stopped", w)
	}
	if !w.FirstServing.After(w.AllStopped) || w.FleetDown <= 0 || w.FleetDown > w.Duration || w.FirstServingAfter > w.Duration {
		t.Errorf("downtime %+v: want all stopped < first serving <= end", w)
	}
	if !strings.Contains(r.Order, "kong-1 stopped first") {
		t.Errorf("report order %q", r.Order)
	}
	// Only the migration node installs at full priority; and it serves
	// before any other node starts.
	if c.background["kong-1"] || !c.background["kong-2"] || !c.background["kong-3"] {
		t.Errorf("installs at lower priority: %v, want kong-2 and kong-3 only", c.background)
	}
	firstUp := indexOfCall(c.Calls(), "kong-1 health", indexOfCall(c.Calls(), "kong-1 start 3.4.2", 0))
	for _, h := range []string{"kong-2", "kong-3"} {
		if st := indexOfCall(c.Calls(), h+" start 3.4.2", 0); st < firstUp {
			t.Errorf("%s started at %d, before the migration node served (%d)", h, st, firstUp)
		}
	}
	// The lean install leaves the hold to after the fleet serves.
	calls := c.Calls()
	lastStart := 0
	for _, h := range []string{"kong-1", "kong-2", "kong-3"} {
		lastStart = max(lastStart, indexOfCall(calls, h+" start 3.4.2", 0))
	}
	for _, h := range []string{"kong-1", "kong-2", "kong-3"} {
		if hold := indexOfCall(calls, h+" hold kong 3.4.2", 0); hold < lastStart {
			t.Errorf("%s held at %d, want after every node started (%d)", h, hold, lastStart)
		}
	}
	if w := r.Downtime; w == nil || w.AllStopped.IsZero() || w.FirstServing.IsZero() || w.FleetDown < 0 || w.FirstServingAfter < w.FleetDown || w.Duration < w.FirstServingAfter {
		t.Errorf("downtime window %+v", r.Downtime)
	}
}

// An install that fails on another node ends the window before the next
// migration step (here finish, the point of no return): X comes back
// everywhere and the database equals the backup.
func TestWindowInstallFailureStopsBeforeMigrations(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	before := c.fingerprint()
	c.fail = func(call string) error {
		switch call {
		case "kong-2 install 3.4.2":
			return errors.New("injected failure: " + call)
		case "kong-1 migrations up":
			// Hold up until kong-2's install has failed (recorded, then
			// given time to reach the window).
			err := waitForCall(c, "kong-2 install 3.4.2")
			time.Sleep(200 * time.Millisecond)
			return err
		}
		return nil
	}
	r := upgradeExpect(t, c, testSpec(t), RolledBack)
	calls := c.Calls()
	if indexOfCall(calls, "kong-1 migrations finish", 0) >= 0 || r.PointOfNoReturn {
		t.Error("finish ran although an install had failed")
	}
	if countCalls(calls, hasSuffix(" start 3.4.2")) != 0 {
		t.Error("Y started although an install had failed")
	}
	if !strings.Contains(r.Error, "kong-2") {
		t.Errorf("error %q does not name kong-2", r.Error)
	}
	if !c.fingerprint().Equal(before) {
		t.Error("database changed")
	}
	requireOnX(t, c)
}

// A stop that fails on one node while the others are down rolls back:
// every node that stopped starts X again, and the error names the node.
func TestWindowStopFailureOnOneNode(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	c.fail = func(call string) error {
		if call == "kong-3 stop" {
			return errors.New("injected failure: stop timed out")
		}
		return nil
	}
	r := upgradeExpect(t, c, testSpec(t), RolledBack)
	if !strings.Contains(r.Error, "kong-3") {
		t.Errorf("error %q does not name kong-3", r.Error)
	}
	requireOnX(t, c)
}

// finish = "after-verify": Y starts right after up, finish runs after the
// verify phase, and the point of no return comes after verify.
func TestWindowFinishAfterVerify(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	spec := testSpec(t)
	spec.FinishMode = inventory.FinishAfterVerify
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != Succeeded {
		t.Fatalf("outcome %s: %s", r.Outcome, r.Error)
	}
	calls := c.Calls()
	up := indexOfCall(calls, "kong-1 migrations up", 0)
	finish := indexOfCall(calls, "kong-1 migrations finish", 0)
	lastProbe := -1
	for i, call := range calls {
		if strings.HasSuffix(call, " probe /lab") {
			lastProbe = i
		}
	}
	for _, h := range spec.Nodes {
		st := indexOfCall(calls, h+" start 3.4.2", 0)
		if st < up || st > finish {
			t.Errorf("%s started at %d: want after up (%d) and before finish (%d)", h, st, up, finish)
		}
	}
	if finish < lastProbe {
		t.Errorf("finish at %d before the last smoke request of verify (%d)", finish, lastProbe)
	}
	var names []string
	for _, p := range r.Timeline {
		names = append(names, p.Phase)
	}
	tl := strings.Join(names, " ")
	if !strings.Contains(tl, "verify migrate-finish") {
		t.Errorf("timeline %q: want migrate-finish right after verify", tl)
	}
	if !strings.Contains(r.Order, "after-verify") || !r.PointOfNoReturn {
		t.Errorf("order %q, point of no return %v", r.Order, r.PointOfNoReturn)
	}
}

// finish = "after-verify" with a failing gate: Y stops, the database is
// restored under no running Y, finish never ran, X back everywhere.
func TestWindowFinishAfterVerifyGateRollsBack(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	before := c.fingerprint()
	spec := testSpec(t)
	spec.FinishMode = inventory.FinishAfterVerify
	c.fail = func(call string) error {
		if call == "kong-2 probe /lab" {
			return errors.New("injected failure: smoke 502")
		}
		return nil
	}
	r := upgradeExpect(t, c, spec, RolledBack)
	calls := c.Calls()
	if indexOfCall(calls, "kong-1 migrations finish", 0) >= 0 || r.PointOfNoReturn {
		t.Error("finish ran although verify failed")
	}
	restore := -1
	for i, call := range calls {
		if strings.HasPrefix(call, "db restore") {
			restore = i
		}
	}
	if restore < 0 {
		t.Fatal("database not restored")
	}
	for _, h := range spec.Nodes {
		if indexOfCall(calls, h+" stop", indexOfCall(calls, h+" start 3.4.2", 0)) > restore {
			t.Errorf("%s: Y stopped after the restore", h)
		}
	}
	if !c.fingerprint().Equal(before) {
		t.Error("database differs from before the upgrade")
	}
	requireOnX(t, c)
}

// requireOnX fails unless every node runs X (2.8.4) again.
func requireOnX(t *testing.T, c *fakeCluster) {
	t.Helper()
	for name, n := range c.nodes {
		if n.version != "2.8.4" || !n.running {
			t.Errorf("%s left on %s running=%v", name, n.version, n.running)
		}
	}
}

// upgradeExpect runs an upgrade on c, clears its injected failures and
// fails unless the run ended with want.
func upgradeExpect(t *testing.T, c *fakeCluster, spec *Spec, want Outcome) *Report {
	t.Helper()
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	c.fail = nil
	if r.Outcome != want {
		t.Fatalf("outcome %s, want %s: %s", r.Outcome, want, r.Error)
	}
	return r
}
