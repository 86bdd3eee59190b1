//go:build integration

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/lab/labenv"
)

// Issue 17, done when (first item): a hybrid fleet of 2 control planes
// and 4 data planes behind HAProxy (LB=1) goes from X to Y completely in
// one `kongctl upgrade` (data_planes = "rolling"), a client sending
// requests through HAProxy throughout, and not one of them fails.
//
// Batch 2: half the data planes roll at once while the other half serve
// (each drained before its stop, ready again only once the control
// plane saw it connected on Y), so the roll takes two batches instead of
// four and no moment has fewer than two servers in the load balancing.
//
// At the end every control plane and data plane runs Y; both control
// planes list the 4 data planes on Y, synced, seen since the run began,
// all with one configuration hash, the one each data plane serves
// itself; and the second batch was stopped only once the first was
// connected and ready again.
func TestHybridAcceptanceThroughLB(t *testing.T) {
	const x, y, batch = "3.4.3.5", "3.10.0.2", 2
	e := upLab(t, labenv.Options{Nodes: 2, Hybrid: true, DPs: 4, Edition: labenv.EditionEnterprise, From: x, To: y, LB: true})
	cps, dps := names(e.lab.KongHosts()), names(e.lab.DataPlanes())
	if len(cps) != 2 || len(dps) != 4 {
		t.Fatalf("lab: control planes %v, data planes %v: want 2 and 4", cps, dps)
	}
	e.inv = e.rollingInventoryBatch(batch)
	e.createEntities(cps[0])
	e.requireServing(dps, labRoutes)
	lbURL := e.lab.LBURL()
	waitRouted(t, lbURL+"/e2e-plain", len(dps))

	t0 := time.Now()
	r, res := e.upgradeThroughLB([]string{lbURL + "/lab", lbURL + "/e2e-plain"})
	if r.code != 0 {
		t.Fatalf("upgrade: %s", r)
	}
	if res.Sent < 100 || res.Failed != 0 {
		t.Errorf("through HAProxy during the upgrade: %s, want 100+ sent and none failed: %v", res, res.Samples)
	}
	e.requireVersion(y, append(cps, dps...)...)
	e.requireDPsSynced(cps, dps, y, t0)
	e.requireBatchesInOrder(finalReport(t, r.stdout).RunID, dps, batch)
	e.requireServing(dps, labRoutes)
	e.requireLBUp(dps)
}

// requireDPsSynced checks that every control plane lists every data
// plane on version want, sync_status normal, seen since since, all with
// the same configuration hash, the one each data plane's own Status API
// says it serves.
func (e *env) requireDPsSynced(cps, dps []string, want string, since time.Time) {
	e.t.Helper()
	served := map[string]string{} // data plane -> its own configuration_hash
	for _, h := range dps {
		code, body := get(e.lab.Address(h), 8007, "/status", "")
		var st struct {
			Hash string `json:"configuration_hash"`
		}
		if code != 200 || json.Unmarshal([]byte(body), &st) != nil || st.Hash == "" {
			e.t.Errorf("%s: GET /status: %d %.200s", h, code, body)
		}
		served[h] = st.Hash
	}
	for _, cp := range cps {
		code, body := get(e.lab.Address(cp), 8001, "/clustering/data-planes", "")
		var list struct {
			Data []struct {
				Hostname   string `json:"hostname"`
				IP         string `json:"ip"`
				Version    string `json:"version"`
				ConfigHash string `json:"config_hash"`
				SyncStatus string `json:"sync_status"`
				LastSeen   int64  `json:"last_seen"`
			} `json:"data"`
		}
		if code != 200 || json.Unmarshal([]byte(body), &list) != nil {
			e.t.Errorf("control plane %s: GET /clustering/data-planes: %d %.300s", cp, code, body)
			continue
		}
		hashes := map[string]bool{}
		for _, h := range dps {
			addr, seen := e.lab.Address(h), ""
			for _, row := range list.Data {
				if row.IP != addr && row.Hostname != h {
					continue
				}
				if row.LastSeen < since.Unix() {
					continue // a row of X, before the run
				}
				seen = fmt.Sprintf("%s %s %s", row.Version, row.SyncStatus, row.ConfigHash)
				if strings.HasPrefix(row.Version, want) && row.SyncStatus == "normal" && row.ConfigHash == served[h] {
					hashes[row.ConfigHash] = true
					seen = ""
					break
				}
			}
			if seen != "" || !hashes[served[h]] {
				e.t.Errorf("control plane %s lists %s as %q, want %s normal with the hash it serves (%s)", cp, h, seen, want, served[h])
			}
		}
		if len(hashes) > 1 {
			e.t.Errorf("control plane %s: the data planes run %d configurations: %v", cp, len(hashes), hashes)
		}
	}
}

// requireBatchesInOrder checks the run's journal: no data plane of a
// batch was stopped before every data plane of the batch before it was
// seen connected on Y and set ready in the load balancer.
func (e *env) requireBatchesInOrder(runID string, dps []string, batch int) {
	e.t.Helper()
	st := stepTimes(e.t, e, runID)
	for i := batch; i < len(dps); i++ {
		stopped := st["dp/stop/"+dps[i]+" started"]
		for _, prev := range dps[(i/batch-1)*batch : (i/batch)*batch] {
			connected, ready := st["dp/connected/"+prev+" done"], st["lb/ready/"+prev+" done"]
			if stopped.IsZero() || connected.IsZero() || ready.IsZero() || stopped.Before(connected) || stopped.Before(ready) {
				e.t.Errorf("%s stopped at %s; %s connected at %s, ready at %s: want the batch before back first",
					dps[i], stopped.Format("15:04:05.000"), prev, connected.Format("15:04:05.000"), ready.Format("15:04:05.000"))
			}
		}
	}
}
