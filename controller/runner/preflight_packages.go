package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/controller/upgradepath"
	"github.com/kongctl/kongctl/internal/filehash"
)

// resolvePackages finds X's and Y's package for every target.
func (e *engine) resolvePackages(pf *preflightData) {
	sums := fileSums{hash: filehash.SHA256}
	want := func(h, version, edition string) (fleet.PackageRef, bool) {
		f := pf.Facts[h]
		ref := fleet.PackageRef{Name: packageName(edition), Version: version, Edition: edition, Format: orDefault(f.PackageFormat, "deb"), Arch: orDefault(f.Arch, "amd64"), Source: string(e.spec.Package.Source)}
		if ref.Source != "file" {
			return ref, true
		}
		p, err := findPackage(e.spec.Package.Dir, ref)
		if err != nil {
			e.find(Finding{Severity: SevError, Code: "package", Host: h, Message: err.Error(), Fix: "put the package in " + e.spec.Package.Dir + " (upgrade.package.dir)"})
			return ref, false
		}
		ref.LocalPath = p
		sum, err := sums.of(p)
		if err != nil {
			e.find(Finding{Severity: SevError, Code: "package", Host: h, Message: err.Error()})
			return ref, false
		}
		ref.SHA256 = sum
		return ref, true
	}
	ys := e.stagedHosts()
	if pf.Rehearsal != "" {
		ys = append(slices.Clone(ys), pf.Rehearsal)
	}
	for _, h := range ys {
		if ref, ok := want(h, e.spec.To, string(e.spec.Edition)); ok {
			pf.PkgY[h] = ref
		}
	}
	// X's package for the old hosts: kept for rollback in place, and on
	// hosts that will be decommissioned (a rollback reinstalls it).
	if (!e.spec.NewHosts || e.spec.Decommission) && pf.From != "" {
		for _, h := range e.spec.Nodes {
			if ref, ok := want(h, pf.From, orDefault(pf.FromEdition, "oss")); ok {
				pf.PkgX[h] = ref
			}
		}
	}
	// A rolled data plane keeps its own X (it may be an older minor than
	// the control planes'), for its rollback.
	for _, h := range e.spec.rolledDataPlanes() {
		if f := pf.Facts[h]; f.Version != "" {
			if ref, ok := want(h, f.Version, orDefault(f.Edition, orDefault(pf.FromEdition, "oss"))); ok {
				pf.PkgX[h] = ref
			}
		}
	}
}

// stagedHosts are the hosts Y is staged on: the targets, and the data
// planes rolled after them.
func (e *engine) stagedHosts() []string {
	return append(slices.Clone(e.spec.targets()), e.spec.rolledDataPlanes()...)
}

// checkDisk: every target has room for the packages it stages (Y, and X
// kept for rollback) and their installation. With local package files the
// need is measured from their sizes; otherwise Spec.MinDiskFree applies.
func (e *engine) checkDisk(pf *preflightData) {
	for _, h := range e.stagedHosts() {
		f, ok := pf.Facts[h]
		if !ok || f.DiskFreeBytes < 0 {
			continue // unknown (-1); 0 is a full disk
		}
		need := e.diskNeeded(pf, h)
		if f.DiskFreeBytes < need {
			e.find(Finding{Severity: SevError, Code: "disk", Host: h,
				Message: fmt.Sprintf("%d MiB free, %d MiB needed to stage and install packages", f.DiskFreeBytes>>20, need>>20),
				Fix:     "free disk space on the host"})
		}
	}
}

// diskNeeded is what host h needs free: twice the staged packages (the
// staged copy and the installed files) plus a margin for logs and the
// prefix, or Spec.MinDiskFree when a package's size is unknown
// (repository source).
func (e *engine) diskNeeded(pf *preflightData, h string) int64 {
	const margin = 64 << 20
	var sum int64
	for _, ref := range append([]fleet.PackageRef{pf.PkgY[h], pf.PkgX[h]}, e.hopPackages(pf, h)...) {
		if ref.Version == "" {
			continue
		}
		st, err := os.Stat(ref.LocalPath)
		if ref.LocalPath == "" || err != nil {
			return e.spec.MinDiskFree
		}
		sum += st.Size()
	}
	return 2*sum + margin
}

// stagePackages copies Y (and X, kept for rollback) onto every target,
// verifies them there (checksum, the package and version inside) and
// keeps on each ref what the host found. Y's dependencies met make the
// install inside the downtime a plain dpkg -i / rpm -U (PackageRef.DepsMet).
func (e *engine) stagePackages(ctx context.Context, pf *preflightData) {
	var mu sync.Mutex // pf's maps, written per host
	_ = e.forEach(ctx, e.stagedHosts(), uploadLimit, func(ctx context.Context, h string) error {
		n, err := e.node(ctx, h)
		if err != nil {
			return err
		}
		// Y, X kept for rollback, then (on the migration node) every
		// intermediate hop's package, verified like Y's.
		mu.Lock()
		refs := append([]fleet.PackageRef{pf.PkgY[h], pf.PkgX[h]}, e.hopPackages(pf, h)...)
		mu.Unlock()
		for i, ref := range refs {
			if ref.Version == "" {
				continue
			}
			st, err := n.StagePackage(ctx, ref)
			if err == nil {
				err = stagedMismatch(ref, st)
			}
			if err != nil {
				e.find(Finding{Severity: SevError, Code: "stage", Host: h, Message: fmt.Sprintf("stage %s %s: %s", ref.Name, ref.Version, e.red.err(err))})
				return err
			}
			ref.FilePackage, ref.FileVersion = st.Package, st.Version
			if installedInWindow := i != 1; installedInWindow {
				ref.DepsMet = st.DepsMet
				if !st.DepsMet {
					e.find(Finding{Severity: SevInfo, Code: "install-path", Host: h, Message: fmt.Sprintf("%s %s: the installed packages do not meet its dependencies (%s): the install inside the downtime resolves them with the package manager", ref.Name, ref.Version, e.red.redact(st.DepsDetail))})
				}
			}
			mu.Lock()
			switch i {
			case 0:
				pf.PkgY[h] = ref
			case 1:
				pf.PkgX[h] = ref
			default:
				pf.setHopPackage(ref)
			}
			mu.Unlock()
		}
		return nil
	})
}

// stagedMismatch: the staged file must hold the package and version asked
// for (an rpm's release after the "-" aside).
func stagedMismatch(ref fleet.PackageRef, st fleet.StagedPackage) error {
	ver, _, _ := strings.Cut(st.Version, "-")
	if (st.Package != "" && st.Package != ref.Name) || (ver != "" && !sameVersion(ver, ref.Version)) {
		return fmt.Errorf("the staged file holds %s %s, not %s %s", dash(st.Package), dash(st.Version), ref.Name, ref.Version)
	}
	return nil
}

func packageName(edition string) string {
	if edition == upgradepath.EditionEnterprise {
		return "kong-enterprise-edition"
	}
	return "kong"
}

// findPackage looks for the package file of ref in dir.
func findPackage(dir string, ref fleet.PackageRef) (string, error) {
	p, err := findFile(dir, packageFileNames(ref))
	if err != nil {
		return "", fmt.Errorf("package %s %s (%s, %s) %w", ref.Name, ref.Version, ref.Format, ref.Arch, err)
	}
	return p, nil
}

// findFile is the path of the first of names that is a regular file in
// dir: a package file, under each name its format and architecture may
// give it (packageFileNames, pluginFileNames).
func findFile(dir string, names []string) (string, error) {
	for _, n := range names {
		p := filepath.Join(dir, n)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("not found in %s (looked for %s)", dir, strings.Join(names, ", "))
}

// packageFileNames are the file names ref's package may have.
func packageFileNames(ref fleet.PackageRef) []string {
	if ref.Format == "rpm" {
		return []string{
			fmt.Sprintf("%s_%s_%s.rpm", ref.Name, ref.Version, ref.Arch),
			fmt.Sprintf("%s-%s.%s.rpm", ref.Name, ref.Version, rpmArch(ref.Arch)),
			fmt.Sprintf("%s-%s.%s.rpm", ref.Name, ref.Version, ref.Arch),
		}
	}
	return []string{fmt.Sprintf("%s_%s_%s.deb", ref.Name, ref.Version, ref.Arch)}
}

// rpmArch is RPM's name for a Go architecture ("" for one it has none).
func rpmArch(goarch string) string {
	return map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[goarch]
}
