package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/inventory"

	"github.com/kongctl/kongctl/controller/journal"
)

func lookupIn(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// TestLocalHookMinimalEnv: a hook on the bastion gets PATH, HOME and its
// KONGCTL_* variables, never the rest of kongctl's environment (here a
// database password given with password_env).
func TestLocalHookMinimalEnv(t *testing.T) {
	host := map[string]string{"PATH": os.Getenv("PATH"), "HOME": "/home/op", "KONG_PG_PASSWORD": "hunter2-pg", "SSH_AUTH_SOCK": "/tmp/agent.sock"}
	res, err := runLocalHook(context.Background(), fleet.ExecRequest{Command: "env", Env: map[string]string{"KONGCTL_HOOK": "before_stop", "KONGCTL_RUN_ID": "r1"}}, lookupIn(host))
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("env: %v, exit %d: %s", err, res.ExitCode, res.Stderr)
	}
	for _, want := range []string{"HOME=/home/op\n", "KONGCTL_HOOK=before_stop\n", "KONGCTL_RUN_ID=r1\n", "PATH="} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("hook environment lacks %q:\n%s", want, res.Stdout)
		}
	}
	for _, leak := range []string{"hunter2-pg", "KONG_PG_PASSWORD", "SSH_AUTH_SOCK"} {
		if strings.Contains(res.Stdout, leak) {
			t.Errorf("hook environment holds %q:\n%s", leak, res.Stdout)
		}
	}
	// Without PATH in kongctl's environment the hook still finds its tools.
	res, err = runLocalHook(context.Background(), fleet.ExecRequest{Command: "env"}, lookupIn(nil))
	if err != nil || !strings.Contains(res.Stdout, "PATH=/usr/local/sbin:") {
		t.Errorf("no PATH: %v %q", err, res.Stdout)
	}
}

// TestLocalHookTimeoutKillsGroup: a hook past its timeout fails, quickly,
// and what it forked dies with it.
func TestLocalHookTimeoutKillsGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	start := time.Now()
	res, err := runLocalHook(context.Background(), fleet.ExecRequest{
		Command: "sleep 60 & echo $! > " + pidFile + "; echo waiting; wait",
		Timeout: 300 * time.Millisecond,
	}, os.LookupEnv)
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "timed out after 300ms") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if took > hookKillDelay+time.Second {
		t.Errorf("the timed-out hook took %s", took)
	}
	if res.Stdout != "waiting\n" {
		t.Errorf("stdout %q", res.Stdout)
	}
	b, rerr := os.ReadFile(pidFile)
	if rerr != nil {
		t.Fatal(rerr)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(2 * time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(pid) {
		t.Errorf("the hook's child %d outlived its timeout", pid)
	}
}

// alive reports whether pid runs (a zombie waiting for its reaper does not).
func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// TestLocalHookNoisyOutputBounded: 50 MB of output keeps only its tail.
func TestLocalHookNoisyOutputBounded(t *testing.T) {
	res, err := runLocalHook(context.Background(), fleet.ExecRequest{
		Command: "head -c 50000000 /dev/zero | tr '\\0' x; echo; echo END; head -c 50000000 /dev/zero | tr '\\0' y >&2; exit 3",
	}, os.LookupEnv)
	if err != nil || res.ExitCode != 3 {
		t.Fatalf("err %v exit %d", err, res.ExitCode)
	}
	if len(res.Stdout) != hookTailBytes || !strings.HasSuffix(res.Stdout, "x\nEND\n") || len(res.Stderr) != hookTailBytes {
		t.Errorf("kept %d bytes of stdout (ending %q), %d of stderr", len(res.Stdout), res.Stdout[len(res.Stdout)-8:], len(res.Stderr))
	}
	if f := hookFailure(res); len(f) > 300 || !strings.HasSuffix(f, "yyy") {
		t.Errorf("failure text %d bytes: %.40q", len(f), f)
	}
}

func TestHookFailureText(t *testing.T) {
	for _, tc := range []struct {
		res  fleet.ExecResult
		want string
	}{
		{fleet.ExecResult{Stderr: "a\nb: refused\n"}, "b: refused"},
		{fleet.ExecResult{Stdout: "only stdout\n"}, "only stdout"},
		{fleet.ExecResult{}, "no output"},
	} {
		if got := hookFailure(tc.res); got != tc.want {
			t.Errorf("hookFailure(%+v) = %q, want %q", tc.res, got, tc.want)
		}
	}
}

// TestBastionHooksInARun: a before_stop hook that fails stops the run
// before any node is stopped; with continue_on_error it only warns; a
// hook that succeeds has its output, redacted, in the journal.
func TestBastionHooksInARun(t *testing.T) {
	const secret = "pg-secret-123"
	run := func(t *testing.T, hooks ...HookSpec) (*Report, *fakeCluster) {
		c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
		spec := testSpec(t, "kong-1", "kong-2")
		spec.DB.Password = func() ([]byte, error) { return []byte(secret), nil }
		spec.Hooks = map[HookPoint][]HookSpec{HookBeforeStop: hooks}
		r, err := upgrade(context.Background(), spec, testConfig(c))
		if err != nil {
			t.Fatal(err)
		}
		return r, c
	}
	stopped := func(c *fakeCluster) int { return countCalls(c.Calls(), hasSuffix(" stop")) }

	t.Run("failing", func(t *testing.T) {
		r, c := run(t, HookSpec{Name: "drain", Command: "echo cannot drain >&2; exit 1", OnBastion: true, Timeout: time.Minute})
		if r.Outcome != Failed || !strings.Contains(r.Error, "hook drain on bastion: exit 1: cannot drain") {
			t.Fatalf("outcome %s, error %q: want the hook's failure", r.Outcome, r.Error)
		}
		if c.lock != nil {
			t.Error("the fleet lock is still held after a run that changed nothing")
		}
		if n := stopped(c); n != 0 {
			t.Errorf("%d nodes stopped after a failed before_stop hook: %q", n, c.Calls())
		}
	})
	t.Run("continue on error", func(t *testing.T) {
		r, c := run(t, HookSpec{Name: "drain", Command: "exit 1", OnBastion: true, Timeout: time.Minute, ContinueOnError: true})
		if r.Outcome != Succeeded || stopped(c) == 0 {
			t.Fatalf("outcome %s (%s), %d stops: want the run to go on", r.Outcome, r.Error, stopped(c))
		}
		found := false
		for _, f := range r.Findings {
			found = found || (f.Code == "hook" && f.Severity == SevWarning && strings.Contains(f.Message, "exit 1"))
		}
		if !found {
			t.Errorf("no hook warning in %+v", r.Findings)
		}
	})
	t.Run("output journaled", func(t *testing.T) {
		r, _ := run(t, HookSpec{Name: "drain", Command: "echo drained pool; echo password=" + secret + " >&2; head -c 1000000 /dev/zero | tr '\\0' z", OnBastion: true, Timeout: time.Minute})
		if r.Outcome != Succeeded {
			t.Fatalf("outcome %s: %s", r.Outcome, r.Error)
		}
		recs, err := journal.Read(r.Journal)
		if err != nil {
			t.Fatal(err)
		}
		var out hookOutput
		for _, rec := range recs {
			if rec.Step == "hook/before_stop/0/bastion" && rec.Status == journal.Done {
				if err := json.Unmarshal(rec.Data, &out); err != nil {
					t.Fatal(err)
				}
				if len(rec.Data) > 3*hookTailBytes {
					t.Errorf("journal record of the hook is %d bytes", len(rec.Data))
				}
			}
		}
		if !strings.Contains(out.StderrTail, "password=[REDACTED]") || strings.Contains(out.StderrTail, secret) || len(out.StdoutTail) > hookTailBytes {
			t.Errorf("journaled hook output %+v: want clipped and redacted", out)
		}
	})
}

// Per-node hooks: before_stop runs for each node right before its stop,
// after_start right after it serves, with the node's name and address; a
// rollback runs after_start again once X serves on the node.
func TestPerNodeHooks(t *testing.T) {
	out := filepath.Join(t.TempDir(), "hooks.log")
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	spec := testSpec(t)
	spec.StopMode = inventory.StopSequential
	for i := range spec.Hosts {
		spec.Hosts[i].Address = fmt.Sprintf("198.18.0.%d", i+1)
	}
	cmd := `echo "$KONGCTL_HOOK $KONGCTL_NODE $KONGCTL_NODE_ADDRESS" >> ` + out
	spec.Hooks = map[HookPoint][]HookSpec{
		HookBeforeStop: {{Name: "drain", Command: cmd, OnBastion: true, Timeout: time.Minute, PerNode: true}},
		HookAfterStart: {{Name: "enable", Command: cmd, OnBastion: true, Timeout: time.Minute, PerNode: true}},
	}
	r := upgradeExpect(t, c, spec, Succeeded)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	want := []string{"before_stop kong-1 198.18.0.1", "before_stop kong-2 198.18.0.2", "before_stop kong-3 198.18.0.3"}
	if len(lines) != 6 || !slices.Equal(lines[:3], want) {
		t.Fatalf("hook runs:\n%s\nwant the three before_stop in stop order, then three after_start", b)
	}
	for _, l := range lines[3:] {
		if !strings.HasPrefix(l, "after_start kong-") {
			t.Errorf("hook run %q", l)
		}
	}
	// Each node's hook right before its own stop, in the journal.
	recs := mustRead(t, r.Journal)
	pos := map[string]int{}
	for i, rec := range recs {
		if rec.Kind == "step" && rec.Status == journal.Done {
			pos[rec.Step] = i
		}
	}
	for _, h := range spec.Nodes {
		hook, stop := pos["hook/before_stop/0/"+h+"/bastion"], pos["stop/"+h]
		if hook == 0 || stop < hook {
			t.Errorf("%s: drain hook at record %d, stop at %d", h, hook, stop)
		}
		if en := pos["hook/after_start/0/"+h+"/bastion"]; en < pos["start/"+h] {
			t.Errorf("%s: enable hook at record %d, before its start (%d)", h, en, pos["start/"+h])
		}
	}

	// A rollback re-enables each node once X serves there.
	os.Remove(out)
	c2 := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	spec2 := testSpec(t, "kong-1", "kong-2")
	spec2.Hooks = spec.Hooks
	c2.fail = func(call string) error {
		if call == "kong-2 start 3.4.2" {
			return errors.New("injected failure")
		}
		return nil
	}
	upgradeExpect(t, c2, spec2, RolledBack)
	b, _ = os.ReadFile(out)
	for _, h := range []string{"kong-1", "kong-2"} {
		if !strings.Contains(string(b), "after_start "+h) {
			t.Errorf("rollback did not re-enable %s:\n%s", h, b)
		}
	}
}
