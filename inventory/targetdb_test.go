package inventory

import (
	"strings"
	"testing"
)

// target_database on another server: what the object omits comes from
// the database block, the plan's text names host:port/name, the string
// form is unchanged, and show writes an object that loads back the same.
func TestTargetServerDecode(t *testing.T) {
	src := dcHosts + dcUpgrade("  strategy = \"dual-cluster\"\n  target_database = { host = \"10.0.0.6\", port = 5433, name = \"kong\", user = \"kong_y\", password_env = \"PG_Y\" }\n  replace_target_database = true\n")
	inv, diags := LoadBytes("dc.hcl", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	u := inv.Upgrade
	ts := u.TargetServer
	if ts == nil || u.TargetDatabase != "kong" || ts.Host != "10.0.0.6" || ts.Port != 5433 || ts.User != "kong_y" || ts.Secret.Env != "PG_Y" {
		t.Fatalf("target %q %+v", u.TargetDatabase, ts)
	}
	if ts.TLSMode != "prefer" || ts.Schema != "public" || !u.ReplaceTargetDatabase || u.TargetOnXServer(inv.Database) {
		t.Errorf("defaults: tls %q schema %q replace %v on X's %v", ts.TLSMode, ts.Schema, u.ReplaceTargetDatabase, u.TargetOnXServer(inv.Database))
	}
	if ts.Name != "kong" {
		t.Errorf("target name %q", ts.Name)
	}
	var text strings.Builder
	if err := Redacted(inv).WriteHCL(&text); err != nil {
		t.Fatal(err)
	}
	back, diags := LoadBytes("shown.hcl", []byte(text.String()))
	if diags.HasErrors() {
		t.Fatalf("shown inventory does not load: %s\n%s", diags.Error(), text.String())
	}
	if b := back.Upgrade.TargetServer; b == nil || b.Secret != ts.Secret || b.Host != ts.Host || b.Port != ts.Port || b.User != ts.User || b.Name != ts.Name {
		t.Errorf("shown target %+v, want %+v\n%s", b, ts, text.String())
	}

	js, err := Redacted(inv).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	back, diags = LoadBytes("shown.hcl.json", js)
	if b := back.Upgrade.TargetServer; diags.HasErrors() || b == nil || b.Host != ts.Host || b.Port != ts.Port || b.Secret != ts.Secret {
		t.Errorf("JSON form: %+v %s\n%s", b, diags.Error(), js)
	}

	// Omitted: host, port, user and password reference are X's.
	inv, diags = LoadBytes("dc.hcl", []byte(dcHosts+dcUpgrade("  strategy = \"dual-cluster\"\n  target_database = { port = 5433, name = \"kong_y\" }\n")))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	ts = inv.Upgrade.TargetServer
	if ts.Host != "10.0.0.5" || ts.Port != 5433 || ts.User != "kong" || ts.Secret.Env != "PG" || ts.Name != "kong_y" {
		t.Errorf("inherited: %+v", ts)
	}

	// The string form: on X's server.
	inv, diags = LoadBytes("dc.hcl", []byte(dcHosts+dcUpgrade("  strategy = \"dual-cluster\"\n  target_database = \"kong_y\"\n")))
	if diags.HasErrors() || inv.Upgrade.TargetServer != nil || !inv.Upgrade.TargetOnXServer(inv.Database) || inv.Upgrade.TargetDatabase != "kong_y" {
		t.Errorf("string form: %+v %s", inv.Upgrade.TargetServer, diags.Error())
	}
}
