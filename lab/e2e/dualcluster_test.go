//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"maps"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/lab/labenv"
	"github.com/kongctl/kongctl/lab/traffic"
)

// dualClusterInventory is the lab's inventory with the dual-cluster
// strategy onto the spares and database kong_y.
func (e *env) dualClusterInventory() string {
	e.t.Helper()
	return e.writeInventory(func(s string) string {
		re := regexp.MustCompile(`(?m)^upgrade \{\n`)
		if !re.MatchString(s) {
			e.t.Fatalf("lab inventory has no upgrade block:\n%s", s)
		}
		return re.ReplaceAllString(s, "upgrade {\n  strategy        = \"dual-cluster\"\n  target_database = \"kong_y\"\n  shift           = [\"50%\", \"100%\"]\n")
	})
}

// Issue 17 part 5: the dual-cluster strategy on a 3-node lab with 3
// spares behind HAProxy (LB=1, SPARE=3; the spares are servers of the
// backend in maintenance without weight). A client sends requests
// through HAProxy throughout. The upgrade restores X's backup into
// kong_y, runs Y on the spares against it, shifts the traffic 50% then
// 100%, and drains X: Y serves all the traffic from the spares, X still
// runs X, Kong's tables in X's database are unchanged (fingerprint), and
// no request failed.
func TestDualClusterThroughLB(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 3, Spares: 3, From: "2.8.4", To: "3.4.2", LB: true})
	olds, spares := names(e.lab.KongHosts()), names(e.lab.Spares())
	e.createEntities(olds[0])
	e.requireServing(olds, labRoutes)
	lbURL := e.lab.LBURL()
	waitRouted(t, lbURL+"/lab", len(olds))
	before := e.fingerprint()

	e.inv = e.dualClusterInventory()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cl, err := traffic.Start(ctx, traffic.Options{URLs: []string{lbURL + "/lab"}, Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	r := e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	time.Sleep(2 * time.Second)
	res := cl.Stop()
	if r.code != 0 {
		t.Fatalf("upgrade: %s", r)
	}
	b, _ := json.Marshal(res)
	t.Logf("through HAProxy: %s\n%s", res, b)
	if res.OK == 0 || res.Sent < 100 {
		t.Errorf("traffic: %s: too few requests to say anything", res)
	}
	if res.Failed != 0 {
		t.Errorf("%d request(s) failed through HAProxy, want 0: %v", res.Failed, res.Samples)
	}

	e.requireVersion("3.4.2", spares...)
	e.requireServing(spares, labRoutes)
	e.requireVersion("2.8.4", olds...)
	if after := e.fingerprint(); !maps.Equal(before, after) {
		for tb, v := range after {
			if before[tb] != v {
				t.Errorf("X's database: table %s changed", tb)
			}
		}
		t.Errorf("X's database changed: %d tables before, %d after", len(before), len(after))
	}
	dsn, err := e.lab.DSN()
	if err != nil {
		t.Fatal(err)
	}
	y := e.fingerprintDSN(strings.Replace(dsn, "/"+labenv.DBName+"?", "/kong_y?", 1))
	if y["schema_meta"] == "" || y["schema_meta"] == before["schema_meta"] {
		t.Errorf("kong_y: schema_meta %q, want Y's migrations there (X's is %q)", y["schema_meta"], before["schema_meta"])
	}

	// Y's servers serve all the traffic; X's are drained (weight 0 and
	// state drain: HAProxy shows them DRAIN).
	lctx, lcancel := shortCtx()
	defer lcancel()
	status, err := e.lab.LBStatus(lctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range spares {
		if status[h] != "UP" {
			t.Errorf("server %s ends %q, want UP: %v", h, status[h], status)
		}
	}
	for _, h := range olds {
		if status[h] != "DRAIN" {
			t.Errorf("server %s ends %q, want DRAIN: %v", h, status[h], status)
		}
	}
	weights, err := e.lab.HAProxy(lctx, "show servers state "+labenv.LBBackend)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("show servers state:\n%s", weights)
}
