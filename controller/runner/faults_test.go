package runner

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// A run that fails before any change while the database is unreachable
// cannot release its fleet lock: the report must say exactly how to clear
// it (found by the fault matrix, backup × db-unreachable).
func TestFailedBeforeChangeWithLockLeftNamesUnlock(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	c.fail = func(call string) error {
		if strings.HasPrefix(call, "db backup") || call == "lock release" {
			return errors.New("dial tcp 198.18.0.2:5432: connect: connection refused")
		}
		return nil
	}
	spec := testSpec(t, "kong-1", "kong-2")
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != Failed {
		t.Fatalf("outcome %s, want failed", r.Outcome)
	}
	if c.lock == nil {
		t.Fatal("the fake lock was released; the test needs it held")
	}
	want := "kongctl unlock -i " + spec.InventoryPath + " --run " + r.RunID
	if !strings.Contains(r.Next, want) {
		t.Fatalf("next = %q, want it to contain %q", r.Next, want)
	}
	if n := countCalls(c.Calls(), func(s string) bool { return strings.HasSuffix(s, " stop") }); n != 0 {
		t.Fatalf("%d stops after a failed backup", n)
	}
}
