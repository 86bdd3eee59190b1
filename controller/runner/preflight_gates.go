package runner

// checkGatesMeasurable: a max_5xx or max_latency_p99 gate needs metrics
// that Kong exports only when the prometheus plugin is told to (3.x:
// status_code_metrics, latency_metrics). When no running X node exports
// them, the gate could never be judged after the upgrade: say so before
// anything stops.
func (e *engine) checkGatesMeasurable(pf *preflightData) {
	if len(pf.Baseline) == 0 {
		return
	}
	var codes, latency bool
	for _, b := range pf.Baseline {
		codes = codes || b.M1.StatusCodes
		latency = latency || b.M1.Latency != nil
	}
	v := e.spec.Verify
	if v.Max5xx != nil && !codes {
		e.find(Finding{Severity: SevError, Code: "gate-unmeasurable", Message: "verify.gate.max_5xx is set but no running node exports per-status counters (kong_http_requests_total), so the gate could never pass",
			Fix: "enable status_code_metrics of the prometheus plugin, or remove max_5xx"})
	}
	if v.MaxLatencyP99 > 0 && !latency {
		e.find(Finding{Severity: SevError, Code: "gate-unmeasurable", Message: "verify.gate.max_latency_p99 is set but no running node exports a request latency histogram (kong_request_latency_ms), so the gate could never pass",
			Fix: "enable latency_metrics of the prometheus plugin, or remove max_latency_p99"})
	}
}
