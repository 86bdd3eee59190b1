// Package promtext reads the Prometheus text format a Kong node's
// /metrics serves into the counters and the latency histogram the verify
// gates judge. It is pure: no I/O, standard library only.
package promtext

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Metrics are cumulative counters from a node's /metrics.
type Metrics struct {
	Requests float64 `json:"requests"` // kong_nginx_requests_total (every request nginx served, admin included)
	Errors   float64 `json:"errors"`   // 5xx responses (kong_http_requests_total / kong_http_status)
	// Proxied sums the per-status counters over every code; StatusCodes
	// says the node exports them (3.x: the prometheus plugin's
	// status_code_metrics; 2.8: always).
	Proxied     float64 `json:"proxied,omitempty"`
	StatusCodes bool    `json:"status_codes,omitempty"`
	// Latency is the request latency histogram, summed over its series:
	// kong_request_latency_ms (3.x, latency_metrics) or
	// kong_latency{type="request"} (2.8). Nil when not exported.
	Latency *Histogram `json:"latency,omitempty"`
}

// Histogram is a cumulative Prometheus histogram in milliseconds. Buckets
// are the finite upper bounds in ascending order; Count is the +Inf bucket.
type Histogram struct {
	Buckets []Bucket `json:"buckets"`
	Count   float64  `json:"count"`
}

// Bucket is one cumulative bucket: N observations at most LE ms.
type Bucket struct {
	LE float64 `json:"le"`
	N  float64 `json:"n"`
}

// Parse sums request, per-status and 5xx counters and the request
// latency histogram from Prometheus text (3.x and 2.8 names).
func Parse(text string) Metrics {
	var m Metrics
	buckets := map[float64]float64{}
	var count float64
	hasLatency := false
	for _, line := range strings.Split(text, "\n") {
		if line == "" {
			continue
		}
		if line[0] == '#' {
			// A declared family is exported even before its first
			// observation (an idle node has no series yet).
			if f := strings.Fields(line); len(f) >= 3 && f[1] == "TYPE" {
				switch f[2] {
				case "kong_http_requests_total", "kong_http_status":
					m.StatusCodes = true
				case "kong_request_latency_ms", "kong_latency":
					hasLatency = true
				}
			}
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(line[i+1:]), 64)
		if err != nil {
			continue
		}
		series := line[:i]
		name, labels, _ := strings.Cut(series, "{")
		switch name {
		case "kong_nginx_requests_total":
			m.Requests += v
		case "kong_http_requests_total", "kong_http_status":
			m.StatusCodes = true
			m.Proxied += v
			if strings.HasPrefix(promLabel(labels, "code"), "5") {
				m.Errors += v
			}
		case "kong_request_latency_ms_bucket", "kong_latency_bucket":
			if name == "kong_latency_bucket" && promLabel(labels, "type") != "request" {
				continue
			}
			le := promLabel(labels, "le")
			hasLatency = true
			if le == "+Inf" {
				count += v
				continue
			}
			if b, err := strconv.ParseFloat(le, 64); err == nil {
				buckets[b] += v
			}
		}
	}
	if hasLatency {
		h := &Histogram{Count: count}
		for le, n := range buckets {
			h.Buckets = append(h.Buckets, Bucket{LE: le, N: n})
		}
		slices.SortFunc(h.Buckets, func(a, b Bucket) int { return cmp.Compare(a.LE, b.LE) })
		m.Latency = h
	}
	return m
}

// promLabel returns the value of label name in a Prometheus label set
// (the text between the braces).
func promLabel(labels, name string) string {
	for _, kv := range splitLabels(labels) {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.TrimSpace(k) == name {
			v = strings.TrimSpace(v)
			if u, err := strconv.Unquote(v); err == nil {
				return u
			}
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// splitLabels splits `a="x",b="y,z"}` at the commas outside quotes.
func splitLabels(s string) []string {
	s = strings.TrimSuffix(strings.TrimSpace(s), "}")
	var out []string
	inQ, esc, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case esc:
			esc = false
		case c == '\\':
			esc = true
		case c == '"':
			inQ = !inQ
		case c == ',' && !inQ:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// Sub returns the histogram of the observations between o and h.
func (h *Histogram) Sub(o *Histogram) *Histogram {
	if h == nil {
		return nil
	}
	if o == nil || o.Count > h.Count {
		return h
	}
	out := &Histogram{Count: h.Count - o.Count}
	prev := map[float64]float64{}
	for _, b := range o.Buckets {
		prev[b.LE] = b.N
	}
	for _, b := range h.Buckets {
		out.Buckets = append(out.Buckets, Bucket{LE: b.LE, N: math.Max(b.N-prev[b.LE], 0)})
	}
	return out
}

// Quantile estimates the q-quantile as Prometheus' histogram_quantile
// does: linear within the bucket holding the rank; in the +Inf bucket, the
// highest finite bound. False when the histogram holds no observation.
func (h *Histogram) Quantile(q float64) (float64, bool) {
	if h == nil || len(h.Buckets) == 0 {
		return 0, false
	}
	total := h.Count
	if total <= 0 {
		total = h.Buckets[len(h.Buckets)-1].N
	}
	if total <= 0 {
		return 0, false
	}
	rank := q * total
	var prevLE, prevN float64
	for i, b := range h.Buckets {
		if b.N >= rank {
			// The first bucket is taken to start at 0, as Prometheus's
			// histogram_quantile does; one whose bound is not above 0 has
			// nothing to interpolate from, and its bound is the answer.
			if b.N == prevN || i == 0 && b.LE <= 0 {
				return b.LE, true
			}
			return prevLE + (b.LE-prevLE)*(rank-prevN)/(b.N-prevN), true
		}
		prevLE, prevN = b.LE, b.N
	}
	return h.Buckets[len(h.Buckets)-1].LE, true
}
