package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/internal/filehash"
)

// Custom plugin packages (upgrade.package.plugin_packages, issue 23): the
// packages that put a custom plugin's code where Kong looks for it. Kong
// refuses to start when a plugin named in `plugins` is not installed ("foo
// plugin is enabled but not installed"), so every host that runs Y must
// have them, and the rehearsal host gets the migration node's versions
// before Y's migrations run there.

// pluginQuery prints "name<TAB>version" for each package named in
// $KONGCTL_PLUGIN_PACKAGES (names checked by the inventory: no quoting
// needed), the version empty when it is not installed.
const pluginQuery = `for p in $KONGCTL_PLUGIN_PACKAGES; do
	if [ "$KONGCTL_PKG_FORMAT" = rpm ]; then
		v=$(rpm -q --qf '%{VERSION}-%{RELEASE}' "$p" 2>/dev/null) || v=
	else
		v=$(dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$p" 2>/dev/null) || v=
		case "$v" in "ii "*) v=${v#ii } ;; *) v= ;; esac
	fi
	printf '%s\t%s\n' "$p" "$v"
done`

// installedPlugins asks host h which of the plugin packages it has
// installed: name to version, absent when not installed.
func (e *engine) installedPlugins(ctx context.Context, h, format string) (map[string]string, error) {
	n, err := e.node(ctx, h)
	if err != nil {
		return nil, err
	}
	r, err := execOK(ctx, n, "the query", fleet.ExecRequest{Command: pluginQuery, Timeout: 30 * time.Second,
		Env: map[string]string{"KONGCTL_PLUGIN_PACKAGES": strings.Join(e.spec.Package.Plugins, " "), "KONGCTL_PKG_FORMAT": orDefault(format, "deb")}})
	if err != nil {
		return nil, fmt.Errorf("query the custom plugin packages on %s: %w", h, err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(r.Stdout, "\n") {
		if name, ver, ok := strings.Cut(line, "\t"); ok && strings.TrimSpace(ver) != "" {
			out[name] = strings.TrimSpace(ver)
		}
	}
	return out, nil
}

// checkPluginPackages: every node, and every host that runs Y, has each
// custom plugin package installed (an error naming the host and the package); a package
// whose version differs between hosts is a warning. With a rehearsal, the
// migration node's versions are resolved for the rehearsal host
// (pf.PluginPkgs), from the package source Kong's own comes from.
func (e *engine) checkPluginPackages(ctx context.Context, pf *preflightData) {
	names := e.spec.Package.Plugins
	hosts := slices.Clone(e.spec.Nodes) // the migration node first
	for _, h := range e.stagedHosts() {
		if !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	if len(names) == 0 || len(hosts) == 0 {
		return
	}
	versions := make([]map[string]string, len(hosts))
	_ = e.forEach(ctx, hosts, nodeLimit, func(ctx context.Context, h string) error {
		got, err := e.installedPlugins(ctx, h, pf.Facts[h].PackageFormat)
		if err != nil {
			e.find(Finding{Severity: SevError, Code: "plugin-package", Host: h, Message: e.red.err(err)})
			return err
		}
		versions[slices.Index(hosts, h)] = got
		return nil
	})
	for _, name := range names {
		seen := map[string][]string{} // version -> hosts
		for i, h := range hosts {
			if versions[i] == nil {
				continue
			}
			v, ok := versions[i][name]
			if !ok {
				e.find(Finding{Severity: SevError, Code: "plugin-package", Host: h,
					Message: fmt.Sprintf("custom plugin package %s (upgrade.package.plugin_packages) is not installed on %s: Kong %s would refuse to start there (plugin enabled but not installed)", name, h, e.spec.To),
					Fix:     "install " + name + " on " + h + ", or remove it from plugin_packages if no node's `plugins` needs it"})
				continue
			}
			seen[v] = append(seen[v], h)
		}
		if len(seen) > 1 {
			var parts []string
			for _, v := range sortedKeys(seen) {
				parts = append(parts, fmt.Sprintf("%s on %s", v, strings.Join(seen[v], ", ")))
			}
			e.find(Finding{Severity: SevWarning, Code: "plugin-package", Host: hosts[0],
				Message: fmt.Sprintf("custom plugin package %s differs between the nodes: %s; the rehearsal installs %s's", name, strings.Join(parts, "; "), hosts[0])})
		}
	}
	if pf.Rehearsal != "" && versions[0] != nil {
		e.resolveRehearsalPlugins(pf, hosts[0], versions[0])
	}
}

// resolveRehearsalPlugins sets pf.PluginPkgs: each custom plugin package
// at the version src has, for the rehearsal host's format and
// architecture; with package source "file" its file in upgrade.package.dir
// (checksummed), missing there an error.
func (e *engine) resolveRehearsalPlugins(pf *preflightData, src string, versions map[string]string) {
	h := pf.Rehearsal
	f := pf.Facts[h]
	for _, name := range e.spec.Package.Plugins {
		v, ok := versions[name]
		if !ok {
			continue // refused above
		}
		ref := fleet.PackageRef{Name: name, Version: v, Format: orDefault(f.PackageFormat, "deb"), Arch: orDefault(f.Arch, "amd64"), Source: string(e.spec.Package.Source), Plugin: true}
		if ref.Source == "file" {
			p, err := findPluginPackage(e.spec.Package.Dir, ref)
			if err == nil {
				ref.LocalPath = p
				ref.SHA256, err = filehash.SHA256(p)
			}
			if err != nil {
				e.find(Finding{Severity: SevError, Code: "plugin-package", Host: h,
					Message: fmt.Sprintf("rehearsal host %s needs %s %s (the version on %s): %v", h, name, v, src, err),
					Fix:     "put the plugin's package in " + e.spec.Package.Dir + " (upgrade.package.dir), or pass --no-rehearsal"})
				continue
			}
		}
		pf.PluginPkgs = append(pf.PluginPkgs, ref)
	}
}

// findPluginPackage looks for ref's file in dir (findFile).
func findPluginPackage(dir string, ref fleet.PackageRef) (string, error) {
	return findFile(dir, pluginFileNames(ref))
}

// pluginFileNames are the file names a custom plugin's package may have:
// Debian's and RPM's names, for the host's architecture or none (all,
// noarch); a Debian version's epoch is not in its file name.
func pluginFileNames(ref fleet.PackageRef) []string {
	v := ref.Version
	if _, after, ok := strings.Cut(v, ":"); ok {
		v = after
	}
	if ref.Format == "rpm" {
		return []string{fmt.Sprintf("%s-%s.%s.rpm", ref.Name, v, rpmArch(ref.Arch)), fmt.Sprintf("%s-%s.noarch.rpm", ref.Name, v)}
	}
	return []string{fmt.Sprintf("%s_%s_%s.deb", ref.Name, v, ref.Arch), fmt.Sprintf("%s_%s_all.deb", ref.Name, v)}
}

// installRehearsalPlugins installs the custom plugin packages on the
// rehearsal host, after Y and before its migrations.
func (e *engine) installRehearsalPlugins(ctx context.Context, n fleet.Node) error {
	for _, ref := range e.pf.PluginPkgs {
		if err := n.InstallPackage(ctx, ref, e.spec.Timeouts.Install); err != nil {
			return fmt.Errorf("install custom plugin package %s %s on %s: %w", ref.Name, ref.Version, e.spec.Rehearsal, err)
		}
		e.note("rehearsal: installed the custom plugin package %s %s on %s", ref.Name, ref.Version, e.spec.Rehearsal)
	}
	return nil
}
