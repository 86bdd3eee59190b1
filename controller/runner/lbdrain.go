package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/inventory"
)

// LBSpec is the load balancer in front of the nodes (inventory
// load_balancer): kongctl drains a node there before it stops it and
// sets it ready again once it serves.
type LBSpec struct {
	Host    string // the inventory host it runs on
	Backend string
	// DrainTimeout bounds the wait for a drained node's sessions to end;
	// the node is stopped then anyway (a warning says how many were left).
	DrainTimeout time.Duration
	// Servers maps each proxying node (traditional nodes and data planes;
	// control planes proxy nothing) to its server in Backend.
	Servers map[string]string
}

// lbSpecOf is inv's load balancer for the selected hosts (nil: none).
func lbSpecOf(inv *inventory.Inventory, in func(*inventory.Host) bool) *LBSpec {
	lb := inv.LoadBalancer
	if lb == nil {
		return nil
	}
	s := &LBSpec{Host: lb.Host, Backend: lb.Backend, DrainTimeout: lb.DrainTimeout, Servers: map[string]string{}}
	for _, h := range inv.KongHosts() {
		if in(h) && !h.Has(inventory.RoleControlPlane) {
			s.Servers[h.Name] = h.LBServerOf()
		}
	}
	return s
}

// The load balancer's steps: a node drained before its stop, set ready
// once it serves Y, and (undo) set ready again once it serves X.
const (
	lbDrainSteps     hostSteps = "lb/drain/"
	lbReadySteps     hostSteps = "lb/ready/"
	lbUndoReadySteps hostSteps = "rollback/lb-ready/"
	lbUndoDrainSteps hostSteps = "rollback/lb-drain/"
)

// lbPoll is how often a draining node's sessions (and a readied node's
// state) are read: one command on the load balancer host's agent session,
// a few milliseconds, while each poll's wait adds to the time the node is
// out of the load balancing, which behind the last serving nodes is what
// users wait.
const lbPoll = 50 * time.Millisecond

// lbServer is h's server in the load balancer; false when no load
// balancer fronts h.
func (e *engine) lbServer(h string) (string, bool) {
	if e.spec.LB == nil {
		return "", false
	}
	s, ok := e.spec.LB.Servers[h]
	return s, ok
}

// loadBalancer connects to the inventory's load balancer.
func (e *engine) loadBalancer(ctx context.Context) (fleet.LoadBalancer, error) {
	lc, ok := e.conn.(fleet.LBConnector)
	if !ok {
		return nil, errors.New("this connector reaches no load balancer")
	}
	lb, err := lc.LoadBalancer(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to the load balancer on %s: %w", e.spec.LB.Host, fleet.ConnectFailed(err))
	}
	return lb, nil
}

// lbStep runs fn on h's server in the load balancer as the journaled
// step key; nothing when no load balancer fronts h.
func (e *engine) lbStep(ctx context.Context, ph PhaseName, key StepKey, h string, fn func(ctx context.Context, lb fleet.LoadBalancer, srv string) (any, error)) error {
	srv, ok := e.lbServer(h)
	if !ok {
		return nil
	}
	return e.step(ctx, ph, key, h, func(ctx context.Context) (any, error) {
		lb, err := e.loadBalancer(ctx)
		if err != nil {
			return nil, err
		}
		return fn(ctx, lb, srv)
	})
}

// lbDrainData is what the journal keeps of a drain.
type lbDrainData struct {
	Server   string  `json:"server"`
	Waited   float64 `json:"waited_seconds"`
	Sessions int     `json:"sessions_left"`
}

// lbDrain drains h in the load balancer as the journaled step key (no
// new connections) and waits until its sessions end, at most the drain
// timeout: then h may stop without cutting a request.
func (e *engine) lbDrain(ctx context.Context, ph PhaseName, key StepKey, h string) error {
	return e.lbStep(ctx, ph, key, h, func(ctx context.Context, lb fleet.LoadBalancer, srv string) (any, error) {
		if err := lb.SetState(ctx, srv, fleet.LBDrain); err != nil {
			return nil, fmt.Errorf("drain %s (server %s/%s) in the load balancer: %w", h, e.spec.LB.Backend, srv, err)
		}
		t0 := e.clk.Now()
		deadline := t0.Add(e.spec.LB.DrainTimeout)
		for {
			n, err := lbSessions(ctx, lb, srv)
			if err != nil {
				return nil, fmt.Errorf("drain %s in the load balancer: %w", h, err)
			}
			d := lbDrainData{Server: srv, Waited: e.clk.Now().Sub(t0).Seconds(), Sessions: n}
			if n == 0 {
				return d, nil
			}
			if !e.clk.Now().Before(deadline) {
				e.find(Finding{Severity: SevWarning, Code: "lb-drain-timeout", Host: h,
					Message: fmt.Sprintf("%d session(s) still on server %s/%s after the drain timeout (%s): stopping the node anyway", n, e.spec.LB.Backend, srv, e.spec.LB.DrainTimeout),
					Fix:     "raise load_balancer.drain_timeout if requests take longer than it"})
				return d, nil
			}
			if err := e.clk.Sleep(ctx, lbPoll); err != nil {
				return nil, err
			}
		}
	})
}

// lbSessions is server srv's current sessions.
func lbSessions(ctx context.Context, lb fleet.LoadBalancer, srv string) (int, error) {
	s, err := lbServerState(ctx, lb, srv)
	return s.Sessions, err
}

// lbStatus is server srv's status as the load balancer words it.
func lbStatus(ctx context.Context, lb fleet.LoadBalancer, srv string) (string, error) {
	s, err := lbServerState(ctx, lb, srv)
	return s.Status, err
}

// lbServerState is server srv as the load balancer reports it.
func lbServerState(ctx context.Context, lb fleet.LoadBalancer, srv string) (fleet.LBServer, error) {
	servers, err := lb.Servers(ctx)
	if err != nil {
		return fleet.LBServer{}, err
	}
	for _, s := range servers {
		if s.Name == srv {
			return s, nil
		}
	}
	return fleet.LBServer{}, fmt.Errorf("no server %s in the backend", srv)
}

// lbReady sets h ready in the load balancer (it serves again) as the
// journaled step key.
func (e *engine) lbReady(ctx context.Context, ph PhaseName, key StepKey, h string) error {
	return e.lbStep(ctx, ph, key, h, func(ctx context.Context, lb fleet.LoadBalancer, srv string) (any, error) {
		return nil, e.lbSetReady(ctx, lb, h, srv)
	})
}

// lbSetReady sets h's server ready and, since kongctl only does so once
// its own check found h healthy, tells the load balancer that it is:
// h takes traffic at once, not after the load balancer's checks rise
// (seconds with common settings, all of them downtime when h is the
// first node back). A load balancer that refuses the second is left to
// its own checks, with a warning.
func (e *engine) lbSetReady(ctx context.Context, lb fleet.LoadBalancer, h, srv string) error {
	if err := lb.SetState(ctx, srv, fleet.LBReady); err != nil {
		return fmt.Errorf("set %s (server %s/%s) ready in the load balancer: %w", h, e.spec.LB.Backend, srv, err)
	}
	if err := lb.SetHealthy(ctx, srv); err != nil {
		e.find(Finding{Severity: SevWarning, Code: "lb-health", Host: h,
			Message: fmt.Sprintf("mark %s (server %s/%s) healthy in the load balancer: %s: it takes traffic once the load balancer's own checks pass", h, e.spec.LB.Backend, srv, e.red.err(err))})
	}
	return nil
}

// lbReadyUp sets h ready in the load balancer as the journaled step key
// and waits until the load balancer counts it UP (at once when it took
// lbSetReady's word, else once its health checks passed), at most the
// health timeout: in a roll, the next batch drains only once this one
// takes traffic again.
func (e *engine) lbReadyUp(ctx context.Context, ph PhaseName, key StepKey, h string) error {
	return e.lbReadyUpWithin(ctx, ph, key, h, e.spec.Timeouts.Health)
}

// lbReadyUpWithin is lbReadyUp waiting at most limit.
func (e *engine) lbReadyUpWithin(ctx context.Context, ph PhaseName, key StepKey, h string, limit time.Duration) error {
	return e.lbStep(ctx, ph, key, h, func(ctx context.Context, lb fleet.LoadBalancer, srv string) (any, error) {
		if err := e.lbSetReady(ctx, lb, h, srv); err != nil {
			return nil, err
		}
		t0 := e.clk.Now()
		for {
			s, err := lbServerState(ctx, lb, srv)
			if err != nil {
				return nil, fmt.Errorf("set %s ready in the load balancer: %w", h, err)
			}
			// HAProxy shows an up server of weight 0 (a dual-cluster's Y
			// before the shift) as DRAIN.
			st := s.Status
			if strings.HasPrefix(st, "UP") || st == "no check" || st == "DRAIN" && !s.Drain && s.Weight == 0 {
				return map[string]any{"server": srv, "status": st, "waited_seconds": e.clk.Now().Sub(t0).Seconds()}, nil
			}
			if e.clk.Now().Sub(t0) >= limit {
				return nil, fmt.Errorf("set %s ready in the load balancer: server %s/%s still %s after %s", h, e.spec.LB.Backend, srv, st, limit)
			}
			if err := e.clk.Sleep(ctx, lbPoll); err != nil {
				return nil, err
			}
		}
	})
}

// lbUndoReady sets h ready again on rollback: once X serves on it, or at
// once when it was drained but never stopped. A failure is a warning: the
// rollback goes on, and the report says which server to enable by hand.
func (e *engine) lbUndoReady(ctx context.Context, ph PhaseName, h string) {
	if _, ok := e.lbServer(h); !ok || !e.stepStarted(lbDrainSteps.of(h)) {
		return
	}
	key := lbUndoReadySteps.of(h)
	if e.j != nil && stepDone(e.j, key) {
		return
	}
	if err := e.lbReady(ctx, ph, key, h); err != nil {
		srv, _ := e.lbServer(h)
		e.find(Finding{Severity: SevWarning, Code: "lb-ready", Host: h, Message: e.red.err(err),
			Fix: fmt.Sprintf("set it ready by hand: echo 'set server %s/%s state ready' | socat stdio <socket> on %s", e.spec.LB.Backend, srv, e.spec.LB.Host)})
	}
}
