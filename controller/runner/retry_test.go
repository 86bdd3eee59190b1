package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// A rollback step whose connection drops, or whose host cannot reach the
// database for a while, is tried again; any other failure the host
// reported is not.
func TestRollbackRetriesTransientFaults(t *testing.T) {
	lost := func(call string) error {
		return fmt.Errorf("host x: agent op: %w", lostCall{"ssh: session: EOF (" + call + ")"})
	}
	dbDown := func(call string) error {
		return fmt.Errorf("host db: agent fleet_lock: %w", agentproto.Errorf(agentproto.CodeDBUnreachable, "connect to kong@db:5432/kong: connection refused"))
	}
	for _, tc := range []struct {
		name       string
		fail       func(call string, n int) error // n: how often this call was seen
		outcome    Outcome
		minRetries int
	}{
		{name: "start X drops twice", outcome: RolledBack, minRetries: 2, fail: func(call string, n int) error {
			if call == "kong-2 start 2.8.4" && n <= 2 {
				return lost(call)
			}
			return nil
		}},
		// kong-1, the migration node, has always installed Y before its
		// `up` fails; whether another node's install beside the chain
		// has begun by then is timing, so the fault is put on kong-1.
		{name: "install X drops once", outcome: RolledBack, minRetries: 1, fail: func(call string, n int) error {
			if call == "kong-1 install 2.8.4" && n == 1 {
				return lost(call)
			}
			return nil
		}},
		{name: "lock release drops", outcome: RolledBack, minRetries: 1, fail: func(call string, n int) error {
			if call == "lock release" && n == 1 {
				return lost(call)
			}
			return nil
		}},
		{name: "database unreachable for a while", outcome: RolledBack, minRetries: 9, fail: func(call string, n int) error {
			if (strings.HasPrefix(call, "db restore") || strings.HasPrefix(call, "db migration-lock") || call == "lock release") && n <= 3 {
				return dbDown(call)
			}
			return nil
		}},
		{name: "X cannot start until the database is back", outcome: RolledBack, minRetries: 2, fail: func(call string, n int) error {
			if call == "kong-2 start 2.8.4" && n <= 2 {
				return fmt.Errorf("host kong-2: agent service.start: %w", agentproto.Errorf(agentproto.CodeDBUnreachable,
					"kong start exited 1: Error: [PostgreSQL error] failed to retrieve PostgreSQL server_version_num: connection refused"))
			}
			return nil
		}},
		{name: "never back", outcome: Failed, fail: func(call string, n int) error {
			if call == "kong-2 start 2.8.4" {
				return lost(call)
			}
			return nil
		}},
		{name: "host reports failure", outcome: Failed, fail: func(call string, n int) error {
			if call == "kong-2 start 2.8.4" {
				return fmt.Errorf("host kong-2: agent service.start: %w", agentproto.Errorf(agentproto.CodeKongFailed, "kong start exited 1"))
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
			var mu sync.Mutex // rollback steps run on several hosts at once
			seen := map[string]int{}
			rollingBack := false // faults hit the rollback only
			c.fail = func(call string) error {
				mu.Lock()
				defer mu.Unlock()
				if strings.HasPrefix(call, "kong-1 migrations up") {
					rollingBack = true
					return errors.New("injected: migrations up failed")
				}
				if !rollingBack {
					return nil
				}
				seen[call]++
				return tc.fail(call, seen[call])
			}
			r, err := upgrade(context.Background(), testSpec(t), testConfig(c))
			if err != nil {
				t.Fatal(err)
			}
			if r.Outcome != tc.outcome {
				t.Fatalf("outcome %s, want %s (rollback error %q)", r.Outcome, tc.outcome, r.RollbackError)
			}
			retried := 0
			for k, n := range seen {
				if tc.fail(k, 1) != nil {
					retried += n - 1
				}
			}
			if retried < tc.minRetries {
				t.Errorf("failing call retried %d times, want at least %d (%v)", retried, tc.minRetries, seen)
			}
			switch tc.name {
			case "never back":
				if !strings.Contains(r.RollbackError, "not back within") {
					t.Errorf("rollback error %q should say the connection did not come back", r.RollbackError)
				}
			case "host reports failure":
				if seen["kong-2 start 2.8.4"] != 1 {
					t.Errorf("a failure the host reported was retried: %d starts", seen["kong-2 start 2.8.4"])
				}
			default:
				for name, n := range c.nodes {
					if n.version != "2.8.4" || !n.running {
						t.Errorf("%s left on %s, running=%v", name, n.version, n.running)
					}
				}
				if c.lock != nil {
					t.Error("fleet lock still held after the rollback")
				}
			}
		})
	}
}

// The write check after the stop is a read: a database blip there (the
// fleet already down) is waited out, and the upgrade goes on.
func TestBackupCheckWaitsForDatabase(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	var mu sync.Mutex
	stopped, checks := false, 0
	c.fail = func(call string) error {
		mu.Lock()
		defer mu.Unlock()
		if strings.HasSuffix(call, " stop") {
			stopped = true
		}
		if call == "db write-signature" && stopped {
			checks++
			if checks <= 2 {
				return fmt.Errorf("host db: agent db.write_signature: %w", agentproto.Errorf(agentproto.CodeDBUnreachable, "connect to kong@db:5432/kong: connection refused"))
			}
		}
		return nil
	}
	r, err := upgrade(context.Background(), testSpec(t), testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != Succeeded || checks != 3 {
		t.Fatalf("outcome %s after %d write checks after the stop, want succeeded after 3 (error %q)", r.Outcome, checks, r.Error)
	}
}

// lostCall is a call that got no answer, as a transport reports it
// (fleet.ConnectionLost).
type lostCall struct{ msg string }

func (e lostCall) Error() string        { return e.msg }
func (e lostCall) ConnectionLost() bool { return true }

// A connection lost during the verify (an SSH cut on one node) says
// nothing of Y's health: the health read and the smoke request are tried
// again and the upgrade succeeds; it does not roll back.
func TestVerifyRidesOutLostConnection(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	spec := testSpec(t, "kong-1", "kong-2")
	lost := 0
	verifying := false
	c.fail = func(call string) error {
		if call == "kong-2 hold kong 3.4.2" { // the verify comes next
			verifying = true
		}
		if verifying && call == "kong-2 health" && lost < 2 {
			lost++
			return lostCall{"ssh kong-2: run: wait: remote command exited without exit status (connection lost)"}
		}
		return nil
	}
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != Succeeded || lost != 2 {
		t.Fatalf("outcome %s after %d lost health reads, want succeeded after 2 (error %q)", r.Outcome, lost, r.Error)
	}
}
