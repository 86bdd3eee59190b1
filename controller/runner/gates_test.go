package runner

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"
)

func intp(n int) *int { return &n }

// trafficMetrics: every read adds 100 proxied requests; Y (3.4.2) adds
// errY 5xx and its requests take latY ms, X adds errX and takes latX.
func trafficMetrics(errX, errY, latX, latY float64) func(host, version string, n int) fleet.Metrics {
	return func(host, version string, n int) fleet.Metrics {
		e, lat := errX, latX
		if version == "3.4.2" {
			e, lat = errY, latY
		}
		k := float64(n)
		return fleet.Metrics{Requests: 150 * k, Proxied: 100 * k, Errors: e * k, StatusCodes: true,
			Latency: &fleet.Histogram{Buckets: []fleet.Bucket{{LE: lat, N: 100 * k}, {LE: 2 * lat, N: 100 * k}}, Count: 100 * k}}
	}
}

func gateOf(r *Report, gate, host string) (GateResult, bool) {
	for _, g := range r.Gates {
		if g.Gate == gate && g.Host == host {
			return g, true
		}
	}
	return GateResult{}, false
}

func TestVerifyMax5xxGateRollsBack(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	c.metrics = trafficMetrics(0, 10, 5, 5)
	spec := testSpec(t)
	spec.Verify.MaxErrorRate = 0
	spec.Verify.Max5xx = intp(5)
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != RolledBack {
		t.Fatalf("outcome %s, want rolled-back: %s", r.Outcome, r.Error)
	}
	g, ok := gateOf(r, GateMax5xx, "")
	if !ok || g.Passed || g.Threshold != 5 || g.Measured < 30 || g.Baseline == nil || *g.Baseline != 0 {
		t.Fatalf("max_5xx gate %+v (ok %v)", g, ok)
	}
	if !strings.Contains(r.Error, "gate max_5xx on fleet FAILED: measured") || !strings.Contains(r.Error, "threshold 5") {
		t.Errorf("the error does not name the gate, its value and threshold: %s", r.Error)
	}
	if !strings.Contains(g.String(), "gate max_5xx on fleet FAILED") {
		t.Errorf("the gate's line lacks its verdict: %s", g)
	}
	calls := c.Calls()
	if indexOfCall(calls, "db restore kong-"+r.RunID+"-pre.dump", 0) < 0 {
		t.Errorf("the database was not restored: %q", calls)
	}
	for _, h := range spec.Nodes {
		if indexOfCall(calls, h+" install 2.8.4", 0) < 0 || indexOfCall(calls, h+" start 2.8.4", 0) < 0 {
			t.Errorf("%s not back on X", h)
		}
	}
}

func TestVerifyGatePausesWhenAsked(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	c.metrics = trafficMetrics(0, 0, 5, 900)
	spec := testSpec(t, "kong-1", "kong-2")
	spec.OnFailure = "pause"
	spec.Verify.MaxLatencyP99 = 750 * time.Millisecond
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != Paused {
		t.Fatalf("outcome %s, want paused: %s", r.Outcome, r.Error)
	}
	for _, h := range spec.Nodes {
		g, ok := gateOf(r, GateMaxLatencyP99, h)
		if !ok || g.Passed || g.Threshold != 750 || g.Measured <= 750 || g.Baseline == nil || *g.Baseline > 10 {
			t.Errorf("%s: p99 gate %+v", h, g)
		}
	}
	if indexOfCall(c.Calls(), "db restore kong-"+r.RunID+"-pre.dump", 0) >= 0 {
		t.Error("a paused run restored the database")
	}
	if !strings.Contains(r.Error, "gate max_latency_p99 on kong-1 FAILED") {
		t.Errorf("error %s", r.Error)
	}
}

func TestVerifyGatesAgainstBaseline(t *testing.T) {
	// X already answered 5xx at the same rate and was as slow: the gates
	// are past their thresholds but the upgrade made nothing worse.
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	c.metrics = trafficMetrics(10, 10, 900, 900)
	spec := testSpec(t, "kong-1", "kong-2")
	spec.Verify.MaxErrorRate = 0.01
	spec.Verify.MaxLatencyP99 = 750 * time.Millisecond
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != Succeeded {
		t.Fatalf("outcome %s: %s", r.Outcome, r.Error)
	}
	g, _ := gateOf(r, GateMaxErrorRate, "kong-1")
	if !g.Passed || g.Measured <= 0.01 || g.Baseline == nil {
		t.Errorf("error-rate gate %+v", g)
	}
	g, _ = gateOf(r, GateMaxLatencyP99, "kong-2")
	if !g.Passed || g.Measured <= 750 || g.Baseline == nil {
		t.Errorf("p99 gate %+v", g)
	}
}

func TestVerifyMinRequests(t *testing.T) {
	// An idle fleet: the counters do not move (only kongctl's own smoke
	// requests would).
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	c.metrics = func(host, version string, n int) fleet.Metrics {
		return fleet.Metrics{Requests: 10, Proxied: 10 + float64(n), StatusCodes: true}
	}
	spec := testSpec(t, "kong-1", "kong-2")
	spec.Verify.MinRequests = 50
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != RolledBack {
		t.Fatalf("an idle fleet passed verify: outcome %s", r.Outcome)
	}
	g, ok := gateOf(r, GateMinRequests, "")
	if !ok || g.Passed || g.Threshold != 50 || g.Measured != 0 {
		t.Errorf("min_requests gate %+v: the smoke requests must not count", g)
	}

	c = newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	c.metrics = trafficMetrics(0, 0, 5, 5)
	r, err = upgrade(context.Background(), testSpecWith(t, func(s *Spec) { s.Verify.MinRequests = 50 }), testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	g, _ = gateOf(r, GateMinRequests, "")
	if r.Outcome != Succeeded || !g.Passed || g.Measured < 50 {
		t.Errorf("outcome %s, gate %+v", r.Outcome, g)
	}
}

func testSpecWith(t *testing.T, edit func(*Spec)) *Spec {
	s := testSpec(t, "kong-1", "kong-2")
	edit(s)
	return s
}

func TestPreflightRefusesUnmeasurableGates(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
	c.metrics = func(host, version string, n int) fleet.Metrics { return fleet.Metrics{Requests: float64(n)} }
	spec := testSpec(t, "kong-1", "kong-2")
	spec.Verify.Max5xx = intp(0)
	spec.Verify.MaxLatencyP99 = time.Second
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != Failed {
		t.Fatalf("outcome %s", r.Outcome)
	}
	n := 0
	for _, f := range r.Findings {
		if f.Code == "gate-unmeasurable" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d gate-unmeasurable findings, want 2: %+v", n, r.Findings)
	}
	if countCalls(c.Calls(), hasSuffix(" stop")) != 0 {
		t.Error("a node was stopped")
	}
}

// A running node whose /metrics cannot be read stops the run in preflight
// when gates are set (the soak would have no sample, after the downtime),
// and does not matter without gates.
func TestPreflightRefusesUnreadableMetrics(t *testing.T) {
	for _, gates := range []bool{true, false} {
		c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2")
		c.fail = func(call string) error {
			if call == "kong-2 metrics" {
				return errors.New("host kong-2: GET http://127.0.0.1:8001/metrics: HTTP 404")
			}
			return nil
		}
		spec := testSpecWith(t, func(s *Spec) {
			if !gates {
				s.Verify.MaxErrorRate, s.Verify.Max5xx, s.Verify.MaxLatencyP99, s.Verify.MinRequests = 0, nil, 0, 0
			}
		})
		r, err := upgrade(context.Background(), spec, testConfig(c))
		if err != nil {
			t.Fatal(err)
		}
		found := findingOf(r, "metrics-unreadable")
		if !gates {
			if r.Outcome != Succeeded || found != nil {
				t.Errorf("without gates: outcome %s, finding %+v", r.Outcome, found)
			}
			continue
		}
		if r.Outcome != Failed || found == nil || found.Host != "kong-2" || !strings.Contains(found.Message, "HTTP 404") {
			t.Fatalf("with gates: outcome %s, finding %+v", r.Outcome, found)
		}
		if countCalls(c.Calls(), hasSuffix(" stop")) != 0 {
			t.Error("a node was stopped")
		}
	}
}

// A node whose Admin API is off (a proxy-only node) is refused in
// preflight: kongctl could never read Y's version or metrics there.
func TestPreflightRefusesAdminAPIOff(t *testing.T) {
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3")
	c.nodes["kong-2"].conf = map[string]string{"database": "postgres", "admin_listen": "off"}
	r, err := upgrade(context.Background(), testSpec(t), testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	found := findingOf(r, "admin-api-off")
	if r.Outcome != Failed || found == nil || found.Host != "kong-2" || found.Severity != SevError {
		t.Fatalf("outcome %s, finding %+v", r.Outcome, found)
	}
	if countCalls(c.Calls(), hasSuffix(" stop")) != 0 {
		t.Error("a node was stopped")
	}
}
