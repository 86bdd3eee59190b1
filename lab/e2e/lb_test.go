//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/lab/labenv"
	"github.com/kongctl/kongctl/lab/traffic"
)

// Issue 17: in place with drain, measured through the load balancer. A
// 3-node lab with HAProxy in front (LB=1); a client sends requests
// through HAProxy throughout `kongctl upgrade` (a fast route and one
// whose upstream takes 300ms, so requests are in flight on each node as
// it is drained). First an inventory whose socket does not exist is
// refused in preflight, naming it, before any node stops. Then the
// upgrade: each node is drained (its sessions reach 0) before it stops;
// no request is cut (reset, closed mid-answer, 502/504), the failures are
// the in-place outage's refusals only (HAProxy's 503 while no server is in
// the load balancing), and every server ends UP (ready) on Y.
func TestInPlaceDrainThroughLB(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 3, From: "2.8.4", To: "3.4.2", LB: true})
	nodes := names(e.lab.KongHosts())
	e.requireServing(nodes, []route{{"/lab", ""}})

	// A slow upstream on the lab's bridge, behind route /slow.
	e.slowRoute(nodes[0], func(*http.Request) time.Duration { return 300 * time.Millisecond })
	lbURL := e.lab.LBURL()
	waitRouted(t, lbURL+"/slow", len(nodes))

	// The socket missing: refused in preflight, nothing stopped.
	bad := e.writeInventory(func(s string) string {
		return strings.Replace(s, `socket        = "/run/haproxy/admin.sock"`, `socket        = "/run/haproxy/missing.sock"`, 1)
	})
	pids := e.kongPIDs(nodes)
	r := e.kongctl("upgrade", "-i", bad, "--yes", "--output", "json")
	if r.code != 1 {
		t.Fatalf("upgrade with a missing socket: want exit 1 (refused in preflight): %s", r)
	}
	var refused bool
	for _, f := range finalReport(t, r.stdout).Findings {
		refused = refused || (f.Code == "lb-unreachable" && f.Host == labenv.LBHostName && strings.Contains(f.Message, "/run/haproxy/missing.sock"))
	}
	if !refused {
		t.Errorf("no lb-unreachable finding naming the socket on %s: %s", labenv.LBHostName, r.stdout)
	}
	if after := e.kongPIDs(nodes); !equalMaps(pids, after) {
		t.Errorf("a node was restarted by the refused run: %v -> %v", pids, after)
	}

	// The upgrade, with traffic through HAProxy throughout (the lab's
	// inventory again: the refused one took its file).
	e.inv = e.writeInventory(nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cl, err := traffic.Start(ctx, traffic.Options{URLs: []string{lbURL + "/lab", lbURL + "/slow"}, Workers: 6})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	r = e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	time.Sleep(2 * time.Second)
	res := cl.Stop()
	if r.code != 0 {
		t.Fatalf("upgrade: %s", r)
	}
	b, _ := json.Marshal(res)
	t.Logf("through HAProxy: %s\n%s", res, b)
	e.requireVersion("3.4.2", nodes...)

	if res.OK == 0 || res.Sent < 100 {
		t.Errorf("traffic: %s: too few requests to say anything", res)
	}
	for _, k := range []string{traffic.Cut, traffic.Timeout, traffic.Status} {
		if res.ByKind[k] != 0 {
			t.Errorf("%d request(s) %s, want only refusals of the outage: %q", res.ByKind[k], k, res.Samples[k])
		}
	}

	// Each node drained (sessions 0) before its stop, and ready once it
	// served Y; the refusals fall between the last server leaving the load
	// balancing and the first one coming back (kongctl marks it healthy
	// in HAProxy once Y serves, not waiting out rise x inter).
	st := stepTimes(t, e, finalReport(t, r.stdout).RunID)
	var lastDrain, firstReady time.Time
	for _, h := range nodes {
		drainStart, drained, stopped := st["lb/drain/"+h+" started"], st["lb/drain/"+h+" done"], st["stop/"+h+" started"]
		if drained.IsZero() || stopped.Before(drained) {
			t.Errorf("%s: drained %s, stop started %s: want the drain done first", h, drained.Format("15:04:05.000"), stopped.Format("15:04:05.000"))
		}
		ready, served := st["lb/ready/"+h+" done"], st["start/"+h+" done"]
		if ready.IsZero() || ready.Before(served) {
			t.Errorf("%s: ready %s, Y served %s: want ready after", h, ready.Format("15:04:05.000"), served.Format("15:04:05.000"))
		}
		if drainStart.After(lastDrain) {
			lastDrain = drainStart
		}
		if firstReady.IsZero() || ready.Before(firstReady) {
			firstReady = ready
		}
	}
	if res.Failed > 0 && (res.FirstFailure.Before(lastDrain.Add(-time.Second)) || res.LastFailure.After(firstReady.Add(2*time.Second))) {
		t.Errorf("refusals from %s to %s, outside the outage (last drain %s, first ready %s)",
			res.FirstFailure.Format("15:04:05.000"), res.LastFailure.Format("15:04:05.000"), lastDrain.Format("15:04:05.000"), firstReady.Format("15:04:05.000"))
	}
	if res.Failed > 0 {
		t.Logf("last refusal %+.2fs from the first ready", res.LastFailure.Sub(firstReady).Seconds())
	}
	// HAProxy took kongctl's word that Y is healthy (set server ...
	// health up): no node waited for its checks to rise.
	for _, f := range finalReport(t, r.stdout).Findings {
		if f.Code == "lb-health" {
			t.Errorf("finding %s on %s: %s", f.Code, f.Host, f.Message)
		}
	}
	// Every drain ended with no session left (not by its timeout).
	for _, f := range e.journalFiles() {
		e.scanJournal(f, func(line []byte) {
			var rec struct {
				Step, Status string
				Data         struct {
					Waited   float64 `json:"waited_seconds"`
					Sessions int     `json:"sessions_left"`
				}
			}
			if json.Unmarshal(line, &rec) != nil || !strings.HasPrefix(rec.Step, "lb/drain/") || rec.Status != "done" {
				return
			}
			t.Logf("%s: waited %.2fs for the sessions to end, %d left", rec.Step, rec.Data.Waited, rec.Data.Sessions)
			if rec.Data.Sessions != 0 {
				t.Errorf("%s: %d session(s) left at the stop", rec.Step, rec.Data.Sessions)
			}
		})
	}
	e.requireLBUp(nodes)
}

// requireLBUp fails the test unless every server of hosts is UP (ready
// and healthy) in the lab's HAProxy.
func (e *env) requireLBUp(hosts []string) {
	e.t.Helper()
	ctx, cancel := shortCtx()
	defer cancel()
	status, err := e.lab.LBStatus(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, h := range hosts {
		if status[h] != "UP" {
			e.t.Errorf("server %s ends %q, want UP (ready and healthy): %v", h, status[h], status)
		}
	}
}

// slowRoute serves route /slow (service "slow", created through host's
// Admin API) from an upstream on the lab's bridge that answers each
// request after delay(request), until the test ends.
func (e *env) slowRoute(host string, delay func(*http.Request) time.Duration) {
	e.t.Helper()
	ln, err := net.Listen("tcp", e.lab.Network().BridgeAddr+":0")
	if err != nil {
		e.t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay(r))
		w.Write([]byte("slow\n"))
	})}
	go srv.Serve(ln)
	e.t.Cleanup(func() { srv.Close() })
	e.adminPost(host, "/services", fmt.Sprintf(`{"name":"slow","url":"http://%s/"}`, ln.Addr()))
	e.adminPost(host, "/services/slow/routes", `{"name":"slow","paths":["/slow"]}`)
}

// waitRouted waits until url answers 200 through the load balancer n
// times in a row (every server loaded the route).
func waitRouted(t *testing.T, url string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for ok := 0; ok < 2*n; {
		resp, err := httpClient.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		if err == nil && resp.StatusCode == 200 {
			ok++
			continue
		}
		ok = 0
		if time.Now().After(deadline) {
			t.Fatalf("%s: not routed after 30s: %v", url, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
