package runner

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"

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

func (n *timedNode) Facts(ctx context.Context) (fleet.Facts, error) {
	n.add("facts", 100*time.Millisecond)
	return n.fakeNode.Facts(ctx)
}

func (n *timedNode) InstallPackage(ctx context.Context, p fleet.PackageRef, timeout time.Duration) error {
	n.add("package.install", 2*time.Second)
	return n.fakeNode.InstallPackage(ctx, p, timeout)
}

type timedCluster struct {
	*fakeCluster
	mu    sync.Mutex
	nodes map[string]*timedNode
}

func (c *timedCluster) Node(ctx context.Context, host string) (fleet.Node, error) {
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
		steps := map[string]StepResult{}
		for _, st := range h.Steps {
			steps[st.Phase] = st
		}
		if got := steps[string(PhaseStop)].Agent; len(got) != 1 || got["service.stop"] != 1.5 {
			t.Errorf("%s stop: agent times %v, want service.stop 1.5 only", h.Name, got)
		}
		// One install (2s) in the install step: the delta, not the
		// running total (preflight read facts before, and the install
		// reads none: the agent checked the version).
		inst := steps[string(PhaseInstall)].Agent
		if len(inst) != 1 || inst["package.install"] != 2 {
			t.Errorf("%s install: agent times %v, want package.install 2 only", h.Name, inst)
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

// listingNode reports, like the agent, the list it ran right after up and
// finish.
type listingNode struct{ *fakeNode }

func (n listingNode) Migrations(ctx context.Context, req fleet.MigrationsRequest) (fleet.SchemaState, error) {
	st, err := n.fakeNode.Migrations(ctx, req)
	if err != nil || (req.Command != "up" && req.Command != "finish") || st.Aborted || st.ExitCode != 0 {
		return st, err
	}
	n.c.mu.Lock()
	n.c.calls = append(n.c.calls, n.name+" agent-side list")
	n.c.mu.Unlock()
	after, err := n.fakeNode.Migrations(ctx, fleet.MigrationsRequest{Command: "list"})
	st.After = &after
	return st, err
}

type listingCluster struct{ *fakeCluster }

func (c listingCluster) Node(ctx context.Context, host string) (fleet.Node, error) {
	n, err := c.fakeCluster.Node(ctx, host)
	if err != nil {
		return nil, err
	}
	return listingNode{n.(*fakeNode)}, nil
}

// When the node reports the list it ran after up and finish, the
// controller checks that state instead of listing again; before up the
// state is always listed, and finish reuses up's list.
func TestMigrationsUseTheNodesListAfter(t *testing.T) {
	for _, reports := range []bool{false, true} {
		fc := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
		cfg := testConfig(fc)
		if reports {
			cfg.conn = listingCluster{fc}
		}
		r, err := upgrade(context.Background(), testSpec(t), cfg)
		if err != nil || r.Outcome != Succeeded {
			t.Fatalf("reports=%v: outcome %v err %v: %s", reports, r.Outcome, err, r.Error)
		}
		var seq []string
		for _, c := range fc.Calls() {
			if strings.HasPrefix(c, "kong-1 migrations") || c == "kong-1 agent-side list" {
				seq = append(seq, c)
			}
		}
		// Preflight lists too; the migration phases start at the first up's list.
		i := slices.Index(seq, "kong-1 migrations up")
		if i < 1 {
			t.Fatalf("reports=%v: no migrations up in %q", reports, seq)
		}
		want := []string{"kong-1 migrations list", "kong-1 migrations up", "kong-1 migrations list", "kong-1 migrations finish", "kong-1 migrations list"}
		if reports {
			want = []string{"kong-1 migrations list", "kong-1 migrations up", "kong-1 agent-side list", "kong-1 migrations list", "kong-1 migrations finish", "kong-1 agent-side list", "kong-1 migrations list"}
		}
		if got := seq[i-1:]; !slices.Equal(got, want) {
			t.Errorf("reports=%v: migration calls %q, want %q", reports, got, want)
		}
	}
}
