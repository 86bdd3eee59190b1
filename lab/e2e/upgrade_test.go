//go:build integration

package e2e

import (
	"os"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/lab/labenv"
)

// Issue 6, case 1: a 3-node OSS fleet upgraded in place 2.8.4 → 3.4.2 with
// the real CLI; the entities created before the upgrade (the lab's and a
// regex route of the test's own) are served through every proxy after it.
// The packages come from the nodes' apt repository (issue 5: package
// { source = "repository" }, apt-get download on every node).
func TestUpgradeInPlaceOSS(t *testing.T) {
	// A package's size is unknown before the download: kongctl asks for
	// 512 MiB free, more than the lab's default disk.
	e := upLab(t, labenv.Options{Nodes: 3, From: "2.8.4", To: "3.4.2", Repository: true, DiskMB: 1024})
	if b, err := os.ReadFile(e.inv); err != nil || !strings.Contains(string(b), `source = "repository"`) {
		t.Fatalf("the lab's inventory does not use the repository (%v):\n%s", err, b)
	}
	nodes := names(e.lab.KongHosts())
	e.createEntities(nodes[0])
	e.requireServing(nodes, labRoutes)

	r := e.kongctl("upgrade", "-i", e.inv, "--yes")
	if r.code != 0 {
		t.Fatalf("upgrade: %s", r)
	}
	e.requireVersion("3.4.2", nodes...)
	e.requireAgentKinds(nodes)
	for _, h := range nodes {
		ctx, cancel := shortCtx()
		out, err := e.lab.SSH(ctx, h, "ls /var/lib/kongctl/packages/")
		cancel()
		if err != nil || !strings.Contains(out, "kong_3.4.2_amd64.deb") || !strings.Contains(out, "kong_2.8.4_amd64.deb") {
			t.Errorf("%s: the staged packages (Y, and X for rollback) are not both there: %v: %s", h, err, out)
		}
		ctx, cancel = shortCtx()
		out, err = e.lab.SSH(ctx, h, "apt-mark showhold")
		cancel()
		if err != nil || strings.TrimSpace(out) != "kong" {
			t.Errorf("%s: kong is not held against automatic upgrades: apt-mark showhold = %q (%v)", h, out, err)
		}
	}
	if code, out := e.migrationsList(nodes[len(nodes)-1]); code != 0 {
		t.Errorf("kong migrations list on %s: exit %d: %s", nodes[len(nodes)-1], code, out)
	}
	e.requireServing(nodes, labRoutes)
}

// Issue 6, case 2: Enterprise 3.4.3.5 → 3.10.0.2, on RPM hosts with dnf
// (issue 5: no apt or dpkg on the nodes, so the agent stages the .rpm;
// issue 15: its dependencies met, rpm -U installs it); then `kongctl rollback` on demand downgrades every
// node (rpm --oldpackage) and restores the database as it was.
func TestUpgradeInPlaceEnterpriseDNF(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 3, Edition: labenv.EditionEnterprise, From: "3.4.3.5", To: "3.10.0.2", PackageFormat: "dnf"})
	nodes := names(e.lab.KongHosts())
	const pkg = "kong-enterprise-edition"
	e.requireRPMPackage(pkg, "3.4.3.5", nodes...)
	e.createEntities(nodes[0])
	e.requireServing(nodes, labRoutes)
	before := e.fingerprint()

	r := e.kongctl("upgrade", "-i", e.inv, "--yes")
	if r.code != 0 {
		t.Fatalf("upgrade: %s", r)
	}
	e.requireVersion("3.10.0.2", nodes...)
	e.requireRPMPackage(pkg, "3.10.0.2", nodes...)
	for _, h := range nodes {
		// Staging found 3.10.0.2's dependencies met (rpm -U --test): the
		// install inside the downtime was rpm -U alone, dnf never ran it.
		ctx, cancel := shortCtx()
		out, err := e.lab.SSH(ctx, h, "grep -sh 'Command: dnf .*"+pkg+"_3.10.0.2_amd64.rpm' /var/log/dnf.log || true")
		cancel()
		if err != nil || strings.TrimSpace(out) != "" {
			t.Errorf("%s: dnf installed %s 3.10.0.2, want rpm -U alone: %v\n%q", h, pkg, err, out)
		}
	}
	if code, out := e.migrationsList(nodes[1]); code != 0 {
		t.Errorf("kong migrations list on %s: exit %d: %s", nodes[1], code, out)
	}
	e.requireServing(nodes, labRoutes)

	r = e.kongctl("rollback", "-i", e.inv, "--yes")
	if r.code != 0 {
		t.Fatalf("rollback: %s", r)
	}
	e.requireVersion("3.4.3.5", nodes...)
	e.requireRPMPackage(pkg, "3.4.3.5", nodes...)
	for _, h := range nodes {
		// X's reinstall takes the package manager's path (and its hold):
		// dnf's log names the agent's downgrade.
		ctx, cancel := shortCtx()
		out, err := e.lab.SSH(ctx, h, "grep -h 'Command: dnf downgrade -y .*"+pkg+"_3.4.3.5_amd64.rpm' /var/log/dnf.log")
		cancel()
		if err != nil || out == "" {
			t.Errorf("%s: dnf's log has no downgrade to %s 3.4.3.5: %v\n%s", h, pkg, err, out)
		}
	}
	e.requireServing(nodes, labRoutes)
	if d := diffFingerprints(before, e.fingerprint()); len(d) > 0 {
		t.Errorf("database after the rollback differs from before the upgrade:\n%s", strings.Join(d, "\n"))
	}
}

// requireRPMPackage checks that rpm's database on every host holds pkg at
// version want, and that the host has no dpkg.
func (e *env) requireRPMPackage(pkg, want string, hosts ...string) {
	e.t.Helper()
	for _, h := range hosts {
		ctx, cancel := shortCtx()
		out, err := e.lab.SSH(ctx, h, "rpm -q --qf '%{VERSION}' "+pkg+"; if command -v dpkg; then echo ' has dpkg'; fi")
		cancel()
		if err != nil || strings.TrimSpace(out) != want {
			e.t.Errorf("%s: rpm -q %s = %q (%v), want %s and no dpkg", h, pkg, out, err, want)
		}
	}
}

// Issue 6, case 3: Y refuses to start on one node; the run rolls back
// (exit 3): every node on 2.8.4 and serving, the database as it was. The
// nodes are RPM hosts without dnf (issue 5): rpm -U installs 3.4.2 and
// rpm -U --oldpackage puts 2.8.4 back.
func TestStartFailureRollsBack(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 3, From: "2.8.4", To: "3.4.2", PackageFormat: "rpm"})
	nodes := names(e.lab.KongHosts())
	e.createEntities(nodes[0])
	e.requireServing(nodes, labRoutes)
	before := e.fingerprint()

	bad := nodes[1]
	run := e.upgradeRefusedStart(bad)
	if !strings.Contains(run.stdout.String(), bad) {
		t.Errorf("the events do not name the failed host %s", bad)
	}
	e.requireVersion("2.8.4", nodes...)
	e.requireRPMPackage("kong", "2.8.4", nodes...)
	e.requireServing(nodes, labRoutes)
	if d := diffFingerprints(before, e.fingerprint()); len(d) > 0 {
		t.Errorf("database differs from before the upgrade:\n%s", strings.Join(d, "\n"))
	}
}

// Issue 6, case 6, and issue 22: a target with no path (a series Kong
// never shipped, a downgrade) is refused before any host is reached,
// naming the nearest valid target. (2.8.4 → 3.9.1, refused before, now
// runs as hops in one window: hops_test.go.)
func TestUnsupportedPathRefused(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 3, From: "2.8.4", To: "3.4.2"})
	nodes := names(e.lab.KongHosts())
	before := e.fingerprint()
	pidsBefore := e.kongPIDs(nodes)

	for to, want := range map[string]string{
		"3.20.0": "Kong never shipped a 3.20 series; the nearest valid target is 3.14",
		"2.8.0":  "an in-place downgrade is not supported",
	} {
		r := e.kongctl("upgrade", "-i", e.inv, "--yes", "--to", to)
		if r.code == 0 {
			t.Fatalf("upgrade to %s succeeded: %s", to, r)
		}
		all := r.stdout + r.stderr
		if !strings.Contains(all, want) || !strings.Contains(all, "nearest valid target") {
			t.Errorf("upgrade to %s: output lacks %q and the nearest valid target: %s", to, want, r)
		}
		if strings.Contains(all, "preflight") {
			t.Errorf("upgrade to %s reached preflight (hosts touched): %s", to, r)
		}
	}
	if pids := e.kongPIDs(nodes); !equalMaps(pids, pidsBefore) {
		t.Errorf("Kong restarted on some node: pids before %v, after %v", pidsBefore, pids)
	}
	e.requireVersion("2.8.4", nodes...)
	e.requireServing(nodes, []route{{"/lab", ""}, {"/lab-host", "lab.example.test"}})
	if d := diffFingerprints(before, e.fingerprint()); len(d) > 0 {
		t.Errorf("database changed by a refused upgrade:\n%s", strings.Join(d, "\n"))
	}
}

// A proxy-only node (admin_listen = off) is refused before anything stops:
// kongctl reads the version Kong runs and /metrics through the node's own
// Admin API, and would otherwise find out only once Y never read healthy.
func TestAdminAPIOffRefused(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2, From: "2.8.4", To: "3.4.2"})
	nodes := names(e.lab.KongHosts())
	ctx, cancel := shortCtx()
	defer cancel()
	if out, err := e.lab.SSH(ctx, nodes[1], "sed -i 's/^admin_listen = .*/admin_listen = off/' /etc/kong/kong.conf && kong restart -c /etc/kong/kong.conf"); err != nil {
		t.Fatalf("%s: admin_listen = off: %v: %s", nodes[1], err, out)
	}
	pidsBefore := e.kongPIDs(nodes)

	r := e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	if r.code != 1 {
		t.Fatalf("upgrade: want exit 1 (refused in preflight): %s", r)
	}
	rep := finalReport(t, r.stdout)
	if msg, ok := rep.finding("admin-api-off"); !ok || !strings.Contains(msg, "admin_listen is off") {
		t.Errorf("no admin-api-off finding: %+v", rep.Findings)
	}
	for _, f := range rep.Findings {
		if f.Code == "admin-api-off" && f.Host != nodes[1] {
			t.Errorf("admin-api-off on %s, want %s", f.Host, nodes[1])
		}
	}
	if pids := e.kongPIDs(nodes); !equalMaps(pids, pidsBefore) {
		t.Errorf("Kong restarted on some node: pids before %v, after %v", pidsBefore, pids)
	}
	e.requireVersion("2.8.4", nodes...)
}
