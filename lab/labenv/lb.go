package labenv

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The LB lab's load balancer (Options.LB): Debian's HAProxy on host "lb".
const (
	LBHostName = "lb"
	LBBackend  = "kong"
	// LBSocket is HAProxy's runtime API on the lb host, as the Debian
	// package configures it (kong-reference 9.9).
	LBSocket = "/run/haproxy/admin.sock"
	// LBPort is the frontend clients send their requests to.
	LBPort = 8000
	// lbConfig is where the lb host's HAProxy reads its configuration.
	lbConfig = "/etc/haproxy/haproxy.cfg"
	lbLast   = 4 // the lb host is 198.18.(32k).4
)

// renderHAProxyConfig is the lb host's haproxy.cfg: a frontend on :8000
// and backend "kong" with one server per Kong proxy (named after the
// host, as the inventory's lb_server defaults), each health-checked on
// its proxy port; the runtime API at LBSocket with level admin.
func renderHAProxyConfig(st *State) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# kongctl lab %d: HAProxy in front of the Kong proxies, written by lab/labenv.
global
	stats socket %s mode 660 level admin
	stats timeout 30s
	pidfile /run/haproxy.pid

defaults
	mode http
	timeout connect 2s
	timeout client 60s
	timeout server 60s
	retries 3
	option redispatch

frontend kong_proxy
	bind 0.0.0.0:%d
	default_backend %s

backend %s
	balance roundrobin
	default-server check inter 300ms fall 2 rise 2
`, st.Options.ID, LBSocket, LBPort, LBBackend, LBBackend)
	for _, h := range lbServersOf(st) {
		fmt.Fprintf(&b, "\tserver %s %s:8000\n", h.Name, h.Address)
	}
	// The spare hosts of a traditional lab are servers too, in
	// maintenance without weight: a dual-cluster upgrade gives them
	// the traffic once Y runs there.
	for _, h := range lbSparesOf(st) {
		fmt.Fprintf(&b, "\tserver %s %s:8000 weight 0 disabled\n", h.Name, h.Address)
	}
	return b.String()
}

// lbSparesOf are the spare hosts behind the load balancer (traditional
// labs only), disabled until an upgrade enables them.
func lbSparesOf(st *State) []*Host {
	if st.Options.Hybrid {
		return nil
	}
	var hs []*Host
	for _, h := range st.Hosts {
		if h.Kind == KindSpare {
			hs = append(hs, h)
		}
	}
	return hs
}

// lbServersOf are the hosts behind the load balancer: the data planes in
// hybrid mode (control planes proxy nothing), else the Kong nodes.
func lbServersOf(st *State) []*Host {
	kind := KindKong
	if st.Options.Hybrid {
		kind = KindDP
	}
	var hs []*Host
	for _, h := range st.Hosts {
		if h.Kind == kind {
			hs = append(hs, h)
		}
	}
	return hs
}

func (l *Lab) lbServers() []*Host { return lbServersOf(l.st) }

// LBURL is the load balancer's frontend, "http://<lb address>:8000" ("" on
// a lab without LB).
func (l *Lab) LBURL() string {
	h, ok := l.Host(LBHostName)
	if !ok || h.Kind != KindLB {
		return ""
	}
	return fmt.Sprintf("http://%s:%d", h.Address, LBPort)
}

// startLB writes the lb host's haproxy.cfg, checks it, starts HAProxy as
// a daemon inside the host and waits until every server is UP.
func (l *Lab) startLB(ctx context.Context) error {
	h, err := l.host(LBHostName)
	if err != nil {
		return err
	}
	script := fmt.Sprintf("mkdir -p %s %s && cat >%s && haproxy -c -q -f %s && haproxy -D -f %s -p /run/haproxy.pid",
		filepath.Dir(lbConfig), filepath.Dir(LBSocket), lbConfig, lbConfig, lbConfig)
	if _, err := execIn(ctx, h, strings.NewReader(renderHAProxyConfig(l.st)), nil, script); err != nil {
		return fmt.Errorf("host %s: start haproxy: %w", h.Name, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := l.LBStatus(ctx)
		up := err == nil && len(st) == len(l.lbServers())+len(lbSparesOf(l.st))
		for _, h := range l.lbServers() {
			up = up && st[h.Name] == "UP"
		}
		if up {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("host %s: haproxy: servers not all UP after 30s: %v %v", h.Name, st, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("host %s: haproxy: %w", h.Name, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// HAProxy sends one command to the lb host's runtime API and returns the
// reply. The socket lives in the host's own /run: it is reached through
// the namespace holder's root (/proc/PID/root), not over SSH.
func (l *Lab) HAProxy(ctx context.Context, command string) (string, error) {
	h, err := l.host(LBHostName)
	if err != nil {
		return "", err
	}
	sock := filepath.Join("/proc", strconv.Itoa(h.HolderPID), "root", LBSocket)
	var d net.Dialer
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return "", fmt.Errorf("host %s: haproxy runtime api: %w", h.Name, err)
	}
	defer c.Close()
	dl, _ := ctx.Deadline()
	c.SetDeadline(dl)
	if _, err := io.WriteString(c, command+"\n"); err != nil {
		return "", fmt.Errorf("host %s: haproxy %q: %w", h.Name, command, err)
	}
	b, err := io.ReadAll(io.LimitReader(c, 4<<20))
	if err != nil {
		return "", fmt.Errorf("host %s: haproxy %q: %w", h.Name, command, err)
	}
	return string(b), nil
}

// LBStatus is the status of each server of the lab's backend as `show
// stat` says it: "UP" (in the load balancing), "DRAIN" (drained, up),
// "DOWN" (its checks fail), "MAINT".
func (l *Lab) LBStatus(ctx context.Context) (map[string]string, error) {
	out, err := l.HAProxy(ctx, "show stat")
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "# ")))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil || len(recs) == 0 {
		return nil, fmt.Errorf("haproxy show stat: %q: %v", out, err)
	}
	col := map[string]int{}
	for i, c := range recs[0] {
		col[c] = i
	}
	st := map[string]string{}
	for _, rec := range recs[1:] {
		if len(rec) != len(recs[0]) || rec[col["pxname"]] != LBBackend {
			continue
		}
		if sv := rec[col["svname"]]; sv != "BACKEND" && sv != "FRONTEND" {
			st[sv] = rec[col["status"]]
		}
	}
	return st, nil
}
