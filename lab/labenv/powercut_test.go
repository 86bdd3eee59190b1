package labenv

import (
	"os"
	"os/exec"
	"slices"
	"testing"
)

// hostPIDs finds a host's processes by namespace and spares its holder:
// two children in this test's namespaces stand for a host's holder and
// one of its services.
func TestHostPIDsSparesTheHolder(t *testing.T) {
	var pids []int
	for range 2 {
		cmd := exec.Command("sleep", "30")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		pids = append(pids, cmd.Process.Pid)
	}
	self := os.Getpid()
	h := &Host{Name: "db", NetNS: nsInode(self, "net"), MntNS: nsInode(self, "mnt"), HolderPID: pids[0]}
	got := hostPIDs(h)
	if slices.Contains(got, pids[0]) {
		t.Errorf("the holder %d is among the processes to kill", pids[0])
	}
	if !slices.Contains(got, pids[1]) {
		t.Errorf("service %d not found in %v", pids[1], got)
	}
	if slices.Contains(got, self) {
		t.Error("the caller itself is among the processes to kill")
	}
	if got := hostPIDs(&Host{Name: "none", HolderPID: 1}); len(got) != 0 {
		t.Errorf("a host without namespaces: %v", got)
	}
}
