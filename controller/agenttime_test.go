package controller

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kongctl/kongctl/controller/progress"
)

// timedNode is a fake node whose agent reports its own time per operation.
type timedNode struct {
	*fakeNode
	mu    sync.Mutex
	times map[string]time.Duration
}

func (n *timedNode) add(op string, d time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.times[op] += d
}

func (n *timedNode) AgentTimes() map[string]time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := map[string]time.Duration{}
	for k, v := range n.times {
		out[k] = v
	}
	return out
}

func (n *timedNode) Stop(ctx context.Context, timeout time.Duration) error {
	n.add("service.stop", 1500*time.Millisecond)
	return n.fakeNode.Stop(ctx, timeout)
}

func (n *timedNode) Health(ctx context.Context) (Health, error) {
	n.add("health", 100*time.Millisecond)
	return n.fakeNode.Health(ctx)
}

type timedCluster struct {
	*fakeCluster
	mu    sync.Mutex
	nodes map[string]*timedNode
}

func (c *timedCluster) Node(ctx context.Context, host string) (Node, error) {
	n, err := c.fakeCluster.Node(ctx, host)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if tn, ok := c.nodes[host]; ok {
		return tn, nil
	}
	tn := &timedNode{fakeNode: n.(*fakeNode), times: map[string]time.Duration{}}
	c.nodes[host] = tn
	return tn, nil
}

type eventLog struct {
	mu  sync.Mutex
	evs []progress.Event
}

func (l *eventLog) Emit(e progress.Event) { l.mu.Lock(); l.evs = append(l.evs, e); l.mu.Unlock() }
func (l *eventLog) Close()                {}

// The agent's own time of each step (a delta of its per-operation sums)
// reaches the host's step result and the host_result event.
func TestStepCarriesAgentTimes(t *testing.T) {
	fc := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	c := &timedCluster{fakeCluster: fc, nodes: map[string]*timedNode{}}
	cfg := testConfig(fc)
	cfg.conn = c
	log := &eventLog{}
	cfg.sink = log
	r, err := upgrade(context.Background(), testSpec(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != Succeeded {
		t.Fatalf("outcome %s: %s", r.Outcome, r.Error)
	}
	for _, h := range r.Hosts {
		var stop *StepResult
		for i := range h.Steps {
			if h.Steps[i].Phase == string(PhaseStop) {
				stop = &h.Steps[i]
			}
		}
		if stop == nil {
			t.Fatalf("%s: no stop step in %+v", h.Name, h.Steps)
		}
		// One stop (1.5s) and one health check (0.1s) in the stop step:
		// the delta, not the running total of earlier steps.
		if got := stop.Agent["service.stop"]; got != 1.5 {
			t.Errorf("%s stop: agent service.stop = %v, want 1.5 (%v)", h.Name, got, stop.Agent)
		}
		if got := stop.Agent["health"]; got < 0.099 || got > 0.101 {
			t.Errorf("%s stop: agent health = %v, want 0.1 (%v)", h.Name, got, stop.Agent)
		}
	}
	n := 0
	log.mu.Lock()
	for _, e := range log.evs {
		if e.Type == progress.HostResult && e.Phase == string(PhaseStop) {
			n++
			if e.Agent["service.stop"] != 1.5 {
				t.Errorf("%s stop event: agent_seconds %v", e.Host, e.Agent)
			}
		}
	}
	log.mu.Unlock()
	if n != 3 {
		t.Errorf("%d stop host results, want 3", n)
	}
}

func TestAgentDelta(t *testing.T) {
	d := agentDelta(map[string]time.Duration{"a": time.Second, "b": time.Second},
		map[string]time.Duration{"a": 3 * time.Second, "b": time.Second, "c": 500 * time.Millisecond})
	if len(d) != 2 || d["a"] != 2 || d["c"] != 0.5 {
		t.Errorf("agentDelta = %v, want a=2 c=0.5", d)
	}
	if agentDelta(nil, nil) != nil {
		t.Error("agentDelta(nil, nil) is not nil")
	}
}
