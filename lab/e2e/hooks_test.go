//go:build integration

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/lab/labenv"
)

// hookHCL is a hook block for the inventory; extra holds more attributes,
// one a line.
func hookHCL(event, command, on string, extra ...string) string {
	s := fmt.Sprintf("\nhook %q {\n  command = %s\n  on      = %q\n", event, strconv.Quote(command), on)
	for _, x := range extra {
		s += "  " + x + "\n"
	}
	return s + "}\n"
}

// pgPasswordEnv is the variable the hooks test hands kongctl the database
// password in (database.password_env): the one a leaking hook would see.
const pgPasswordEnv = "KONGCTL_E2E_PG_PASSWORD"

// envFile parses `env` output.
func envFile(s string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}

// procAlive reports whether pid runs on this machine (a zombie does not).
func procAlive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// journalStep is one step record of a journal, with its data.
type journalStep struct {
	Step   string          `json:"step"`
	Status string          `json:"status"`
	Error  string          `json:"error"`
	Data   json.RawMessage `json:"data"`
}

// Issue 20, item 4: operator hooks run for real. On one lab, in turn:
// a before_stop hook that fails stops the run before any node is stopped
// (exit 1, nothing changed); one that hangs past its timeout is killed
// with what it forked and fails the same way; then an upgrade whose
// before_stop hooks write their environment (on the bastion and on a
// node), fail with continue_on_error (a warning only) and print 100 MB:
// the hooks get KONGCTL_RUN_ID/FROM/TO/HOOK and never the database
// password kongctl was given in its environment, the noisy hook's output
// is clipped in the journal, and kongctl's memory stays bounded.
func TestHooks(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2, From: "2.8.4", To: "3.4.2"})
	nodes := names(e.lab.KongHosts())
	e.createEntities(nodes[0])
	e.requireServing(nodes, labRoutes)
	pw, err := e.lab.DBPassword()
	if err != nil || len(pw) < 8 {
		t.Fatalf("db password: %v (%d bytes)", err, len(pw))
	}
	t.Setenv(pgPasswordEnv, pw)
	inventory := func(hooks ...string) string {
		return e.writeInventory(func(s string) string {
			const file = `password_file = "pg_password"`
			if !strings.Contains(s, file) {
				t.Fatalf("the lab's inventory has no %s", file)
			}
			s = strings.Replace(s, file, "password_env  = "+strconv.Quote(pgPasswordEnv), 1)
			return s + strings.Join(hooks, "")
		})
	}
	// refused runs kongctl with a before_stop hook that must fail the run
	// before the stop, and checks nothing changed.
	refused := func(name string, hook string, wantErr string) result {
		t.Helper()
		pids := e.kongPIDs(nodes)
		r := e.kongctl("upgrade", "-i", inventory(hook), "--yes", "--output", "json")
		if r.code != 1 {
			t.Fatalf("%s: want exit 1: %s", name, r)
		}
		rep := finalReport(t, r.stdout)
		if !strings.Contains(rep.Error, wantErr) {
			t.Errorf("%s: error %q, want %q", name, rep.Error, wantErr)
		}
		if after := e.kongPIDs(nodes); !equalMaps(pids, after) {
			t.Errorf("%s: Kong restarted on a node (pids %v, then %v)", name, pids, after)
		}
		e.requireVersion("2.8.4", nodes...)
		e.requireServing(nodes, labRoutes[:1])
		return r
	}

	// A failing hook.
	refused("failing hook", hookHCL("before_stop", "echo cannot drain the pool >&2; exit 1", "bastion"),
		"hook before_stop on bastion: exit 1: cannot drain the pool")

	// A hook hanging past its timeout, with a child of its own.
	pidFile := filepath.Join(t.TempDir(), "hang.pid")
	r := refused("hanging hook", hookHCL("before_stop", "sleep 600 & echo $! > "+pidFile+"; wait", "bastion", `timeout = "3s"`),
		"timed out after 3s, killed")
	if r.elapsed > 90*time.Second {
		t.Errorf("the run with a hanging hook took %s", r.elapsed)
	}
	b, err := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid == 0 {
		t.Fatalf("the hanging hook wrote no pid: %v %q", err, b)
	}
	deadline := time.Now().Add(5 * time.Second)
	for procAlive(pid) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if procAlive(pid) {
		t.Errorf("the hanging hook's child %d outlived its timeout", pid)
	}

	// An upgrade with hooks that report their environment, fail with
	// continue_on_error and print 100 MB.
	marker := filepath.Join(t.TempDir(), "hook.env")
	const nodeMarker = "/tmp/kongctl-e2e-hook.env"
	e.ssh(nodes[1], "rm -f "+nodeMarker)
	r = e.kongctl("upgrade", "-i", inventory(
		hookHCL("before_stop", "env > "+marker, "bastion"),
		hookHCL("before_stop", "echo lb api down >&2; exit 1", "bastion", "continue_on_error = true"),
		hookHCL("before_stop", `head -c 50000000 /dev/zero | tr '\0' n; head -c 50000000 /dev/zero | tr '\0' e >&2; echo noisy done`, "bastion"),
		hookHCL("after_start", "env > "+nodeMarker, nodes[1]),
	), "--yes", "--output", "json")
	if r.code != 0 {
		t.Fatalf("upgrade with hooks: %s", r)
	}
	rep := finalReport(t, r.stdout)
	e.requireVersion("3.4.2", nodes...)
	e.requireServing(nodes, labRoutes)

	b, err = os.ReadFile(marker)
	if err != nil {
		t.Fatalf("the bastion hook left no marker: %v", err)
	}
	nodeEnv := e.ssh(nodes[1], "cat "+nodeMarker)
	for where, raw := range map[string]string{"bastion": string(b), nodes[1]: nodeEnv} {
		env := envFile(raw)
		hook := map[string]string{"bastion": "before_stop", nodes[1]: "after_start"}[where]
		want := map[string]string{"KONGCTL_RUN_ID": rep.RunID, "KONGCTL_FROM": "2.8.4", "KONGCTL_TO": "3.4.2", "KONGCTL_HOOK": hook}
		for k, v := range want {
			if env[k] != v {
				t.Errorf("%s hook: %s=%q, want %q", where, k, env[k], v)
			}
		}
		if strings.Contains(raw, pw) || env[pgPasswordEnv] != "" {
			t.Errorf("%s hook: the database password is in the hook's environment", where)
		}
	}

	msg, ok := rep.finding("hook")
	if !ok || !strings.Contains(msg, "exit 1: lb api down") {
		t.Errorf("continue_on_error hook: finding %q (found %v), want a warning with its failure", msg, ok)
	}
	if r.maxRSS == 0 || r.maxRSS > 200<<20 {
		t.Errorf("kongctl's peak RSS %d MiB with a hook printing 100 MB, want under 200 MiB", r.maxRSS>>20)
	}
	t.Logf("kongctl peak RSS %d MiB", r.maxRSS>>20)

	// The noisy hook's output is in the journal, clipped.
	journalFile := filepath.Join(rep.Journal, "journal.jsonl")
	fi, err := os.Stat(journalFile)
	if err != nil {
		t.Fatalf("journal: %v", err)
	}
	if fi.Size() > 1<<20 {
		t.Errorf("journal is %d bytes after a hook printed 100 MB", fi.Size())
	}
	var noisy *journalStep
	e.scanJournal(journalFile, func(line []byte) {
		var s journalStep
		if json.Unmarshal(line, &s) == nil && s.Step == "hook/before_stop/2/bastion" && s.Status == "done" {
			noisy = &s
		}
	})
	if noisy == nil {
		t.Fatal("no journal record of the noisy hook")
	}
	var out struct {
		ExitCode   int    `json:"exit_code"`
		StdoutTail string `json:"stdout_tail"`
		StderrTail string `json:"stderr_tail"`
	}
	if err := json.Unmarshal(noisy.Data, &out); err != nil {
		t.Fatalf("noisy hook data %.200s: %v", noisy.Data, err)
	}
	if len(noisy.Data) > 16<<10 || !strings.HasSuffix(out.StdoutTail, "nnnnnoisy done\n") || !strings.HasSuffix(out.StderrTail, "eeee") {
		t.Errorf("noisy hook in the journal: %d bytes, stdout ends %q, stderr ends %q: want the clipped tails",
			len(noisy.Data), out.StdoutTail[max(0, len(out.StdoutTail)-20):], out.StderrTail[max(0, len(out.StderrTail)-8):])
	}
}
