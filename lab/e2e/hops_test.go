//go:build integration

package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kongctl/kongctl/lab/labenv"
)

// downtime is the report's first stop → all nodes serving, 0 when none.
func (r reportJSON) downtime() float64 {
	if r.Downtime == nil {
		return 0
	}
	return r.Downtime.Duration
}

// Issue 22: Enterprise 3.4.3.5 → 3.14.0.0 is two LTS hops (3.4→3.10,
// 3.10→3.14), run in one window through 3.10.0.2. First a fault in the
// second hop's `migrations up` (a 3.14 migration fails) rolls the fleet
// back to 3.4.3.5 with the database as it was; then the clean run leaves
// the fleet on 3.14 with its migrations complete and the report listing
// both hops. Then, on the same lab, the downtime of the two-hop run is
// set beside two single-hop runs' (logged, not asserted).
func TestHopsEnterprise34To314(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2, Edition: labenv.EditionEnterprise, From: "3.4.3.5", To: "3.14.0.0"})
	nodes := names(e.lab.KongHosts())
	mig := nodes[0]
	e.createEntities(mig)
	e.requireServing(nodes, labRoutes)
	before := e.fingerprint()

	// The plan shows both hops and stages nothing.
	p := e.kongctl("plan", "-i", e.inv, "--output", "json")
	if p.code != 0 || !strings.Contains(p.stdout, `"to":"3.10.0.2"`) || !strings.Contains(p.stdout, "kong-enterprise-edition_3.10.0.2_amd64.deb") {
		t.Fatalf("plan does not show the 3.10.0.2 hop: %s", p)
	}

	// A 3.14 migration fails: the second hop's up.
	e.writeFault(mig, "FAKE_KONG_MIGRATION_FAIL=027_31000_to_31100")
	r := e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	e.clearFault(mig)
	rep := finalReport(t, r.stdout)
	if rep.Outcome != "rolled-back" || !strings.Contains(rep.Error, "027_31000_to_31100") {
		t.Fatalf("fault in the second hop: outcome %s, error %q", rep.Outcome, rep.Error)
	}
	if len(rep.Hops) != 2 || !rep.Hops[0].Done || rep.Hops[1].Done {
		t.Errorf("rolled-back report hops %+v: want the first done, the second not", rep.Hops)
	}
	e.requireVersion("3.4.3.5", nodes...)
	if diff := diffFingerprints(before, e.fingerprint()); len(diff) > 0 {
		t.Errorf("database after the rollback differs from before the upgrade: %v", diff)
	}
	e.requireServing(nodes, labRoutes)

	// The clean run.
	two := e.upgradeTo(nodes, labRoutes, "3.14.0.0", "upgrade", "-i", e.inv, "--yes", "--output", "json")
	if len(two.Hops) != 2 || two.Hops[0].To != "3.10.0.2" || two.Hops[1].From != "3.10.0.2" || two.Hops[1].To != "3.14.0.0" {
		t.Fatalf("report hops %+v", two.Hops)
	}
	for _, h := range two.Hops {
		if !h.Done || h.Up <= 0 || h.Install <= 0 || len(h.Pending) == 0 {
			t.Errorf("hop %s → %s: %+v", h.From, h.To, h)
		}
		t.Logf("hop %s → %s: install %.1fs, up %.1fs, finish %.1fs, finished %v", h.From, h.To, h.Install, h.Up, h.Finish, h.Pending)
	}
	// Only the migration node ever held the intermediate version.
	for _, h := range nodes[1:] {
		ctx, cancel := shortCtx()
		out, _ := e.lab.SSH(ctx, h, "ls /var/lib/kongctl/packages/")
		cancel()
		if strings.Contains(out, "3.10.0.2") {
			t.Errorf("%s staged the intermediate package: %s", h, out)
		}
	}

	// The downtime beside two single hops on the same lab: back to X
	// (the on-demand rollback of the two-hop run), then 3.4 → 3.10 and
	// 3.10 → 3.14.
	if r := e.kongctl("rollback", "-i", e.inv, "--yes"); r.code != 0 {
		t.Fatalf("rollback: %s", r)
	}
	e.requireVersion("3.4.3.5", nodes...)
	var single []float64
	for _, hop := range [][2]string{{"3.4.3.5", "3.10.0.2"}, {"3.10.0.2", "3.14.0.0"}} {
		from, to := hop[0], hop[1]
		inv := e.writeInventory(func(s string) string {
			return strings.Replace(s, `from            = "3.4.3.5"`, `from            = "`+from+`"`, 1)
		})
		r := e.kongctl("upgrade", "-i", inv, "--yes", "--to", to, "--output", "json")
		if r.code != 0 {
			t.Fatalf("upgrade to %s: %s", to, r)
		}
		single = append(single, finalReport(t, r.stdout).downtime())
	}
	e.requireVersion("3.14.0.0", nodes...)
	t.Logf("downtime (first stop → all nodes serving): two hops in one window %.1fs; single hops %.1fs + %.1fs = %.1fs",
		two.downtime(), single[0], single[1], single[0]+single[1])
}

// Issue 22: OSS 2.8.4 → 3.9.3 in one run through the 3.4 LTS and every
// minor after it (2.8→3.4, then 3.4→3.5 … 3.8→3.9): six hops, one window;
// the entities made on 2.8 are served on 3.9.
func TestHopsOSS28To39(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2, From: "2.8.4", To: "3.9.3"})
	nodes := names(e.lab.KongHosts())
	e.createEntities(nodes[0])
	e.requireServing(nodes, labRoutes)
	rep := e.upgradeTo(nodes, labRoutes, "3.9.3", "upgrade", "-i", e.inv, "--yes", "--output", "json")
	var path []string
	for _, h := range rep.Hops {
		if !h.Done {
			t.Errorf("hop %s → %s not done", h.From, h.To)
		}
		path = append(path, h.To)
	}
	if got, want := strings.Join(path, " "), "3.4.2 3.5.0 3.6.1 3.7.1 3.8.1 3.9.3"; got != want {
		t.Errorf("hops to %s, want %s", got, want)
	}
	t.Logf("2.8.4 → 3.9.3 in %d hops: downtime %.1fs", len(rep.Hops), rep.downtime())
}

// Issue 22: a controller killed (SIGKILL) between the hops resumes with
// the second hop and finishes: the first hop's steps are not run again.
func TestHopsResumeAfterControllerKilled(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2, Edition: labenv.EditionEnterprise, From: "3.4.3.5", To: "3.14.0.0"})
	nodes := names(e.lab.KongHosts())
	e.requireServing(nodes, []route{{"/lab", ""}})

	run := e.start("upgrade", "-i", e.inv, "--yes", "--output", "json")
	ev := run.waitEvent(t, 3*time.Minute, "the end of the first hop", func(ev event) bool {
		return ev.Type == "message" && strings.HasPrefix(ev.Message, "hop 1/2 done")
	})
	if err := run.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := run.wait(t, 30*time.Second); code != -int(syscall.SIGKILL) {
		t.Fatalf("kongctl was not killed by SIGKILL: exit %d", code)
	}
	// Killed between the hops: the first finished, Y's not.
	done := e.journalSteps(ev.RunID, "done")
	if done["hop/3.10.0.2/migrate/finish"] != 1 || done["migrate/finish"] != 0 {
		t.Fatalf("killed at the wrong moment: first hop finished %d, Y's finish done %d", done["hop/3.10.0.2/migrate/finish"], done["migrate/finish"])
	}
	rep := e.upgradeTo(nodes, []route{{"/lab", ""}}, "3.14.0.0", "upgrade", "-i", e.inv, "--resume", "--yes", "--output", "json")
	if rep.RunID != ev.RunID || len(rep.Hops) != 2 || !rep.Hops[0].Done || !rep.Hops[1].Done {
		t.Errorf("resumed report: run %s (killed %s), hops %+v", rep.RunID, ev.RunID, rep.Hops)
	}
	// Each hop's steps started once: the resume went on from the journal.
	started := e.journalSteps(ev.RunID, "started")
	for _, step := range []string{"hop/3.10.0.2/migrate/up", "hop/3.10.0.2/migrate/finish", "migrate/up", "migrate/finish", "backup"} {
		if started[step] != 1 {
			t.Errorf("journal: step %s started %d times, want 1 (%v)", step, started[step], started)
		}
	}
}

// journalSteps counts run's step records of status, by step.
func (e *env) journalSteps(run, status string) map[string]int {
	out := map[string]int{}
	for _, rec := range e.readJournals()[run] {
		if rec.Kind == "step" && rec.Status == status {
			out[rec.Step]++
		}
	}
	return out
}

// upgradeTo runs kongctl with args, which must succeed and leave every
// node on version with its migrations complete, serving routes; it
// returns the run's report.
func (e *env) upgradeTo(nodes []string, routes []route, version string, args ...string) reportJSON {
	e.t.Helper()
	r := e.kongctl(args...)
	if r.code != 0 {
		e.t.Fatalf("%s: %s", strings.Join(args, " "), r)
	}
	e.requireVersion(version, nodes...)
	if code, out := e.migrationsList(nodes[len(nodes)-1]); code != 0 {
		e.t.Errorf("kong migrations list on %s: exit %d: %s", nodes[len(nodes)-1], code, out)
	}
	e.requireServing(nodes, routes)
	return finalReport(e.t, r.stdout)
}
