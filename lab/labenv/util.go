package labenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kongctl/kongctl/internal/fanout"
)

const waitDelay = 5 * time.Second

// netnsLockPath serialises, across every lab on the machine, creating a
// network namespace and unmounting an empty /run/netns: otherwise one lab's
// Down could unmount /run/netns under another lab's fresh `ip netns add`.
const netnsLockPath = "/run/lock/kongctl-lab-netns.lock"

// lockNetns takes the machine-wide netns lock; the returned func releases it.
func lockNetns() (func(), error) {
	if err := os.MkdirAll(filepath.Dir(netnsLockPath), 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", netnsLockPath, err)
	}
	f, err := os.OpenFile(netnsLockPath, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", netnsLockPath, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", netnsLockPath, err)
	}
	return func() { f.Close() }, nil
}

// forEach runs fn for every item with at most n at once and joins the errors.
func forEach[T any](ctx context.Context, n int, items []T, fn func(context.Context, T) error) error {
	if n <= 0 {
		n = DefaultConcurrency
	}
	errs := fanout.Each(ctx, items, n, fn)
	return errors.Join(errs...)
}

// nsInode returns the inode of /proc/<pid>/ns/<kind>, or 0.
func nsInode(pid int, kind string) uint64 {
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/"+strconv.Itoa(pid)+"/ns/"+kind, &st); err != nil {
		return 0
	}
	return st.Ino
}

// fileInode returns the inode of a path (a netns bind mount), or 0.
func fileInode(path string) uint64 {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0
	}
	return st.Ino
}

// alive reports whether pid is a live (non-zombie) process.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false
	}
	return s[i+2] != 'Z' && s[i+2] != 'X'
}

// aliveIn reports whether pid is alive and still in the mount namespace mnt
// (so a recycled pid is never mistaken for ours).
func aliveIn(pid int, mnt uint64) bool {
	return alive(pid) && (mnt == 0 || nsInode(pid, "mnt") == mnt)
}

// pidsInNamespaces lists the processes in any of the given net or mount
// namespaces (by inode).
func pidsInNamespaces(net, mnt map[uint64]bool) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if (len(net) > 0 && net[nsInode(pid, "net")]) || (len(mnt) > 0 && mnt[nsInode(pid, "mnt")]) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitGone waits until none of pids is alive.
func waitGone(ctx context.Context, pids []int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		left := false
		for _, p := range pids {
			if alive(p) {
				left = true
				break
			}
		}
		if !left {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
