package faults

import (
	"bytes"
	"strings"
	"testing"
)

func TestMatrixIsComplete(t *testing.T) {
	cells := Matrix()
	if len(cells) != len(Phases)*len(Faults) {
		t.Fatalf("%d cells, want %d", len(cells), len(Phases)*len(Faults))
	}
	seen := map[string]bool{}
	quick, na := 0, 0
	for _, c := range cells {
		if seen[c.Name()] {
			t.Fatalf("cell %s twice", c.Name())
		}
		seen[c.Name()] = true
		if c.NA != "" {
			na++
			if c.Quick {
				t.Errorf("%s: n/a cell in the quick subset", c.Name())
			}
			continue
		}
		if c.Quick {
			quick++
		}
		if !controllerFault(c.Fault) && c.Host == "" {
			t.Errorf("%s: no host", c.Name())
		}
		if (c.Fault == FaultKongRefuse || c.Fault == FaultMigrationFail || c.Fault == FaultMigrationCrash) && c.Line == "" {
			t.Errorf("%s: simulator fault without a fault.env line", c.Name())
		}
		if controllerFault(c.Fault) && c.Trigger.Phase == "" {
			t.Errorf("%s: a kill needs a phase to happen in", c.Name())
		}
	}
	if quick != 5 {
		t.Errorf("%d quick cells, want 5", quick)
	}
	if na == 0 || na > len(cells)/2 {
		t.Errorf("%d n/a cells", na)
	}
}

func TestPrintAndSummary(t *testing.T) {
	rs := []Result{
		{Phase: PhaseStop, Fault: FaultNetworkCut, Outcome: OutUpgraded, Passed: ptr(true)},
		{Phase: PhaseInstall, Fault: FaultKill, Outcome: OutUpgraded, Passed: ptr(true), Steps: []string{"upgrade=SIGKILL", "upgrade --resume=0"}},
		{Phase: PhaseBackup, Fault: FaultDBDown, Outcome: OutBroken, Passed: ptr(false), Reason: "lock held"},
		{Phase: PhaseStart, Fault: FaultSSHCut, Outcome: OutRolledBack, Passed: ptr(true), Steps: []string{"upgrade=1", "rollback=1", "rollback=0"}},
		{Phase: PhaseStop, Fault: FaultMigrationFail, Outcome: OutNA, Reason: "no migration"},
	}
	if s := Summarize(rs); s != (Summary{Passed: 3, Failed: 1, NA: 1}) {
		t.Fatalf("summary %+v", s)
	}
	var b bytes.Buffer
	Print(&b, rs)
	for _, want := range []string{"upgraded (+resume)", "FAIL backup/db-unreachable: lock held", "n/a", "rolled-back (+rollback)", "3 passed, 1 failed, 1 n/a"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("matrix lacks %q:\n%s", want, b.String())
		}
	}
}

func TestCmdLabel(t *testing.T) {
	got := strings.Join(cmdLabel([]string{"upgrade", "-i", "x.hcl", "--resume", "--yes", "-o", "json"}), " ")
	if got != "upgrade --resume" {
		t.Fatalf("label %q", got)
	}
}

func TestMergeAndReadJSON(t *testing.T) {
	prior := []Result{
		{Phase: PhaseStop, Fault: FaultNetworkCut, Outcome: OutBroken, Passed: ptr(false)},
		{Phase: PhasePreflight, Fault: FaultSSHCut, Outcome: OutRefused, Passed: ptr(true)},
	}
	now := []Result{{Phase: PhaseStop, Fault: FaultNetworkCut, Outcome: OutUpgraded, Passed: ptr(true)}}
	p := t.TempDir() + "/matrix.json"
	if err := WriteJSON(p, Merge(prior, now)); err != nil {
		t.Fatal(err)
	}
	got, err := ReadJSON(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Phase != PhasePreflight || got[1].Outcome != OutUpgraded || !*got[1].Passed {
		t.Fatalf("merged %+v", got)
	}
}

// controllerFault: the fault is done to kongctl itself, not to a host.
func controllerFault(f Fault) bool {
	return f == FaultKill || f == FaultSIGINT || f == FaultSIGTERM || f == FaultSIGINTTwice
}
