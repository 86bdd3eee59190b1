package runner

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"
)

// fakeLB is a load balancer whose backend has one server per node. busy
// is how many more reads a drained server still shows sessions on (-1:
// for ever). It records "lb drain S", "lb ready S" and, when a drained
// server's sessions reach 0, "lb idle S".
type fakeLB struct {
	c       *fakeCluster
	mu      sync.Mutex
	servers map[string]*fleet.LBServer
	busy    map[string]int
	// rising is how many reads a server set ready still shows DOWN (its
	// health checks not passed yet).
	rising map[string]int
	// refuseHealthy makes SetHealthy fail (a load balancer that does not
	// take kongctl's word): its checks must rise.
	refuseHealthy bool
}

func newFakeLB(c *fakeCluster, servers ...string) *fakeLB {
	l := &fakeLB{c: c, servers: map[string]*fleet.LBServer{}, busy: map[string]int{}, rising: map[string]int{}}
	for _, s := range servers {
		l.servers[s] = &fleet.LBServer{Name: s, Status: "UP"}
	}
	c.lb = l
	return l
}

func (c *fakeCluster) LoadBalancer(ctx context.Context) (fleet.LoadBalancer, error) {
	if c.lb == nil {
		return nil, errors.New("no load balancer")
	}
	if err := c.record("lb connect"); err != nil {
		return nil, err
	}
	return c.lb, nil
}

func (l *fakeLB) Servers(ctx context.Context) ([]fleet.LBServer, error) {
	if err := l.c.record("lb servers"); err != nil {
		return nil, err
	}
	l.mu.Lock()
	var out []fleet.LBServer
	var idle []string
	for _, name := range sortedKeys(l.servers) {
		s := *l.servers[name]
		if l.servers[name].Status == "DOWN" {
			if l.rising[name]--; l.rising[name] <= 0 {
				l.servers[name].Status = "UP"
			}
		}
		if b := l.busy[name]; b != 0 {
			s.Sessions = 2
			if s.Drain && b > 0 {
				l.busy[name]--
			}
		} else if s.Drain {
			idle = append(idle, name)
		}
		out = append(out, s)
	}
	l.mu.Unlock()
	for _, name := range idle {
		l.c.record("lb idle " + name)
	}
	return out, nil
}

func (l *fakeLB) SetState(ctx context.Context, server, state string) error {
	return l.set("lb "+state+" "+server, server, func(s *fleet.LBServer) {
		// A server leaving drain is checked again: DOWN until it rises.
		if s.Drain && state == fleet.LBReady && l.rising[server] > 0 {
			s.Status = "DOWN"
		}
		s.Drain = state == fleet.LBDrain
		switch {
		case state == fleet.LBMaint:
			s.Status = "MAINT"
		case s.Status == "MAINT":
			s.Status = "UP"
		}
	})
}

// SetHealthy counts the server UP at once, its rising reads forgotten.
func (l *fakeLB) SetHealthy(ctx context.Context, server string) error {
	if l.refuseHealthy {
		if err := l.c.record("lb healthy " + server); err != nil {
			return err
		}
		return errors.New("Permission denied.")
	}
	return l.set("lb healthy "+server, server, func(s *fleet.LBServer) {
		s.Status, l.rising[server] = "UP", 0
	})
}

// set records call and applies fn to server, HAProxy's answer when it
// has no such server.
func (l *fakeLB) set(call, server string, fn func(*fleet.LBServer)) error {
	if err := l.c.record(call); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.servers[server]
	if !ok {
		return errors.New("No such server.")
	}
	fn(s)
	return nil
}

// requireReady fails t unless no server is left drained.
func (l *fakeLB) requireReady(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for name, s := range l.servers {
		if s.Drain {
			t.Errorf("server %s left drained", name)
		}
	}
}

func lbTestSpec(t *testing.T) *Spec {
	s := testSpec(t)
	s.LB = &LBSpec{Host: "lb", Backend: "kong", DrainTimeout: 30 * time.Second,
		Servers: map[string]string{"kong-1": "k1", "kong-2": "k2", "kong-3": "k3"}}
	return s
}

// With a load balancer, each node is drained before its stop and stopped
// only once its sessions ended (kong-2 keeps some for three reads), and
// set ready once Y serves on it; no server is left drained.
func TestLBDrainBeforeEachStop(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	lb := newFakeLB(c, "k1", "k2", "k3")
	lb.busy["k2"] = 3
	r := upgradeExpect(t, c, lbTestSpec(t), Succeeded)
	calls := c.Calls()
	for h, s := range map[string]string{"kong-1": "k1", "kong-2": "k2", "kong-3": "k3"} {
		drain, idle, stop := indexOfCall(calls, "lb drain "+s, 0), indexOfCall(calls, "lb idle "+s, 0), indexOfCall(calls, h+" stop", 0)
		if drain < 0 || idle < drain || stop < idle {
			t.Errorf("%s: drain at %d, sessions 0 at %d, stop at %d: want drain < idle < stop", h, drain, idle, stop)
		}
		healthy := indexOfCall(calls, h+" start 3.4.2", 0)
		ready := indexOfCall(calls, "lb ready "+s, 0)
		if ready < healthy || healthy < 0 {
			t.Errorf("%s: ready at %d, Y started at %d", h, ready, healthy)
		}
		// Y healthy by kongctl's check: the load balancer is told so,
		// rather than left to its checks' rise (downtime, on the first
		// node back).
		if up := indexOfCall(calls, "lb healthy "+s, 0); up < ready {
			t.Errorf("%s: marked healthy at %d, ready at %d", h, up, ready)
		}
	}
	lb.requireReady(t)
	for _, f := range r.Findings {
		if strings.HasPrefix(f.Code, "lb-") {
			t.Errorf("finding %+v", f)
		}
	}
}

// Sessions that never end hold the stop no longer than drain_timeout: a
// warning names the node and the count, and the upgrade goes on.
func TestLBDrainTimeout(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	lb := newFakeLB(c, "k1", "k2", "k3")
	lb.busy["k3"] = -1
	r := upgradeExpect(t, c, lbTestSpec(t), Succeeded)
	var warned bool
	for _, f := range r.Findings {
		warned = warned || (f.Code == "lb-drain-timeout" && f.Host == "kong-3" && strings.Contains(f.Message, "2 session(s)") && strings.Contains(f.Message, "30s"))
	}
	if !warned {
		t.Errorf("no lb-drain-timeout warning for kong-3: %+v", r.Findings)
	}
	if indexOfCall(c.Calls(), "kong-3 stop", 0) < 0 {
		t.Error("kong-3 was not stopped after the drain timeout")
	}
}

// A failure after the stops rolls back: X serves again on every node and
// every server, drained forward, is ready again.
func TestLBRollbackSetsReady(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	lb := newFakeLB(c, "k1", "k2", "k3")
	c.fail = func(call string) error {
		if call == "kong-1 migrations up" {
			return errors.New("injected failure: " + call)
		}
		return nil
	}
	upgradeExpect(t, c, lbTestSpec(t), RolledBack)
	requireOnX(t, c)
	lb.requireReady(t)
	calls := c.Calls()
	for h, s := range map[string]string{"kong-1": "k1", "kong-2": "k2", "kong-3": "k3"} {
		if start, ready := indexOfCall(calls, h+" start 2.8.4", 0), indexOfCall(calls, "lb ready "+s, 0); start < 0 || ready < start {
			t.Errorf("%s: X started at %d, ready at %d: want ready after X serves", h, start, ready)
		}
	}
}

// Preflight refuses a load balancer that does not answer, and a backend
// without a node's server, naming what is missing; nothing is stopped.
func TestLBPreflight(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	newFakeLB(c, "k1", "k3")
	r := upgradeExpect(t, c, lbTestSpec(t), Failed)
	if !strings.Contains(r.Error, "no server k2 for node kong-2") {
		t.Errorf("error %q: want the missing server named", r.Error)
	}
	c = newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	newFakeLB(c, "k1", "k2", "k3")
	c.fail = func(call string) error {
		if call == "lb servers" {
			return errors.New("host lb: haproxy socket /run/haproxy/admin.sock: not found")
		}
		return nil
	}
	r = upgradeExpect(t, c, lbTestSpec(t), Failed)
	if !strings.Contains(r.Error, "load balancer: host lb: haproxy socket /run/haproxy/admin.sock") {
		t.Errorf("error %q: want the unreachable socket named", r.Error)
	}
	if n := countCalls(c.Calls(), hasSuffix(" stop")); n != 0 {
		t.Errorf("%d stops after a refused preflight", n)
	}
}

// stop = "sequential": each node is drained and stopped before the next
// is drained; the plan says the drain.
func TestLBDrainSequential(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	lb := newFakeLB(c, "k1", "k2", "k3")
	spec := lbTestSpec(t)
	spec.StopMode = StopSequential
	upgradeExpect(t, c, spec, Succeeded)
	calls := c.Calls()
	for _, p := range [][2]string{{"kong-1 stop", "lb drain k2"}, {"kong-2 stop", "lb drain k3"}} {
		if a, b := indexOfCall(calls, p[0], 0), indexOfCall(calls, p[1], 0); a < 0 || b < a {
			t.Errorf("%q at %d, %q at %d: want one node at a time", p[0], a, p[1], b)
		}
	}
	lb.requireReady(t)

	c = newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	newFakeLB(c, "k1", "k2", "k3")
	p, err := plan(context.Background(), lbTestSpec(t), testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	var said bool
	for _, ph := range p.Phases {
		said = said || (ph.Name == string(PhaseStop) && strings.Contains(ph.Does, "drains each node in the load balancer (lb, backend kong"))
	}
	if !said {
		t.Errorf("the plan's stop does not say the drain: %+v", p.Phases)
	}
}

// A run paused after the stops and resumed drains no node again (the
// journal holds the drains) and sets every server ready once Y serves.
func TestLBResume(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	lb := newFakeLB(c, "k1", "k2", "k3")
	c.fail = func(call string) error {
		if call == "kong-1 migrations up" {
			return errors.New("db timeout")
		}
		return nil
	}
	spec := lbTestSpec(t)
	spec.OnFailure = "pause"
	if r, _ := upgrade(context.Background(), spec, testConfig(c)); r == nil || r.Outcome != Paused {
		t.Fatalf("first run: %+v", r)
	}
	c.fail = nil
	before := len(c.Calls())
	r, err := upgrade(context.Background(), spec, runConfig{conn: c, clk: c.clk, yes: true, resume: true})
	if err != nil || r.Outcome != Succeeded {
		t.Fatalf("resume: %v %+v", err, r)
	}
	second := c.Calls()[before:]
	if n := countCalls(second, func(s string) bool { return strings.HasPrefix(s, "lb drain ") }); n != 0 {
		t.Errorf("resume drained again %d times: %q", n, second)
	}
	if n := countCalls(second, func(s string) bool { return strings.HasPrefix(s, "lb ready ") }); n != 3 {
		t.Errorf("resume set %d servers ready, want 3: %q", n, second)
	}
	lb.requireReady(t)
}
