package inventory

import (
	"os"
	"strings"
	"testing"
)

// upgrade.decommission: decoded, shown, and refused without spare hosts.
func TestDecommissionAttribute(t *testing.T) {
	src, err := os.ReadFile("../hcl/examples/lab.hcl")
	if err != nil {
		t.Fatal(err)
	}
	base := strings.Replace(string(src), `on_failure      = "rollback"`, `on_failure      = "rollback"
  decommission    = true`, 1)
	if base == string(src) {
		t.Fatal("lab.hcl changed: no on_failure line to extend")
	}
	_, diags := LoadBytes("hosts.hcl", []byte(base))
	found := false
	for _, d := range diags {
		found = found || d.Summary == "Nothing to decommission" && d.Subject != nil && d.Subject.Start.Column == 21
	}
	if !found {
		t.Errorf("in-place inventory with decommission: %s", diags.Error())
	}
	spare := strings.Replace(base, `group "kong" {`, `host "new-1" {
  address = "198.18.0.21"
  roles   = ["spare"]
}

group "kong" {`, 1)
	inv, diags := LoadBytes("hosts.hcl", []byte(spare))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if !inv.Upgrade.Decommission {
		t.Error("decommission not decoded")
	}
	var text strings.Builder
	if err := Redacted(inv).WriteHCL(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "decommission") {
		t.Errorf("decommission not shown:\n%s", text.String())
	}
}

// upgrade.start_between_hops: decoded and shown; not a boolean is an
// error at its value.
func TestStartBetweenHopsAttribute(t *testing.T) {
	src, err := os.ReadFile("../hcl/examples/lab.hcl")
	if err != nil {
		t.Fatal(err)
	}
	with := func(v string) string {
		return strings.Replace(string(src), `on_failure      = "rollback"`, `on_failure      = "rollback"
  start_between_hops = `+v, 1)
	}
	inv, diags := LoadBytes("hosts.hcl", []byte(with("true")))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if !inv.Upgrade.StartBetweenHops {
		t.Error("start_between_hops not decoded")
	}
	var text strings.Builder
	if err := Redacted(inv).WriteHCL(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "start_between_hops") {
		t.Errorf("start_between_hops not shown:\n%s", text.String())
	}
	_, diags = LoadBytes("hosts.hcl", []byte(with(`"yes"`)))
	if !diags.HasErrors() || diags[0].Subject == nil || diags[0].Subject.Start.Column != 24 {
		t.Errorf("start_between_hops = \"yes\": %s", diags.Error())
	}
}
