package promtext

import (
	"math"
	"testing"
)

func TestParseMetrics(t *testing.T) {
	m := Parse(`# HELP x
kong_nginx_requests_total{node_id="a",subsystem="http"} 120
kong_http_requests_total{service="s",route="r",code="200",source="service",workspace="default",consumer=""} 100
kong_http_requests_total{service="s",route="r",code="503",source="kong",workspace="default",consumer=""} 3
kong_http_status{service="s",route="r",code="502"} 2
`)
	if m.Requests != 120 || m.Errors != 5 {
		t.Errorf("metrics %+v", m)
	}
}

// An idle node declares the families before it has any series.
func TestParseMetricsDeclaredFamilies(t *testing.T) {
	m := Parse("# HELP kong_http_requests_total x\n# TYPE kong_http_requests_total counter\n# TYPE kong_request_latency_ms histogram\nkong_nginx_requests_total 3\n")
	if !m.StatusCodes || m.Latency == nil || m.Latency.Count != 0 {
		t.Errorf("%+v", m)
	}
	if _, ok := m.Latency.Quantile(0.99); ok {
		t.Error("p99 of nothing")
	}
}

// /metrics comes from the nodes: parsing never panics, buckets come out
// sorted, and a p99 lies within the finite bounds.
func FuzzParseMetrics(f *testing.F) {
	f.Add("kong_request_latency_ms_bucket{service=\"s\",le=\"25\"} 3\nkong_request_latency_ms_bucket{service=\"s\",le=\"+Inf\"} 4\n")
	f.Add("kong_http_requests_total{code=\"503\",route=\"a,\\\"b\"} 2\n# TYPE kong_latency histogram\nkong_latency_bucket{type=\"request\",le=\"1e3\"} NaN\n")
	f.Fuzz(func(t *testing.T, text string) {
		m := Parse(text)
		if m.Latency == nil {
			return
		}
		for i := 1; i < len(m.Latency.Buckets); i++ {
			if m.Latency.Buckets[i-1].LE > m.Latency.Buckets[i].LE {
				t.Fatalf("buckets out of order: %+v", m.Latency.Buckets)
			}
		}
		if q, ok := m.Latency.Quantile(0.99); ok && len(m.Latency.Buckets) > 0 && !math.IsNaN(q) {
			lo, hi := math.Min(0, m.Latency.Buckets[0].LE), m.Latency.Buckets[len(m.Latency.Buckets)-1].LE
			if q < lo-1e-9*math.Abs(lo) || q > hi+1e-9*math.Abs(hi) {
				t.Fatalf("p99 %v outside [%v, %v]: %+v", q, lo, hi, m.Latency)
			}
		}
	})
}

func TestParseMetricsLatencyHistograms(t *testing.T) {
	m := Parse(`# TYPE kong_request_latency_ms histogram
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
	old := Parse(`kong_latency_bucket{type="kong",service="s",route="a",le="1"} 7
kong_latency_bucket{type="request",service="s",route="a",le="00001.0"} 3
kong_latency_bucket{type="request",service="s",route="a",le="+Inf"} 4
kong_nginx_http_current_connections{state="total"} 9
`)
	if old.Latency == nil || old.Latency.Count != 4 || len(old.Latency.Buckets) != 1 || old.Latency.Buckets[0].N != 3 || old.StatusCodes {
		t.Errorf("2.8 latency %+v", old)
	}
	if Parse("kong_nginx_requests_total 3\n").Latency != nil {
		t.Error("a histogram invented from nothing")
	}
}

func TestHistogramQuantile(t *testing.T) {
	h := &Histogram{Buckets: []Bucket{{25, 50}, {50, 90}, {100, 100}}, Count: 100}
	if q, ok := h.Quantile(0.99); !ok || math.Abs(q-95) > 1e-9 {
		t.Errorf("p99 = %v %v, want 95 (linear in the 50..100 bucket)", q, ok)
	}
	if q, _ := h.Quantile(0.5); q != 25 {
		t.Errorf("p50 = %v, want 25", q)
	}
	inf := &Histogram{Buckets: []Bucket{{25, 10}}, Count: 100}
	if q, ok := inf.Quantile(0.99); !ok || q != 25 {
		t.Errorf("p99 in +Inf = %v %v, want the highest bound 25", q, ok)
	}
	d := h.Sub(&Histogram{Buckets: []Bucket{{25, 50}, {50, 50}, {100, 50}}, Count: 50})
	if q, ok := d.Quantile(0.99); !ok || q <= 50 || d.Count != 50 {
		t.Errorf("delta %+v p99 %v %v", d, q, ok)
	}
	if _, ok := (&Histogram{Buckets: []Bucket{{25, 0}}}).Quantile(0.99); ok {
		t.Error("an empty histogram has no p99")
	}
}
