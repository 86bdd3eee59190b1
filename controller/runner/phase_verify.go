package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"

	"github.com/kongctl/kongctl/controller/progress"
)

// verifyPhase checks every Y node: version, /status and readiness, smoke
// requests through each proxy, then keeps checking over the soak window
// and judges the metric gates (max_error_rate, max_5xx, max_latency_p99,
// min_requests) on the window's counters against the pre-upgrade
// baseline. A failed gate fails the phase (rollback or pause), named in
// the report with its threshold and measured value.
type verifyPhase struct{}

func (verifyPhase) name() PhaseName { return PhaseVerify }

func (verifyPhase) total(e *engine) int { return len(e.spec.targets()) }

func (verifyPhase) run(ctx context.Context, e *engine) error { return e.verifyOn(ctx, PhaseVerify) }

// verifyOn checks the targets as verifyPhase does, the results and gates
// reported under phase ph (the verify, or a dual-cluster's shift step).
func (e *engine) verifyOn(ctx context.Context, ph PhaseName) error {
	targets := e.spec.targets()
	type sample struct {
		m     fleet.Metrics
		at    time.Time
		smoke int // smoke requests sent through the node since the sample
	}
	var smu sync.Mutex
	start := map[string]*sample{}
	check := func(ctx context.Context, h string) error {
		// A lost SSH connection or a database blip says nothing of Y's
		// health: each read rides it out (retryTransient) before it
		// counts as a failed verify.
		var hl fleet.Health
		err := e.retryNode(ctx, h, "health of "+h, func(ctx context.Context, n fleet.Node) (err error) {
			hl, err = n.Health(ctx)
			return err
		})
		if err != nil {
			return fmt.Errorf("health of %s: %w", h, err)
		}
		if !hl.Healthy() || !sameVersion(hl.Version, e.spec.To) {
			return fmt.Errorf("verify %s: not healthy on %s (running=%v version=%s status=%v ready=%v db=%v)", h, e.spec.To, hl.Running, dash(hl.Version), hl.StatusOK, hl.Ready, hl.DBReachable)
		}
		// A hybrid control plane proxies nothing: its data planes serve
		// the traffic, so smoke requests go through traditional nodes only.
		smoke := e.spec.Verify.Smoke
		if e.spec.host(h).Has("control_plane") {
			smoke = nil
		}
		for _, s := range smoke {
			smu.Lock()
			if st := start[h]; st != nil {
				st.smoke++
			}
			smu.Unlock()
			err := e.retryNode(ctx, h, "smoke request through "+h, func(ctx context.Context, n fleet.Node) error {
				return smokeRequest(ctx, n, h, s)
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
	err := e.forEach(ctx, targets, nodeLimit, func(ctx context.Context, h string) error {
		if err := check(ctx, h); err != nil {
			e.hostResult(ph, h, ResultFailed, 0, "", err)
			return err
		}
		n, _ := e.node(ctx, h)
		if m, err := n.Metrics(ctx); err == nil {
			smu.Lock()
			start[h] = &sample{m: m, at: e.clk.Now()}
			smu.Unlock()
		}
		e.hostResult(ph, h, ResultOK, 0, "healthy on "+e.spec.To+", smoke ok", nil)
		return nil
	})
	if err != nil {
		return err
	}
	// Soak: keep checking, then judge the gates on the window.
	err = soak(ctx, e.clk, e.spec.Verify.Soak, e.spec.Verify.Interval, func(ctx context.Context) error {
		return e.forEach(ctx, targets, nodeLimit, check)
	})
	if err != nil {
		return err
	}
	v := e.spec.Verify
	if !v.hasGates() {
		return nil
	}
	win := map[string]gateWindow{}
	readErr := e.forEach(ctx, targets, nodeLimit, func(ctx context.Context, h string) error {
		st, ok := start[h]
		if !ok {
			return fmt.Errorf("read metrics of %s: no sample at the start of the soak window", h)
		}
		n, err := e.node(ctx, h)
		if err != nil {
			return fmt.Errorf("read metrics of %s: %w", h, err)
		}
		m1, err := n.Metrics(ctx)
		if err != nil {
			return fmt.Errorf("read metrics of %s: %w", h, err)
		}
		smu.Lock()
		win[h] = gateWindow{M0: st.m, M1: m1, Seconds: e.clk.Now().Sub(st.at).Seconds(), Smoke: st.smoke}
		smu.Unlock()
		return nil
	})
	gates := evaluateGates(v, targets, win, e.pf.Baseline)
	e.mu.Lock()
	e.verify.gates = gates
	e.mu.Unlock()
	for _, g := range gates {
		e.emit(progress.Event{Type: progress.Message, Phase: string(ph), Host: g.Host, Status: map[bool]string{true: "ok", false: "failed"}[g.Passed], Message: g.String()})
	}
	return errors.Join(readErr, gateErrors(gates))
}

// soak runs check every interval until window has passed, the last time
// when it ends: a window that is not a whole number of intervals, or
// checks that take time, do not stretch it by up to an interval and a
// check.
func soak(ctx context.Context, clk clock, window, interval time.Duration, check func(context.Context) error) error {
	deadline := clk.Now().Add(window)
	for {
		left := deadline.Sub(clk.Now())
		if left <= 0 {
			return nil
		}
		if err := clk.Sleep(ctx, min(interval, left)); err != nil {
			return err
		}
		if err := check(ctx); err != nil {
			return fmt.Errorf("during the soak window: %w", err)
		}
	}
}

// verifyState is what verify measured (under engine.mu).
type verifyState struct {
	gates []GateResult
}

// smokeRequest sends one smoke request through h's proxy and checks its
// status.
func smokeRequest(ctx context.Context, n fleet.Node, h string, s SmokeSpec) error {
	res, err := n.Probe(ctx, fleet.ProbeRequest{Path: s.Path, Host: s.Host, WantStatus: s.Status, Timeout: 10 * time.Second})
	if err != nil {
		return fmt.Errorf("smoke request %s through %s: %w", s.label(), h, err)
	}
	want := s.Status
	if want == 0 {
		want = 200
	}
	if res.Status != want {
		return fmt.Errorf("smoke request %s through %s: status %d, want %d", s.label(), h, res.Status, want)
	}
	return nil
}
