package pkgbuild

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/lab/kongsim"
)

func TestFileNamesAndGeneratedFiles(t *testing.T) {
	oss := kongsim.MustRelease("3.4.2", kongsim.EditionOSS)
	ee := kongsim.MustRelease("3.10.0.2", kongsim.EditionEnterprise)
	if FileName(oss, "deb") != "kong_3.4.2_amd64.deb" || FileName(ee, "rpm") != "kong-enterprise-edition_3.10.0.2_amd64.rpm" {
		t.Fatal(FileName(oss, "deb"), FileName(ee, "rpm"))
	}
	g := generated(ee)
	u, ok := g["/lib/systemd/system/kong-enterprise-edition.service"]
	if !ok || !strings.Contains(u, "ExecStart=/usr/local/openresty/nginx/sbin/nginx -p /usr/local/kong -c nginx.conf") ||
		!strings.Contains(u, "ExecStop=/bin/kill -s QUIT $MAINPID") || !strings.Contains(u, "Environment=KONG_NGINX_DAEMON=off") {
		t.Fatalf("unit:\n%s", u)
	}
	if _, ok := generated(oss)["/lib/systemd/system/kong.service"]; !ok {
		t.Fatal("OSS unit is not kong.service")
	}
	if !strings.Contains(g["/etc/kong/kong.conf.default"], "#status_listen = 127.0.0.1:8007") {
		t.Fatal("3.10 conf default lacks the 8007 status listener")
	}
	if !strings.Contains(generated(oss)["/etc/kong/kong.conf.default"], "#status_listen = off") {
		t.Fatal("3.4 status_listen default should be off")
	}
	core := g["/usr/local/share/lua/5.1/kong/db/migrations/core/init.lua"]
	if !strings.Contains(core, `"025_390_to_3100"`) {
		t.Fatalf("core init.lua:\n%s", core)
	}
	if !strings.Contains(postinstall, "getent passwd kong") || !strings.Contains(postinstall, "DPKG_ROOT") {
		t.Fatal("postinstall must create kong only when absent and respect DPKG_ROOT")
	}
}

// The custom plugin package holds the plugin's modules where Kong looks.
func TestWritePluginPackage(t *testing.T) {
	dir := t.TempDir()
	p, err := WritePluginPackage(dir, "foo", "1.0.0", "deb")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(p) != "kong-plugin-foo_1.0.0_all.deb" {
		t.Errorf("file %s", p)
	}
	out, err := exec.Command("dpkg-deb", "-c", p).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "./usr/local/share/lua/5.1/kong/plugins/foo/handler.lua") {
		t.Errorf("dpkg-deb -c: %v\n%s", err, out)
	}
	if p, err := WritePluginPackage(dir, "foo", "1.0.0", "rpm"); err != nil || filepath.Base(p) != "kong-plugin-foo-1.0.0.noarch.rpm" {
		t.Errorf("rpm: %s %v", p, err)
	}
}
