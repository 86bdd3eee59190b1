package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/controller/fleet"

	"github.com/kongctl/kongctl/controller/journal"
	"github.com/kongctl/kongctl/controller/progress"
)

// heartbeats makes every recorded call of the fleet land a data-plane
// heartbeat in clustering_data_planes (a runtime table), as hybrid data
// planes do throughout an upgrade.
func heartbeats(c *fakeCluster, also func(call string) error) {
	c.fail = func(call string) error {
		c.mu.Lock()
		c.db.runtime++
		c.mu.Unlock()
		if also != nil {
			return also(call)
		}
		return nil
	}
}

// upgradeSucceeds runs an upgrade on c that must succeed, recording its
// events.
func upgradeSucceeds(t *testing.T, c *fakeCluster, spec *Spec) (*Report, *eventLog) {
	t.Helper()
	cfg := testConfig(c)
	log := &eventLog{}
	cfg.sink = log
	r, err := upgrade(context.Background(), spec, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != Succeeded {
		t.Fatalf("outcome %s: %s", r.Outcome, r.Error)
	}
	return r, log
}

func afterLastStop(calls []string, last string) []string {
	i := indexOfCall(calls, last, 0)
	if i < 0 {
		return nil
	}
	return calls[i+1:]
}

func notes(l *eventLog) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, e := range l.evs {
		if e.Type == progress.Message {
			b.WriteString(e.Message + "\n")
		}
	}
	return b.String()
}

// Runtime churn (heartbeats) between the backup and the stop: the write
// counters of the configuration tables are unchanged, so no finding, no
// second backup and no table scan inside the window.
func TestWriteCheckIgnoresRuntimeChurn(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	heartbeats(c, nil)
	r, log := upgradeSucceeds(t, c, testSpec(t))
	calls := c.Calls()
	if f := findingOf(r, "writes-during-freeze"); f != nil {
		t.Errorf("finding on runtime churn only: %s", f.Message)
	}
	if n := countCalls(calls, func(s string) bool { return strings.HasPrefix(s, "db backup ") }); n != 1 {
		t.Errorf("backups taken: %d, want 1", n)
	}
	window := afterLastStop(calls, "kong-3 stop")
	if indexOfCall(window, "db write-signature", 0) < 0 || indexOfCall(window, "db fingerprint", 0) >= 0 {
		t.Errorf("after the stop: want the write counters read, no fingerprint: %q", window)
	}
	if r.Backup == nil || r.Backup.WriteSignature == nil || !strings.HasSuffix(r.Backup.Path, "-pre.dump") {
		t.Errorf("kept backup %+v: want the one before the stop, with its write counters", r.Backup)
	}
	if !strings.Contains(notes(log), "write counters of 2 configuration tables are as before the backup") {
		t.Errorf("notes:\n%s", notes(log))
	}
}

// Counters that lagged at the backup (a write's count still pending in a
// live connection, flushed when Kong stopped) move without any write
// since the dump: the content of the configuration tables equals the
// backup's, so no finding and no second backup.
func TestWriteCheckPendingCountsNoRetake(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	c.statsLag = 1
	c.after = func(call string) {
		if call == "kong-2 stop" {
			c.mu.Lock()
			c.statsLag = 0
			c.mu.Unlock()
		}
	}
	r, log := upgradeSucceeds(t, c, testSpec(t, "kong-1", "kong-2"))
	if f := findingOf(r, "writes-during-freeze"); f != nil {
		t.Errorf("finding although nothing was written since the dump: %s", f.Message)
	}
	if n := countCalls(c.Calls(), func(s string) bool { return strings.HasPrefix(s, "db backup ") }); n != 1 {
		t.Errorf("backups taken: %d, want 1", n)
	}
	if !strings.Contains(notes(log), "configuration tables hold what the backup holds") {
		t.Errorf("notes:\n%s", notes(log))
	}
}

// A configuration write between the backup and the stop (heartbeats
// too): the finding names the configuration table only, the backup is
// taken again with counters of its own, and it is the one kept.
func TestWriteCheckRetakesOnConfigWrite(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	heartbeats(c, nil)
	writeAfterFirstBackup(c)
	r, err := upgrade(context.Background(), testSpec(t, "kong-1", "kong-2"), testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != Succeeded {
		t.Fatalf("outcome %s: %s", r.Outcome, r.Error)
	}
	f := findingOf(r, "writes-during-freeze")
	if f == nil || !strings.Contains(f.Message, "(tables: services)") {
		t.Fatalf("finding %+v, want one naming services only", f)
	}
	if n := countCalls(c.Calls(), func(s string) bool { return strings.HasPrefix(s, "db backup ") }); n != 2 {
		t.Errorf("backups taken: %d, want 2", n)
	}
	b := r.Backup
	if b == nil || !strings.HasSuffix(b.Path, "-final.dump") || b.WriteSignature == nil || b.WriteSignature.Tables["services"] != "16390 11 0 0" {
		t.Errorf("kept backup %+v, want the retaken one with its own counters (services 16390 11 0 0)", b)
	}
	if c.backups[b.Path].writes != 11 {
		t.Errorf("kept backup holds %+v, want the write", c.backups[b.Path])
	}
}

// Counters that cannot prove anything fall back to the fingerprint of the
// configuration tables: a client still connected after the stop (its
// last counts may be pending), a server restarted or its statistics reset
// (crash recovery) since the backup, or a server whose counters are
// unusable.
// Runtime churn alone still takes no second backup; a configuration write
// still does.
func TestWriteCheckFallsBackToFingerprint(t *testing.T) {
	for _, tc := range []struct {
		name     string
		setup    func(c *fakeCluster)
		write    bool
		wantNote string
	}{
		{"client connected, churn only", func(c *fakeCluster) { c.clients = []string{"pgbouncer@10.0.0.5"} }, false,
			"1 other client(s) still connected to Kong's database 3s after the stop (pgbouncer@10.0.0.5)"},
		{"client connected, config write", func(c *fakeCluster) { c.clients = []string{"pgbouncer@10.0.0.5"} }, true, "fingerprinting the configuration tables instead"},
		{"server restarted, churn only", func(c *fakeCluster) { c.restarts++ }, false, "restarted or its statistics were reset (crash recovery, pg_stat_reset) since the backup"},
		{"crash recovery, config write", func(c *fakeCluster) { c.crashed = fmt.Sprintf("16390 %d 0 0", c.db.writes) }, true, "restarted or its statistics were reset"},
		{"counters unusable, churn only", func(c *fakeCluster) { c.statsOff = true }, false,
			"write check: PostgreSQL 14.9 sends table statistics through the statistics collector; the check after the stop fingerprints"},
		{"counters unusable, config write", func(c *fakeCluster) { c.statsOff = true }, true, "the check after the stop fingerprints"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
			stopped := false
			heartbeats(c, func(call string) error {
				if call == "kong-2 stop" && !stopped {
					stopped = true
					tc.setup(c)
					if tc.write {
						c.mu.Lock()
						c.db.writes++ // accepted by kong-2 before it went down
						c.mu.Unlock()
					}
				}
				return nil
			})
			if strings.HasPrefix(tc.name, "counters unusable") {
				tc.setup(c)
			}
			r, log := upgradeSucceeds(t, c, testSpec(t, "kong-1", "kong-2"))
			window := afterLastStop(c.Calls(), "kong-2 stop")
			if indexOfCall(window, "db fingerprint", 0) < 0 {
				t.Errorf("no fingerprint after the stop: %q", window)
			}
			f := findingOf(r, "writes-during-freeze")
			backups := countCalls(c.Calls(), func(s string) bool { return strings.HasPrefix(s, "db backup ") })
			if tc.write && (f == nil || !strings.Contains(f.Message, "(tables: services)") || backups != 2) {
				t.Errorf("config write: finding %+v, %d backups; want services named and 2 backups", f, backups)
			}
			if !tc.write && (f != nil || backups != 1) {
				t.Errorf("churn only: finding %+v, %d backups; want none and 1", f, backups)
			}
			if !strings.Contains(notes(log), tc.wantNote) {
				t.Errorf("notes lack %q:\n%s", tc.wantNote, notes(log))
			}
		})
	}
}

// A stopped node left a backend to Kong's database (a query it started
// before its stop runs on without its client): the check ends it, the
// counters settle at once and prove the backup whole, with no fingerprint
// inside the window. A client from elsewhere (pgbouncer above) is never
// ended.
func TestWriteCheckEndsStoppedNodesConnections(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	stopped := false
	heartbeats(c, func(call string) error {
		if call == "kong-2 stop" && !stopped {
			stopped = true
			c.mu.Lock()
			c.clients = []string{"kong@10.0.1.2"}
			c.mu.Unlock()
		}
		return nil
	})
	r, log := upgradeSucceeds(t, c, testSpec(t, "kong-1", "kong-2"))
	window := afterLastStop(c.Calls(), "kong-2 stop")
	if i := indexOfCall(window, "db fingerprint", 0); i >= 0 {
		t.Errorf("fingerprint after the stop although the counters settled: %q", window)
	}
	if f := findingOf(r, "writes-during-freeze"); f != nil {
		t.Errorf("finding %+v; want none", f)
	}
	want := "write check: ended 1 connection(s) the stopped nodes left to Kong's database (kong@10.0.1.2)"
	if !strings.Contains(notes(log), want) {
		t.Errorf("notes lack %q:\n%s", want, notes(log))
	}
}

// A run journaled by an older kongctl (its backup has no write counters)
// resumed by this one: the check after the stop fingerprints, and a write
// that slipped in is still caught.
func TestWriteCheckOldJournalUsesFingerprint(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	spec := testSpec(t, "kong-1", "kong-2")
	r := interruptAt(t, c, spec, "kong-1 stop")
	stripWriteSignatures(t, r.Journal)
	var b fleet.BackupInfo
	if st := journal.Fold(mustRead(t, r.Journal)); !st.Data("backup", &b) || b.WriteSignature != nil || b.Fingerprint.Sum == "" {
		t.Fatalf("test setup: journaled backup %+v", b)
	}
	c.mu.Lock()
	c.db.writes++ // accepted before the stop
	c.db.runtime++
	c.mu.Unlock()
	r2, calls := resumeSucceeds(t, c, spec)
	window := afterLastStop(calls, "kong-2 stop")
	if i := indexOfCall(window, "db fingerprint", 0); i < 0 || indexOfCall(window[:i], "db write-signature", 0) >= 0 {
		t.Errorf("after the stop: want the fingerprint first, no write counters: %q", window)
	}
	if f := findingOf(r2, "writes-during-freeze"); f == nil || !strings.Contains(f.Message, "(tables: services)") {
		t.Errorf("finding %+v, want one naming services", f)
	}
	if r2.Backup == nil || !strings.HasSuffix(r2.Backup.Path, "-final.dump") || r2.Backup.WriteSignature == nil {
		t.Errorf("kept backup %+v, want the retaken one, with write counters", r2.Backup)
	}
}

// stripWriteSignatures rewrites a run journal as an older kongctl wrote
// it: no write_signature in any step's data.
func stripWriteSignatures(t *testing.T, dir string) {
	t.Helper()
	path := filepath.Join(dir, journal.FileName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var rec map[string]json.RawMessage
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatal(err)
		}
		var data map[string]json.RawMessage
		if json.Unmarshal(rec["data"], &data) == nil {
			if _, ok := data["write_signature"]; ok {
				delete(data, "write_signature")
				rec["data"], _ = json.Marshal(data)
			}
		}
		l, _ := json.Marshal(rec)
		out.Write(append(l, '\n'))
	}
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Heartbeats land between the write counters and the dump, and the
// backup is kept (no retake): a rollback restores it and its check
// passes, because the backup's fingerprint is the dump's own snapshot,
// not one taken before the dump.
func TestWriteCheckKeptBackupRestoresAfterChurn(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	down := false
	heartbeats(c, func(call string) error {
		if call == "kong-1 stop" {
			down = true // the control planes stop: no more heartbeats
		}
		if call == "kong-2 start 3.4.2" {
			return errors.New("nginx failed")
		}
		return nil
	})
	inner := c.fail
	c.fail = func(call string) error {
		if down {
			c.mu.Lock()
			c.db.runtime-- // undo the heartbeat: the fleet is down
			c.mu.Unlock()
		}
		return inner(call)
	}
	r, _ := upgrade(context.Background(), testSpec(t, "kong-1", "kong-2"), testConfig(c))
	if r.Outcome != RolledBack || r.RollbackError != "" {
		t.Fatalf("outcome %s: %s / rollback: %s", r.Outcome, r.Error, r.RollbackError)
	}
	if f := findingOf(r, "writes-during-freeze"); f != nil {
		t.Errorf("finding on runtime churn only: %s", f.Message)
	}
	if r.Backup == nil || !strings.HasSuffix(r.Backup.Path, "-pre.dump") || indexOfCall(c.Calls(), "db restore "+filepath.Base(r.Backup.Path), 0) < 0 {
		t.Errorf("kept backup %+v not the one restored: %q", r.Backup, c.Calls())
	}
}
