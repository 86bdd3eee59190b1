//go:build integration

package e2e

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/lab/labenv"
)

// stagedRef is what the journal keeps of a host's package after staging.
type stagedRef struct {
	FilePackage string `json:"file_package"`
	FileVersion string `json:"file_version"`
	DepsMet     bool   `json:"deps_met"`
}

// stagedY reads Y's refs from the preflight step of the only run's
// journal.
func (e *env) stagedY() map[string]stagedRef {
	e.t.Helper()
	files := e.journalFiles()
	if len(files) != 1 {
		e.t.Fatalf("want one run journal, have %q", files)
	}
	var out map[string]stagedRef
	e.scanJournal(files[0], func(line []byte) {
		var r struct {
			Step string `json:"step"`
			Data struct {
				PkgY map[string]stagedRef `json:"pkg_y"`
			} `json:"data"`
		}
		if json.Unmarshal(line, &r) == nil && r.Step == "preflight" && r.Data.PkgY != nil {
			out = r.Data.PkgY
		}
	})
	if out == nil {
		e.t.Fatal("the journal has no preflight data with Y's packages")
	}
	return out
}

// ssh runs cmd on host and fails the test when it fails.
func (e *env) ssh(host, cmd string) string {
	e.t.Helper()
	ctx, cancel := shortCtx()
	defer cancel()
	out, err := e.lab.SSH(ctx, host, cmd)
	if err != nil {
		e.t.Fatalf("%s: %s: %v: %s", host, cmd, err, out)
	}
	return out
}

// Issue 15, item 3: with the staged .deb's dependencies met (checked at
// staging, kept in the journal), the install inside the downtime is a
// plain dpkg -i: dpkg's log shows the archive installed by dpkg itself,
// and apt's history has no new entry.
func TestUpgradeInstallsWithDpkgAlone(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2, From: "2.8.4", To: "3.4.2"})
	nodes := names(e.lab.KongHosts())
	e.createEntities(nodes[0])
	dpkgLines, aptRuns := map[string]int{}, map[string]string{}
	for _, h := range nodes {
		n, err := strconv.Atoi(strings.TrimSpace(e.ssh(h, "wc -l < /var/log/dpkg.log")))
		if err != nil {
			t.Fatalf("%s: dpkg.log length: %v", h, err)
		}
		dpkgLines[h] = n
		aptRuns[h] = e.ssh(h, "grep -c '^Commandline' /var/log/apt/history.log || true")
	}

	r := e.kongctl("upgrade", "-i", e.inv, "--yes")
	if r.code != 0 {
		t.Fatalf("upgrade: %s", r)
	}
	e.requireVersion("3.4.2", nodes...)
	staged := e.stagedY()
	for _, h := range nodes {
		if s := staged[h]; s.FilePackage != "kong" || s.FileVersion != "3.4.2" || !s.DepsMet {
			t.Errorf("%s: staging recorded %+v, want kong 3.4.2 with its dependencies met", h, s)
		}
		log := e.ssh(h, "tail -n +"+strconv.Itoa(dpkgLines[h]+1)+" /var/log/dpkg.log")
		// dpkg -i logs "startup archives install"; apt-get drives dpkg
		// with --unpack / --configure ("startup archives unpack").
		if !strings.Contains(log, "startup archives install") || !strings.Contains(log, "upgrade kong:amd64 2.8.4 3.4.2") {
			t.Errorf("%s: dpkg's log shows no dpkg -i of kong 3.4.2:\n%s", h, log)
		}
		// Staging stamped the file's sha256: the install did not read it again.
		if out := e.ssh(h, "ls -a /var/lib/kongctl/packages/"); !strings.Contains(out, ".kong_3.4.2_amd64.deb.sha256") {
			t.Errorf("%s: no sha256 stamp beside the staged package:\n%s", h, out)
		}
		if got := e.ssh(h, "grep -c '^Commandline' /var/log/apt/history.log || true"); got != aptRuns[h] {
			t.Errorf("%s: apt ran during the upgrade (history entries %s → %s)", h, strings.TrimSpace(aptRuns[h]), strings.TrimSpace(got))
		}
	}
	e.requireServing(nodes, labRoutes)
}

// The same on RPM hosts without dnf: staging checks the dependencies with
// rpm -U --test, and rpm -U alone upgrades every node.
func TestUpgradeInstallsWithRPMAlone(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2, From: "2.8.4", To: "3.4.2", PackageFormat: "rpm"})
	nodes := names(e.lab.KongHosts())
	e.createEntities(nodes[0])
	r := e.kongctl("upgrade", "-i", e.inv, "--yes")
	if r.code != 0 {
		t.Fatalf("upgrade: %s", r)
	}
	e.requireVersion("3.4.2", nodes...)
	e.requireRPMPackage("kong", "3.4.2", nodes...)
	staged := e.stagedY()
	for _, h := range nodes {
		if s := staged[h]; s.FilePackage != "kong" || s.FileVersion != "3.4.2-1" || !s.DepsMet {
			t.Errorf("%s: staging recorded %+v, want kong 3.4.2-1 with its dependencies met", h, s)
		}
	}
	e.requireServing(nodes, labRoutes)
}
