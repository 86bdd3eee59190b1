package controller

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseMetricsLatencyHistograms(t *testing.T) {
	m := parseMetrics(`# TYPE kong_request_latency_ms histogram
kong_request_latency_ms_bucket{service="s",route="a",workspace="default",le="25"} 80
kong_request_latency_ms_bucket{service="s",route="a",workspace="default",le="50"} 90
kong_request_latency_ms_bucket{service="s",route="a",workspace="default",le="+Inf"} 100
kong_request_latency_ms_bucket{service="s,x",route="b",workspace="default",le="25"} 0
kong_request_latency_ms_bucket{service="s,x",route="b",workspace="default",le="50"} 10
kong_request_latency_ms_bucket{service="s,x",route="b",workspace="default",le="+Inf"} 10
kong_request_latency_ms_count{service="s",route="a",workspace="default"} 100
kong_kong_latency_ms_bucket{service="s",route="a",workspace="default",le="1"} 100
kong_http_requests_total{service="s",route="a",code="200",source="service",workspace="default",consumer=""} 95
kong_http_requests_total{service="s",route="a",code="500",source="kong",workspace="default",consumer=""} 5
`)
	if m.Latency == nil || m.Latency.Count != 110 || len(m.Latency.Buckets) != 2 || m.Latency.Buckets[0] != (Bucket{25, 80}) || m.Latency.Buckets[1] != (Bucket{50, 100}) {
		t.Fatalf("latency %+v", m.Latency)
	}
	if !m.StatusCodes || m.Proxied != 100 || m.Errors != 5 {
		t.Errorf("status counters %+v", m)
	}
	// 2.8: kong_latency{type="request"} only; no per-status counters here.
	old := parseMetrics(`kong_latency_bucket{type="kong",service="s",route="a",le="1"} 7
kong_latency_bucket{type="request",service="s",route="a",le="00001.0"} 3
kong_latency_bucket{type="request",service="s",route="a",le="+Inf"} 4
kong_nginx_http_current_connections{state="total"} 9
`)
	if old.Latency == nil || old.Latency.Count != 4 || len(old.Latency.Buckets) != 1 || old.Latency.Buckets[0].N != 3 || old.StatusCodes {
		t.Errorf("2.8 latency %+v", old)
	}
	if parseMetrics("kong_nginx_requests_total 3\n").Latency != nil {
		t.Error("a histogram invented from nothing")
	}
}

func TestHistogramQuantile(t *testing.T) {
	h := &Histogram{Buckets: []Bucket{{25, 50}, {50, 90}, {100, 100}}, Count: 100}
	if q, ok := h.quantile(0.99); !ok || math.Abs(q-95) > 1e-9 {
		t.Errorf("p99 = %v %v, want 95 (linear in the 50..100 bucket)", q, ok)
	}
	if q, _ := h.quantile(0.5); q != 25 {
		t.Errorf("p50 = %v, want 25", q)
	}
	inf := &Histogram{Buckets: []Bucket{{25, 10}}, Count: 100}
	if q, ok := inf.quantile(0.99); !ok || q != 25 {
		t.Errorf("p99 in +Inf = %v %v, want the highest bound 25", q, ok)
	}
	d := h.sub(&Histogram{Buckets: []Bucket{{25, 50}, {50, 50}, {100, 50}}, Count: 50})
	if q, ok := d.quantile(0.99); !ok || q <= 50 || d.Count != 50 {
		t.Errorf("delta %+v p99 %v %v", d, q, ok)
	}
	if _, ok := (&Histogram{Buckets: []Bucket{{25, 0}}}).quantile(0.99); ok {
		t.Error("an empty histogram has no p99")
	}
}

func intp(n int) *int { return &n }

// trafficMetrics: every read adds 100 proxied requests; Y (3.4.2) adds
// errY 5xx and its requests take latY ms, X adds errX and takes latX.
func trafficMetrics(errX, errY, latX, latY float64) func(host, version string, n int) Metrics {
	return func(host, version string, n int) Metrics {
		e, lat := errX, latX
		if version == "3.4.2" {
			e, lat = errY, latY
		}
		k := float64(n)
		return Metrics{Requests: 150 * k, Proxied: 100 * k, Errors: e * k, StatusCodes: true,
			Latency: &Histogram{Buckets: []Bucket{{lat, 100 * k}, {2 * lat, 100 * k}}, Count: 100 * k}}
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
	var b bytes.Buffer
	r.WriteText(&b)
	if !strings.Contains(b.String(), "gate max_5xx on fleet FAILED") {
		t.Errorf("text report lacks the gate:\n%s", b.String())
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
	c.metrics = func(host, version string, n int) Metrics {
		return Metrics{Requests: 10, Proxied: 10 + float64(n), StatusCodes: true}
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
	c.metrics = func(host, version string, n int) Metrics { return Metrics{Requests: float64(n)} }
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

// An idle node declares the families before it has any series.
func TestParseMetricsDeclaredFamilies(t *testing.T) {
	m := parseMetrics("# HELP kong_http_requests_total x\n# TYPE kong_http_requests_total counter\n# TYPE kong_request_latency_ms histogram\nkong_nginx_requests_total 3\n")
	if !m.StatusCodes || m.Latency == nil || m.Latency.Count != 0 {
		t.Errorf("%+v", m)
	}
	if _, ok := m.Latency.quantile(0.99); ok {
		t.Error("p99 of nothing")
	}
}

// /metrics comes from the nodes: parsing never panics, buckets come out
// sorted, and a p99 lies within the finite bounds.
func FuzzParseMetrics(f *testing.F) {
	f.Add("kong_request_latency_ms_bucket{service=\"s\",le=\"25\"} 3\nkong_request_latency_ms_bucket{service=\"s\",le=\"+Inf\"} 4\n")
	f.Add("kong_http_requests_total{code=\"503\",route=\"a,\\\"b\"} 2\n# TYPE kong_latency histogram\nkong_latency_bucket{type=\"request\",le=\"1e3\"} NaN\n")
	f.Fuzz(func(t *testing.T, text string) {
		m := parseMetrics(text)
		if m.Latency == nil {
			return
		}
		for i := 1; i < len(m.Latency.Buckets); i++ {
			if m.Latency.Buckets[i-1].LE > m.Latency.Buckets[i].LE {
				t.Fatalf("buckets out of order: %+v", m.Latency.Buckets)
			}
		}
		if q, ok := m.Latency.quantile(0.99); ok && len(m.Latency.Buckets) > 0 && !math.IsNaN(q) {
			lo, hi := math.Min(0, m.Latency.Buckets[0].LE), m.Latency.Buckets[len(m.Latency.Buckets)-1].LE
			if q < lo-1e-9*math.Abs(lo) || q > hi+1e-9*math.Abs(hi) {
				t.Fatalf("p99 %v outside [%v, %v]: %+v", q, lo, hi, m.Latency)
			}
		}
	})
}
