package runner

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

// softInterruptAt runs an upgrade whose soft interrupt comes when a call
// starting with call is made; the call itself goes on.
func softInterruptAt(t *testing.T, c *fakeCluster, spec *Spec, call string) *Report {
	t.Helper()
	ch := make(chan struct{})
	var once sync.Once
	c.fail = func(got string) error {
		if strings.HasPrefix(got, call) {
			once.Do(func() { close(ch) })
		}
		return nil
	}
	r, err := upgrade(WithInterrupt(context.Background(), ch), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	c.fail = nil
	return r
}

// The first SIGINT during the migration node's install lets that install
// finish, stops no other node, and pauses; --resume then completes.
func TestSoftInterruptLetsRunningStepsFinishThenPauses(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	spec := testSpec(t)
	r := softInterruptAt(t, c, spec, "kong-1 install 3.4.2")
	if r.Outcome != Paused {
		t.Fatalf("outcome %s: %s", r.Outcome, r.Error)
	}
	if !strings.Contains(r.Next, "--resume") || !strings.Contains(r.Next, "kongctl rollback") {
		t.Errorf("next %q: want the resume and rollback commands", r.Next)
	}
	if !strings.Contains(r.Error, "interrupted") {
		t.Errorf("error %q", r.Error)
	}
	if c.nodes["kong-1"].version != "3.4.2" {
		t.Errorf("the running install was cut: kong-1 on %s", c.nodes["kong-1"].version)
	}
	for _, h := range []string{"kong-2", "kong-3"} {
		if indexOfCall(c.Calls(), h+" stop", 0) >= 0 || !c.nodes[h].running {
			t.Errorf("%s was stopped after the interrupt", h)
		}
	}
	if c.lock == nil {
		t.Error("fleet lock released by a paused run")
	}
	_, calls := resumeSucceeds(t, c, spec)
	if countCalls(calls, hasPrefixCall("kong-1 install")) != 0 {
		t.Errorf("resume installed kong-1 again: %q", calls)
	}
	for name, n := range c.nodes {
		if n.version != "3.4.2" || !n.running {
			t.Errorf("%s on %s running=%v after resume", name, n.version, n.running)
		}
	}
}

// A soft interrupt during an automatic rollback does not stop it.
func TestSoftInterruptLetsRollbackComplete(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	ch := make(chan struct{})
	var once sync.Once
	c.fail = func(call string) error {
		switch {
		case call == "kong-2 start 3.4.2":
			return errors.New("injected failure: " + call)
		case strings.HasPrefix(call, "db restore"):
			once.Do(func() { close(ch) }) // the operator presses Ctrl-C mid-rollback
		}
		return nil
	}
	r, err := upgrade(WithInterrupt(context.Background(), ch), testSpec(t, "kong-1", "kong-2"), testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	c.fail = nil
	if r.Outcome != RolledBack {
		t.Fatalf("outcome %s: %s (rollback %s)", r.Outcome, r.Error, r.RollbackError)
	}
	requireOnX(t, c)
}

// A soft interrupt before anything changed ends the run, lock released.
func TestSoftInterruptBeforeAnyChange(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	r := softInterruptAt(t, c, testSpec(t, "kong-1", "kong-2"), "db backup kong-")
	if r.Outcome == Succeeded {
		t.Fatalf("outcome %s", r.Outcome)
	}
	if countCalls(c.Calls(), hasSuffix(" stop")) != 0 {
		t.Error("a node was stopped")
	}
	if c.lock != nil {
		t.Error("fleet lock left held although nothing changed")
	}
}

func hasPrefixCall(p string) func(string) bool {
	return func(c string) bool { return strings.HasPrefix(c, p) }
}

// A soft interrupt during preflight stops it at once: nothing changed,
// nothing stopped, no lock left.
func TestSoftInterruptStopsPreflightAtOnce(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	ch := make(chan struct{})
	var once sync.Once
	c.fail = func(call string) error {
		if strings.HasPrefix(call, "kong-1 stage") {
			once.Do(func() { close(ch) })
			return context.Canceled // the cut upload
		}
		return nil
	}
	r, err := upgrade(WithInterrupt(context.Background(), ch), testSpec(t, "kong-1", "kong-2"), testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != Failed || c.lock != nil || countCalls(c.Calls(), hasSuffix(" stop")) != 0 {
		t.Fatalf("outcome %s, lock %v, calls %q", r.Outcome, c.lock, c.Calls())
	}
	if indexOfCall(c.Calls(), "lock acquire", 0) >= 0 {
		t.Error("the run went on to take the fleet lock")
	}
}
