//go:build integration

package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/lab/labenv"
)

// planFindings runs `kongctl plan -o json` and returns its findings and
// whether it has a rehearsal.
func (e *env) planFindings(inv string) (findings []struct{ Severity, Code, Host, Message, Fix string }, rehearsed bool) {
	e.t.Helper()
	r := e.kongctl("plan", "-i", inv, "--output", "json")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var ev struct {
		Payload struct {
			Findings  []struct{ Severity, Code, Host, Message, Fix string } `json:"findings"`
			Rehearsal json.RawMessage                                       `json:"rehearsal"`
		} `json:"payload"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &ev); err != nil {
		e.t.Fatalf("plan JSON: %v\n%s", err, r)
	}
	return ev.Payload.Findings, len(ev.Payload.Rehearsal) > 0 && string(ev.Payload.Rehearsal) != "null"
}

// requirePlanFinding fails unless the plan has a finding of code on host,
// of severity, whose message contains msg, and no rehearsal.
func (e *env) requirePlanFinding(inv, code, host, severity, msg string) {
	e.t.Helper()
	fs, rehearsed := e.planFindings(inv)
	for _, f := range fs {
		if f.Code == code && f.Host == host && f.Severity == severity && strings.Contains(f.Message, msg) {
			e.t.Logf("plan: %s %s: %s (fix: %s)", f.Severity, f.Code, f.Message, f.Fix)
			if rehearsed {
				e.t.Errorf("plan rehearsed although %s", code)
			}
			return
		}
	}
	e.t.Fatalf("plan: no %s %s finding on %s containing %q: %+v", severity, code, host, msg, fs)
}

// Issue 23, bad input: a rehearsal host that cannot do its work is named,
// with the reason, before any stop, on one lab: Kong's database role
// without CREATEDB (the plan warns that the rehearsal cannot run, the
// upgrade is refused asking for --no-rehearsal), the database server out
// of the rehearsal host's reach, its disk full, and another OS family than
// the fleet's (rpm against deb). Nothing of X changes.
func TestRehearsalHostRefused(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 1, Spares: 1, From: "2.8.4", To: "3.4.2", NoSeed: true})
	nodes := names(e.lab.KongHosts())
	inv := e.rehearsalInventory()
	const rh = "spare-1"
	db := e.lab.DBHost()
	pids := e.kongPIDs(nodes)
	before := e.fingerprint()
	exec := func(host, cmd string) {
		t.Helper()
		ctx, cancel := shortCtx()
		defer cancel()
		if out, err := e.lab.Exec(ctx, host, cmd); err != nil {
			t.Fatalf("%s: %s: %v: %s", host, cmd, err, out)
		}
	}

	// Kong's role without CREATEDB: the plan says why the rehearsal cannot
	// run; the upgrade is refused in preflight, asking for --no-rehearsal.
	exec(db.Name, `runuser -u postgres -- psql -X -q -h /run/postgresql -d postgres -c 'ALTER ROLE kong NOCREATEDB'`)
	e.requirePlanFinding(inv, "rehearsal-createdb", rh, "warning", "the rehearsal cannot run: role kong has neither CREATEDB nor SUPERUSER")
	r := e.kongctl("upgrade", "-i", inv, "--yes", "--output", "json")
	if r.code != 1 {
		t.Fatalf("upgrade without CREATEDB: want exit 1 (refused in preflight): %s", r)
	}
	requireFinding(t, finalReport(t, r.stdout), "rehearsal-createdb", rh, "error", "rehearsal host spare-1: the rehearsal cannot run: role kong has neither CREATEDB", "grant CREATEDB to Kong's database role, or pass --no-rehearsal")
	exec(db.Name, `runuser -u postgres -- psql -X -q -h /run/postgresql -d postgres -c 'ALTER ROLE kong CREATEDB'`)

	// The database server out of reach from the rehearsal host only.
	exec(rh, "ip route add prohibit "+db.Address+"/32")
	e.requirePlanFinding(inv, "rehearsal-database", rh, "error", "rehearsal host spare-1: cannot reach the database server "+db.Address+":5432")
	exec(rh, "ip route del prohibit "+db.Address+"/32")

	// No room for Y on the rehearsal host.
	ctx, cancel := shortCtx()
	if err := e.lab.FillDisk(ctx, rh, ""); err != nil {
		t.Fatal(err)
	}
	cancel()
	e.requirePlanFinding(inv, "rehearsal-disk", rh, "error", "rehearsal host spare-1: 0 MiB free")
	ctx, cancel = shortCtx()
	if err := e.lab.FreeDisk(ctx, rh, ""); err != nil {
		t.Fatal(err)
	}
	cancel()

	// Another OS family: apt and dpkg gone from the rehearsal host's view
	// (as the lab's rpm hosts have it), rpm left.
	exec(rh, `for f in apt apt-get apt-cache apt-mark dpkg dpkg-query dpkg-deb dpkg-divert dpkg-split dpkg-trigger; do rm -f /usr/bin/$f /usr/sbin/$f; done; command -v rpm`)
	e.requirePlanFinding(inv, "rehearsal-os", rh, "error", "rehearsal host spare-1: runs a rpm-based OS, the fleet (kong-1) a deb-based one")

	if got := e.kongPIDs(nodes); !equalMaps(pids, got) {
		t.Errorf("Kong restarted on a node (pids %v, then %v)", pids, got)
	}
	e.requireVersion("2.8.4", nodes...)
	if d := diffFingerprints(before, e.fingerprint()); len(d) > 0 {
		t.Fatalf("X's database changed: %v", d)
	}
	if s := e.scratchDatabases(); s != "" {
		t.Fatalf("scratch databases left: %s", s)
	}
}
