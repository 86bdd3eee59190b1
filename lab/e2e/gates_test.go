//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kongctl/kongctl/lab/labenv"
)

// upgradeRolledBackByGate runs the upgrade under the prober (so the gates
// see traffic), lifts the fault armed on nodes[0], requires exit 3 (rolled
// back) and returns the final report.
func (e *env) upgradeRolledBackByGate(nodes []string) reportJSON {
	e.t.Helper()
	p := e.probe(nodes)
	r := e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	p.stop()
	e.clearFault(nodes[0])
	if r.code != 3 {
		e.t.Fatalf("upgrade: want exit 3 (rolled back): %s", r)
	}
	return finalReport(e.t, r.stdout)
}

// reportJSON is the part of the final report (--output json, last line)
// these tests read.
type reportJSON struct {
	RunID    string `json:"run_id"`
	Outcome  string `json:"outcome"`
	Error    string `json:"error"`
	Journal  string `json:"journal"`
	Findings []struct {
		Severity string `json:"severity"`
		Code     string `json:"code"`
		Host     string `json:"host"`
		Message  string `json:"message"`
		Fix      string `json:"fix"`
	} `json:"findings"`
	Gates []struct {
		Gate      string  `json:"gate"`
		Host      string  `json:"host"`
		Threshold float64 `json:"threshold"`
		Measured  float64 `json:"measured"`
		Passed    bool    `json:"passed"`
	} `json:"gates"`
	Hosts []struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Result  string `json:"result"`
	} `json:"hosts"`
	Next      string `json:"next"`
	Transport *struct {
		Hosts       int   `json:"hosts"`
		SSHSessions int64 `json:"ssh_sessions"`
	} `json:"transport"`
	Backup *struct {
		Path      string `json:"path"`
		LocalPath string `json:"local_path"`
	} `json:"backup"`
	BackupsPruned []string `json:"backups_pruned"`
	Downtime      *struct {
		Duration          float64 `json:"duration_seconds"`
		FirstServingAfter float64 `json:"first_serving_after_seconds"`
		FleetDown         float64 `json:"fleet_down_seconds"`
	} `json:"downtime"`
	Order string `json:"order"`
	// Hops are a multi-hop run's hops (hops_test.go).
	Hops []struct {
		From    string   `json:"from"`
		To      string   `json:"to"`
		Install float64  `json:"install_seconds"`
		Up      float64  `json:"up_seconds"`
		Finish  float64  `json:"finish_seconds"`
		Pending []string `json:"pending_after_up"`
		Done    bool     `json:"done"`
	} `json:"hops"`
}

// finalReport decodes the last stdout line of a --output json run.
func finalReport(t *testing.T, stdout string) reportJSON {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var ev struct {
		Type    string     `json:"type"`
		Payload reportJSON `json:"payload"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &ev); err != nil || ev.Type != "report" {
		t.Fatalf("last line is not the report (%v): %.300s", err, lines[len(lines)-1])
	}
	return ev.Payload
}

func (r reportJSON) finding(code string) (string, bool) {
	for _, f := range r.Findings {
		if f.Code == code {
			return f.Message, true
		}
	}
	return "", false
}

// Issue 6, verify: a node that answers every proxied request with 500
// after the upgrade (no smoke request here to catch it first) fails the
// max_5xx gate over the soak window; the run rolls back to X, the report
// naming the gate, its threshold and what was measured. The fleet serves
// traffic throughout, so min_requests passes.
func TestVerifyGateRollsBack(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 1, From: "2.8.4", To: "3.4.2"})
	nodes := names(e.lab.KongHosts())
	e.requireServing(nodes, []route{{"/lab", ""}})
	before := e.fingerprint()
	e.inv = e.writeInventory(func(s string) string {
		s = strings.Replace(s, "  smoke {\n    path   = \"/lab\"\n    host   = \"\"\n    status = 200\n  }\n", "", 1)
		return strings.Replace(s, "max_error_rate = 0.01", "max_error_rate = 0.5\n    max_5xx        = 3\n    min_requests   = 10", 1)
	})
	// Read by the simulator when Y starts there.
	e.writeFault(nodes[0], "FAKE_KONG_START_5XX=1")

	rep := e.upgradeRolledBackByGate(nodes)
	var sawMax5xx, sawMin bool
	for _, g := range rep.Gates {
		switch g.Gate {
		case "max_5xx":
			sawMax5xx = true
			if g.Passed || g.Threshold != 3 || g.Measured <= 3 {
				t.Errorf("max_5xx gate %+v", g)
			}
		case "min_requests":
			sawMin = true
			if !g.Passed || g.Measured < 10 {
				t.Errorf("min_requests gate %+v", g)
			}
		}
	}
	if !sawMax5xx || !sawMin {
		t.Errorf("gates in the report: %+v", rep.Gates)
	}
	if !strings.Contains(rep.Error, "gate max_5xx on fleet FAILED: measured") || !strings.Contains(rep.Error, "threshold 3") {
		t.Errorf("report error %q", rep.Error)
	}
	e.requireVersion("2.8.4", nodes...)
	if d := diffFingerprints(before, e.fingerprint()); len(d) > 0 {
		t.Errorf("database after the rollback differs from before:\n%s", strings.Join(d, "\n"))
	}
}

// Issue 6 (verify gates) and the agent's http.get: the gates read a
// node's whole /metrics page. Forty routes with traffic make Y's page tens
// of KiB, with the error-rate gate's counters near its top (families come
// sorted, as Kong's exporter writes them); the routes' upstream fails once
// Y starts. Read in part (the last 4 KiB of a command's output, as kongctl
// once did through curl) the gate found no requests and passed; read
// whole, it fails and the run rolls back.
func TestVerifyGateReadsWholeMetrics(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 1, From: "2.8.4", To: "3.4.2"})
	nodes := names(e.lab.KongHosts())
	node, addr := nodes[0], e.lab.Address(nodes[0])

	// The upstream, on the bastion's side of the lab's bridge.
	var broken atomic.Bool
	l, err := net.Listen("tcp", e.lab.Network().BridgeAddr+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if broken.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok")
	})}
	go srv.Serve(l)
	defer srv.Close()
	const nRoutes = 40
	e.adminPost(node, "/services", fmt.Sprintf(`{"name":"bulk","url":"http://%s/"}`, l.Addr()))
	var bulk []route
	for i := range nRoutes {
		e.adminPost(node, "/services/bulk/routes", fmt.Sprintf(`{"name":"bulk-%d","paths":["/bulk-%d"]}`, i, i))
		bulk = append(bulk, route{fmt.Sprintf("/bulk-%d", i), ""})
	}
	e.requireServing(nodes, bulk)

	// Traffic on every route throughout, and the largest /metrics page Y served.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }() // also when the test fails early
	var pageY atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			get(addr, 8000, bulk[i%nRoutes].path, "")
			if i%nRoutes == 0 {
				if resp, err := httpClient.Get(fmt.Sprintf("http://%s:8001/metrics", addr)); err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if strings.Contains(string(b), `version="3.4.2"`) && int64(len(b)) > pageY.Load() {
						pageY.Store(int64(len(b)))
					}
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	run := e.start("upgrade", "-i", e.inv, "--yes", "--output", "json")
	run.waitEvent(t, 3*time.Minute, "the start phase", func(ev event) bool {
		return ev.Type == "phase_start" && ev.Phase == "start"
	})
	broken.Store(true)
	code := run.wait(t, 5*time.Minute)
	cancel()
	wg.Wait()
	if code != 3 {
		t.Fatalf("upgrade: exit %d, want 3 (rolled back by the error-rate gate)\nstderr:\n%s", code, run.stderr)
	}
	if n := pageY.Load(); n < 16<<10 {
		t.Errorf("Y's /metrics page was %d bytes: too small to test a whole read", n)
	}
	rep := finalReport(t, run.stdout.String())
	failed := false
	for _, g := range rep.Gates {
		if g.Gate == "max_error_rate" && g.Host == node {
			failed = !g.Passed && g.Measured > 0.5
		}
	}
	if !failed {
		t.Errorf("max_error_rate gate on %s did not fail with the measured errors: %+v", node, rep.Gates)
	}
	e.requireVersion("2.8.4", nodes...)
}

// Issue 6, rollback hazard: the controller is killed while a detached
// `kong migrations up` runs on the migration host; `kongctl rollback`
// finds the step still running, waits for it to end (reported), and only
// then restores the database: the fleet is back on X with the database
// as it was before the upgrade.
func TestRollbackWaitsForDetachedMigrations(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 1, From: "2.8.4", To: "3.4.2"})
	nodes := names(e.lab.KongHosts())
	e.createEntities(nodes[0])
	e.requireServing(nodes, labRoutes)
	before := e.fingerprint()
	e.writeFault(nodes[0], "FAKE_KONG_SLOW=2")

	run := e.start("upgrade", "-i", e.inv, "--yes", "--output", "json")
	run.waitEvent(t, 3*time.Minute, "the migrate-up phase", func(ev event) bool {
		return ev.Type == "phase_start" && ev.Phase == "migrate-up"
	})
	time.Sleep(3 * time.Second) // the detached step is under way
	if err := run.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	run.wait(t, 30*time.Second)

	r := e.kongctl("rollback", "-i", e.inv, "--yes", "--output", "json")
	e.clearFault(nodes[0])
	if r.code != 0 {
		t.Fatalf("rollback: %s", r)
	}
	rep := finalReport(t, r.stdout)
	if msg, ok := rep.finding("migrations-running"); !ok || !strings.Contains(msg, "waiting for it to end before restoring") {
		t.Errorf("the rollback did not report waiting for the running step: %+v", rep.Findings)
	}
	if _, ok := rep.finding("migrations-waited"); !ok {
		t.Errorf("the rollback did not report the step's end: %+v", rep.Findings)
	}
	e.requireVersion("2.8.4", nodes...)
	e.requireServing(nodes, labRoutes)
	if d := diffFingerprints(before, e.fingerprint()); len(d) > 0 {
		t.Errorf("database after the rollback differs from before:\n%s", strings.Join(d, "\n"))
	}
}

// Issue 6, Y on new hosts with decommission asked for: once the new hosts
// pass verify, Kong is removed from the old ones (kong.conf kept on the
// bastion); `kongctl rollback` puts X back on them. A second upgrade with
// backup.retention = 1 then deletes the first run's backup, on the
// bastion and on the database host, once its own is verified.
func TestNewHostsDecommissionAndRetention(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 1, Spares: 1, From: "2.8.4", To: "3.4.2"})
	olds, spares := names(e.lab.KongHosts()), names(e.lab.Spares())
	e.requireServing(olds, []route{{"/lab", ""}})
	e.inv = e.writeInventory(func(s string) string {
		return strings.Replace(s, "retention = 5", "retention = 1", 1)
	})

	r := e.kongctl("upgrade", "-i", e.inv, "--yes", "--decommission", "--output", "json")
	if r.code != 0 {
		t.Fatalf("upgrade: %s", r)
	}
	first := finalReport(t, r.stdout)
	e.requireVersion("3.4.2", spares...)
	e.requireServing(spares, []route{{"/lab", ""}})
	ctx, cancel := shortCtx()
	defer cancel()
	for _, h := range olds {
		if out, err := e.lab.SSH(ctx, h, "kong version"); err == nil {
			t.Errorf("%s: kong still installed after decommission: %s", h, out)
		}
		conf := filepath.Join(first.Journal, "decommission", h, "kong.conf")
		if st, err := os.Stat(conf); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: kong.conf not kept on the bastion at %s: %v", h, conf, err)
		}
	}
	for _, hr := range first.Hosts {
		if strings.HasPrefix(hr.Name, "kong-") && hr.Result != "decommissioned" {
			t.Errorf("report: %s %s", hr.Name, hr.Result)
		}
	}

	r = e.kongctl("rollback", "-i", e.inv, "--yes")
	if r.code != 0 {
		t.Fatalf("rollback: %s", r)
	}
	e.requireVersion("2.8.4", olds...)
	e.requireServing(olds, []route{{"/lab", ""}})

	r = e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	if r.code != 0 {
		t.Fatalf("second upgrade: %s", r)
	}
	second := finalReport(t, r.stdout)
	if first.Backup == nil || second.Backup == nil {
		t.Fatalf("backups not reported: %+v / %+v", first.Backup, second.Backup)
	}
	if len(second.BackupsPruned) != 1 || second.BackupsPruned[0] != first.Backup.LocalPath {
		t.Errorf("pruned %q, want the first run's %s", second.BackupsPruned, first.Backup.LocalPath)
	}
	if _, err := os.Stat(first.Backup.LocalPath); err == nil {
		t.Errorf("first backup still on the bastion: %s", first.Backup.LocalPath)
	}
	if _, err := os.Stat(second.Backup.LocalPath); err != nil {
		t.Errorf("new backup missing on the bastion: %v", err)
	}
	ctx2, cancel2 := shortCtx()
	defer cancel2()
	if out, err := e.lab.Exec(ctx2, "db", "test ! -e "+first.Backup.Path+" && test -e "+second.Backup.Path); err != nil {
		t.Errorf("on the database host: first backup %s should be gone, %s kept: %v %s", first.Backup.Path, second.Backup.Path, err, out)
	}
}

// Issue 6, verify: Y answers every proxied request 300 ms late on the node
// (FAKE_KONG_PROXY_DELAY, read by the simulator when Y starts); the p99 of
// Kong's request latency histogram over the soak window exceeds the
// max_latency_p99 gate and its pre-upgrade baseline (2.8's kong_latency
// histogram), so the run rolls back to X with the gate in the report.
func TestLatencyGateRollsBack(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 1, From: "2.8.4", To: "3.4.2"})
	nodes := names(e.lab.KongHosts())
	e.requireServing(nodes, []route{{"/lab", ""}})
	before := e.fingerprint()
	e.inv = e.writeInventory(func(s string) string {
		return strings.Replace(s, "max_error_rate = 0.01", "max_error_rate  = 0.01\n    max_latency_p99 = \"200ms\"", 1)
	})
	e.writeFault(nodes[0], "FAKE_KONG_PROXY_DELAY=0.3")

	rep := e.upgradeRolledBackByGate(nodes)
	var saw bool
	for _, g := range rep.Gates {
		if g.Gate == "max_latency_p99" {
			saw = true
			// Threshold and measured are in the report's unit for the gate;
			// the measured p99 must be above the threshold and failed.
			if g.Passed || g.Measured <= g.Threshold {
				t.Errorf("max_latency_p99 gate %+v", g)
			}
		}
	}
	if !saw {
		t.Errorf("no max_latency_p99 gate in the report: %+v", rep.Gates)
	}
	if !strings.Contains(rep.Error, "max_latency_p99") {
		t.Errorf("report error %q does not name the gate", rep.Error)
	}
	e.requireVersion("2.8.4", nodes...)
	if d := diffFingerprints(before, e.fingerprint()); len(d) > 0 {
		t.Errorf("database after the rollback differs from before:\n%s", strings.Join(d, "\n"))
	}
}
