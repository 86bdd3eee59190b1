package labenv

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"github.com/kongctl/kongctl/internal/shellquote"
)

// Faults for tests and rehearsals. Each names the host and is undone by Heal
// (network, sshd, disk), StartKong or StartDB.

// KillSSHD kills a host's sshd (SIGKILL): new SSH connections are refused;
// Kong and the host's namespaces stay.
func (l *Lab) KillSSHD(ctx context.Context, name string) error {
	h, err := l.host(name)
	if err != nil {
		return err
	}
	if !sshdRunning(h) {
		return fmt.Errorf("host %s: kill sshd: not running", name)
	}
	if err := syscall.Kill(h.SSHDPID, syscall.SIGKILL); err != nil {
		return fmt.Errorf("host %s: kill sshd: %w", name, err)
	}
	if !waitGone(ctx, []int{h.SSHDPID}, waitDelay) {
		return fmt.Errorf("host %s: kill sshd: pid %d still alive", name, h.SSHDPID)
	}
	return nil
}

// StartSSHD starts a host's sshd again if it is not running.
func (l *Lab) StartSSHD(ctx context.Context, name string) error {
	h, err := l.host(name)
	if err != nil {
		return err
	}
	if sshdRunning(h) {
		return nil
	}
	if err := startSSHD(ctx, h); err != nil {
		return err
	}
	return l.saveState()
}

// KillKong kills Kong on a host (SIGKILL to the pid in
// /usr/local/kong/pids/nginx.pid): a crash, not a stop.
func (l *Lab) KillKong(ctx context.Context, name string) error {
	h, err := l.host(name)
	if err != nil {
		return err
	}
	out, err := execIn(ctx, h, nil, nil, `pid=$(cat /usr/local/kong/pids/nginx.pid) && kill -0 "$pid" && kill -KILL "$pid" && echo "$pid"`)
	if err != nil {
		return fmt.Errorf("host %s: kill kong: %w", name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		return fmt.Errorf("host %s: kill kong: bad pid %q", name, out)
	}
	if !waitGone(ctx, []int{pid}, waitDelay) {
		return fmt.Errorf("host %s: kill kong: pid %d still alive", name, pid)
	}
	return nil
}

// linkArgs is the ip(8) prefix that reaches a host's host-side veth.
func linkArgs(h *Host) []string {
	if h.VethNetns != "" {
		return []string{"-n", h.VethNetns}
	}
	return nil
}

// CutNetwork takes the host's link down at the switch (its veth on the
// bridge): nothing reaches the host and it reaches nothing.
func (l *Lab) CutNetwork(ctx context.Context, name string) error {
	h, err := l.host(name)
	if err != nil {
		return err
	}
	if err := ip(ctx, append(linkArgs(h), "link", "set", h.Veth, "down")...); err != nil {
		return fmt.Errorf("host %s: cut network: %w", name, err)
	}
	return nil
}

// RestoreNetwork brings the host's link up again.
func (l *Lab) RestoreNetwork(ctx context.Context, name string) error {
	h, err := l.host(name)
	if err != nil {
		return err
	}
	if err := ip(ctx, append(linkArgs(h), "link", "set", h.Veth, "up")...); err != nil {
		return fmt.Errorf("host %s: restore network: %w", name, err)
	}
	return nil
}

// fillFile is the file FillDisk writes.
const fillFile = ".kl-fill"

// DefaultFillPath is the file system FillDisk fills on a node (package files
// and the Kong prefix); on the db host it is /var/backups.
const DefaultFillPath = "/usr/local"

// FillDisk fills the file system holding path on a host ("" = /usr/local on a
// node, /var/backups on the db host) until writes fail with ENOSPC.
func (l *Lab) FillDisk(ctx context.Context, name, path string) error {
	h, err := l.host(name)
	if err != nil {
		return err
	}
	path = fillPath(h, path)
	script := fmt.Sprintf(`set -u
f=%[1]s/%[2]s
avail=$(df -P -B1 %[1]s | awk 'NR==2 {print $4}')
if [ "$avail" -gt 0 ]; then fallocate -l "$avail" "$f" 2>/dev/null || true; fi
dd if=/dev/zero of="$f" bs=4096 oflag=append conv=notrunc status=none 2>/dev/null || true
if printf x >>"$f" 2>/dev/null; then echo "not full" >&2; exit 1; fi
df -P -B1 %[1]s | awk 'NR==2 {print $4}'
`, shellquote.Quote(path), fillFile)
	out, err := execIn(ctx, h, nil, nil, script)
	if err != nil {
		return fmt.Errorf("host %s: fill disk at %s: %w", name, path, err)
	}
	if strings.TrimSpace(out) != "0" {
		return fmt.Errorf("host %s: fill disk at %s: %s bytes still free", name, path, strings.TrimSpace(out))
	}
	return nil
}

// FreeDisk removes what FillDisk wrote.
func (l *Lab) FreeDisk(ctx context.Context, name, path string) error {
	h, err := l.host(name)
	if err != nil {
		return err
	}
	path = fillPath(h, path)
	if _, err := execIn(ctx, h, nil, nil, "rm -f "+shellquote.Quote(path+"/"+fillFile)); err != nil {
		return fmt.Errorf("host %s: free disk at %s: %w", name, path, err)
	}
	return nil
}

func fillPath(h *Host, path string) string {
	if path != "" {
		return path
	}
	if h.Kind == KindDatabase {
		return "/var/backups"
	}
	return DefaultFillPath
}

// Heal undoes the host faults on a host: its link comes up, its sshd runs,
// FillDisk's files on the usual paths are gone. Kong and the database are
// started by StartKong and StartDB.
func (l *Lab) Heal(ctx context.Context, name string) error {
	h, err := l.host(name)
	if err != nil {
		return err
	}
	if err := l.RestoreNetwork(ctx, name); err != nil {
		return err
	}
	if err := l.StartSSHD(ctx, name); err != nil {
		return err
	}
	for _, p := range []string{fillPath(h, ""), "/var/lib/kongctl", "/tmp"} {
		if _, err := execIn(ctx, h, nil, nil, "rm -f "+shellquote.Quote(p+"/"+fillFile)); err != nil {
			return fmt.Errorf("host %s: heal: %w", name, err)
		}
	}
	return nil
}
