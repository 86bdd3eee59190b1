//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kongctl/kongctl/lab/labenv"
	"github.com/kongctl/kongctl/lab/traffic"
)

// dualClusterInventory is the lab's inventory with the dual-cluster
// strategy onto the spares and database kong_y, and a p99 latency gate;
// extra lines go into the upgrade block.
func (e *env) dualClusterInventory(extra ...string) string {
	e.t.Helper()
	return e.writeInventory(func(s string) string {
		re := regexp.MustCompile(`(?m)^upgrade \{\n`)
		if !re.MatchString(s) || !strings.Contains(s, "max_error_rate = 0.01") {
			e.t.Fatalf("lab inventory has no upgrade block or error-rate gate:\n%s", s)
		}
		s = strings.Replace(s, "max_error_rate = 0.01", "max_error_rate  = 0.01\n    max_latency_p99 = \"400ms\"", 1)
		return re.ReplaceAllString(s, "upgrade {\n  strategy        = \"dual-cluster\"\n  target_database = \"kong_y\"\n  shift           = [\"50%\", \"100%\"]\n"+strings.Join(extra, ""))
	})
}

// upgradeThroughLB runs `kongctl upgrade` with a client sending requests
// to urls through HAProxy throughout, and returns the run and what the
// client saw.
func (e *env) upgradeThroughLB(urls []string) (result, traffic.Result) {
	e.t.Helper()
	return e.throughLB(urls, "upgrade")
}

// throughLB runs `kongctl CMD -i INV --yes --output json` with a client
// sending requests to urls through HAProxy throughout.
func (e *env) throughLB(urls []string, cmd string) (result, traffic.Result) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cl, err := traffic.Start(ctx, traffic.Options{URLs: urls, Workers: 4})
	if err != nil {
		e.t.Fatal(err)
	}
	time.Sleep(time.Second)
	r := e.kongctl(cmd, "-i", e.inv, "--yes", "--output", "json")
	time.Sleep(2 * time.Second)
	res := cl.Stop()
	b, _ := json.Marshal(res)
	e.t.Logf("through HAProxy: %s\n%s", res, b)
	if res.OK == 0 || res.Sent < 100 {
		e.t.Errorf("traffic: %s: too few requests to say anything", res)
	}
	return r, res
}

// Issue 17 part 5: the dual-cluster strategy on a 3-node lab with 3
// spares behind HAProxy (LB=1, SPARE=3: the spares are servers of the
// backend in maintenance without weight), a client sending requests
// through HAProxy throughout each run. X serves route /slow from an
// upstream on the lab's bridge that answers the spares 1s late while
// `slowY` is set: Y passes its verify alone (smoke requests on /lab),
// then at the 50% step the p99 latency gate fails on Y's share of the
// traffic and the run rolls back: all traffic back to X, X untouched.
// A new run is refused in preflight (kong_y holds Kong's tables); once
// the inventory lets kongctl replace it (replace_target_database) and
// asks for X's decommission, and the upstream is fast again, the upgrade
// drops and restores kong_y, shifts 50% then 100%, drains X, then
// disables X in HAProxy and stops it: Y serves all traffic from the
// spares. `kongctl rollback` then starts X again and sends the traffic
// back to it. No request fails in any run, and Kong's tables in X's
// database are the same at the end as at the start.
func TestDualClusterThroughLB(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 3, Spares: 3, From: "2.8.4", To: "3.4.2", LB: true})
	olds, spares := names(e.lab.KongHosts()), names(e.lab.Spares())
	e.createEntities(olds[0])
	e.requireServing(olds, labRoutes)

	spareAddr := map[string]bool{}
	for _, h := range spares {
		spareAddr[e.lab.Address(h)] = true
	}
	var slowY atomic.Bool
	slowY.Store(true)
	e.slowRoute(olds[0], func(r *http.Request) time.Duration {
		if ip, _, _ := net.SplitHostPort(r.RemoteAddr); slowY.Load() && spareAddr[ip] {
			return time.Second
		}
		return 0
	})
	lbURL := e.lab.LBURL()
	waitRouted(t, lbURL+"/slow", len(olds))
	urls := []string{lbURL + "/lab", lbURL + "/slow"}
	before := e.fingerprint()
	e.inv = e.dualClusterInventory()
	lbStatus := func() map[string]string {
		t.Helper()
		ctx, cancel := shortCtx()
		defer cancel()
		st, err := e.lab.LBStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}

	// After a rollback, HAProxy sends the traffic to X only.
	requireOnX := func() {
		t.Helper()
		st := lbStatus()
		for _, h := range olds {
			if st[h] != "UP" {
				t.Errorf("after the rollback, server %s is %q, want UP: %v", h, st[h], st)
			}
		}
		for _, h := range spares {
			if st[h] == "UP" {
				t.Errorf("after the rollback, server %s is still UP: %v", h, st)
			}
		}
	}

	// 1. The gate fails at 50%: rolled back, all traffic on X.
	r, res := e.upgradeThroughLB(urls)
	if r.code != 3 {
		t.Fatalf("upgrade with Y slow: want exit 3 (rolled back): %s", r)
	}
	rep := finalReport(t, r.stdout)
	if !strings.Contains(rep.Error, "gates at 50%") || !strings.Contains(rep.Error, "max_latency_p99") {
		t.Errorf("report error %q: want the latency gate at the 50%% step", rep.Error)
	}
	if res.Failed != 0 {
		t.Errorf("rollback run: %d request(s) failed through HAProxy, want 0: %v", res.Failed, res.Samples)
	}
	requireOnX()
	e.requireVersion("2.8.4", olds...)
	e.requireServing(olds, labRoutes)
	if d := diffFingerprints(before, e.fingerprint()); len(d) > 0 {
		t.Errorf("X's database changed by the rolled-back run:\n%s", strings.Join(d, "\n"))
	}

	// 2. kong_y is kept and holds Kong's tables: refused in preflight.
	r = e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	var refused bool
	for _, f := range finalReport(t, r.stdout).Findings {
		refused = refused || (f.Code == "target-db" && strings.Contains(f.Message, "kong_y already holds Kong's tables"))
	}
	if r.code != 1 || !refused {
		t.Errorf("upgrade onto the kept kong_y: want exit 1 with a target-db finding: %s", r)
	}

	// 3. The upgrade, kong_y replaced and X decommissioned: Y serves all
	// the traffic from the spares.
	e.inv = e.dualClusterInventory("  replace_target_database = true\n", "  decommission            = true\n")
	slowY.Store(false)
	r, res = e.upgradeThroughLB(urls)
	if r.code != 0 {
		t.Fatalf("upgrade: %s", r)
	}
	if res.Failed != 0 {
		t.Errorf("%d request(s) failed through HAProxy, want 0: %v", res.Failed, res.Samples)
	}
	rep = finalReport(t, r.stdout)
	if msg, ok := rep.finding("target-db-replace"); !ok || !strings.Contains(msg, "DROPPED") {
		t.Errorf("no loud target-db-replace finding: %q", msg)
	}
	if msg, ok := rep.finding("old-hosts"); !ok || !strings.Contains(msg, "kongctl rollback") {
		t.Errorf("old-hosts finding %q: want what a rollback means once X is stopped", msg)
	}
	for _, hr := range rep.Hosts {
		if slices.Contains(olds, hr.Name) && hr.Result != "decommissioned" {
			t.Errorf("report of %s: %s %s, want decommissioned", hr.Name, hr.Result, hr.Version)
		}
	}
	e.requireVersion("3.4.2", spares...)
	e.requireServing(spares, labRoutes)
	e.requireVersion("2.8.4", olds...) // stopped, still installed
	for _, h := range olds {
		if code, _ := get(e.lab.Address(h), 8000, "/lab", ""); code == 200 {
			t.Errorf("%s: X still serves after its decommission", h)
		}
	}
	if d := diffFingerprints(before, e.fingerprint()); len(d) > 0 {
		t.Errorf("X's database changed:\n%s", strings.Join(d, "\n"))
	}
	dsn, err := e.lab.DSN()
	if err != nil {
		t.Fatal(err)
	}
	y := e.fingerprintDSN(strings.Replace(dsn, "/"+labenv.DBName+"?", "/kong_y?", 1))
	if y["schema_meta"] == "" || y["schema_meta"] == before["schema_meta"] {
		t.Errorf("kong_y: schema_meta %q, want Y's migrations there (X's is %q)", y["schema_meta"], before["schema_meta"])
	}
	// Y's servers take the traffic; X's are disabled (HAProxy: MAINT).
	st := lbStatus()
	for _, h := range spares {
		if st[h] != "UP" {
			t.Errorf("server %s ends %q, want UP: %v", h, st[h], st)
		}
	}
	for _, h := range olds {
		if st[h] != "MAINT" {
			t.Errorf("server %s ends %q, want MAINT: %v", h, st[h], st)
		}
	}

	// 4. kongctl rollback once X is stopped: X started again on its
	// untouched database and given the traffic back, Y stopped.
	r, res = e.throughLB(urls, "rollback")
	if r.code != 0 {
		t.Fatalf("rollback: %s", r)
	}
	if res.Failed != 0 {
		t.Errorf("rollback: %d request(s) failed through HAProxy, want 0: %v", res.Failed, res.Samples)
	}
	e.requireServing(olds, labRoutes)
	requireOnX()
	if d := diffFingerprints(before, e.fingerprint()); len(d) > 0 {
		t.Errorf("X's database changed:\n%s", strings.Join(d, "\n"))
	}
}
