package runner

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestConfPaths(t *testing.T) {
	conf := []byte(`# ssl_cert = /commented/out.pem
ssl_cert = /etc/kong/ssl/a.pem, /etc/kong/ssl/b.pem  # two certificates
ssl_cert_key = /etc/kong/ssl/a.key,/etc/kong/ssl/b.key
lua_ssl_trusted_certificate = system,/etc/kong/ca.pem
cluster_cert = -----BEGIN CERTIFICATE-----inline
lua_package_path = /opt/custom/?.lua;/usr/local/share/lua/5.1/?.lua;./?.lua;;
admin_ssl_cert = /etc/kong/ssl/admin.pem
`)
	env := map[string]string{"KONG_ADMIN_SSL_CERT": "/run/secrets/admin.pem", "KONG_LICENSE_PATH": "/etc/kong/license.json"}
	files, dirs := confPaths(conf, env)
	var got []string
	for _, f := range files {
		got = append(got, f.Setting+"="+f.Path)
	}
	want := []string{"ssl_cert=/etc/kong/ssl/a.pem", "ssl_cert=/etc/kong/ssl/b.pem", "ssl_cert_key=/etc/kong/ssl/a.key", "ssl_cert_key=/etc/kong/ssl/b.key",
		"admin_ssl_cert=/run/secrets/admin.pem", "lua_ssl_trusted_certificate=/etc/kong/ca.pem", "license_path=/etc/kong/license.json"}
	if !slices.Equal(got, want) {
		t.Errorf("files\n got %q\nwant %q", got, want)
	}
	if len(dirs) != 1 || dirs[0] != (confPath{"lua_package_path", "/opt/custom"}) {
		t.Errorf("dirs %+v", dirs)
	}
}

// fileCluster: kong-1's kong.conf names a certificate, its key and a CA
// bundle; the rehearsal host has its own file at the CA bundle's path.
func fileCluster(t *testing.T) (*fakeCluster, *Spec) {
	t.Helper()
	c, spec := rehearsalCluster(t)
	k1 := c.nodes["kong-1"]
	k1.confText = "ssl_cert = /etc/kong/ssl/c.pem\nssl_cert_key = /etc/kong/ssl/k.pem\nlua_ssl_trusted_certificate = system,/etc/ssl/ca.pem\n"
	k1.files = map[string]string{"/etc/kong/ssl/c.pem": "CERT", "/etc/kong/ssl/k.pem": "PRIVATE-KEY-CONTENT-1234", "/etc/ssl/ca.pem": "FLEET CA"}
	c.nodes["rh-1"].files = map[string]string{"/etc/ssl/ca.pem": "RH CA"}
	return c, spec
}

// TestRehearsalCopiesConfFiles: the files kong.conf names go to the
// rehearsal host before Y's migrations where it has none, and are removed
// after; its own file stays as it was; the key's content is in no journal
// record and no report.
func TestRehearsalCopiesConfFiles(t *testing.T) {
	c, spec := fileCluster(t)
	r, _ := upgradeInOrder(t, c, spec, "rh-1 remove-copies", "rh-1 list-copies /etc/kong/ssl/c.pem,/etc/kong/ssl/k.pem", "kong-1 readfile /etc/kong/ssl/k.pem",
		"rh-1 createfile /etc/kong/ssl/k.pem", "rh-1 migrations up", "rh-1 stop", "rh-1 remove-copies", "kong-1 stop")
	if got := c.nodes["rh-1"].files; len(got) != 1 || got["/etc/ssl/ca.pem"] != "RH CA" {
		t.Errorf("rehearsal host's files after: %v", got)
	}
	// Everything the run wrote on the bastion, and its report.
	rep, _ := json.Marshal(r)
	leaked := strings.Contains(string(rep), "PRIVATE-KEY-CONTENT")
	_ = filepath.WalkDir(spec.StateDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), "PRIVATE-KEY-CONTENT") {
				t.Errorf("the key's content is in %s", p)
			}
		}
		return nil
	})
	if leaked {
		t.Error("the key's content is in the report")
	}
}

// TestRehearsalRemovesCopiesAKilledRunLeft: the copies a killed
// controller's rehearsal left (listed on the rehearsal host) are removed
// before the next rehearsal copies again, and after it.
func TestRehearsalRemovesCopiesAKilledRunLeft(t *testing.T) {
	c, spec := fileCluster(t)
	rh := c.nodes["rh-1"]
	rh.files[rehearsalCopies] = "/etc/kong/ssl/k.pem\n/etc/kong/ssl/old.pem\n"
	rh.files["/etc/kong/ssl/k.pem"] = "PRIVATE-KEY-CONTENT-1234"
	rh.files["/etc/kong/ssl/old.pem"] = "OLD"
	r, err := upgrade(context.Background(), spec, testConfig(c))
	if err != nil || r.Outcome != Succeeded {
		t.Fatalf("upgrade: %v %s %s", err, r.Outcome, r.Error)
	}
	if i := indexOfCall(c.Calls(), "rh-1 createfile /etc/kong/ssl/k.pem", 0); i < 0 {
		t.Errorf("the key left by the killed run was not replaced by a fresh copy: %q", c.Calls())
	}
	if got := rh.files; len(got) != 1 || got["/etc/ssl/ca.pem"] != "RH CA" {
		t.Errorf("rehearsal host's files after: %v", got)
	}
}

// TestRehearsalFilesRefused: a file kong.conf names that the migration
// node lacks, or a custom plugin directory on lua_package_path the
// rehearsal host lacks, means the rehearsal cannot run: the plan says so
// (naming the setting and the path), the upgrade refuses it.
func TestRehearsalFilesRefused(t *testing.T) {
	for _, tc := range []struct {
		name, conf, want string
	}{
		{"missing on the node", "ssl_cert_key = /etc/kong/ssl/gone.pem\n", "ssl_cert_key names /etc/kong/ssl/gone.pem, which kong-1 does not have"},
		{"plugin code", "lua_package_path = /opt/plugins/?.lua;;\n", "lua_package_path names /opt/plugins (custom plugin code), which rh-1 does not have"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, spec := rehearsalCluster(t)
			c.nodes["kong-1"].confText = tc.conf
			p, err := plan(context.Background(), spec, testConfig(c))
			if err != nil || p.Rehearsal != nil || !slices.ContainsFunc(p.Findings, func(f Finding) bool {
				return f.Code == "rehearsal-files" && f.Severity == SevWarning && strings.Contains(f.Message, "the rehearsal cannot run: "+tc.want)
			}) {
				t.Fatalf("plan: %v, rehearsal %+v, findings %+v", err, p.Rehearsal, p.Findings)
			}
			r, _ := upgrade(context.Background(), spec, testConfig(c))
			f := findingOf(r, "rehearsal-files")
			if r.Outcome == Succeeded || f == nil || f.Severity != SevError || !strings.Contains(f.Message, tc.want) || !strings.Contains(f.Fix, "--no-rehearsal") {
				t.Fatalf("upgrade %s, finding %+v", r.Outcome, f)
			}
		})
	}
}
