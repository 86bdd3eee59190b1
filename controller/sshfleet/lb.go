package sshfleet

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/controller/fleet"
)

// LoadBalancer is the inventory's load balancer (HAProxy), its runtime API
// reached through the agent on its host (lb.haproxy).
func (c *sshConnector) LoadBalancer(ctx context.Context) (fleet.LoadBalancer, error) {
	lb := c.inv.LoadBalancer
	if lb == nil {
		return nil, errors.New("the inventory has no load_balancer block")
	}
	ah, err := c.host(ctx, lb.Host)
	if err != nil {
		return nil, err
	}
	return &haproxyLB{h: ah, socket: lb.Socket, backend: lb.Backend}, nil
}

var _ fleet.LBConnector = (*sshConnector)(nil)

type haproxyLB struct {
	h       *agentHost
	socket  string
	backend string
}

// command sends one runtime API command and returns the reply.
func (l *haproxyLB) command(ctx context.Context, cmd string) (string, error) {
	r, err := l.h.client().LBHAProxy(ctx, agentproto.LBHAProxyParams{Socket: l.socket, Command: cmd})
	if err != nil {
		// The agent client's error names the host already.
		return "", fmt.Errorf("haproxy %q: %w", cmd, err)
	}
	return r.Output, nil
}

// Servers asks in one round trip for `show stat` (the sessions) and
// `show servers state` of the backend (the administrative state: a
// drained server that is also down reads DOWN in show stat).
func (l *haproxyLB) Servers(ctx context.Context) ([]fleet.LBServer, error) {
	out, err := l.command(ctx, "show stat; show servers state "+l.backend)
	if err != nil {
		return nil, err
	}
	srv, err := parseServers(out, l.backend)
	if err != nil {
		return nil, fmt.Errorf("host %s: haproxy socket %s: %w", l.h.name, l.socket, err)
	}
	return srv, nil
}

func (l *haproxyLB) SetState(ctx context.Context, server, state string) error {
	if !slices.Contains([]string{fleet.LBReady, fleet.LBDrain, fleet.LBMaint}, state) || strings.ContainsAny(server, " /;\n") {
		return fmt.Errorf("host %s: haproxy set server %s/%s state %s: invalid", l.h.name, l.backend, server, state)
	}
	return l.set(ctx, fmt.Sprintf("set server %s/%s state %s", l.backend, server, state))
}

func (l *haproxyLB) SetWeight(ctx context.Context, server string, weight int) error {
	if weight < 0 || weight > 256 || strings.ContainsAny(server, " /;\n") {
		return fmt.Errorf("host %s: haproxy set server %s/%s weight %d: invalid", l.h.name, l.backend, server, weight)
	}
	return l.set(ctx, fmt.Sprintf("set server %s/%s weight %d", l.backend, server, weight))
}

// SetHealthy is `set server BE/SRV health up` (HAProxy's management
// guide: "immediately switch a server's state regardless of some slow
// health checks"); a server without checks ignores it.
func (l *haproxyLB) SetHealthy(ctx context.Context, server string) error {
	if strings.ContainsAny(server, " /;\n") {
		return fmt.Errorf("host %s: haproxy set server %s/%s health up: invalid", l.h.name, l.backend, server)
	}
	return l.set(ctx, fmt.Sprintf("set server %s/%s health up", l.backend, server))
}

// set sends a runtime API command whose success is an empty reply;
// anything else is HAProxy saying why not ("No such server.",
// "Permission denied").
func (l *haproxyLB) set(ctx context.Context, cmd string) error {
	out, err := l.command(ctx, cmd)
	if err != nil {
		return err
	}
	if msg := strings.TrimSpace(out); msg != "" {
		return fmt.Errorf("host %s: haproxy %q: %s", l.h.name, cmd, msg)
	}
	return nil
}

// parseServers reads the reply to "show stat; show servers state BE":
// two sections, each ending with an empty line (kong-reference 9.9).
func parseServers(out, backend string) ([]fleet.LBServer, error) {
	stat, state, _ := strings.Cut(strings.TrimLeft(out, "\n"), "\n\n")
	srv, err := parseShowStat(stat, backend)
	if err != nil {
		return nil, err
	}
	states, err := parseServersState(state)
	if err != nil {
		return nil, fmt.Errorf("backend %q: show servers state: %w", backend, err)
	}
	for i := range srv {
		st := states[srv[i].Name]
		srv[i].Drain, srv[i].Weight = st.drain, st.weight
	}
	return srv, nil
}

// parseShowStat reads the servers of backend from `show stat` (CSV whose
// first line is "# pxname,svname,..."): name, status and scur. A backend
// without a BACKEND row does not exist.
func parseShowStat(out, backend string) ([]fleet.LBServer, error) {
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "# ")))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("show stat: %w", err)
	}
	if len(recs) == 0 {
		return nil, errors.New("show stat: empty reply")
	}
	col := map[string]int{}
	for i, name := range recs[0] {
		col[name] = i
	}
	for _, c := range []string{"pxname", "svname", "scur", "status"} {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("show stat: no %s column in %.80q", c, strings.Join(recs[0], ","))
		}
	}
	var srv []fleet.LBServer
	found := false
	for _, rec := range recs[1:] {
		if len(rec) < len(recs[0]) || rec[col["pxname"]] != backend {
			continue
		}
		switch name := rec[col["svname"]]; name {
		case "BACKEND":
			found = true
		case "FRONTEND":
		default:
			n, err := strconv.Atoi(rec[col["scur"]])
			if err != nil {
				return nil, fmt.Errorf("show stat: server %s: scur %q: %w", name, rec[col["scur"]], err)
			}
			srv = append(srv, fleet.LBServer{Name: name, Status: rec[col["status"]], Sessions: n})
		}
	}
	if !found {
		return nil, fmt.Errorf("no backend %q", backend)
	}
	return srv, nil
}

// srvAdminForcedDrain is the bit of srv_admin_state set by
// `set server ... state drain`.
const srvAdminForcedDrain = 0x08

// serverState is a server's line of `show servers state`.
type serverState struct {
	drain  bool // srv_admin_state has the forced drain bit
	weight int  // srv_uweight
}

// parseServersState reads `show servers state BE` (format 1: a version
// line, a "#" header, then one line per server) into each server's drain
// and weight.
func parseServersState(out string) (map[string]serverState, error) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 || strings.TrimSpace(lines[0]) != "1" || !strings.HasPrefix(lines[1], "# ") {
		return nil, fmt.Errorf("unexpected reply %.80q", strings.TrimSpace(out))
	}
	header := strings.Fields(strings.TrimPrefix(lines[1], "# "))
	name, admin, uw := slices.Index(header, "srv_name"), slices.Index(header, "srv_admin_state"), slices.Index(header, "srv_uweight")
	if name < 0 || admin < 0 || uw < 0 {
		return nil, fmt.Errorf("no srv_name, srv_admin_state or srv_uweight in %.80q", lines[1])
	}
	states := map[string]serverState{}
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		if len(f) <= max(name, admin, uw) {
			continue
		}
		a, err := strconv.Atoi(f[admin])
		if err != nil {
			return nil, fmt.Errorf("server %s: srv_admin_state %q: %w", f[name], f[admin], err)
		}
		w, err := strconv.Atoi(f[uw])
		if err != nil {
			return nil, fmt.Errorf("server %s: srv_uweight %q: %w", f[name], f[uw], err)
		}
		states[f[name]] = serverState{drain: a&srvAdminForcedDrain != 0, weight: w}
	}
	return states, nil
}
