package labenv

import (
	"context"
	"fmt"
	"syscall"
)

// PowerCut is the lab's stand-in for a host's unclean reboot: every process
// of the host (in its network or mount namespace: sshd and its sessions,
// kongctl's agent and what it runs, PostgreSQL on the database host) is
// SIGKILLed at once, as a power cut would, and its /tmp (a tmpfs, as on most
// machines) is emptied. Disks keep their contents. The host's namespaces
// stay: PowerOn brings its services back.
func (l *Lab) PowerCut(ctx context.Context, name string) error {
	h, err := l.host(name)
	if err != nil {
		return err
	}
	pids := hostPIDs(h)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if !waitGone(ctx, pids, waitDelay) {
		return fmt.Errorf("host %s: power cut: processes still alive after SIGKILL", name)
	}
	if _, err := execIn(ctx, h, nil, nil, "find /tmp -mindepth 1 -delete"); err != nil {
		return fmt.Errorf("host %s: power cut: empty /tmp: %w", name, err)
	}
	return nil
}

// PowerOn starts what a host runs at boot after PowerCut: sshd, and on the
// database host PostgreSQL (which recovers from its crash).
func (l *Lab) PowerOn(ctx context.Context, name string) error {
	h, err := l.host(name)
	if err != nil {
		return err
	}
	if err := l.StartSSHD(ctx, name); err != nil {
		return err
	}
	if h.Kind == KindDatabase {
		return l.StartDB(ctx)
	}
	return nil
}

// hostPIDs lists the processes of a host but its namespace holder.
func hostPIDs(h *Host) []int {
	net, mnt := map[uint64]bool{}, map[uint64]bool{}
	if h.NetNS != 0 {
		net[h.NetNS] = true
	}
	if h.MntNS != 0 {
		mnt[h.MntNS] = true
	}
	var out []int
	for _, pid := range pidsInNamespaces(net, mnt) {
		if pid != h.HolderPID {
			out = append(out, pid)
		}
	}
	return out
}
