package runner

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// reset puts the fake fleet back on from (a new X) for another run.
func (c *fakeCluster) reset(from string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.nodes {
		n.version, n.running = from, true
	}
	c.db = dbSnap{schema: from, writes: c.db.writes + 1}
	c.lock = nil
}

func TestBackupRetention(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	spec := testSpec(t, "kong-1", "kong-2")
	spec.Backup.LocalDir = filepath.Join(t.TempDir(), "backups")
	spec.Backup.Retention = 2
	run := func(onFailure OnFailure) *Report {
		t.Helper()
		s := testSpecLike(spec)
		s.OnFailure = onFailure
		r, err := upgrade(context.Background(), s, testConfig(c))
		if err != nil {
			t.Fatal(err)
		}
		c.reset("2.8.4")
		return r
	}
	// A paused run (start fails on kong-2) keeps its backup whatever its
	// age; its lock is cleared by hand (kongctl unlock) to go on.
	c.fail = func(call string) error {
		if call == "kong-2 start 3.4.2" {
			return os.ErrDeadlineExceeded
		}
		return nil
	}
	paused := run("pause")
	c.fail = nil
	if paused.Outcome != Paused {
		t.Fatalf("first run %s", paused.Outcome)
	}
	var ok []*Report
	for range 4 {
		r := run("rollback")
		if r.Outcome != Succeeded {
			t.Fatalf("run %s: %s", r.Outcome, r.Error)
		}
		ok = append(ok, r)
	}
	exists := func(r *Report) bool {
		_, err := os.Stat(r.Backup.LocalPath)
		return err == nil
	}
	if !exists(paused) {
		t.Error("the paused run's backup was deleted")
	}
	for i, r := range ok {
		want := i >= 2 // the newest two
		if exists(r) != want {
			t.Errorf("run %d (%s): bastion backup exists=%v, want %v", i, r.RunID, exists(r), want)
		}
		removed := slices.Contains(c.Calls(), "db remove kong-"+r.RunID+"-pre.dump")
		if removed == want {
			t.Errorf("run %d: tools-host backup removed=%v", i, removed)
		}
	}
	// Each deletion came after the new run's backup was verified and
	// copied, and is in that run's report.
	last := ok[3]
	calls := c.Calls()
	fetched := indexOfCall(calls, "db fetch kong-"+last.RunID+"-pre.dump", 0)
	removed := indexOfCall(calls, "db remove kong-"+ok[1].RunID+"-pre.dump", 0)
	if fetched < 0 || removed < fetched {
		t.Errorf("old backup removed at %d, before the new one was copied (%d)", removed, fetched)
	}
	if len(last.BackupsPruned) != 1 || !strings.Contains(last.BackupsPruned[0], ok[1].RunID) {
		t.Errorf("report lists pruned %q", last.BackupsPruned)
	}
}

func TestBackupRetentionDefault(t *testing.T) {
	if DefaultBackupRetention != 5 {
		t.Fatalf("default %d", DefaultBackupRetention)
	}
	r := runBackups{status: "failed", stopped: true}
	if r.ended() {
		t.Error("a run whose rollback failed (nodes stopped) may still need its backup")
	}
	if !(runBackups{status: "failed"}).ended() || (runBackups{status: "paused"}).ended() || (runBackups{}).ended() {
		t.Error("ended()")
	}
}
