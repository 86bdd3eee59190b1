package runner

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/controller/fleet"
)

// runningStep makes the fake's detached `migrations <cmd>` step report
// running for polls more MigrationStep calls.
func (c *fakeCluster) runningStep(cmd string, polls int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.steps {
		if strings.HasSuffix(id, "-migrations-"+cmd+"-1") {
			c.running[id] = polls
		}
	}
}

func hasFinding(r *Report, code string) bool { return findingOf(r, code) != nil }

// findingOf returns the last finding of code in r, or nil.
func findingOf(r *Report, code string) *Finding {
	var found *Finding
	for i, f := range r.Findings {
		if f.Code == code {
			found = &r.Findings[i]
		}
	}
	return found
}

// The reply of `migrations up` is lost (the step keeps running on the
// node): the automatic rollback waits for the step to end before it
// restores the database.
func TestRollbackWaitsForRunningMigrationsStep(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	c.fail = func(call string) error {
		if call == "kong-1 migrations up" {
			c.runningStep("up", 3)
			return errors.New("host kong-1: migrations step: connection lost and not back within 3m0s")
		}
		return nil
	}
	spec := testSpec(t, "kong-1", "kong-2")
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != RolledBack {
		t.Fatalf("outcome %s: %s / %s", r.Outcome, r.Error, r.RollbackError)
	}
	calls := c.Calls()
	step := "kong-1 step " + r.RunID + "-migrations-up-1"
	restore := indexOfCall(calls, "db restore kong-"+r.RunID+"-pre.dump", 0)
	if restore < 0 {
		t.Fatalf("no restore: %q", calls)
	}
	if n := countCalls(calls[:restore], func(s string) bool { return s == step }); n != 4 {
		t.Errorf("step polled %d times before the restore, want 4 (3 running, then done)", n)
	}
	if lock := indexOfCall(calls, "db migration-lock", 0); lock < 0 || lock > restore {
		t.Errorf("Kong's migrations lock not checked before the restore (at %d, restore %d)", lock, restore)
	}
	if !hasFinding(r, "migrations-running") || !hasFinding(r, "migrations-waited") {
		t.Errorf("the wait is not reported: %+v", r.Findings)
	}
}

// A step that outlasts the bound: the database is not restored, the
// rollback fails and says how to continue it.
func TestRollbackRefusesToRestoreUnderRunningMigrations(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	c.fail = func(call string) error {
		if call == "kong-1 migrations up" {
			c.runningStep("up", 1<<20)
			return errors.New("connection lost")
		}
		return nil
	}
	spec := testSpec(t, "kong-1", "kong-2")
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != Failed {
		t.Fatalf("outcome %s", r.Outcome)
	}
	if indexOfCall(c.Calls(), "db restore kong-"+r.RunID+"-pre.dump", 0) >= 0 {
		t.Fatal("the database was restored under a running migrations step")
	}
	if !strings.Contains(r.RollbackError, "still running on kong-1") || !strings.Contains(r.RollbackError, "kongctl rollback") {
		t.Errorf("rollback error %q", r.RollbackError)
	}
	for _, h := range spec.Nodes {
		if indexOfCall(c.Calls(), h+" start 2.8.4", 0) >= 0 {
			t.Errorf("X started on %s on an unrestored database", h)
		}
	}
}

// The controller dies during `migrations up` (here: interrupted, the run
// paused); `kongctl rollback` finds the step still running, waits, then
// restores. Kong's migrations lock held meanwhile is waited out too.
func TestOnDemandRollbackWaitsForStepAndLock(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	ctx, cancel := context.WithCancel(context.Background())
	c.fail = func(call string) error {
		if call == "kong-1 migrations up" {
			cancel()
			return context.Canceled
		}
		return nil
	}
	spec := testSpec(t, "kong-1", "kong-2")
	r, err := upgrade(ctx, spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != Paused {
		t.Fatalf("outcome %s: %s", r.Outcome, r.Error)
	}
	c.runningStep("up", 2)
	lockReads := 0
	c.migLock = fleet.MigrationLock{Held: true, Owner: "kong-1"}
	c.fail = func(call string) error {
		if call == "db migration-lock" {
			lockReads++
			if lockReads == 3 {
				c.migLock = fleet.MigrationLock{}
			}
		}
		return nil
	}
	rb, err := rollbackRun(context.Background(), testSpecLike(spec), testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if rb.Outcome != RolledBack {
		t.Fatalf("rollback outcome %s: %s", rb.Outcome, rb.RollbackError)
	}
	calls := c.Calls()
	restore := indexOfCall(calls, "db restore kong-"+r.RunID+"-pre.dump", 0)
	if restore < 0 || lockReads != 3 {
		t.Fatalf("restore at %d after %d lock reads", restore, lockReads)
	}
	if n := countCalls(calls[:restore], func(s string) bool { return s == "kong-1 step "+r.RunID+"-migrations-up-1" }); n != 3 {
		t.Errorf("step polled %d times before the restore, want 3", n)
	}
	if !hasFinding(rb, "migrations-waited") || !hasFinding(rb, "migrations-lock") {
		t.Errorf("findings %+v", rb.Findings)
	}
}

// testSpecLike copies a spec for a second command on the same state dir.
func testSpecLike(s *Spec) *Spec {
	c := *s
	return &c
}
