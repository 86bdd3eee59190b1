//go:build integration

package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/lab/labenv"
	"github.com/kongctl/kongctl/lab/pkgbuild"
)

// Issue 23, custom plugins and files: the fleet runs a custom plugin
// (`plugins = bundled,foo`, its code from the package kong-plugin-foo)
// and a certificate and key named in kong.conf (which every kong command
// loads, migrations included). A rehearsal host without the plugin's
// package fails to start Y ("foo plugin is enabled but not installed", as
// Kong does), so the plan is not ready; with the package named in
// upgrade.package.plugin_packages the rehearsal installs it there from
// upgrade.package.dir before Y's migrations, and passes. The certificate
// and key are copied there both times and removed after; the key's
// content appears in no output and no file kongctl writes.
func TestRehearsalCarriesPluginsAndFiles(t *testing.T) {
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
	const keyMark = "LAB-PRIVATE-KEY-4f1c"
	setup := "dpkg -i " + pkg + " && mkdir -p /etc/kong/ssl && umask 077" +
		" && printf '%s\n' '-----BEGIN CERTIFICATE-----' >/etc/kong/ssl/lab.crt" +
		" && printf '%s\n' '-----BEGIN PRIVATE KEY-----' '" + keyMark + "' >/etc/kong/ssl/lab.key" +
		" && printf '%s\n' 'plugins = bundled,foo' 'ssl_cert = /etc/kong/ssl/lab.crt' 'ssl_cert_key = /etc/kong/ssl/lab.key' >>/etc/kong/kong.conf"
	if out, err := e.lab.Exec(ctx, node, setup); err != nil {
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
	findings, rehearsed := e.planFindings(inv)
	var refused bool
	for _, f := range findings {
		if f.Code == "rehearsal" && f.Host == rh && f.Severity == "error" && strings.Contains(f.Message, "foo plugin is enabled but not installed") {
			refused = true
			t.Logf("plan without plugin_packages: %s", f.Message)
		}
	}
	if !refused || !rehearsed {
		t.Fatalf("plan without plugin_packages: want the rehearsal failed for the plugin: %+v", findings)
	}
	requireGone := func() {
		t.Helper()
		ctx, cancel := shortCtx()
		defer cancel()
		if out, err := e.lab.Exec(ctx, rh, "find /etc/kong/ssl /var/lib/kongctl/rehearsal-copies -type f 2>/dev/null; true"); err != nil || strings.TrimSpace(out) != "" {
			t.Fatalf("copies left on %s: %v %q", rh, err, out)
		}
	}
	requireGone()

	// Named: installed on the rehearsal host, the rehearsal passes.
	inv = e.writeInventory(func(s string) string {
		s = strings.Replace(e.rehearsalHCL(s), "package {\n", "package {\n    plugin_packages = [\"kong-plugin-foo\"]\n", 1)
		if !strings.Contains(s, "plugin_packages") {
			t.Fatalf("no package block in the lab's inventory:\n%s", s)
		}
		return s
	})
	r := e.kongctl("plan", "-i", inv)
	out := r.stderr + r.stdout
	if r.code != 0 || !strings.Contains(out, "installed the custom plugin package kong-plugin-foo 1.0.0 on spare-1") ||
		!strings.Contains(out, "copied /etc/kong/ssl/lab.key (ssl_cert_key) from kong-1 to spare-1") ||
		!strings.Contains(r.stdout, "migration times: measured on a rehearsal on spare-1") {
		t.Fatalf("plan with plugin_packages: %s", r)
	}
	requireGone()
	if strings.Contains(out, keyMark) {
		t.Errorf("the key's content is in kongctl's output")
	}
	_ = filepath.WalkDir(e.stateDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), keyMark) {
				t.Errorf("the key's content is in %s", p)
			}
		}
		return nil
	})
	if s := e.scratchDatabases(); s != "" {
		t.Fatalf("scratch databases left: %s", s)
	}
}
