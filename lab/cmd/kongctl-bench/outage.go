package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/kongctl/kongctl/lab/bench"
	"github.com/kongctl/kongctl/lab/labenv"
	"github.com/kongctl/kongctl/lab/traffic"
)

// The outage benchmark (issue 15): kongctl against a plain in-place script
// (lab/baseline/inplace.sh) on identical fresh labs, runs alternated, every
// node's proxy probed all along.

// outageSize is one fleet the outage benchmark measures: "3", "16",
// "3-rows" (3 nodes on a database of -outage-rows consumers and plugins)
// or "3-lb" (3 nodes behind the lab's HAProxy, LB=1, with a client
// sending requests through it all along: what users see).
type outageSize struct {
	Name  string
	Nodes int
	Rows  int
	LB    bool
}

// defaultOutageRuns are the pairs each size gets when -outage-runs is 0.
var defaultOutageRuns = map[string]int{"3": 3, "16": 2, "3-rows": 3, "3-lb": 2}

// parseOutageSizes reads -outage-sizes: node counts, each optionally
// followed by "-rows" or "-lb".
func parseOutageSizes(s string, rows int) ([]outageSize, error) {
	var out []outageSize
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		num, withLB := strings.CutSuffix(f, "-lb")
		num, withRows := strings.CutSuffix(num, "-rows")
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || n > labenv.MaxNodes {
			return nil, fmt.Errorf("-outage-sizes: %q: want N, N-rows or N-lb with N in 1..%d", f, labenv.MaxNodes)
		}
		sz := outageSize{Name: f, Nodes: n, LB: withLB}
		if withRows {
			sz.Rows = rows
		}
		out = append(out, sz)
	}
	return out, nil
}

// runsOf is the number of pairs of a size: -outage-runs, or its default.
func (c config) runsOf(sz outageSize) int {
	if c.outageRuns > 0 {
		return c.outageRuns
	}
	if n, ok := defaultOutageRuns[sz.Name]; ok {
		return n
	}
	return 1
}

// outageRun is one measured run of one tool on a fresh lab.
type outageRun struct {
	Size  string `json:"size"`
	Tool  string `json:"tool"` // kongctl | baseline
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// Fleet and WorstNode from the prober (bench.Outages); 0 when not seen.
	Fleet         float64 `json:"fleet_s"`
	WorstNode     float64 `json:"worst_node_s"`
	WorstNodeName string  `json:"worst_node,omitempty"`
	// Chain is kongctl's migration node chain (its agents' timing).
	Chain *bench.Chain `json:"migration_chain,omitempty"`
	// Steps are the baseline's own step times (its stdout).
	Steps map[string]float64 `json:"steps_s,omitempty"`
	// ThroughLB is what a client sending requests through the lab's
	// HAProxy saw (N-lb sizes).
	ThroughLB    *traffic.Result `json:"through_lb,omitempty"`
	WallSeconds  float64         `json:"wall_s"`
	LabUpSeconds float64         `json:"lab_up_s"`
	Probes       int             `json:"probes"`
}

// outageResult is one size's figures: medians over its runs (failed runs
// left out), and the ratios of the medians.
type outageResult struct {
	Nodes          int        `json:"nodes"`
	Rows           int        `json:"rows,omitempty"`
	Pairs          int        `json:"pairs"`
	KongctlFleet   float64    `json:"kongctl_fleet_s"`
	BaselineFleet  float64    `json:"baseline_fleet_s"`
	RatioFleet     float64    `json:"ratio_fleet"`
	KongctlWorst   float64    `json:"kongctl_worst_node_s"`
	BaselineWorst  float64    `json:"baseline_worst_node_s"`
	RatioWorst     float64    `json:"ratio_worst_node"`
	Chain          float64    `json:"migration_chain_s"`
	FleetOverChain float64    `json:"fleet_over_chain"`
	KongctlStat    bench.Stat `json:"kongctl_fleet_stat"`
	BaselineStat   bench.Stat `json:"baseline_fleet_stat"`
	Failed         int        `json:"failed_runs,omitempty"`
	// Through the load balancer (N-lb sizes), medians: requests failed
	// and the longest time without a successful answer.
	KongctlLBFailed  float64     `json:"kongctl_lb_failed,omitempty"`
	BaselineLBFailed float64     `json:"baseline_lb_failed,omitempty"`
	KongctlLBGap     float64     `json:"kongctl_lb_longest_gap_s,omitempty"`
	BaselineLBGap    float64     `json:"baseline_lb_longest_gap_s,omitempty"`
	Runs             []outageRun `json:"runs"`
}

// outageBars are issue 15's limits, per size: fleet outage kongctl /
// baseline, and (at 16 nodes) the worst node's ratio; fleet / chain at
// every size.
var outageBars = map[string]struct{ fleet, worst float64 }{
	"3": {fleet: 0.8}, "16": {fleet: 0.5, worst: 0.8}, "3-rows": {fleet: 0.6},
}

const fleetOverChainLimit = 1.1

// runOutage measures every size: for each pair, kongctl then the baseline,
// each on a fresh lab. A failed run is recorded and the benchmark goes on;
// the errors are returned at the end.
func runOutage(ctx context.Context, c config, kongctl string, setLab func(*labenv.Lab)) (map[string]*outageResult, []error) {
	res := map[string]*outageResult{}
	var failed []error
	for _, sz := range c.outageSizes {
		r := &outageResult{Nodes: sz.Nodes, Rows: sz.Rows, Pairs: c.runsOf(sz)}
		res[sz.Name] = r
		for i := 0; i < r.Pairs && ctx.Err() == nil; i++ {
			for _, tool := range []string{"kongctl", "baseline"} {
				run, lab, err := outageOne(ctx, c, kongctl, sz, tool)
				if lab != nil {
					setLab(lab)
				}
				if err != nil {
					run.Error = err.Error()
					failed = append(failed, fmt.Errorf("outage %s, %s run %d: %w", sz.Name, tool, i+1, err))
					logf("outage %s: %s run %d failed: %v", sz.Name, tool, i+1, err)
				} else {
					logf("outage %s: %s run %d: fleet %s, worst node %s (%s)%s", sz.Name, tool, i+1,
						fmtF(run.Fleet, 2), fmtF(run.WorstNode, 2), run.WorstNodeName, chainLabel(run.Chain))
				}
				r.Runs = append(r.Runs, run)
			}
		}
		r.summarize()
	}
	return res, failed
}

func chainLabel(c *bench.Chain) string {
	if c == nil {
		return ""
	}
	return fmt.Sprintf(", migration chain %.2fs on %s", c.Total, c.Host)
}

// summarize computes the medians and ratios from the runs that succeeded.
func (r *outageResult) summarize() {
	var kf, bf, kw, bw, ch, klf, blf, klg, blg []float64
	for _, run := range r.Runs {
		if !run.OK {
			r.Failed++
			continue
		}
		switch run.Tool {
		case "kongctl":
			kf, kw = append(kf, run.Fleet), append(kw, run.WorstNode)
			if run.Chain != nil {
				ch = append(ch, run.Chain.Total)
			}
			if lb := run.ThroughLB; lb != nil {
				klf, klg = append(klf, float64(lb.Failed)), append(klg, lb.LongestGap.Seconds())
			}
		case "baseline":
			bf, bw = append(bf, run.Fleet), append(bw, run.WorstNode)
			if lb := run.ThroughLB; lb != nil {
				blf, blg = append(blf, float64(lb.Failed)), append(blg, lb.LongestGap.Seconds())
			}
		}
	}
	r.KongctlStat, r.BaselineStat = bench.Summarize(kf), bench.Summarize(bf)
	med := func(v []float64) float64 {
		if st := bench.Summarize(v); st.N > 0 {
			return st.Median
		}
		return math.NaN()
	}
	zero := func(v float64) float64 { // JSON has no NaN: 0 is "not measured"
		if math.IsNaN(v) {
			return 0
		}
		return v
	}
	k, b, kW, bW, cm := med(kf), med(bf), med(kw), med(bw), med(ch)
	r.KongctlFleet, r.BaselineFleet, r.KongctlWorst, r.BaselineWorst, r.Chain = zero(k), zero(b), zero(kW), zero(bW), zero(cm)
	r.RatioFleet, r.RatioWorst, r.FleetOverChain = zero(bench.Ratio(k, b)), zero(bench.Ratio(kW, bW)), zero(bench.Ratio(k, cm))
	r.KongctlLBFailed, r.BaselineLBFailed = zero(med(klf)), zero(med(blf))
	r.KongctlLBGap, r.BaselineLBGap = zero(med(klg)), zero(med(blg))
}

// outageOne brings up a fresh lab of the size, probes every proxy every
// -outage-interval, and upgrades the lab with kongctl or the baseline.
func outageOne(ctx context.Context, c config, kongctl string, sz outageSize, tool string) (outageRun, *labenv.Lab, error) {
	run := outageRun{Size: sz.Name, Tool: tool}
	lab, upSeconds, err := freshLab(ctx, c, labenv.Options{Nodes: sz.Nodes, Rows: sz.Rows, LB: sz.LB})
	if err != nil {
		return run, lab, err
	}
	run.LabUpSeconds = upSeconds
	p, stopProbes, err := probeFleet(ctx, lab, c.outageInterval)
	defer stopProbes()
	if err != nil {
		return run, lab, err
	}
	var lb *traffic.Client
	if sz.LB {
		// Started before the upgrade and stopped once every node serves
		// again: the longest gap is what a user behind HAProxy waited.
		if lb, err = traffic.Start(ctx, traffic.Options{URLs: []string{lab.LBURL() + probePath}}); err != nil {
			return run, lab, err
		}
		defer lb.Stop()
		time.Sleep(time.Second)
	}
	logf("outage %s: %s upgrades the lab", sz.Name, tool)
	t0 := time.Now()
	var runErr error
	switch tool {
	case "kongctl":
		run.Chain, runErr = outageKongctl(ctx, c, kongctl, lab, sz)
	default:
		run.Steps, runErr = outageBaseline(ctx, lab)
	}
	ended := time.Now()
	run.WallSeconds = ended.Sub(t0).Seconds()
	if runErr != nil {
		return run, lab, runErr
	}
	if !waitUntil(ctx, 30*time.Second, func() bool { return p.AllServingSince(ended) }) {
		logf("warning: not every proxy serves again 30s after %s ended", tool)
	}
	stopProbes()
	if lb != nil {
		res := lb.Stop()
		run.ThroughLB = &res
		logf("outage %s: %s through HAProxy: %s", sz.Name, tool, res)
	}
	samples := p.Samples()
	run.Probes = len(samples)
	o := bench.OutagesOf(samples)
	if math.IsNaN(o.Fleet) || math.IsNaN(o.WorstNode) {
		// Every run stops every node: an outage the prober did not see
		// is a measurement that failed (and JSON has no NaN).
		return run, lab, fmt.Errorf("the prober saw no outage (%d probes)", run.Probes)
	}
	run.Fleet, run.WorstNode, run.WorstNodeName = o.Fleet, o.WorstNode, o.WorstNodeName
	run.OK = true
	return run, lab, nil
}

// outageKongctl runs `kongctl upgrade --yes --output json` and returns the
// migration node's chain from its report.
func outageKongctl(ctx context.Context, c config, kongctl string, lab *labenv.Lab, sz outageSize) (*bench.Chain, error) {
	kr, err := bench.RunKongctl(ctx, kongctl, []string{"upgrade", "-i", lab.InventoryPath(), "--yes", "--output", "json"})
	if err != nil {
		return nil, err
	}
	if len(kr.Report) == 0 {
		return nil, fmt.Errorf("kongctl exited %d without a report: %s", kr.Usage.ExitCode, tail(kr.Stderr, 2000))
	}
	keepReport(c, "outage-"+sz.Name+"-kongctl", kr)
	var rep kongctlReport
	if err := json.Unmarshal(kr.Report, &rep); err != nil {
		return nil, fmt.Errorf("decode kongctl report: %w", err)
	}
	if rep.Outcome != "succeeded" {
		return nil, fmt.Errorf("kongctl upgrade of %d nodes %s: %s", sz.Nodes, rep.Outcome, tail(kr.Stderr, 2000))
	}
	ch, ok := bench.MigrationChain(rep.Hosts, rep.MigrationHost)
	if !ok {
		return nil, fmt.Errorf("kongctl report: the migration node's chain is incomplete (%+v)", ch)
	}
	return &ch, nil
}

// outageBaseline runs lab/baseline/inplace.sh on the lab with its key,
// known_hosts and addresses, and returns the script's step times.
func outageBaseline(ctx context.Context, lab *labenv.Lab) (map[string]float64, error) {
	cmd := exec.CommandContext(ctx, "bash", append([]string{labenv.BaselineScript}, lab.BaselineArgs()...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s", labenv.BaselineScript, err, tail(stderr.String(), 2000))
	}
	steps := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if name, v, ok := strings.Cut(sc.Text(), " "); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				steps[name] = f
			}
		}
	}
	return steps, nil
}

// addOutageBars adds issue 15's bars for the sizes measured.
func addOutageBars(res *results) {
	for name, r := range res.Outage {
		lim, known := outageBars[name]
		if !known || r.RatioFleet == 0 {
			continue
		}
		res.Bars["outage_ratio_fleet_"+name] = bar{Value: r.RatioFleet, Limit: lim.fleet, Met: r.RatioFleet <= lim.fleet}
		if lim.worst > 0 && r.RatioWorst > 0 {
			res.Bars["outage_ratio_worst_node_"+name] = bar{Value: r.RatioWorst, Limit: lim.worst, Met: r.RatioWorst <= lim.worst}
		}
		if r.FleetOverChain > 0 {
			res.Bars["outage_fleet_over_chain_"+name] = bar{Value: r.FleetOverChain, Limit: fleetOverChainLimit, Met: r.FleetOverChain <= fleetOverChainLimit}
		}
	}
}

// section reports whether the run measures a section ("upgrade", "outage").
func (c config) section(name string) bool { return c.only == nil || c.only[name] }

// barSection is the section a bar belongs to.
func barSection(bar string) string {
	if strings.HasPrefix(bar, "outage_") {
		return "outage"
	}
	return "upgrade"
}

// keepUnmeasured takes the figures of the sections this run did not
// measure (-only) from prev, the results.json of an earlier run, so running
// one section alone leaves the others' figures in place.
func keepUnmeasured(c config, res, prev *results) {
	if !c.section("upgrade") {
		now := *res
		*res = *prev
		res.Generated, res.Machine = now.Generated, now.Machine
		res.Outage, res.OutageProbeIntervalMS = now.Outage, now.OutageProbeIntervalMS
		res.Bars = map[string]bar{}
		for name, b := range prev.Bars {
			if barSection(name) == "upgrade" {
				res.Bars[name] = b
			}
		}
		for name, b := range now.Bars {
			if barSection(name) == "outage" {
				res.Bars[name] = b
			}
		}
	}
	if !c.section("outage") {
		res.Outage, res.OutageProbeIntervalMS = prev.Outage, prev.OutageProbeIntervalMS
		for name, b := range prev.Bars {
			if barSection(name) == "outage" {
				res.Bars[name] = b
			}
		}
		return
	}
	// The outage sizes not measured this time (-outage-sizes) keep theirs.
	for size, o := range prev.Outage {
		if _, measured := res.Outage[size]; measured {
			continue
		}
		if res.Outage == nil {
			res.Outage = map[string]*outageResult{}
		}
		res.Outage[size] = o
		for name, b := range prev.Bars {
			if barSection(name) == "outage" && strings.HasSuffix(name, "_"+size) {
				res.Bars[name] = b
			}
		}
	}
}
