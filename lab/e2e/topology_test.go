//go:build integration

package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kongctl/kongctl/lab/labenv"
)

// prober sends GET /lab through each host's proxy until stopped and counts
// the answers that are not 200.
type prober struct {
	mu       sync.Mutex
	sent     int
	failures []string
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

func (e *env) probe(hosts []string) *prober {
	ctx, cancel := context.WithCancel(context.Background())
	p := &prober{cancel: cancel}
	for _, h := range hosts {
		addr := e.lab.Address(h)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for ctx.Err() == nil {
				code, body := get(addr, 8000, "/lab", "")
				p.mu.Lock()
				p.sent++
				if code != 200 && ctx.Err() == nil {
					p.failures = append(p.failures, fmt.Sprintf("%s %s: %d %.80s", time.Now().Format("15:04:05.000"), h, code, body))
				}
				p.mu.Unlock()
				select {
				case <-ctx.Done():
				case <-time.After(200 * time.Millisecond):
				}
			}
		}()
	}
	return p
}

func (p *prober) stop() (int, []string) {
	p.cancel()
	p.wg.Wait()
	return p.sent, p.failures
}

// Issue 6, case 7: hybrid mode. The control planes are upgraded in place
// (Enterprise 3.4.3.5 → 3.10.0.2, an LTS pair the 3.4 data planes stay
// compatible with); the data planes keep serving before, during and after.
func TestHybridControlPlanesUpgraded(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2, Hybrid: true, DPs: 2, Edition: labenv.EditionEnterprise, From: "3.4.3.5", To: "3.10.0.2"})
	cps, dps := names(e.lab.KongHosts()), names(e.lab.DataPlanes())
	e.createEntities(cps[0])
	e.requireServing(dps, labRoutes)

	p := e.probe(dps)
	r := e.kongctl("upgrade", "-i", e.inv, "--yes")
	sent, failures := p.stop()
	if r.code != 0 {
		t.Fatalf("upgrade: %s", r)
	}
	if sent < 20 || len(failures) > 0 {
		t.Errorf("through the data planes during the upgrade: %d requests, %d not 200:\n%s", sent, len(failures), strings.Join(failures, "\n"))
	}
	e.requireVersion("3.10.0.2", cps...)
	e.requireVersion("3.4.3.5", dps...)
	e.requireServing(dps, labRoutes)
}

// Issue 6, case 7: a data plane the target control planes would refuse is
// reported by `kongctl plan`, which exits non-zero. The lab's 2.8.4 data
// planes are a major behind 3.4.2; one of them is reinstalled with 3.9.1,
// a newer minor than the target.
func TestHybridIncompatibleDataPlaneInPlan(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 1, Hybrid: true, DPs: 2, From: "2.8.4", To: "3.4.2"})
	dps := names(e.lab.DataPlanes())
	newer := dps[1]
	ctx, cancel := shortCtx()
	defer cancel()
	pkg := e.lab.NodePackagesDir() + "/" + labenv.PackageFile(labenv.EditionOSS, "3.9.1")
	if out, err := e.lab.Exec(ctx, newer, "dpkg -i "+pkg); err != nil {
		t.Fatalf("%s: install 3.9.1: %v: %s", newer, err, out)
	}
	e.requireVersion("3.9.1", newer)

	r := e.kongctl("plan", "-i", e.inv)
	if r.code == 0 {
		t.Fatalf("plan passed with incompatible data planes: %s", r)
	}
	all := r.stdout + r.stderr
	for _, want := range []string{
		newer + "]: data plane (from inventory) on 3.9.1 will be refused by control planes on 3.4.2",
		"newer minor",
		dps[0] + "]: data plane (from inventory) on 2.8.4 will be refused",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("plan output lacks %q: %s", want, r)
		}
	}
	e.requireVersion("2.8.4", names(e.lab.KongHosts())...)
}

// Issue 6, case 8: Y on new hosts (hosts with role spare): the spares end
// serving Y, the old hosts stopped with X installed (ready for a rollback),
// and the report gives the downtime.
func TestNewHosts(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2, Spares: 2, From: "2.8.4", To: "3.4.2"})
	olds, spares := names(e.lab.KongHosts()), names(e.lab.Spares())
	e.createEntities(olds[0])
	e.requireServing(olds, labRoutes)

	r := e.kongctl("upgrade", "-i", e.inv, "--yes")
	if r.code != 0 {
		t.Fatalf("upgrade: %s", r)
	}
	if !strings.Contains(r.stdout, "\ndowntime: ") {
		t.Errorf("the report has no downtime line: %s", r)
	}
	e.requireVersion("3.4.2", spares...)
	e.requireServing(spares, labRoutes)
	e.requireVersion("2.8.4", olds...)
	for _, h := range olds {
		if code, _ := get(e.lab.Address(h), 8000, "/lab", ""); code != 0 {
			t.Errorf("%s: the old host still answers on its proxy (%d); want it stopped", h, code)
		}
	}
}
