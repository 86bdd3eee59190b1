//go:build integration

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/lab/labenv"
	"github.com/kongctl/kongctl/lab/pkgbuild"
)

// Issue 23, custom plugins: the fleet runs a custom plugin (`plugins =
// bundled,foo`, its code from the package kong-plugin-foo). A rehearsal
// host without that package fails to start Y ("foo plugin is enabled but
// not installed", as Kong does), so the plan is not ready; with the
// package named in upgrade.package.plugin_packages the rehearsal installs
// it there from upgrade.package.dir before Y's migrations, and passes.
func TestRehearsalInstallsCustomPlugins(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 1, Spares: 1, From: "2.8.4", To: "3.4.2"})
	node := names(e.lab.KongHosts())[0]
	const rh = "spare-1"
	pkgDirs := []string{e.lab.Options().PackagesDir, e.lab.NodePackagesDir()}
	var pkg string
	for _, dir := range pkgDirs {
		p, err := pkgbuild.WritePluginPackage(dir, "foo", "1.0.0", "deb")
		if err != nil {
			t.Fatal(err)
		}
		pkg = p
	}
	t.Cleanup(func() {
		for _, dir := range pkgDirs {
			os.Remove(filepath.Join(dir, filepath.Base(pkg)))
		}
	})
	ctx, cancel := shortCtx()
	defer cancel()
	if out, err := e.lab.Exec(ctx, node, "dpkg -i "+pkg+" && echo 'plugins = bundled,foo' >>/etc/kong/kong.conf"); err != nil {
		t.Fatalf("install the plugin on %s: %v: %s", node, err, out)
	}
	if err := e.lab.KillKong(ctx, node); err != nil {
		t.Fatal(err)
	}
	if err := e.lab.StartKong(ctx, node); err != nil {
		t.Fatalf("X with the custom plugin: %v", err)
	}
	e.requireServing([]string{node}, []route{{"/lab", ""}})

	// Not named: Y on the rehearsal host refuses to start, Kong's words.
	inv := e.rehearsalInventory()
	fs, rehearsed := e.planFindings(inv)
	var refused bool
	for _, f := range fs {
		if f.Code == "rehearsal" && f.Host == rh && f.Severity == "error" && strings.Contains(f.Message, "foo plugin is enabled but not installed") {
			refused = true
			t.Logf("plan without plugin_packages: %s", f.Message)
		}
	}
	if !refused || !rehearsed {
		t.Fatalf("plan without plugin_packages: want the rehearsal failed for the plugin: %+v", fs)
	}

	// Named: installed on the rehearsal host, the rehearsal passes.
	inv = e.writeInventory(func(s string) string {
		s = strings.Replace(e.rehearsalHCL(s), "package {\n", "package {\n    plugin_packages = [\"kong-plugin-foo\"]\n", 1)
		if !strings.Contains(s, "plugin_packages") {
			t.Fatalf("no package block in the lab's inventory:\n%s", s)
		}
		return s
	})
	r := e.kongctl("plan", "-i", inv)
	if r.code != 0 || !strings.Contains(r.stderr+r.stdout, "installed the custom plugin package kong-plugin-foo 1.0.0 on spare-1") ||
		!strings.Contains(r.stdout, "migration times: measured on a rehearsal on spare-1") {
		t.Fatalf("plan with plugin_packages: %s", r)
	}
	if s := e.scratchDatabases(); s != "" {
		t.Fatalf("scratch databases left: %s", s)
	}
}
