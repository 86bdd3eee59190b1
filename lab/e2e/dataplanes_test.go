//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/controller/journal"
	"github.com/kongctl/kongctl/lab/labenv"
	"github.com/kongctl/kongctl/lab/traffic"
)

// Issue 17, part 4: hybrid data planes rolled. With data_planes =
// "rolling" and batch = 1, one `kongctl upgrade` takes the control plane
// to Y, then the data planes one at a time. The second data plane's Y
// refuses to start (the simulator's FAKE_KONG_REFUSE_START): the roll
// stops there, the first data plane on Y, the third untouched on X, and
// the report says so with the way forward. The fault lifted, `--resume`
// finishes the roll: each data plane was seen connected on Y at the
// control plane, with the configuration hash the data plane itself
// serves, before the next one stopped. `kongctl rollback` then puts the
// data planes back on X with the control plane.
func TestHybridDataPlanesRolled(t *testing.T) {
	const x, y = "3.4.3.5", "3.10.0.2"
	e := upLab(t, labenv.Options{Nodes: 1, Hybrid: true, DPs: 3, Edition: labenv.EditionEnterprise, From: x, To: y})
	cps, dps := names(e.lab.KongHosts()), names(e.lab.DataPlanes())
	e.inv = e.rollingInventory()
	e.createEntities(cps[0])
	e.requireServing(dps, labRoutes)

	bad := dps[1]
	e.writeFault(bad, "FAKE_KONG_REFUSE_START=1")
	r := e.kongctl("upgrade", "-i", e.inv, "--yes", "-o", "json")
	if r.code != 4 {
		t.Fatalf("upgrade with %s refusing Y: exit %d, want 4 (paused)\n%s", bad, r.code, r)
	}
	rep := finalReport(t, r.stdout)
	got := map[string]string{}
	for _, h := range rep.Hosts {
		got[h.Name] = h.Version + " " + h.Result
	}
	want := map[string]string{dps[0]: y + " ok", dps[2]: x + " untouched"}
	if !strings.Contains(got[bad], "failed") {
		t.Errorf("report: %s %q, want it failed", bad, got[bad])
	}
	for _, h := range []string{dps[0], dps[2]} {
		if got[h] != want[h] {
			t.Errorf("report: %s %q, want %q", h, got[h], want[h])
		}
	}
	if !strings.Contains(rep.Next, bad+" failed") || !strings.Contains(rep.Next, "--resume") || !strings.Contains(rep.Next, "kongctl rollback") {
		t.Errorf("next: %q", rep.Next)
	}
	e.requireVersion(y, cps...)
	e.requireVersion(y, dps[0])
	e.requireVersion(x, dps[2])
	e.requireServing([]string{dps[0], dps[2]}, labRoutes)

	e.clearFault(bad)
	r = e.kongctl("upgrade", "-i", e.inv, "--yes", "--resume")
	if r.code != 0 {
		t.Fatalf("resume: %s", r)
	}
	e.requireVersion(y, append(cps, dps...)...)
	e.requireServing(dps, labRoutes)
	e.requireRolledInOrder(dps)

	r = e.kongctl("rollback", "-i", e.inv, "--yes")
	if r.code != 0 {
		t.Fatalf("rollback: %s", r)
	}
	e.requireVersion(x, append(cps, dps...)...)
	e.requireServing(dps, labRoutes)
}

// requireRolledInOrder checks the run's journal: each data plane was
// seen connected (on Y, with the configuration hash it serves itself)
// before the next one was stopped.
func (e *env) requireRolledInOrder(dps []string) {
	e.t.Helper()
	dir, err := journal.Latest(e.stateDir)
	if err != nil || dir == "" {
		e.t.Fatalf("no run journal under %s: %v", e.stateDir, err)
	}
	recs, err := journal.Read(dir)
	if err != nil {
		e.t.Fatal(err)
	}
	at := func(step string, st journal.Status) (int, journal.Record) {
		for i, r := range recs {
			if r.Kind == "step" && r.Step == step && r.Status == st {
				return i, r
			}
		}
		return -1, journal.Record{}
	}
	for i, h := range dps {
		ci, rec := at("dp/connected/"+h, journal.Done)
		if ci < 0 {
			e.t.Errorf("%s never seen connected in the journal", h)
			continue
		}
		var seen struct {
			Version    string `json:"version"`
			ConfigHash string `json:"config_hash"`
		}
		_ = json.Unmarshal(rec.Data, &seen)
		if !strings.HasPrefix(seen.Version, "3.10.0.2") || seen.ConfigHash == "" {
			e.t.Errorf("%s connected as %+v", h, seen)
		}
		code, body := get(e.lab.Address(h), 8007, "/status", "")
		if code != 200 || !strings.Contains(body, `"configuration_hash":"`+seen.ConfigHash+`"`) {
			e.t.Errorf("%s serves %d %.200s, the control plane saw hash %s", h, code, body, seen.ConfigHash)
		}
		if i+1 < len(dps) {
			if si, _ := at("dp/stop/"+dps[i+1], journal.Started); si < ci {
				e.t.Errorf("%s stopped (record %d) before %s was seen connected (record %d)", dps[i+1], si, h, ci)
			}
		}
	}
}

// rollingInventory writes the lab's inventory with the data planes rolled
// one at a time.
func (e *env) rollingInventory() string { return e.rollingInventoryBatch(1) }

// rollingInventoryBatch writes the lab's inventory with the data planes
// rolled batch at a time.
func (e *env) rollingInventoryBatch(batch int) string {
	e.t.Helper()
	return e.writeInventory(func(s string) string {
		out := strings.Replace(s, "  on_failure      = \"rollback\"\n",
			fmt.Sprintf("  on_failure      = \"rollback\"\n  data_planes     = \"rolling\"\n  batch           = %d\n  data_plane_timeout = \"60s\"\n", batch), 1)
		if out == s {
			e.t.Fatalf("no on_failure line to extend in the inventory:\n%s", s)
		}
		return out
	})
}

// Issue 17, part 4, through HAProxy (LB=1): a client sends requests
// through the load balancer in front of the data planes throughout one
// `kongctl upgrade` that takes the control plane and then the data planes
// to Y. Each data plane is drained (its sessions ended) before its stop
// and set ready only once the control plane saw it connected on Y: not one
// request fails, and every server ends UP.
func TestHybridDataPlanesRolledThroughLB(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 1, Hybrid: true, DPs: 2, Edition: labenv.EditionEnterprise, From: "3.4.3.5", To: "3.10.0.2", LB: true})
	cps, dps := names(e.lab.KongHosts()), names(e.lab.DataPlanes())
	e.inv = e.rollingInventory()
	e.createEntities(cps[0])
	e.requireServing(dps, labRoutes)
	lbURL := e.lab.LBURL()
	waitRouted(t, lbURL+"/lab", len(dps))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cl, err := traffic.Start(ctx, traffic.Options{URLs: []string{lbURL + "/lab"}, Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	r := e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	time.Sleep(time.Second)
	res := cl.Stop()
	if r.code != 0 {
		t.Fatalf("upgrade: %s", r)
	}
	t.Logf("through HAProxy: %s", res)
	e.requireVersion("3.10.0.2", append(cps, dps...)...)
	if res.Sent < 100 || res.Failed != 0 {
		t.Errorf("through HAProxy during the upgrade: %s, want 100+ sent and none failed: %v", res, res.Samples)
	}
	st := stepTimes(t, e, finalReport(t, r.stdout).RunID)
	for _, h := range dps {
		drained, stopped := st["lb/drain/"+h+" done"], st["dp/stop/"+h+" started"]
		if drained.IsZero() || stopped.Before(drained) {
			t.Errorf("%s: drained %s, stop started %s: want the drain first", h, drained.Format("15:04:05.000"), stopped.Format("15:04:05.000"))
		}
		connected, ready := st["dp/connected/"+h+" done"], st["lb/ready/"+h+" started"]
		if connected.IsZero() || ready.Before(connected) {
			t.Errorf("%s: ready %s, connected %s: want ready after", h, ready.Format("15:04:05.000"), connected.Format("15:04:05.000"))
		}
	}
	e.requireLBUp(dps)
}
