package runner

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"
)

// Gate names, as the inventory's verify.gate block spells them.
const (
	GateMaxErrorRate  = "max_error_rate"
	GateMax5xx        = "max_5xx"
	GateMaxLatencyP99 = "max_latency_p99"
	GateMinRequests   = "min_requests"
)

// GateResult is one metric gate as the verify phase judged it. Host is ""
// for the fleet-wide gates (max_5xx, min_requests); max_error_rate and
// max_latency_p99 are judged per node.
type GateResult struct {
	Gate      string  `json:"gate"`
	Host      string  `json:"host,omitempty"`
	Threshold float64 `json:"threshold"`
	Measured  float64 `json:"measured"`
	// Baseline is the same measure before the upgrade (max_5xx: the
	// pre-upgrade 5xx rate scaled to the soak window), when known.
	Baseline *float64 `json:"baseline,omitempty"`
	Unit     string   `json:"unit"` // ratio | responses | ms | requests
	Passed   bool     `json:"passed"`
	// Measurable is false when the fleet exports nothing to measure the
	// gate with (such a gate fails: it never passes vacuously).
	Measurable bool   `json:"measurable"`
	Detail     string `json:"detail,omitempty"`
}

func (g GateResult) fmtValue(v float64) string {
	switch g.Unit {
	case "ratio":
		return fmt.Sprintf("%.2f%%", v*100)
	case "ms":
		return fmt.Sprintf("%gms", math.Round(v*10)/10)
	}
	return fmt.Sprintf("%g", math.Round(v*10)/10)
}

// Format renders v, a value of the gate, in the gate's unit as the report
// writes it.
func (g GateResult) Format(v float64) string { return g.fmtValue(v) }

// String is the gate's line in the report.
func (g GateResult) String() string {
	where := "fleet"
	if g.Host != "" {
		where = g.Host
	}
	verdict := "passed"
	if !g.Passed {
		verdict = "FAILED"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "gate %s on %s %s: ", g.Gate, where, verdict)
	if !g.Measurable {
		fmt.Fprintf(&b, "not measured (threshold %s)", g.fmtValue(g.Threshold))
	} else {
		fmt.Fprintf(&b, "measured %s, threshold %s", g.fmtValue(g.Measured), g.fmtValue(g.Threshold))
	}
	if g.Baseline != nil {
		fmt.Fprintf(&b, ", before the upgrade %s", g.fmtValue(*g.Baseline))
	}
	if g.Detail != "" {
		fmt.Fprintf(&b, " (%s)", g.Detail)
	}
	return b.String()
}

// gateWindow is one node's counters at the start and the end of the soak
// window, and the smoke requests kongctl itself sent through it meanwhile
// (they are not the fleet's traffic).
type gateWindow struct {
	M0, M1  fleet.Metrics
	Seconds float64
	Smoke   int
}

func sub0(a, b float64) float64 {
	if a < b { // a counter reset (restart): the later value is the delta
		return a
	}
	return a - b
}

// traffic is the requests the node served in the window that count as
// the fleet's traffic: proxied requests (per-status counters) without
// kongctl's smoke requests, else every request nginx counted.
func traffic(m0, m1 fleet.Metrics, smoke int) (n float64, proxied bool) {
	if m1.StatusCodes {
		return math.Max(sub0(m1.Proxied, m0.Proxied)-float64(smoke), 0), true
	}
	return math.Max(sub0(m1.Requests, m0.Requests)-float64(smoke), 0), false
}

// errorRate is 5xx / traffic in the window; false when nothing was
// served.
func errorRate(m0, m1 fleet.Metrics, smoke int) (float64, bool) {
	var den float64
	if m1.StatusCodes {
		den = sub0(m1.Proxied, m0.Proxied)
	} else {
		den = sub0(m1.Requests, m0.Requests)
	}
	if den <= 0 {
		return 0, false
	}
	return sub0(m1.Errors, m0.Errors) / den, true
}

// evaluateGates judges the verify spec's gates over the soak windows of
// targets, against the pre-upgrade baseline. A gate past its threshold
// fails only when it is also worse than before the upgrade (when the
// baseline measured it); min_requests has no baseline. A gate the fleet
// exports nothing for fails.
func evaluateGates(v VerifySpec, targets []string, win map[string]gateWindow, baseline map[string]rateSample) []GateResult {
	var out []GateResult
	hosts := make([]string, 0, len(targets))
	for _, h := range targets {
		if _, ok := win[h]; ok {
			hosts = append(hosts, h)
		}
	}
	if v.MaxErrorRate > 0 {
		for _, h := range hosts {
			w := win[h]
			g := GateResult{Gate: GateMaxErrorRate, Host: h, Threshold: v.MaxErrorRate, Unit: "ratio", Passed: true, Measurable: true}
			rate, ok := errorRate(w.M0, w.M1, w.Smoke)
			if !ok {
				g.Detail = "no requests in the window"
				out = append(out, g)
				continue
			}
			g.Measured = rate
			if b, ok := baseline[h]; ok {
				if br, ok := errorRate(b.M0, b.M1, 0); ok {
					g.Baseline = &br
				}
			}
			g.Passed = rate <= v.MaxErrorRate || (g.Baseline != nil && rate <= *g.Baseline)
			out = append(out, g)
		}
	}
	if v.Max5xx != nil {
		g := GateResult{Gate: GateMax5xx, Threshold: float64(*v.Max5xx), Unit: "responses"}
		var soak float64
		for _, h := range hosts {
			w := win[h]
			if w.M1.StatusCodes {
				g.Measurable = true
				g.Measured += sub0(w.M1.Errors, w.M0.Errors)
			}
			soak = math.Max(soak, w.Seconds)
		}
		var expected float64
		known := false
		for _, b := range baseline {
			if b.Seconds > 0 && b.M1.StatusCodes {
				known = true
				expected += sub0(b.M1.Errors, b.M0.Errors) / b.Seconds * soak
			}
		}
		if known {
			g.Baseline = &expected
		}
		switch {
		case !g.Measurable:
			g.Detail = "no node exports per-status counters (kong_http_requests_total): enable status_code_metrics of the prometheus plugin"
		default:
			g.Passed = g.Measured <= g.Threshold || (known && g.Measured <= math.Ceil(expected))
		}
		out = append(out, g)
	}
	if v.MaxLatencyP99 > 0 {
		thr := float64(v.MaxLatencyP99) / float64(time.Millisecond)
		for _, h := range hosts {
			w := win[h]
			g := GateResult{Gate: GateMaxLatencyP99, Host: h, Threshold: thr, Unit: "ms"}
			if w.M1.Latency == nil {
				g.Detail = "the node exports no request latency histogram (kong_request_latency_ms): enable latency_metrics of the prometheus plugin"
				out = append(out, g)
				continue
			}
			g.Measurable = true
			p99, ok := w.M1.Latency.Sub(w.M0.Latency).Quantile(0.99)
			if !ok {
				g.Passed, g.Detail = true, "no requests in the window"
				out = append(out, g)
				continue
			}
			g.Measured = p99
			if b, ok := baseline[h]; ok {
				if bp, ok := b.M1.Latency.Sub(b.M0.Latency).Quantile(0.99); ok {
					g.Baseline = &bp
				}
			}
			g.Passed = p99 <= thr || (g.Baseline != nil && p99 <= *g.Baseline)
			out = append(out, g)
		}
	}
	if v.MinRequests > 0 {
		g := GateResult{Gate: GateMinRequests, Threshold: float64(v.MinRequests), Unit: "requests", Measurable: len(hosts) > 0}
		allProxied := true
		for _, h := range hosts {
			w := win[h]
			n, proxied := traffic(w.M0, w.M1, w.Smoke)
			g.Measured += n
			allProxied = allProxied && proxied
		}
		if !allProxied {
			g.Detail = "counted from kong_nginx_requests_total (admin requests included): enable status_code_metrics for proxied requests only"
		} else {
			g.Detail = "proxied requests, kongctl's smoke requests excluded"
		}
		g.Passed = g.Measurable && g.Measured >= g.Threshold
		out = append(out, g)
	}
	return out
}

// gateErrors turns the failed gates into the verify phase's error.
func gateErrors(gs []GateResult) error {
	var errs []error
	for _, g := range gs {
		if !g.Passed {
			errs = append(errs, errors.New(g.String()))
		}
	}
	return errors.Join(errs...)
}
