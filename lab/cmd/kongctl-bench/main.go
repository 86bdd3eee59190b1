// Command kongctl-bench runs the benchmarks of issues 7 and 15 on the rehearsal lab
// (`make bench`): fleet downtime seen by a prober against the critical path
// the agents timed, a slow migration, the whole upgrade at 3/16/64 nodes
// under rusage, agent delivery, and (-only outage alone) the outage against
// a plain in-place script (outage.go). It prints a table and writes
// build/bench/results.json and BENCHMARKS.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kongctl/kongctl/controller/agentclient"
	"github.com/kongctl/kongctl/controller/sshfleet"
	"github.com/kongctl/kongctl/internal/fanout"
	"github.com/kongctl/kongctl/inventory"
	"github.com/kongctl/kongctl/lab/bench"
	"github.com/kongctl/kongctl/lab/labenv"
	"github.com/kongctl/kongctl/sshremote"
)

type config struct {
	kongctl  string
	labDir   string
	labID    int
	outDir   string
	mdPath   string
	runs3    int
	sizes    []int
	runsBig  int
	slow     int
	slowRuns int
	interval time.Duration
	keep     bool
	// repository: the upgrade section's labs serve Kong as an apt
	// repository and the inventory says package { source = "repository" }
	// (the nodes download it; nothing uploaded), instead of the default
	// source = "file" (kongctl uploads the package to every node).
	repository bool
	// only names the sections to run ("upgrade", "outage"); empty: all.
	only map[string]bool
	// The outage section (issue 15): sizes, pairs per size (0: the
	// defaults), probe interval, rows of the "-rows" sizes.
	outageSizes    []outageSize
	outageRuns     int
	outageInterval time.Duration
	outageRows     int
	// acct charges the lab's processes to one cgroup (nil: not available).
	acct *bench.CPUAccount
}

func main() {
	var c config
	var sizes string
	flag.StringVar(&c.kongctl, "kongctl", "bin/kongctl", "the kongctl binary to measure")
	flag.StringVar(&c.labDir, "lab-dir", "", "lab directory (default: the lab of -lab-id)")
	flag.IntVar(&c.labID, "lab-id", -1, "lab id (labenv.Options.ID) when the lab supports several at once")
	flag.StringVar(&c.outDir, "out", "build/bench", "where results.json goes")
	flag.StringVar(&c.mdPath, "md", "BENCHMARKS.md", "the report to write")
	flag.IntVar(&c.runs3, "runs", 3, "repetitions of the 3-node upgrade (0: none, only -sizes; no ratios, for a look at one size)")
	flag.StringVar(&sizes, "sizes", "16,64", "larger fleets (comma-separated node counts)")
	flag.IntVar(&c.runsBig, "runs-big", 1, "repetitions of each larger fleet")
	flag.IntVar(&c.slow, "slow", 1, "seconds the simulator sleeps before each migration in the slow-migration runs (0: none)")
	flag.IntVar(&c.slowRuns, "slow-runs", 2, "repetitions of the slow-migration run (3 nodes)")
	flag.DurationVar(&c.interval, "interval", 50*time.Millisecond, "probe interval per node")
	flag.BoolVar(&c.keep, "keep", false, "leave the last lab up")
	flag.BoolVar(&c.repository, "repository", false, "upgrade section: the nodes download Kong from the lab's apt repository (package { source = \"repository\" }) instead of kongctl uploading it to each; a look at what the upload costs, recorded as machine.package_source (the bars are set on the default)")
	only := flag.String("only", "", "run only these sections (comma-separated: upgrade, outage); the others' figures are kept from the results.json in -out")
	outageSizes := flag.String("outage-sizes", "3,16,3-rows,3-lb", "fleets of the outage section: node counts, N-rows for N nodes on a database of -outage-rows rows, N-lb for N nodes behind HAProxy with requests sent through it")
	flag.IntVar(&c.outageRuns, "outage-runs", 0, "kongctl/baseline pairs per outage size (0: 3 at 3 and 3-rows, 2 at 16)")
	flag.DurationVar(&c.outageInterval, "outage-interval", 20*time.Millisecond, "probe interval per node in the outage section")
	flag.IntVar(&c.outageRows, "outage-rows", 200000, "consumers (each with a plugin row) of the N-rows outage sizes")
	from := flag.String("from", "", "measure nothing: print and write the report again from this results.json")
	flag.Parse()
	if *from != "" {
		if err := rerender(*from, c.mdPath); err != nil {
			fmt.Fprintf(os.Stderr, "kongctl-bench: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if *only != "" {
		c.only = map[string]bool{}
		for _, sec := range strings.Split(*only, ",") {
			switch sec = strings.TrimSpace(sec); sec {
			case "upgrade", "outage":
				c.only[sec] = true
			default:
				fmt.Fprintf(os.Stderr, "kongctl-bench: -only %q: want upgrade and/or outage\n", *only)
				os.Exit(2)
			}
		}
	}
	var err error
	if c.outageSizes, err = parseOutageSizes(*outageSizes, c.outageRows); err != nil {
		fmt.Fprintf(os.Stderr, "kongctl-bench: %v\n", err)
		os.Exit(2)
	}
	for _, s := range strings.Split(sizes, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > labenv.MaxNodes {
			fmt.Fprintf(os.Stderr, "kongctl-bench: -sizes %q: want node counts 1..%d\n", sizes, labenv.MaxNodes)
			os.Exit(2)
		}
		c.sizes = append(c.sizes, n)
	}
	if !c.section("upgrade") {
		c.runs3, c.sizes = 0, nil
	}
	if !c.section("outage") {
		c.outageSizes = nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintf(os.Stderr, "kongctl-bench: %v\n", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench %s: "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// upgradeRun is one measured upgrade.
type upgradeRun struct {
	Nodes         int                     `json:"nodes"`
	SlowMigration int                     `json:"slow_migration_s,omitempty"`
	Outcome       string                  `json:"outcome"`
	Controller    bench.Usage             `json:"controller"`
	FleetDowntime *bench.Outage           `json:"fleet_downtime,omitempty"`
	NodeDowntime  map[string]bench.Outage `json:"node_downtime,omitempty"`
	// ReportDowntime is kongctl's own window: first stop → last node healthy.
	ReportDowntime float64            `json:"report_downtime_s"`
	Critical       bench.CriticalPath `json:"critical_path"`
	CriticalOK     bool               `json:"critical_path_complete"`
	Ratio          float64            `json:"downtime_over_critical_path"`
	Phases         map[string]float64 `json:"phases_s"`
	Probes         int                `json:"probes"`
	LabUpSeconds   float64            `json:"lab_up_s"`
	CPU            *runCPU            `json:"cpu,omitempty"`
	// Transport is kongctl's own accounting (its report); PerNode the
	// run's cost per Kong node from it (pernode.go).
	Transport *bench.Transport `json:"transport,omitempty"`
	PerNode   *bench.PerNode   `json:"per_node,omitempty"`
}

// runCPU is the CPU the whole machine spent on one upgrade, from the
// cgroup that holds the lab (bench.CPUAccount).
type runCPU struct {
	// Lab is every lab process (sshd and its sessions, agents, dpkg, the
	// Kong simulators, PostgreSQL) while kongctl ran.
	Lab float64 `json:"lab_s"`
	// Kongctl is the controller's own (rusage); Bench the prober's.
	Kongctl float64 `json:"kongctl_s"`
	Bench   float64 `json:"bench_s"`
	// Floor is (Lab + Kongctl) / CPUs: no controller could finish this
	// run on this machine in less wall time.
	Floor float64 `json:"floor_s"`
	// Phases is the lab's CPU per kongctl phase (kongctl's share included).
	Phases map[string]float64 `json:"phases_s"`
}

// deliveryRun is the agent pushed to every Kong node of a lab.
type deliveryRun struct {
	Nodes         int     `json:"nodes"`
	FirstBytes    int64   `json:"first_bytes"`
	FirstSeconds  float64 `json:"first_s"`
	SecondBytes   int64   `json:"second_bytes"`
	SecondSeconds float64 `json:"second_s"`
	AgentBytes    int64   `json:"agent_binary_bytes"`
}

type scaleRow struct {
	Nodes       int        `json:"nodes"`
	Runs        int        `json:"runs"`
	Wall        float64    `json:"wall_s"`
	Downtime    float64    `json:"downtime_s"`
	RSS         float64    `json:"controller_peak_rss_mb"`
	CPU         float64    `json:"controller_cpu_s"`
	WallStat    bench.Stat `json:"wall_stat"`
	CriticalSum float64    `json:"critical_path_s"`
	// Phases is the median duration of each of kongctl's phases.
	Phases map[string]float64 `json:"phases_s"`
	// Failed counts the runs that did not succeed (their wall time
	// includes the rollback); no ratio is taken from such a size.
	Failed int `json:"failed_runs,omitempty"`
	// LabCPU and Floor are the medians of the runs' lab CPU seconds and
	// CPU floor (runCPU); 0 without CPU accounting.
	LabCPU float64 `json:"lab_cpu_s,omitempty"`
	Floor  float64 `json:"cpu_floor_s,omitempty"`
	// PerNode is the median of the runs' cost per Kong node (issue 21):
	// ssh_sessions_per_node, agent_processes_per_node,
	// controller_cpu_ms_per_node, bytes_delivered_per_node,
	// wall_over_cpu_floor.
	bench.PerNode
}

type results struct {
	Generated       time.Time          `json:"generated"`
	Machine         map[string]any     `json:"machine"`
	Downtime        float64            `json:"downtime_s"`
	CriticalPath    float64            `json:"critical_path_s"`
	Ratio           float64            `json:"downtime_over_critical_path"`
	Scale           []scaleRow         `json:"scale"`
	DowntimeStat    bench.Stat         `json:"downtime_stat"`
	CriticalStat    bench.Stat         `json:"critical_path_stat"`
	RatioStat       bench.Stat         `json:"ratio_stat"`
	ReportDowntime  bench.Stat         `json:"report_downtime_stat"`
	CriticalSteps   bench.CriticalPath `json:"critical_path_steps"`
	Slow            *slowResult        `json:"slow_migration,omitempty"`
	Delivery        []deliveryRun      `json:"agent_delivery"`
	Bars            map[string]bar     `json:"bars"`
	Runs            []upgradeRun       `json:"runs"`
	ProbeIntervalMS float64            `json:"probe_interval_ms"`
	// Outage is issue 15's comparison with the plain script, per size
	// ("3", "16", "3-rows").
	Outage                map[string]*outageResult `json:"outage,omitempty"`
	OutageProbeIntervalMS float64                  `json:"outage_probe_interval_ms,omitempty"`
}

type slowResult struct {
	SleepPerMigration int        `json:"sleep_per_migration_s"`
	Downtime          bench.Stat `json:"downtime_stat"`
	Critical          bench.Stat `json:"critical_path_stat"`
	Ratio             bench.Stat `json:"ratio_stat"`
	// Overhead is downtime - critical path, in seconds: it must not grow
	// with the migration.
	Overhead     bench.Stat `json:"overhead_stat"`
	BaseOverhead bench.Stat `json:"base_overhead_stat"`
}

type bar struct {
	Value float64 `json:"value"`
	Limit float64 `json:"limit"`
	Met   bool    `json:"met"`
}

func run(ctx context.Context, c config) error {
	root, err := labenv.RepoRoot()
	if err != nil {
		return err
	}
	if err := os.Chdir(root); err != nil {
		return err
	}
	if _, err := os.Stat(c.kongctl); err != nil {
		return fmt.Errorf("kongctl binary: %w (run make)", err)
	}
	kongctl, _ := filepath.Abs(c.kongctl)
	if c.labDir == "" {
		c.labDir = filepath.Join(labenv.BuildBase(root), labenv.DirName(c.labID))
	}
	if err := os.MkdirAll(c.outDir, 0o755); err != nil {
		return err
	}
	// The lab's processes inherit this process's cgroup: join one of our
	// own before any lab comes up, to account the CPU they burn.
	if a, err := bench.NewCPUAccount(fmt.Sprintf("kongctl-bench-lab%d", max(c.labID, 0))); err != nil {
		logf("warning: no CPU figures for the lab: %v", err)
	} else {
		c.acct = a
		defer a.Close() // after the lab is down (deferred below)
	}
	res := &results{Generated: time.Now().UTC(), ProbeIntervalMS: float64(c.interval) / 1e6,
		Machine: map[string]any{"cpus": runtime.NumCPU(), "go": runtime.Version(), "goos": runtime.GOOS, "goarch": runtime.GOARCH}}
	if c.repository {
		res.Machine["package_source"] = "repository"
	}
	if hn, err := os.Hostname(); err == nil {
		res.Machine["hostname"] = hn
	}
	var lastLab *labenv.Lab
	defer func() {
		if lastLab != nil && !c.keep {
			logf("lab down")
			_ = labenv.Down(context.WithoutCancel(ctx), c.labDir, io.Discard)
		}
	}()
	do := func(n, slow int) (upgradeRun, error) {
		r, l, err := oneUpgrade(ctx, c, kongctl, n, slow)
		if l != nil {
			lastLab = l
		}
		if err == nil {
			res.Runs = append(res.Runs, r)
			logf("%d nodes%s: %s, wall %.1fs, fleet downtime %s, critical path %.2fs, ratio %s, rss %.0f MB, cpu %.1fs",
				n, slowLabel(slow), r.Outcome, r.Controller.WallSeconds, fmtOutage(r.FleetDowntime), r.Critical.Total, fmtF(r.Ratio, 2), r.Controller.MaxRSSMB, r.Controller.CPUSeconds)
		}
		return r, err
	}

	// 3 nodes, repeated.
	var three []upgradeRun
	for i := 0; i < c.runs3; i++ {
		r, err := do(3, 0)
		if err != nil {
			return err
		}
		three = append(three, r)
		if i == 0 {
			d, err := delivery(ctx, lastLab)
			if err != nil {
				return err
			}
			res.Delivery = append(res.Delivery, d)
		}
	}
	var down, crit, ratio, rdown []float64
	for _, r := range three {
		down = append(down, outageSeconds(r.FleetDowntime))
		crit = append(crit, r.Critical.Total)
		ratio = append(ratio, r.Ratio)
		rdown = append(rdown, r.ReportDowntime)
	}
	if len(three) > 0 { // -runs 0: only the larger fleets (a look at one size; no ratio)
		res.DowntimeStat, res.CriticalStat, res.RatioStat, res.ReportDowntime = bench.Summarize(down), bench.Summarize(crit), bench.Summarize(ratio), bench.Summarize(rdown)
		res.Downtime, res.CriticalPath, res.Ratio = res.DowntimeStat.Median, res.CriticalStat.Median, res.RatioStat.Median
		res.CriticalSteps = medianRun(three).Critical
		res.Scale = append(res.Scale, scale(3, three))
	}

	// The slow migration.
	if c.slow > 0 && c.slowRuns > 0 && len(three) > 0 {
		var sd, sc, sr, so, bo []float64
		for i := 0; i < c.slowRuns; i++ {
			r, err := do(3, c.slow)
			if err != nil {
				return err
			}
			sd = append(sd, outageSeconds(r.FleetDowntime))
			sc = append(sc, r.Critical.Total)
			sr = append(sr, r.Ratio)
			so = append(so, outageSeconds(r.FleetDowntime)-r.Critical.Total)
		}
		for _, r := range three {
			bo = append(bo, outageSeconds(r.FleetDowntime)-r.Critical.Total)
		}
		res.Slow = &slowResult{SleepPerMigration: c.slow, Downtime: bench.Summarize(sd), Critical: bench.Summarize(sc),
			Ratio: bench.Summarize(sr), Overhead: bench.Summarize(so), BaseOverhead: bench.Summarize(bo)}
	}

	// Larger fleets. A failed upgrade is recorded (outcome, wall time) and
	// the benchmark goes on, so the figures of the other sizes are written;
	// it exits non-zero at the end.
	var failed []error
	for _, n := range c.sizes {
		var rs []upgradeRun
		for i := 0; i < c.runsBig; i++ {
			r, err := do(n, 0)
			if err != nil && r.Outcome != "" && ctx.Err() == nil {
				logf("%d nodes: %v", n, err)
				failed = append(failed, err)
				res.Runs = append(res.Runs, r)
				rs = append(rs, r)
				continue
			}
			if err != nil {
				return err
			}
			rs = append(rs, r)
			if i == 0 {
				d, err := delivery(ctx, lastLab)
				if err != nil {
					return err
				}
				res.Delivery = append(res.Delivery, d)
			}
		}
		res.Scale = append(res.Scale, scale(n, rs))
	}
	res.Bars = map[string]bar{}
	if len(three) > 0 {
		res.Bars["downtime_over_critical_path_3_nodes"] = bar{Value: res.Ratio, Limit: 1.25, Met: res.Ratio > 0 && res.Ratio <= 1.25}
	}
	for _, row := range res.Scale {
		if row.Nodes == 64 {
			res.Bars["controller_peak_rss_mb_64_nodes"] = bar{Value: row.RSS, Limit: 150, Met: row.RSS <= 150}
		}
	}
	addPerNodeBars(res)

	// The outage section (issue 15): kongctl against the plain script.
	if len(c.outageSizes) > 0 {
		out, f := runOutage(ctx, c, kongctl, func(l *labenv.Lab) { lastLab = l })
		if ctx.Err() != nil {
			return ctx.Err()
		}
		res.Outage, res.OutageProbeIntervalMS = out, float64(c.outageInterval)/1e6
		failed = append(failed, f...)
		addOutageBars(res)
	}

	jp := filepath.Join(c.outDir, "results.json")
	if c.only != nil {
		var prev results
		if b, err := os.ReadFile(jp); err == nil && json.Unmarshal(b, &prev) == nil {
			keepUnmeasured(c, res, &prev)
		}
		if complete := len(res.Scale) > 0 && len(res.Outage) > 0; !complete && c.mdPath != "" {
			// Without the other sections' figures the report would lose
			// them: this run's goes beside results.json instead.
			partial := filepath.Join(c.outDir, "BENCHMARKS-partial.md")
			logf("%s lacks the figures of the sections not run: the report goes to %s, not %s", jp, partial, c.mdPath)
			c.mdPath = partial
		}
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(jp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	table := renderTable(res)
	fmt.Print(table)
	if c.mdPath != "" {
		if err := writeReport(c.mdPath, renderMarkdown(res, table)); err != nil {
			return err
		}
	}
	logf("wrote %s and %s", jp, c.mdPath)
	for name, b := range res.Bars {
		if !b.Met && c.section(barSection(name)) {
			failed = append(failed, fmt.Errorf("bar not met: %s = %.2f (limit %.2f)", name, b.Value, b.Limit))
		}
	}
	return errors.Join(failed...)
}

// rerender prints the table and writes the markdown report of a
// results.json written earlier (after the known limits were updated).
func rerender(path, md string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var res results
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	table := renderTable(&res)
	fmt.Print(table)
	if md == "" {
		return nil
	}
	return writeReport(md, renderMarkdown(&res, table))
}

func slowLabel(slow int) string {
	if slow == 0 {
		return ""
	}
	return fmt.Sprintf(" (slow migrations %ds)", slow)
}

func outageSeconds(o *bench.Outage) float64 {
	if o == nil {
		return math.NaN()
	}
	return o.Seconds
}

func fmtOutage(o *bench.Outage) string {
	if o == nil {
		return "none seen"
	}
	return fmt.Sprintf("%.2fs", o.Seconds)
}

func fmtF(v float64, prec int) string {
	if math.IsNaN(v) || v == 0 {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

func medianRun(rs []upgradeRun) upgradeRun {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b upgradeRun) int {
		return int(math.Copysign(1, a.Ratio-b.Ratio))
	})
	return s[len(s)/2]
}

func scale(n int, rs []upgradeRun) scaleRow {
	var wall, down, rss, cpu, cp []float64
	for _, r := range rs {
		wall = append(wall, r.Controller.WallSeconds)
		down = append(down, outageSeconds(r.FleetDowntime))
		rss = append(rss, r.Controller.MaxRSSMB)
		cpu = append(cpu, r.Controller.CPUSeconds)
		cp = append(cp, r.Critical.Total)
	}
	ws := bench.Summarize(wall)
	failed := 0
	for _, r := range rs {
		if r.Outcome != "succeeded" {
			failed++
		}
	}
	phases := map[string]float64{}
	for ph := range rs[0].Phases {
		var v []float64
		for _, r := range rs {
			v = append(v, r.Phases[ph])
		}
		phases[ph] = bench.Summarize(v).Median
	}
	var labCPU, floor []float64
	for _, r := range rs {
		if r.CPU != nil {
			labCPU, floor = append(labCPU, r.CPU.Lab), append(floor, r.CPU.Floor)
		}
	}
	row := scaleRow{Nodes: n, Runs: len(rs), Wall: ws.Median, WallStat: ws, Downtime: bench.Summarize(down).Median,
		RSS: bench.Summarize(rss).Max, CPU: bench.Summarize(cpu).Median, CriticalSum: bench.Summarize(cp).Median, Phases: phases, Failed: failed}
	if len(labCPU) > 0 {
		row.LabCPU, row.Floor = bench.Summarize(labCPU).Median, bench.Summarize(floor).Median
	}
	row.PerNode = medianPerNode(rs)
	return row
}

// probePath is the route the prober requests. The simulator answers it
// itself (its service's host is echo.internal), where the lab's /lab is
// proxied to the node's Status API, whose /status pings PostgreSQL on every
// request: 0.62 ms of the lab's CPU a probe against 0.23 ms, which at 64
// nodes x 10 probes/s took a quarter of a core from the upgrade measured.
const probePath = "/bench-probe"

// addProbeRoute creates probePath through the Admin API of one node (the
// others see it at their next router rebuild, within db_update_frequency).
func addProbeRoute(ctx context.Context, addr string) error {
	admin := "http://" + addr + ":8001"
	for _, e := range []struct{ path, body string }{
		{"/services", `{"name":"bench-probe","url":"http://echo.internal/"}`},
		{"/services/bench-probe/routes", `{"name":"bench-probe","paths":["` + probePath + `"]}`},
	} {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, admin+e.path, strings.NewReader(e.body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("create the probe route: POST %s%s: %w", admin, e.path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusConflict {
			return fmt.Errorf("create the probe route: POST %s%s: HTTP %d: %s", admin, e.path, resp.StatusCode, b)
		}
	}
	return nil
}

// freshLab brings up a fresh lab of n nodes (and rows database rows) on
// the old version: the lab that was up is taken down first.
func freshLab(ctx context.Context, c config, opts labenv.Options) (*labenv.Lab, float64, error) {
	n, rows := opts.Nodes, opts.Rows
	logf("lab up: %d nodes%s%s (fresh)", n, rowsLabel(rows), map[bool]string{true: ", HAProxy in front"}[opts.LB])
	if err := labenv.Down(ctx, c.labDir, io.Discard); err != nil {
		return nil, 0, fmt.Errorf("lab down: %w", err)
	}
	t0 := time.Now()
	opts.Dir, opts.Log = c.labDir, io.Discard
	setLabID(&opts, c.labID)
	lab, err := labenv.Up(ctx, opts)
	if err != nil && ctx.Err() == nil {
		// A busy shared machine sometimes fails one host's set-up; the
		// lab is rebuilt once before the benchmark gives up.
		logf("lab up (%d nodes) failed, once more: %v", n, err)
		if derr := labenv.Down(ctx, c.labDir, io.Discard); derr != nil {
			return nil, 0, fmt.Errorf("lab down: %w", derr)
		}
		lab, err = labenv.Up(ctx, opts)
	}
	if err != nil {
		return lab, 0, fmt.Errorf("lab up (%d nodes): %w", n, err)
	}
	return lab, time.Since(t0).Seconds(), nil
}

func rowsLabel(rows int) string {
	if rows == 0 {
		return ""
	}
	return fmt.Sprintf(", %d rows", rows)
}

// probeFleet adds the probe route and probes every Kong node's proxy every
// interval until stop is called; it returns once every node serves.
func probeFleet(ctx context.Context, lab *labenv.Lab, interval time.Duration) (p *bench.Prober, stop func(), err error) {
	kongs := lab.KongHosts()
	if err := addProbeRoute(ctx, kongs[0].Address); err != nil {
		return nil, func() {}, err
	}
	p = &bench.Prober{Targets: map[string]string{}, Interval: interval, Timeout: 500 * time.Millisecond, MaxTime: 15 * time.Minute}
	for _, h := range kongs {
		p.Targets[h.Name] = "http://" + h.Address + ":8000" + probePath
	}
	pctx, pcancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); p.Run(pctx) }()
	stop = func() { pcancel(); wg.Wait() }
	// A production-sized database (ROWS) makes every router rebuild take
	// seconds (tens under load): the new route may need a few rebuilds to
	// reach every node.
	if !waitUntil(ctx, 3*time.Minute, func() bool { return p.AllServingSince(time.Now().Add(-p.Interval * 3)) }) {
		return p, stop, errors.New("not every proxy serves " + probePath + " before the upgrade")
	}
	return p, stop, nil
}

// kongctlReport is the part of kongctl's JSON report the benchmark reads.
type kongctlReport struct {
	Outcome       string `json:"outcome"`
	MigrationHost string `json:"migration_host"`
	Downtime      *struct {
		Duration float64 `json:"duration_seconds"`
	} `json:"downtime"`
	Timeline []struct {
		Phase    string    `json:"phase"`
		Started  time.Time `json:"started"`
		Finished time.Time `json:"finished"`
	} `json:"timeline"`
	Hosts     []bench.ReportHost `json:"hosts"`
	Transport *bench.Transport   `json:"transport"`
}

// keepReport writes kongctl's whole report (timeline, every host step with
// the agents' own durations) to <out>/reports/<name>-<time>.json and its
// other events (notes among them) beside it, for a look at where the time
// went.
func keepReport(c config, name string, kr *bench.KongctlRun) {
	if dir := filepath.Join(c.outDir, "reports"); os.MkdirAll(dir, 0o755) == nil {
		name := fmt.Sprintf("%s-%s", name, time.Now().UTC().Format("150405"))
		_ = os.WriteFile(filepath.Join(dir, name+".json"), append(append([]byte(nil), kr.Report...), '\n'), 0o644)
		// The events (notes, per-host results) say why a step took its time.
		_ = os.WriteFile(filepath.Join(dir, name+".events.jsonl"), kr.Events, 0o644)
	}
}

// oneUpgrade brings up a fresh lab of n nodes on the old version, probes
// every proxy while kongctl upgrades it, and computes the figures.
func oneUpgrade(ctx context.Context, c config, kongctl string, n, slow int) (upgradeRun, *labenv.Lab, error) {
	r := upgradeRun{Nodes: n, SlowMigration: slow}
	o := labenv.Options{Nodes: n}
	if c.repository {
		// Without the package's size preflight asks for 512 MiB free,
		// more than the default disk (as the e2e test of the source).
		o.Repository, o.DiskMB = true, 1024
	}
	lab, upSeconds, err := freshLab(ctx, c, o)
	if err != nil {
		return r, lab, err
	}
	r.LabUpSeconds = upSeconds
	kongs := lab.KongHosts()
	if slow > 0 {
		// The migration host is the first Kong host (the lab's inventory).
		cmd := fmt.Sprintf("printf 'FAKE_KONG_SLOW=%d\\n' > /usr/local/kong/fault.env", slow)
		if _, err := lab.Exec(ctx, kongs[0].Name, cmd); err != nil {
			return r, lab, err
		}
	}
	interval := c.interval
	if n > 16 {
		interval = 2 * c.interval // 64 nodes × 20/s would load a 2-core machine
	}
	p, stopProbes, err := probeFleet(ctx, lab, interval)
	defer stopProbes()
	if err != nil {
		return r, lab, err
	}
	logf("kongctl upgrade (%d nodes%s)", n, slowLabel(slow))
	var sampler *bench.Sampler
	if c.acct != nil {
		sampler = c.acct.Sample(ctx, 250*time.Millisecond)
	}
	kr, err := bench.RunKongctl(ctx, kongctl, []string{"upgrade", "-i", lab.InventoryPath(), "--yes", "--output", "json"})
	var cpuSamples []bench.CPUSample
	if sampler != nil {
		cpuSamples = sampler.Stop()
	}
	if err != nil {
		return r, lab, err
	}
	r.Controller = kr.Usage
	if g, self, ok := bench.CPUBetween(cpuSamples, kr.Started, kr.Ended); ok {
		labCPU := (g - self).Seconds() - kr.Usage.CPUSeconds
		r.CPU = &runCPU{Lab: labCPU, Kongctl: kr.Usage.CPUSeconds, Bench: self.Seconds(),
			Floor: (labCPU + kr.Usage.CPUSeconds) / float64(runtime.NumCPU()), Phases: map[string]float64{}}
	}
	if !waitUntil(ctx, 30*time.Second, func() bool { return p.AllServingSince(kr.Ended) }) {
		logf("warning: not every proxy serves again 30s after kongctl ended")
	}
	stopProbes()
	samples := p.Samples()
	r.Probes = len(samples)
	if o, ok := bench.LongestOutage(samples); ok {
		r.FleetDowntime = &o
	}
	r.NodeDowntime = bench.NodeOutages(samples)

	var rep kongctlReport
	if len(kr.Report) == 0 {
		return r, lab, fmt.Errorf("kongctl exited %d without a report: %s", kr.Usage.ExitCode, tail(kr.Stderr, 2000))
	}
	keepReport(c, fmt.Sprintf("%02d-nodes%s", n, map[bool]string{true: fmt.Sprintf("-slow%d", slow)}[slow > 0]), kr)
	if err := json.Unmarshal(kr.Report, &rep); err != nil {
		return r, lab, fmt.Errorf("decode kongctl report: %w", err)
	}
	r.Outcome = rep.Outcome
	r.Transport = rep.Transport
	r.PerNode = perNode(r)
	r.Phases = map[string]float64{}
	for _, ph := range rep.Timeline {
		r.Phases[ph.Phase] = ph.Finished.Sub(ph.Started).Seconds()
		if g, self, ok := bench.CPUBetween(cpuSamples, ph.Started, ph.Finished); ok && r.CPU != nil {
			r.CPU.Phases[ph.Phase] = (g - self).Seconds()
		}
	}
	if rep.Outcome != "succeeded" {
		return r, lab, fmt.Errorf("upgrade of %d nodes %s: %s", n, rep.Outcome, tail(kr.Stderr, 2000))
	}
	if rep.Downtime != nil {
		r.ReportDowntime = rep.Downtime.Duration
	}
	r.Critical, r.CriticalOK = bench.Critical(rep.Hosts)
	if r.CriticalOK && r.FleetDowntime != nil && r.Critical.Total > 0 {
		r.Ratio = r.FleetDowntime.Seconds / r.Critical.Total
	}
	return r, lab, nil
}

func waitUntil(ctx context.Context, d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// delivery pushes the agent to every Kong node of the lab (its agent
// directory emptied first), then again over new connections.
func delivery(ctx context.Context, lab *labenv.Lab) (deliveryRun, error) {
	kongs := lab.KongHosts()
	d := deliveryRun{Nodes: len(kongs)}
	if bin, err := agentclient.AgentBinary(agentclient.KindNode, runtime.GOARCH); err == nil {
		d.AgentBytes = bin.Len()
	}
	inv, diags := inventory.Load(lab.InventoryPath())
	if diags.HasErrors() {
		return d, fmt.Errorf("load %s: %s", lab.InventoryPath(), diags.Error())
	}
	for _, h := range kongs {
		if _, err := lab.Exec(ctx, h.Name, "rm -rf "+agentclient.DefaultAgentDir); err != nil {
			return d, err
		}
	}
	push := func() (int64, float64, error) {
		t0 := time.Now()
		var mu sync.Mutex
		var bytes int64
		errs := fanout.Each(ctx, kongs, 16, func(ctx context.Context, h *labenv.Host) error { // kongctl's default concurrency
			n, err := deliverOne(ctx, inv, h.Name)
			mu.Lock()
			bytes += n
			mu.Unlock()
			return err
		})
		return bytes, time.Since(t0).Seconds(), errors.Join(errs...)
	}
	var err error
	if d.FirstBytes, d.FirstSeconds, err = push(); err != nil {
		return d, err
	}
	if d.SecondBytes, d.SecondSeconds, err = push(); err != nil {
		return d, err
	}
	logf("agent delivery to %d nodes: %d bytes in %.2fs; again: %d bytes in %.2fs", d.Nodes, d.FirstBytes, d.FirstSeconds, d.SecondBytes, d.SecondSeconds)
	return d, nil
}

func deliverOne(ctx context.Context, inv *inventory.Inventory, name string) (int64, error) {
	cfg, err := sshfleet.SSHConfig(inv, inv.Host(name))
	if err != nil {
		return 0, err
	}
	cl, err := sshremote.Dial(ctx, cfg)
	if err != nil {
		return 0, fmt.Errorf("dial %s: %w", name, err)
	}
	defer cl.Close()
	dl, err := agentclient.New(cl, agentclient.Options{}).Deliver(ctx, nil)
	if err != nil {
		return 0, err
	}
	return dl.Uploaded, nil
}
