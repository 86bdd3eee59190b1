//go:build integration

package pkgbuild_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kongctl/kongctl/lab/freeport"
	"github.com/kongctl/kongctl/lab/kongsim"
	"github.com/kongctl/kongctl/lab/pgtest"
	"github.com/kongctl/kongctl/lab/pkgbuild"
)

func build(t *testing.T, out string, rels ...kongsim.Release) []pkgbuild.Package {
	t.Helper()
	root, err := pkgbuild.FindModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	pkgs, err := pkgbuild.Build(context.Background(), pkgbuild.Options{
		Out: out, ModuleRoot: root, CacheDir: filepath.Join(root, "build", "cache", "kongsim"), Releases: rels,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built %d packages in %s", len(pkgs), time.Since(start))
	return pkgs
}

func sh(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

var (
	v28 = kongsim.MustRelease("2.8.4", kongsim.EditionOSS)
	v34 = kongsim.MustRelease("3.4.2", kongsim.EditionOSS)
	ee  = kongsim.MustRelease("3.4.3.5", kongsim.EditionEnterprise)
)

func TestPackagesMetadataReproducibleAndCached(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	pkgs := build(t, a, v34, ee)
	build(t, b, v34, ee)
	if len(pkgs) != 4 {
		t.Fatalf("%d packages", len(pkgs))
	}
	for _, p := range pkgs {
		x, _ := os.ReadFile(p.Path)
		y, _ := os.ReadFile(filepath.Join(b, filepath.Base(p.Path)))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s is not reproducible", filepath.Base(p.Path))
		}
	}
	for _, p := range build(t, a, v34, ee) {
		if p.Rebuilt {
			t.Errorf("%s rebuilt although up to date", p.Path)
		}
	}
	info := sh(t, "dpkg-deb", "-I", filepath.Join(a, "kong_3.4.2_amd64.deb"))
	for _, want := range []string{"Package: kong\n", "Version: 3.4.2\n", "Conflicts: kong-community-edition, kong-enterprise-edition-fips", "Replaces: kong-community-edition, kong-enterprise-edition-fips", "Provides: kong, luarocks"} {
		if !strings.Contains(info, want) {
			t.Errorf("dpkg-deb -I lacks %q:\n%s", want, info)
		}
	}
	info = sh(t, "dpkg-deb", "-I", filepath.Join(a, "kong-enterprise-edition_3.4.3.5_amd64.deb"))
	if !strings.Contains(info, "Package: kong-enterprise-edition\n") || !strings.Contains(info, "Version: 3.4.3.5\n") {
		t.Errorf("EE metadata:\n%s", info)
	}
	list := sh(t, "dpkg-deb", "-c", filepath.Join(a, "kong-enterprise-edition_3.4.3.5_amd64.deb"))
	for _, want := range []string{"./usr/local/bin/kong\n", "./usr/local/bin/kong-health\n", "./etc/kong/kong.conf.default\n", "./etc/kong/kong.logrotate\n",
		"./lib/systemd/system/kong-enterprise-edition.service\n", "./usr/local/openresty/nginx/sbin/nginx -> /usr/local/bin/kong\n", "./usr/local/share/lua/5.1/kong/meta.lua\n"} {
		if !strings.Contains(list, want) {
			t.Errorf("EE package lacks %q", want)
		}
	}
	ctrl := t.TempDir()
	sh(t, "dpkg-deb", "-e", filepath.Join(a, "kong_3.4.2_amd64.deb"), ctrl)
	conffiles, _ := os.ReadFile(filepath.Join(ctrl, "conffiles"))
	if string(conffiles) != "/etc/kong/kong.conf.default\n/etc/kong/kong.logrotate\n" {
		t.Errorf("conffiles %q", conffiles)
	}
	if _, err := os.Stat(filepath.Join(a, "kong_3.4.2_amd64.rpm")); err != nil {
		t.Error(err)
	}
}

// dpkg into a throwaway instdir/admindir: nothing on the machine changes.
func TestDpkgInstallIntoScratchRoot(t *testing.T) {
	out := t.TempDir()
	build(t, out, v28, v34, ee)
	root, admin := t.TempDir(), t.TempDir()
	for _, d := range []string{"info", "updates", "triggers"} {
		os.MkdirAll(filepath.Join(admin, d), 0o755)
	}
	os.WriteFile(filepath.Join(admin, "status"), nil, 0o644)
	dpkg := func(args ...string) string {
		base := []string{"--instdir=" + root, "--admindir=" + admin, "--log=" + filepath.Join(admin, "dpkg.log"),
			"--force-script-chrootless", "--force-not-root", "--no-triggers"}
		return sh(t, "dpkg", append(base, args...)...)
	}
	dpkg("-i", filepath.Join(out, "kong_2.8.4_amd64.deb"))
	os.WriteFile(filepath.Join(root, "etc/kong/kong.conf"), []byte("pg_host = 10.0.0.1\n"), 0o644)
	dpkg("-i", filepath.Join(out, "kong_3.4.2_amd64.deb"))
	v, err := exec.Command(filepath.Join(root, "usr/local/bin/kong"), "version").Output()
	if err != nil || string(v) != "3.4.2\n" {
		t.Fatalf("installed kong version %q %v", v, err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc/kong/kong.conf")); string(b) != "pg_host = 10.0.0.1\n" {
		t.Fatal("kong.conf not kept across the upgrade")
	}
	st := sh(t, "dpkg", "--admindir="+admin, "-s", "kong")
	if !strings.Contains(st, "Status: install ok installed") || !strings.Contains(st, "Version: 3.4.2") {
		t.Fatalf("%s", st)
	}
	// Enterprise conflicts with OSS: dpkg refuses while kong is installed,
	// and installs once it is removed (as `apt remove kong` would).
	cmd := exec.Command("dpkg", "--instdir="+root, "--admindir="+admin, "--log="+filepath.Join(admin, "dpkg.log"),
		"--force-script-chrootless", "--force-not-root", "--no-triggers", "-i", filepath.Join(out, "kong-enterprise-edition_3.4.3.5_amd64.deb"))
	if o, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(o), "kong-enterprise-edition conflicts with kong") {
		t.Fatalf("EE over OSS: %v %s", err, o)
	}
	dpkg("-r", "kong")
	if _, err := os.Stat(filepath.Join(root, "usr/local/bin/kong")); err == nil {
		t.Fatal("dpkg -r kong left the binary")
	}
	dpkg("-i", filepath.Join(out, "kong-enterprise-edition_3.4.3.5_amd64.deb"))
	v, _ = exec.Command(filepath.Join(root, "usr/local/bin/kong"), "version").Output()
	if string(v) != "Kong Enterprise 3.4.3.5\n" {
		t.Fatalf("after EE install: %q", v)
	}
	if _, err := os.Stat(filepath.Join(root, "lib/systemd/system/kong-enterprise-edition.service")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/usr/local/bin/kong"); err == nil {
		t.Log("note: /usr/local/bin/kong exists on this machine (not from this test)")
	}
}

// freePort is a port below the kernel's ephemeral range (lab/freeport).
func freePort(t *testing.T) int {
	p, err := freeport.Port("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The issue's bar: each binary taken from its package, against an empty
// database.
func TestIssueBarFromPackages(t *testing.T) {
	out := t.TempDir()
	build(t, out, v28, v34)
	bin := map[string]string{}
	for _, v := range []string{"2.8.4", "3.4.2"} {
		dir := t.TempDir()
		sh(t, "dpkg-deb", "-x", filepath.Join(out, "kong_"+v+"_amd64.deb"), dir)
		bin[v] = filepath.Join(dir, "usr/local/bin/kong")
	}
	pg := pgtest.Start(t)
	dir := t.TempDir()
	prefix := filepath.Join(dir, "prefix")
	conf := filepath.Join(dir, "kong.conf")
	proxy, admin := freePort(t), freePort(t)
	os.WriteFile(conf, []byte(fmt.Sprintf("prefix = %s\npg_host = %s\npg_port = %d\npg_user = %s\npg_password = %s\npg_database = %s\nproxy_listen = 127.0.0.1:%d\nadmin_listen = 127.0.0.1:%d\n",
		prefix, pg.Host, pg.Port, pg.User, pg.Password, pg.Database, proxy, admin)), 0o600)
	t.Cleanup(func() {
		if b, err := os.ReadFile(filepath.Join(prefix, "pids", "nginx.pid")); err == nil {
			if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	kong := func(v string, code int, args ...string) (string, string) {
		t.Helper()
		cmd := exec.Command(bin[v], append(args, "-c", conf)...)
		cmd.Env = []string{"PATH=/usr/bin:/bin"}
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		got := 0
		if ee, ok := err.(*exec.ExitError); ok {
			got = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if got != code {
			t.Fatalf("kong %s %v: exit %d, want %d\n%s\n%s", v, args, got, code, o.String(), e.String())
		}
		return o.String(), e.String()
	}
	kong("2.8.4", 3, "migrations", "list")
	kong("2.8.4", 0, "migrations", "bootstrap")
	kong("3.4.2", 5, "migrations", "list")
	if _, e := kong("3.4.2", 1, "start"); !strings.Contains(e, "New migrations available; run 'kong migrations up' to proceed") {
		t.Fatalf("start refusal: %s", e)
	}
	if o, _ := kong("3.4.2", 0, "migrations", "up"); !strings.Contains(o, "15 migrations processed\n11 executed\n4 pending\n") {
		t.Fatalf("up: %s", o)
	}
	kong("3.4.2", 4, "migrations", "list")
	if o, _ := kong("3.4.2", 0, "start"); !strings.HasSuffix(o, "Kong started\n") {
		t.Fatalf("start: %s", o)
	}
	kong("3.4.2", 0, "migrations", "finish")
	kong("3.4.2", 0, "migrations", "list")
	cmd := exec.Command(bin["3.4.2"], "stop", "-p", prefix)
	if o, err := cmd.CombinedOutput(); err != nil || string(o) != "Kong stopped\n" {
		t.Fatalf("stop: %v %s", err, o)
	}
}
