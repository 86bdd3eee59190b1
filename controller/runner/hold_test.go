package runner

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/controller/fleet"
)

// The hold after the fleet serves: set on the hosts whose install was the
// lean one, skipped where the package manager's install held Y already;
// a hold that fails is a warning for its host, not a failure.
func TestHoldPackages(t *testing.T) {
	hosts := []string{"kong-1", "kong-2", "kong-3"}
	c := newFakeCluster(t, "2.8.4", hosts...)
	c.fail = func(call string) error {
		if call == "kong-2 hold kong 3.4.2" {
			return errors.New("host kong-2: agent package.hold: command_failed: could not hold kong against automatic upgrades (dpkg --set-selections)")
		}
		return nil
	}
	spec := testSpec(t, hosts...)
	spec.withDefaults()
	e := newEngine(spec, c, c.clk, nil, nil)
	y := fleet.PackageRef{Name: "kong", Version: "3.4.2", Format: "deb", DepsMet: true}
	apt := y
	apt.DepsMet = false
	e.pf.PkgY = map[string]fleet.PackageRef{"kong-1": y, "kong-2": y, "kong-3": apt}

	e.holdPackages(context.Background(), hosts)

	var holds []string
	for _, call := range c.Calls() {
		if strings.Contains(call, " hold ") {
			holds = append(holds, call)
		}
	}
	slices.Sort(holds)
	if want := []string{"kong-1 hold kong 3.4.2", "kong-2 hold kong 3.4.2"}; !slices.Equal(holds, want) {
		t.Fatalf("holds %q, want %q (none on kong-3, held by apt's install)", holds, want)
	}
	var found []Finding
	for _, f := range e.findings {
		if f.Code == "hold" {
			found = append(found, f)
		}
	}
	if len(found) != 1 || found[0].Host != "kong-2" || found[0].Severity != SevWarning || !strings.Contains(found[0].Message, "could not hold kong") || !strings.Contains(found[0].Fix, "apt-mark hold kong") {
		t.Fatalf("hold findings %+v, want one warning for kong-2 with the fix", found)
	}
	if errs := e.errorFindings(); len(errs) != 0 {
		t.Errorf("a failed hold made error findings: %+v", errs)
	}
}

// Staging keeps what each host found in the file on its ref: Y's
// dependencies (X's never: its reinstall on rollback takes the package
// manager's path), an info finding where they are not met, and an error
// when the file holds another package or version.
func TestStagePackagesRecordsWhatTheFileHolds(t *testing.T) {
	hosts := []string{"kong-1", "kong-2", "kong-3"}
	c := newFakeCluster(t, "2.8.4", hosts...)
	c.nodes["kong-2"].stagedFile = func(p fleet.PackageRef) fleet.StagedPackage {
		return fleet.StagedPackage{Package: p.Name, Version: p.Version + "-1", DepsMet: false, DepsDetail: "kong : Depends: libyaml-0-2 but it is not installable"}
	}
	c.nodes["kong-3"].stagedFile = func(p fleet.PackageRef) fleet.StagedPackage {
		return fleet.StagedPackage{Package: "kong-enterprise-edition", Version: "3.4.3.5", DepsMet: true}
	}
	spec := testSpec(t, hosts...)
	spec.withDefaults()
	e := newEngine(spec, c, c.clk, nil, nil)
	pf := &preflightData{PkgY: map[string]fleet.PackageRef{}, PkgX: map[string]fleet.PackageRef{}}
	for _, h := range hosts {
		pf.PkgY[h] = fleet.PackageRef{Name: "kong", Version: "3.4.2", Format: "deb"}
		pf.PkgX[h] = fleet.PackageRef{Name: "kong", Version: "2.8.4", Format: "deb"}
	}

	e.stagePackages(context.Background(), pf)

	if y, x := pf.PkgY["kong-1"], pf.PkgX["kong-1"]; !y.DepsMet || y.FilePackage != "kong" || y.FileVersion != "3.4.2" || x.DepsMet || x.FileVersion != "2.8.4" {
		t.Errorf("kong-1: Y %+v, X %+v: want both files read, deps met on Y only", y, x)
	}
	if y := pf.PkgY["kong-2"]; y.DepsMet || y.FileVersion != "3.4.2-1" {
		t.Errorf("kong-2: Y %+v: want 3.4.2-1 read, deps not met", y)
	}
	var info, stage []Finding
	for _, f := range e.findings {
		switch f.Code {
		case "install-path":
			info = append(info, f)
		case "stage":
			stage = append(stage, f)
		}
	}
	if len(info) != 1 || info[0].Host != "kong-2" || info[0].Severity != SevInfo || !strings.Contains(info[0].Message, "libyaml-0-2") {
		t.Errorf("install-path findings %+v, want one info for kong-2 naming the missing dependency", info)
	}
	if len(stage) != 1 || stage[0].Host != "kong-3" || stage[0].Severity != SevError || !strings.Contains(stage[0].Message, "holds kong-enterprise-edition 3.4.3.5, not kong 3.4.2") {
		t.Errorf("stage findings %+v, want one error for kong-3's wrong file", stage)
	}
	if pf.PkgY["kong-3"].FilePackage != "" {
		t.Errorf("kong-3's wrong file was recorded: %+v", pf.PkgY["kong-3"])
	}
}
