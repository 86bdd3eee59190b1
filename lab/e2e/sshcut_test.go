//go:build integration

package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/lab/labenv"
)

// Issue 5: cutting the SSH connection during a long step does not run the
// step twice; the controller gets its result. `kong migrations up` is made
// slow on the migration node; while it runs, every SSH connection to that
// node is killed (its per-connection sshd processes; the listener stays).
// kongctl reconnects, attaches to the detached step and the upgrade
// succeeds, with migrations up started exactly once on the node.
func TestSSHCutDuringMigrationsUp(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2, From: "2.8.4", To: "3.4.2"})
	nodes := names(e.lab.KongHosts())
	mig := nodes[0]
	e.writeFault(mig, "FAKE_KONG_SLOW=1")

	run := e.start("upgrade", "-i", e.inv, "--yes", "--output", "json")
	run.waitEvent(t, 3*time.Minute, "the migrate-up phase", func(ev event) bool {
		return ev.Type == "phase_start" && ev.Phase == "migrate-up"
	})
	time.Sleep(3 * time.Second) // the step is running detached by now
	h, ok := e.lab.Host(mig)
	if !ok {
		t.Fatalf("no host %s", mig)
	}
	out, err := exec.Command("pkill", "-KILL", "-P", fmt.Sprint(h.SSHDPID)).CombinedOutput()
	if err != nil {
		t.Fatalf("cut the SSH connections of %s: %v: %s", mig, err, out)
	}
	select {
	case <-run.done:
		t.Fatalf("kongctl ended (exit %d) right after the cut\nstderr:\n%s", run.code, run.stderr)
	default:
	}
	if code := run.wait(t, 5*time.Minute); code != 0 {
		t.Fatalf("upgrade after an SSH cut: exit %d\nstdout:\n%s\nstderr:\n%s", code, run.stdout, run.stderr)
	}
	e.requireVersion("3.4.2", nodes...)
	if code, out := e.migrationsList(mig); code != 0 {
		t.Errorf("kong migrations list on %s: exit %d: %s", mig, code, out)
	}
	// One detached `up` step on the node: the cut did not start it again.
	ctx, cancel := shortCtx()
	defer cancel()
	steps, err := e.lab.Exec(ctx, mig, `ls /var/lib/kongctl/steps/ | grep -c -- '-migrations-up-[0-9]*[.]json$'`)
	if err != nil || strings.TrimSpace(steps) != "1" {
		t.Errorf("detached migrations up steps on %s: %q (%v), want 1", mig, steps, err)
	}
}
