package main

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/lab/bench"
	"github.com/kongctl/kongctl/lab/traffic"
)

func TestParseOutageSizes(t *testing.T) {
	got, err := parseOutageSizes("3, 16,3-rows,3-lb", 200000)
	if err != nil {
		t.Fatal(err)
	}
	want := []outageSize{{"3", 3, 0, false}, {"16", 16, 0, false}, {"3-rows", 3, 200000, false}, {"3-lb", 3, 0, true}}
	if len(got) != len(want) {
		t.Fatalf("sizes %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("size %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"0", "65", "three", "3-row", "-rows", "-lb", "3-lb-rows"} {
		if _, err := parseOutageSizes(bad, 1); err == nil {
			t.Errorf("-outage-sizes %q accepted", bad)
		}
	}
	c := config{}
	if n := c.runsOf(outageSize{Name: "16"}); n != 2 {
		t.Errorf("default pairs at 16 nodes: %d, want 2", n)
	}
	if n := c.runsOf(outageSize{Name: "3-rows"}); n != 3 {
		t.Errorf("default pairs at 3-rows: %d, want 3", n)
	}
	c.outageRuns = 1
	if n := c.runsOf(outageSize{Name: "16"}); n != 1 {
		t.Errorf("-outage-runs 1 at 16 nodes: %d pairs", n)
	}
}

// Medians over the runs that succeeded, ratios of the medians.
func TestOutageSummarize(t *testing.T) {
	ch := func(total float64) *bench.Chain { return &bench.Chain{Host: "kong-1", Total: total} }
	r := &outageResult{Runs: []outageRun{
		{Tool: "kongctl", OK: true, Fleet: 1.0, WorstNode: 1.5, Chain: ch(0.9)},
		{Tool: "baseline", OK: true, Fleet: 2.0, WorstNode: 2.5},
		{Tool: "kongctl", OK: true, Fleet: 3.0, WorstNode: 3.5, Chain: ch(2.9)},
		{Tool: "baseline", OK: false, Error: "lab up failed"},
		{Tool: "kongctl", OK: true, Fleet: 2.0, WorstNode: 2.0, Chain: ch(1.9)},
		{Tool: "baseline", OK: true, Fleet: 4.0, WorstNode: 4.5},
	}}
	lb := func(failed int, gap time.Duration) *traffic.Result {
		return &traffic.Result{Failed: failed, LongestGap: gap}
	}
	r.Runs[0].ThroughLB, r.Runs[2].ThroughLB, r.Runs[4].ThroughLB = lb(10, time.Second), lb(30, 3*time.Second), lb(20, 2*time.Second)
	r.Runs[1].ThroughLB, r.Runs[5].ThroughLB = lb(40, 4*time.Second), lb(60, 6*time.Second)
	r.summarize()
	near := func(name string, got, want float64) {
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("kongctl fleet", r.KongctlFleet, 2.0)
	near("kongctl failed through the LB", r.KongctlLBFailed, 20)
	near("kongctl longest gap through the LB", r.KongctlLBGap, 2.0)
	near("baseline failed through the LB", r.BaselineLBFailed, 50)
	near("baseline longest gap through the LB", r.BaselineLBGap, 5.0)
	near("baseline fleet", r.BaselineFleet, 3.0)
	near("ratio fleet", r.RatioFleet, 2.0/3.0)
	near("kongctl worst", r.KongctlWorst, 2.0)
	near("baseline worst", r.BaselineWorst, 3.5)
	near("ratio worst", r.RatioWorst, 2.0/3.5)
	near("chain", r.Chain, 1.9)
	near("fleet over chain", r.FleetOverChain, 2.0/1.9)
	if r.Failed != 1 {
		t.Errorf("failed runs %d, want 1", r.Failed)
	}
	// No baseline run succeeded: no ratio (0 in JSON, "-" in the table).
	r = &outageResult{Runs: []outageRun{{Tool: "kongctl", OK: true, Fleet: 1, WorstNode: 1, Chain: ch(1)}}}
	r.summarize()
	if r.RatioFleet != 0 || r.BaselineFleet != 0 || r.FleetOverChain != 1 {
		t.Errorf("without a baseline: %+v", r)
	}

	res := &results{Bars: map[string]bar{}, OutageProbeIntervalMS: 20, Outage: map[string]*outageResult{
		"16": {Nodes: 16, Pairs: 2, KongctlFleet: 2, BaselineFleet: 4, RatioFleet: 0.5, KongctlWorst: 3, BaselineWorst: 4, RatioWorst: 0.75, Chain: 2, FleetOverChain: 1},
		"3":  {Nodes: 3, Pairs: 3, KongctlFleet: 1.8, BaselineFleet: 1, RatioFleet: 1.8, FleetOverChain: 1.2},
	}}
	addOutageBars(res)
	for name, met := range map[string]bool{"outage_ratio_fleet_16": true, "outage_ratio_worst_node_16": true, "outage_fleet_over_chain_16": true,
		"outage_ratio_fleet_3": false, "outage_fleet_over_chain_3": false} {
		if b, ok := res.Bars[name]; !ok || b.Met != met {
			t.Errorf("bar %s = %+v (present %v), want met %v", name, b, ok, met)
		}
	}
	table := renderTable(res)
	for _, want := range []string{"kongctl fleet s", "baseline fleet s", "migration chain s"} {
		if !strings.Contains(table, want) {
			t.Errorf("the table lacks %q:\n%s", want, table)
		}
	}
	if i3, i16 := strings.Index(table, "\n3 "), strings.Index(table, "\n16 "); i3 < 0 || i16 < 0 || i3 > i16 {
		t.Errorf("the table does not list 3 before 16:\n%s", table)
	}
}

// -only outage keeps the upgrade section's figures and bars from the
// earlier results.json, and the other way round.
func TestKeepUnmeasured(t *testing.T) {
	prev := &results{Downtime: 1.5, Scale: []scaleRow{{Nodes: 3}}, OutageProbeIntervalMS: 20,
		Outage: map[string]*outageResult{"3": {RatioFleet: 1.9}},
		Bars:   map[string]bar{"wall_ratio_64_over_3": {Value: 7}, "outage_ratio_fleet_3": {Value: 1.9}}}
	res := &results{Outage: map[string]*outageResult{"3": {RatioFleet: 0.7}}, OutageProbeIntervalMS: 20,
		Bars: map[string]bar{"outage_ratio_fleet_3": {Value: 0.7}}}
	keepUnmeasured(config{only: map[string]bool{"outage": true}}, res, prev)
	if res.Downtime != 1.5 || len(res.Scale) != 1 || res.Outage["3"].RatioFleet != 0.7 {
		t.Errorf("-only outage: %+v", res)
	}
	if res.Bars["wall_ratio_64_over_3"].Value != 7 || res.Bars["outage_ratio_fleet_3"].Value != 0.7 {
		t.Errorf("-only outage bars: %+v", res.Bars)
	}
	// -only outage -outage-sizes 16: size 3 keeps its figures and bars.
	res = &results{Outage: map[string]*outageResult{"16": {RatioFleet: 0.4}}, Bars: map[string]bar{"outage_ratio_fleet_16": {Value: 0.4}}}
	keepUnmeasured(config{only: map[string]bool{"outage": true}}, res, prev)
	if res.Outage["3"].RatioFleet != 1.9 || res.Outage["16"].RatioFleet != 0.4 || res.Bars["outage_ratio_fleet_3"].Value != 1.9 || res.Bars["outage_ratio_fleet_16"].Value != 0.4 {
		t.Errorf("-only outage -outage-sizes 16: %+v %+v", res.Outage, res.Bars)
	}
	res = &results{Downtime: 2, Bars: map[string]bar{"wall_ratio_64_over_3": {Value: 3}}}
	keepUnmeasured(config{only: map[string]bool{"upgrade": true}}, res, prev)
	if res.Downtime != 2 || res.Outage["3"].RatioFleet != 1.9 || res.Bars["outage_ratio_fleet_3"].Value != 1.9 || res.Bars["wall_ratio_64_over_3"].Value != 3 {
		t.Errorf("-only upgrade: %+v %+v", res, res.Bars)
	}
}
