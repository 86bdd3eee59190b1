package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/controller/upgradepath"
	"github.com/kongctl/kongctl/internal/filehash"
	"github.com/kongctl/kongctl/kongver"
)

// hopPlan is one intermediate hop of an upgrade that lies more than one
// supported jump away: the migration node installs To, runs `kong
// migrations up` and `finish` with it, then goes on to the next hop; the
// last hop (to Y) is the ordinary install, migrations and start.
type hopPlan struct {
	From string `json:"from"` // the version the database is at before the hop
	To   string `json:"to"`   // the intermediate version, exactly
	Kind string `json:"kind"` // upgradepath.Kind: lts | minor | patch
	// Migrations says what the hop's migrations do (kong-reference 9.4).
	Migrations string `json:"migrations,omitempty"`
	// Pkg is To's package for the migration node, staged and verified
	// there before the stop like Y's.
	Pkg fleet.PackageRef `json:"pkg"`
}

// hopVersions are the intermediate hops' versions, in order.
func (e *engine) hopVersions() []string {
	var out []string
	for _, h := range e.pf.Hops {
		out = append(out, h.To)
	}
	return out
}

// planHops turns the policy's chain of series into intermediate versions:
// the newest package of each intermediate series in upgrade.package.dir,
// in Y's edition and the migration node's format and architecture. A
// series with no package is refused here, named, before any downtime.
func (e *engine) planHops(pf *preflightData, d upgradepath.Decision) {
	refuse := func(msg, fix string) {
		e.find(Finding{Severity: SevError, Code: "upgrade-hops", Message: msg, Fix: fix})
	}
	switch {
	case e.spec.NewHosts:
		refuse(fmt.Sprintf("%s → %s needs %d hops, which kongctl runs in place only", pf.From, e.spec.To, len(d.Chain)), "upgrade in place, or run one new-hosts upgrade per hop: "+d.ChainString())
		return
	case e.spec.Package.Source != SourceFile:
		refuse(fmt.Sprintf("%s → %s needs %d hops: their intermediate versions are picked from the package directory, and upgrade.package.source is %q", pf.From, e.spec.To, len(d.Chain), e.spec.Package.Source),
			"set upgrade.package.source = \"file\" with every hop's package in upgrade.package.dir")
		return
	}
	f := pf.Facts[e.spec.MigrationHost]
	prev := pf.From
	for _, h := range d.Chain[:len(d.Chain)-1] {
		ref := fleet.PackageRef{Name: packageName(string(e.spec.Edition)), Edition: string(e.spec.Edition), Format: orDefault(f.PackageFormat, "deb"), Arch: orDefault(f.Arch, "amd64"), Source: string(e.spec.Package.Source)}
		v, path, err := newestPackage(e.spec.Package.Dir, ref, h.To)
		if err != nil {
			e.find(Finding{Severity: SevError, Code: "package-hop", Host: e.spec.MigrationHost, Message: fmt.Sprintf("hop %s: %s", h, err), Fix: "put a " + h.To + " package in " + e.spec.Package.Dir + " (upgrade.package.dir)"})
			prev = h.To
			continue
		}
		sum, err := filehash.SHA256(path)
		if err != nil {
			e.find(Finding{Severity: SevError, Code: "package-hop", Host: e.spec.MigrationHost, Message: fmt.Sprintf("hop %s: %s", h, err)})
			continue
		}
		ref.Version, ref.LocalPath, ref.SHA256 = v, path, sum
		pf.Hops = append(pf.Hops, hopPlan{From: prev, To: v, Kind: string(h.Kind), Migrations: upgradepath.HopMigrations(h), Pkg: ref})
		prev = v
	}
	e.find(Finding{Severity: SevInfo, Code: "upgrade-hops", Message: fmt.Sprintf("one window, %d hops: %s; only %s installs the intermediate versions, the other nodes install %s alone", len(d.Chain), hopsText(pf.From, pf.Hops, e.spec.To), e.spec.MigrationHost, e.spec.To)})
}

// hopsText is "3.4.3.5 → 3.10.0.2 → 3.14.0.1".
func hopsText(from string, hops []hopPlan, to string) string {
	parts := []string{dash(from)}
	for _, h := range hops {
		parts = append(parts, h.To)
	}
	return strings.Join(append(parts, to), " → ")
}

// newestPackage finds the newest package file of ref's name, format and
// architecture in series (e.g. "3.10") in dir.
func newestPackage(dir string, ref fleet.PackageRef, series string) (string, string, error) {
	var best kongver.Version
	var bestPath string
	ref.Version = series + ".*"
	names := packageFileNames(ref)
	for _, pat := range names {
		matches, _ := filepath.Glob(filepath.Join(dir, pat))
		for _, m := range matches {
			v, ok := versionInName(filepath.Base(m), pat, series)
			if !ok {
				continue
			}
			if st, err := os.Stat(m); err != nil || !st.Mode().IsRegular() {
				continue
			}
			if bestPath == "" || v.Compare(best) > 0 {
				best, bestPath = v, m
			}
		}
	}
	if bestPath == "" {
		return "", "", fmt.Errorf("intermediate package %s %s.x (%s, %s) not found in %s (looked for %s)", ref.Name, series, ref.Format, ref.Arch, dir, strings.Join(names, ", "))
	}
	return best.String(), bestPath, nil
}

// versionInName reads the version that pattern pat (series + ".*" in
// place of the version) matched in name.
func versionInName(name, pat, series string) (kongver.Version, bool) {
	star := strings.Index(pat, "*")
	start, suffix := star-len(series)-1, pat[star+1:]
	if start < 0 || !strings.HasSuffix(name, suffix) || len(name) < start+len(suffix) {
		return kongver.Version{}, false
	}
	v, err := kongver.Parse(name[start : len(name)-len(suffix)])
	return v, err == nil
}

// hopPackages are the intermediate packages host stages: every hop's on
// the migration node, none elsewhere.
func (e *engine) hopPackages(pf *preflightData, host string) []fleet.PackageRef {
	if host != e.spec.MigrationHost {
		return nil
	}
	var out []fleet.PackageRef
	for _, h := range pf.Hops {
		out = append(out, h.Pkg)
	}
	return out
}

// setHopPackage keeps what staging found on hop version v's package.
func (pf *preflightData) setHopPackage(ref fleet.PackageRef) {
	i := slices.IndexFunc(pf.Hops, func(h hopPlan) bool { return h.To == ref.Version })
	if i >= 0 {
		pf.Hops[i].Pkg = ref
	}
}
