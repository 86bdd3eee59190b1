package labenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// down removes every trace of lab id: processes in the lab's namespaces, the
// namespaces, links and routes, and the lab dir. It works from state.json when
// there is one, and from lab id's names in any case; it never touches the
// names of another ID.
func down(ctx context.Context, dir string, id int, log io.Writer) error {
	n := NetworkOf(id)
	st, _ := readState(dir) // may be missing or half written
	if st != nil && st.Options.ID != id {
		st = nil // not ours: never act on another lab's recorded hosts
	}
	var errs []error

	// 1. Processes: everything in one of the lab's netns or in a recorded
	// mount ns.
	netns := labNetns(n)
	nets := map[uint64]bool{}
	for _, n := range netns {
		if ino := fileInode("/run/netns/" + n); ino != 0 {
			nets[ino] = true
		}
	}
	mnts := map[uint64]bool{}
	if st != nil {
		for _, h := range st.Hosts {
			if h.MntNS != 0 {
				mnts[h.MntNS] = true
			}
			if h.NetNS != 0 && fileInode("/run/netns/"+h.Netns) == h.NetNS {
				nets[h.NetNS] = true
			}
		}
	}
	var killed []int
	for round := 0; round < 5; round++ {
		pids := pidsInNamespaces(nets, mnts)
		if len(pids) == 0 {
			break
		}
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		killed = append(killed, pids...)
		waitGone(ctx, pids, 5*time.Second)
	}
	if left := pidsInNamespaces(nets, mnts); len(left) > 0 {
		errs = append(errs, fmt.Errorf("lab down: processes still alive: %v", left))
	}

	// 2. Namespaces (their veth ends and the bastion's inner bridge go with
	// them), then links left on the machine.
	for _, n := range netns {
		if err := ip(ctx, "netns", "del", n); err != nil {
			errs = append(errs, fmt.Errorf("lab down: %w", err))
		}
	}
	for _, l := range labLinks(ctx, n) {
		if err := ip(ctx, "link", "del", l); err != nil && linkExists(ctx, l) {
			errs = append(errs, fmt.Errorf("lab down: %w", err))
		}
	}
	// 3. Routes we added (and the one a crash could leave before state.json
	// recorded it).
	routes := n.routes()
	if st != nil {
		routes = append(routes, st.Routes...)
	}
	for _, r := range dedupe(routes) {
		if routeExists(ctx, r) {
			if err := ip(ctx, append([]string{"route", "del"}, strings.Fields(r)...)...); err != nil {
				errs = append(errs, fmt.Errorf("lab down: %w", err))
			}
		}
	}
	// 4. /run/netns: ip(8) makes it a mount point on first use; unmount it
	// when the lab made it and nothing else (no other lab) uses it.
	if (st == nil || !st.RunNetns) && isMountPoint("/run/netns") {
		if unlock, err := lockNetns(); err != nil {
			errs = append(errs, fmt.Errorf("lab down: %w", err))
		} else {
			if ents, err := os.ReadDir("/run/netns"); err == nil && len(ents) == 0 {
				if err := syscall.Unmount("/run/netns", syscall.MNT_DETACH); err != nil {
					errs = append(errs, fmt.Errorf("lab down: unmount /run/netns: %w", err))
				} else {
					_ = os.Remove("/run/netns")
				}
			}
			unlock()
		}
	}
	// 5. Files.
	if err := os.RemoveAll(dir); err != nil {
		errs = append(errs, fmt.Errorf("lab down: remove %s: %w", dir, err))
	}
	_ = os.Remove(filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".lock"))
	if len(netns) > 0 || len(killed) > 0 {
		fmt.Fprintf(log, "lab %d: down: removed %d namespaces, killed %d processes\n", id, len(netns), len(dedupeInts(killed)))
	}
	return errors.Join(errs...)
}

// labNetns lists the network namespaces of a lab ("kl-*" for lab 0,
// "kl<k>-*" for lab k).
func labNetns(n Network) []string {
	ents, err := os.ReadDir("/run/netns")
	if err != nil {
		return nil
	}
	var ns []string
	for _, e := range ents {
		if n.ownsNetns(e.Name()) {
			ns = append(ns, e.Name())
		}
	}
	return ns
}

// labLinks lists the machine's links of a lab: its bridges and its veths.
func labLinks(ctx context.Context, n Network) []string {
	out, err := run(ctx, nil, nil, "ip", "-o", "link", "show")
	if err != nil {
		return nil
	}
	var links []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name := strings.TrimSuffix(f[1], ":")
		if i := strings.IndexByte(name, '@'); i >= 0 {
			name = name[:i]
		}
		if n.ownsLink(name) {
			links = append(links, name)
		}
	}
	return links
}

func linkExists(ctx context.Context, name string) bool {
	_, err := run(ctx, nil, nil, "ip", "link", "show", "dev", name)
	return err == nil
}

func routeExists(ctx context.Context, route string) bool {
	f := strings.Fields(route)
	if len(f) == 0 {
		return false
	}
	out, err := run(ctx, nil, nil, "ip", "route", "show", "exact", f[len(f)-1])
	return err == nil && strings.HasPrefix(strings.TrimSpace(out), route)
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func dedupeInts(is []int) []int {
	seen := map[int]bool{}
	var out []int
	for _, i := range is {
		if !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	return out
}
