package faults

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kongctl/kongctl/inventory"
)

func TestSecondRoundCells(t *testing.T) {
	for _, p := range Phases {
		for _, f := range []Fault{FaultSIGINT, FaultSIGTERM} {
			c := Lookup(p, f)
			if c.NA != "" {
				t.Errorf("%s: n/a (%s): every phase can be signalled", c.Name(), c.NA)
			}
			want := 4
			switch p {
			case PhasePreflight, PhaseBackup:
				want = 1
			case PhaseRollback:
				want = 3
			}
			if !slices.Equal(c.WantFirst, []int{want}) {
				t.Errorf("%s: first exit %v, want %d", c.Name(), c.WantFirst, want)
			}
		}
		twice := Lookup(p, FaultSIGINTTwice)
		want := []int{4}
		switch p {
		case PhasePreflight, PhaseBackup:
			want = []int{1, 4}
		case PhaseRollback:
			want = []int{1, 3}
		}
		if twice.NA != "" || twice.Host != "" || !slices.Equal(twice.WantFirst, want) {
			t.Errorf("%s: n/a %q, host %q, first exit %v, want %v", twice.Name(), twice.NA, twice.Host, twice.WantFirst, want)
		}
		restart := Lookup(p, FaultDBRestart)
		migrating := p == PhaseMigrateUp || p == PhaseMigrateFinish
		if (restart.NA == "") != migrating {
			t.Errorf("%s: n/a %q", restart.Name(), restart.NA)
		}
		if migrating && (!restart.Trigger.Migrating || restart.Host != dbHost) {
			t.Errorf("%s: trigger %s on %s, want once migrations hold their lock, on db", restart.Name(), restart.Trigger, restart.Host)
		}
		reboot := Lookup(p, FaultToolsReboot)
		if (reboot.NA == "") != (p == PhaseBackup || p == PhaseRollback) {
			t.Errorf("%s: n/a %q", reboot.Name(), reboot.NA)
		}
		for _, f := range []Fault{FaultHookFail, FaultHookHang, FaultHookFlood} {
			c := Lookup(p, f)
			runs := p == PhaseStop || p == PhaseStart || p == PhaseRollback
			if (c.NA == "") != runs || (c.Hook != nil) != runs {
				t.Errorf("%s: n/a %q, hook %+v", c.Name(), c.NA, c.Hook)
				continue
			}
			if runs && (!slices.Equal(c.WantFirst, []int{3}) || c.Trigger.Phase != "") {
				t.Errorf("%s: want a rollback (exit 3) from a hook in the inventory, got %v at %s", c.Name(), c.WantFirst, c.Trigger)
			}
		}
	}
	if got := Lookup(PhaseBackup, FaultToolsReboot).Trigger.String(); got != "phase_start backup, once pg_dump runs" {
		t.Errorf("reboot trigger %q", got)
	}
}

// The hook cells' hooks are valid inventory: appended to an example, they
// load with the event, per_node and timeout the cell asked for.
func TestHookBlockLoads(t *testing.T) {
	base, err := os.ReadFile("../../hcl/examples/minimal.hcl")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []Phase{PhaseStop, PhaseStart, PhaseRollback} {
		for _, f := range []Fault{FaultHookFail, FaultHookHang, FaultHookFlood} {
			c := Lookup(p, f)
			src := append(append([]byte{}, base...), hookBlock(c.Hook)...)
			inv, diags := inventory.LoadBytes(t.TempDir()+"/hosts.hcl", src)
			if diags.HasErrors() {
				t.Fatalf("%s: %s", c.Name(), diags.Error())
			}
			if len(inv.Hooks) != 1 {
				t.Fatalf("%s: %d hooks", c.Name(), len(inv.Hooks))
			}
			h := inv.Hooks[0]
			if h.Event != c.Hook.Event || h.PerNode != c.Hook.PerNode || h.Command != c.Hook.Command || h.On != inventory.OnBastion {
				t.Errorf("%s: loaded %+v, want %+v", c.Name(), h, c.Hook)
			}
			if want := map[Fault]time.Duration{FaultHookHang: hookTimeout}[f]; h.Timeout != want {
				t.Errorf("%s: timeout %s, want %s", c.Name(), h.Timeout, want)
			}
		}
	}
	if hookBlock(nil) != "" {
		t.Error("a hook block for no hook")
	}
}

func TestPausedNext(t *testing.T) {
	inv := "/lab/faults-hosts.hcl"
	both := "interrupted; the fleet lock stays held by run r1. Continue with `kongctl upgrade -i " + inv + " --resume`, or undo with `kongctl rollback -i " + inv + "`"
	if got := strings.Join(cmdLabel(pausedNext(both, inv)), " "); got != "upgrade --resume" {
		t.Errorf("both named: %q", got)
	}
	if got := strings.Join(cmdLabel(pausedNext("undo with `kongctl rollback -i "+inv+"`", inv)), " "); got != "rollback" {
		t.Errorf("rollback named: %q", got)
	}
	if got := pausedNext("Continue with `kongctl upgrade -i other.hcl --resume`", inv); got != nil {
		t.Errorf("another inventory: %q", got)
	}
}

func TestWantFirst(t *testing.T) {
	c := Lookup(PhaseInstall, FaultSIGINT)
	args := []string{"upgrade", "-i", "x.hcl"}
	if err := wantFirst(c, cmdResult{args: args, code: 4}); err != nil {
		t.Errorf("paused: %v", err)
	}
	err := wantFirst(c, cmdResult{args: args, code: 3})
	if err == nil || !strings.Contains(err.Error(), "exited 3 after controller-sigint, want exit 4") {
		t.Errorf("rolled back instead of pausing: %v", err)
	}
	if err := wantFirst(c, cmdResult{args: args, killed: true}); err == nil {
		t.Error("killed passes")
	}
	if err := wantFirst(Lookup(PhaseInstall, FaultSSHCut), cmdResult{args: args, code: 1}); err != nil {
		t.Errorf("a cell without an expectation: %v", err)
	}
}

func TestCheckHookCell(t *testing.T) {
	c := Lookup(PhaseStart, FaultHookHang)
	state := t.TempDir()
	dir := state + "/runs/r1"
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(s string) {
		if err := os.WriteFile(dir+"/journal.jsonl", []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	good := `{"step":"hook/after_start/0/kong-1/bastion","status":"failed","error":"hook #1 on bastion for kong-1: run hook on the bastion: timed out after 5s, killed"}` + "\n"
	write(good)
	if err := checkHookCell(c, state, 60<<20); err != nil {
		t.Errorf("good cell: %v", err)
	}
	if err := checkHookCell(c, state, 300<<20); err == nil || !strings.Contains(err.Error(), "peak RSS 300 MiB") {
		t.Errorf("RSS over the bar: %v", err)
	}
	write(`{"step":"hook/after_start/0/kong-1/bastion","status":"failed","error":"exit 1"}` + "\n")
	if err := checkHookCell(c, state, 1); err == nil || !strings.Contains(err.Error(), "timed out after 5s") {
		t.Errorf("no timeout in the journal: %v", err)
	}
	write(`{"step":"stop/kong-1"}` + "\n")
	if err := checkHookCell(c, state, 1); err == nil || !strings.Contains(err.Error(), "no hook/after_start/") {
		t.Errorf("no hook step: %v", err)
	}
	write(good + strings.Repeat("x", maxJournalBytes))
	if err := checkHookCell(c, state, 1); err == nil || !strings.Contains(err.Error(), "not bounded") {
		t.Errorf("big journal: %v", err)
	}
	if err := checkHookCell(c, t.TempDir(), 1); err == nil {
		t.Error("no journal passes")
	}
	if err := checkHookCell(Lookup(PhaseStart, FaultSSHCut), t.TempDir(), 1<<40); err != nil {
		t.Errorf("not a hook cell: %v", err)
	}
}

func TestPollUntil(t *testing.T) {
	n := 0
	if !pollUntil(t.Context(), nil, time.Millisecond, func() bool { n++; return n == 3 }) || n != 3 {
		t.Errorf("ready on the third call: n = %d", n)
	}
	ended := make(chan struct{})
	close(ended)
	if pollUntil(t.Context(), ended, time.Hour, func() bool { return false }) {
		t.Error("ready after the phase ended")
	}
}

func TestHangingHooksFound(t *testing.T) {
	before := hangingHooks() // another run's, if any: not this test's
	cmd := exec.Command("/bin/sh", "-c", hookCommand(FaultHookHang))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var mine []int
	for deadline := time.Now().Add(5 * time.Second); len(mine) == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, p := range hangingHooks() {
			if !slices.Contains(before, p) {
				mine = append(mine, p)
			}
		}
	}
	if len(mine) == 0 {
		t.Fatal("the hanging hook's sleep not found")
	}
	for _, p := range mine {
		syscall.Kill(p, syscall.SIGKILL)
	}
}
