//go:build integration

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/lab/labenv"
)

// stepTimes returns, for one run's journal, the time of each step record
// by "<step> <status>".
func stepTimes(t *testing.T, e *env, runID string) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	recs := e.readJournals()[runID]
	if len(recs) == 0 {
		t.Fatalf("no journal for run %s", runID)
	}
	for _, r := range recs {
		if r.Kind == "step" {
			out[r.Step+" "+r.Status] = r.Time
		}
	}
	return out
}

// Issue 15: the window is built around the migration node. With the
// default parallel stop, kong-1 (the migration node) stops first and gets
// Y while kong-2 and kong-3 still serve X; a prober through every proxy
// sees the fleet answer until the others stop. The report gives the time
// no node served, the first node serving and all nodes serving.
func TestWindowAroundMigrationNode(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 3, From: "2.8.4", To: "3.4.2"})
	nodes := names(e.lab.KongHosts())
	e.requireServing(nodes, []route{{"/lab", ""}})
	e.inv = e.writeInventory(nil)
	r := e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	if r.code != 0 {
		t.Fatalf("upgrade: %s", r)
	}
	rep := finalReport(t, r.stdout)
	st := stepTimes(t, e, rep.RunID)
	mig := nodes[0]
	installed := st["install/"+mig+" done"]
	if installed.IsZero() {
		t.Fatalf("no install/%s in the journal: %v", mig, st)
	}
	for _, h := range nodes[1:] {
		if stop := st["stop/"+h+" started"]; stop.Before(installed) {
			t.Errorf("%s stopped at %s, before Y was on %s (%s)", h, stop.Format("15:04:05.000"), mig, installed.Format("15:04:05.000"))
		}
		if start := st["start/"+h+" started"]; start.Before(st["migrate/finish done"]) {
			t.Errorf("%s started before migrations finish", h)
		}
	}
	w := rep.Downtime
	if w == nil || w.FleetDown <= 0 || w.FirstServingAfter <= 0 || w.FleetDown > w.Duration || w.FirstServingAfter > w.Duration {
		t.Fatalf("report downtime %+v", w)
	}
	if !strings.Contains(rep.Order, `stop = "parallel"`) {
		t.Errorf("report order %q", rep.Order)
	}
	e.requireVersion("3.4.2", nodes...)
}

// Issue 15: finish = "after-verify" starts Y right after `migrations up`;
// a gate that fails then rolls back before the point of no return: Y
// stopped, the database restored (fingerprint equal to before), X back
// everywhere, and X's own `kong migrations list` works on it.
func TestFinishAfterVerifyGateRollsBack(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2, From: "2.8.4", To: "3.4.2"})
	nodes := names(e.lab.KongHosts())
	e.requireServing(nodes, []route{{"/lab", ""}})
	before := e.fingerprint()
	e.inv = e.writeInventory(func(s string) string {
		s = strings.Replace(s, `on_failure      = "rollback"`, `on_failure      = "rollback"
  finish          = "after-verify"`, 1)
		s = strings.Replace(s, "  smoke {\n    path   = \"/lab\"\n    host   = \"\"\n    status = 200\n  }\n", "", 1)
		return strings.Replace(s, "max_error_rate = 0.01", "max_error_rate = 0.5\n    max_5xx        = 3\n    min_requests   = 10", 1)
	})
	if b, err := os.ReadFile(e.inv); err != nil || !strings.Contains(string(b), `finish          = "after-verify"`) {
		t.Fatalf("inventory has no finish = after-verify (%v):\n%s", err, b)
	}
	// Read by the simulator when Y starts there: every proxied request 500.
	e.writeFault(nodes[0], "FAKE_KONG_START_5XX=1")

	rep := e.upgradeRolledBackByGate(nodes)
	st := stepTimes(t, e, rep.RunID)
	if st["migrate/up done"].IsZero() {
		t.Error("migrations up did not run")
	}
	for _, k := range []string{"migrate/finish started", "point-of-no-return done"} {
		if !st[k].IsZero() {
			t.Errorf("%s: finish ran although the gate failed", k)
		}
	}
	for _, h := range nodes {
		if !st["start/"+h+" done"].After(st["migrate/up done"]) {
			t.Errorf("%s: Y not started after up", h)
		}
	}
	if !strings.Contains(rep.Error, "max_5xx") {
		t.Errorf("report error %q", rep.Error)
	}
	e.requireVersion("2.8.4", nodes...)
	if d := diffFingerprints(before, e.fingerprint()); len(d) > 0 {
		t.Errorf("database after the rollback differs from before:\n%s", strings.Join(d, "\n"))
	}
	if code, out := e.migrationsList(nodes[1]); code != 0 {
		t.Errorf("kong migrations list on X after the rollback: exit %d\n%s", code, out)
	}
}

// Issue 20: the first SIGINT during install lets the running install
// finish, starts nothing new and pauses (exit 4); `kongctl upgrade
// --resume` then completes, every node on Y, and dpkg has nothing half
// done on any node (`dpkg --audit` clean).
func TestSIGINTDuringInstallPausesThenResumes(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 3, From: "2.8.4", To: "3.4.2"})
	nodes := names(e.lab.KongHosts())
	e.createEntities(nodes[0])
	e.requireServing(nodes, labRoutes)

	e.interruptAtInstall()
	e.resumeToY(nodes)
}

// Per-node hooks with the sequential stop: a before_stop hook on the
// bastion runs for each node right before that node stops and an
// after_start hook right after it serves, each with the node's name and
// address (how a load balancer drains and re-enables one node at a time).
func TestPerNodeHooksAroundEachNode(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2, From: "2.8.4", To: "3.4.2"})
	nodes := names(e.lab.KongHosts())
	e.requireServing(nodes, []route{{"/lab", ""}})
	out := filepath.Join(e.lab.Dir(), "per-node-hooks.log")
	cmd := `echo "$KONGCTL_HOOK $KONGCTL_NODE $KONGCTL_NODE_ADDRESS" >> ` + out
	e.inv = e.writeInventory(func(s string) string {
		s = strings.Replace(s, `on_failure      = "rollback"`, `on_failure      = "rollback"
  stop            = "sequential"`, 1)
		return s + hookHCL("before_stop", cmd, "bastion", "per_node = true") + hookHCL("after_start", cmd, "bastion", "per_node = true")
	})
	r := e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	if r.code != 0 {
		t.Fatalf("upgrade: %s", r)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 4 {
		t.Fatalf("hook runs:\n%s\nwant 2 before_stop and 2 after_start", b)
	}
	for i, h := range nodes {
		if want := "before_stop " + h + " " + e.lab.Address(h); lines[i] != want {
			t.Errorf("hook run %d: %q, want %q", i, lines[i], want)
		}
	}
	st := stepTimes(t, e, finalReport(t, r.stdout).RunID)
	for _, h := range nodes {
		drained, stopped := st["hook/before_stop/0/"+h+"/bastion done"], st["stop/"+h+" started"]
		if drained.IsZero() || stopped.Before(drained) {
			t.Errorf("%s: drain hook done %s, stop started %s", h, drained.Format("15:04:05.000"), stopped.Format("15:04:05.000"))
		}
		if st["hook/after_start/0/"+h+"/bastion done"].Before(st["start/"+h+" done"]) {
			t.Errorf("%s: enable hook before the node served", h)
		}
	}
	// Sequential: the second node's drain comes after the first node's stop.
	if st["hook/before_stop/0/"+nodes[1]+"/bastion started"].Before(st["stop/"+nodes[0]+" done"]) {
		t.Errorf("%s drained before %s was stopped: not sequential", nodes[1], nodes[0])
	}
}
