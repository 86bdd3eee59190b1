package faults

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTopologyCells(t *testing.T) {
	cells := TopologyCells()
	if len(cells) != 2 {
		t.Fatalf("%d topology cells, want 2", len(cells))
	}
	seen := map[string]bool{}
	for _, c := range Matrix() {
		if c.Topology == "" {
			continue
		}
		seen[c.Name()] = true
		if c.NA != "" || c.Quick || c.Host == "" || c.Trigger.Event == "" {
			t.Errorf("%s: %+v: want a runnable, non-quick cell with a host and a trigger", c.Name(), c)
		}
	}
	if !seen["shift/lb-unreachable"] || !seen["data-planes/dp-kill"] {
		t.Errorf("Matrix lacks the topology cells: %v", seen)
	}
	for _, c := range cells {
		lo := c.Topology.Options(1)
		if !lo.LB || lo.ID != 1 {
			t.Errorf("%s: lab %+v, want LB on lab 1", c.Name(), lo)
		}
	}
	if o := TopoHybrid.Options(1); !o.Hybrid || o.DPs != 3 || o.Nodes != 1 {
		t.Errorf("hybrid lab %+v", o)
	}
	if o := TopoDualCluster.Options(1); o.Spares != 3 || o.Nodes != 3 || o.Hybrid {
		t.Errorf("dual-cluster lab %+v", o)
	}
	for _, c := range cells {
		if c.Trigger.beforeRun() {
			t.Errorf("%s: injected before the run, want mid-phase", c.Name())
		}
	}
	if got := cells[0].Trigger.String(); got != `message "dual-cluster: 50% of the traffic on"` {
		t.Errorf("shift trigger %q", got)
	}
	if got := cells[1].Trigger.String(); got != "phase_start data-planes, once dp/start/dp-2 is done" {
		t.Errorf("data-planes trigger %q", got)
	}
}

// The trigger on a message matches a message event containing it, of
// any phase; not another type.
func TestMessageTrigger(t *testing.T) {
	tr := TopologyCells()[0].Trigger
	if !matches(tr, event{Type: "message", Message: "dual-cluster: 50% of the traffic on 3.4.2 (weights: X 100, Y 100)"}) {
		t.Error("the 50% note did not match")
	}
	for _, ev := range []event{{Type: "message", Message: "dual-cluster: 100% of the traffic on 3.4.2"}, {Type: "finding", Message: "dual-cluster: 50% of the traffic on"}} {
		if matches(tr, ev) {
			t.Errorf("%+v matched", ev)
		}
	}
}

// Each topology's inventory edit keeps the lab's inventory valid and
// says what the cell needs; the default lab's is left alone.
func TestTopologyInventory(t *testing.T) {
	lab := []byte("upgrade {\n  from            = \"2.8.4\"\n  on_failure      = \"rollback\"\n}\n")
	if b, err := Topology("").editInventory(lab); err != nil || !bytes.Equal(b, lab) {
		t.Errorf("default: %q %v", b, err)
	}
	dc, err := TopoDualCluster.editInventory(lab)
	if err != nil || !strings.Contains(string(dc), `strategy        = "dual-cluster"`) || !strings.Contains(string(dc), `target_database = "kong_y"`) {
		t.Errorf("dual-cluster: %s %v", dc, err)
	}
	hy, err := TopoHybrid.editInventory(lab)
	if err != nil || !strings.Contains(string(hy), `data_planes     = "rolling"`) || !strings.Contains(string(hy), `data_plane_timeout = "20s"`) {
		t.Errorf("hybrid: %s %v", hy, err)
	}
	if _, err := TopoHybrid.editInventory([]byte("upgrade {\n}\n")); err == nil {
		t.Error("hybrid: an inventory without on_failure was edited")
	}
}

// rollStopped finds the data plane's first failed step after its start
// and how long after; a failure that does not name it, or none, fails.
func TestRollStopped(t *testing.T) {
	state := t.TempDir()
	dir := filepath.Join(state, "runs", "r1")
	os.MkdirAll(dir, 0o700)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	line := func(d time.Duration, step, status, err string) string {
		return `{"seq":1,"time":"` + t0.Add(d).Format(time.RFC3339Nano) + `","kind":"step","step":"` + step + `","host":"dp-2","status":"` + status + `","error":"` + err + `"}` + "\n"
	}
	write := func(s string) {
		s = `{"seq":0,"kind":"header","header":{"run_id":"r1"}}` + "\n" + s
		if err := os.WriteFile(filepath.Join(dir, "journal.jsonl"), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(line(0, "dp/start/dp-2", "done", "") + line(22*time.Second, "dp/connected/dp-2", "failed", "wait for data plane dp-2 connected on 3.10.0.2: not after 20s"))
	if d, err := rollStopped(state, "dp-2"); err != nil || d != 22*time.Second {
		t.Errorf("rollStopped: %s %v, want 22s", d, err)
	}
	write(line(0, "dp/start/dp-2", "done", "") + line(time.Second, "dp/connected/dp-2", "failed", "timed out"))
	if _, err := rollStopped(state, "dp-2"); err == nil || !strings.Contains(err.Error(), "without naming dp-2") {
		t.Errorf("a failure not naming the data plane: %v", err)
	}
	batch := `{"seq":3,"time":"` + t0.Add(2*time.Second).Format(time.RFC3339Nano) + `","kind":"step","step":"dp/serving/2","status":"failed","error":"rolled data planes no longer serving: data plane dp-2 does not serve"}` + "\n"
	write(line(0, "dp/start/dp-2", "done", "") + batch)
	if d, err := rollStopped(state, "dp-2"); err != nil || d != 2*time.Second {
		t.Errorf("a batch's check naming dp-2: %s %v, want 2s", d, err)
	}
	write(line(0, "dp/start/dp-2", "done", ""))
	if _, err := rollStopped(state, "dp-2"); err == nil {
		t.Error("no failure: want an error")
	}
}

func TestPrintTopology(t *testing.T) {
	rs := []Result{
		{Phase: PhaseStop, Fault: FaultNetworkCut, Outcome: OutUpgraded, Passed: ptr(true)},
		{Phase: PhaseShift, Fault: FaultLBUnreachable, Topology: TopoDualCluster, Outcome: OutRolledBack, Passed: ptr(true),
			Steps: []string{"upgrade=1", "rollback=0"}, Checked: "X's database fingerprint unchanged"},
	}
	var b bytes.Buffer
	Print(&b, rs)
	if !strings.Contains(b.String(), "shift/lb-unreachable (dual-cluster lab): rolled-back (+rollback); checked: X's database fingerprint unchanged") {
		t.Errorf("matrix:\n%s", b.String())
	}
}
