package kongsim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The request latency histogram of Kong's Prometheus plugin
// (kong-reference 4.5): kong_request_latency_ms{service,route,workspace}
// on 3.x (latency_metrics), kong_latency{type="request",service,route} on
// 2.8, with their bucket bounds in milliseconds.
var (
	requestLatencyBuckets3 = []float64{25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000}
	requestLatencyBuckets2 = []float64{1, 2, 5, 7, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90, 100, 200, 300, 400, 500, 1000, 2000, 5000, 10000, 30000, 60000}
)

// latencyHist is one series' histogram: counts per bucket (not
// cumulative; the last slot is +Inf), the count and the sum in ms.
type latencyHist struct {
	buckets []int64
	count   int64
	sum     float64
}

// observeLatency records one proxied request's latency. Callers hold no lock.
func (d *daemon) observeLatency(service, route string, took time.Duration) {
	bounds := d.latencyBuckets()
	ms := float64(took) / float64(time.Millisecond)
	d.cmu.Lock()
	defer d.cmu.Unlock()
	if d.latency == nil {
		d.latency = map[[2]string]*latencyHist{}
	}
	k := [2]string{service, route}
	h := d.latency[k]
	if h == nil {
		h = &latencyHist{buckets: make([]int64, len(bounds)+1)}
		d.latency[k] = h
	}
	i := sort.SearchFloat64s(bounds, ms) // first bound >= ms
	h.buckets[i]++
	h.count++
	h.sum += ms
}

func (d *daemon) latencyBuckets() []float64 {
	if d.app.rel.AtLeast(3, 0) {
		return requestLatencyBuckets3
	}
	return requestLatencyBuckets2
}

// writeLatency writes the request latency histogram in the exposition
// format of the node's version.
func (d *daemon) writeLatency(b *strings.Builder) {
	bounds := d.latencyBuckets()
	d.cmu.Lock()
	keys := make([][2]string, 0, len(d.latency))
	for k := range d.latency {
		keys = append(keys, k)
	}
	hists := map[[2]string]latencyHist{}
	for _, k := range keys {
		h := d.latency[k]
		hists[k] = latencyHist{buckets: append([]int64(nil), h.buckets...), count: h.count, sum: h.sum}
	}
	d.cmu.Unlock()
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+"\x00"+keys[i][1] < keys[j][0]+"\x00"+keys[j][1] })
	name, labels := "kong_request_latency_ms", func(k [2]string) string {
		return fmt.Sprintf("service=%q,route=%q,workspace=\"default\"", k[0], k[1])
	}
	help := "Total latency incurred during requests for each service/route in Kong"
	if !d.app.rel.AtLeast(3, 0) {
		name, labels = "kong_latency", func(k [2]string) string {
			return fmt.Sprintf("type=\"request\",service=%q,route=%q", k[0], k[1])
		}
		help = "Latency added by Kong, total request time and upstream latency for each service/route in Kong"
	}
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
	for _, k := range keys {
		h := hists[k]
		var cum int64
		for i, le := range bounds {
			cum += h.buckets[i]
			fmt.Fprintf(b, "%s_bucket{%s,le=%q} %d\n", name, labels(k), strconv.FormatFloat(le, 'f', -1, 64), cum)
		}
		cum += h.buckets[len(bounds)]
		fmt.Fprintf(b, "%s_bucket{%s,le=\"+Inf\"} %d\n", name, labels(k), cum)
		fmt.Fprintf(b, "%s_count{%s} %d\n", name, labels(k), h.count)
		fmt.Fprintf(b, "%s_sum{%s} %s\n", name, labels(k), strconv.FormatFloat(h.sum, 'f', 3, 64))
	}
}
