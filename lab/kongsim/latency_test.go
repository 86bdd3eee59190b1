package kongsim

import (
	"strings"
	"testing"
	"time"
)

// The request latency histogram is cumulative, ends in +Inf, and carries the
// names and labels of the node's version.
func TestLatencyHistogram(t *testing.T) {
	for _, c := range []struct {
		version, bucket, series string
	}{
		{"3.4.2", `kong_request_latency_ms_bucket{service="s",route="r",workspace="default",le="250"} 2`, `kong_request_latency_ms_count{service="s",route="r",workspace="default"} 3`},
		{"2.8.4", `kong_latency_bucket{type="request",service="s",route="r",le="200"} 2`, `kong_latency_count{type="request",service="s",route="r"} 3`},
	} {
		d := &daemon{app: &app{rel: MustRelease(c.version, "oss")}}
		d.observeLatency("s", "r", 3*time.Millisecond)
		d.observeLatency("s", "r", 120*time.Millisecond)
		d.observeLatency("s", "r", 90*time.Second)
		var b strings.Builder
		d.writeLatency(&b)
		out := b.String()
		for _, want := range []string{c.bucket, c.series, `le="+Inf"} 3`, "# TYPE"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: no %q in\n%s", c.version, want, out)
			}
		}
	}
}
