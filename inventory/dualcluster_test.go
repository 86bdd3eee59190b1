package inventory

import (
	"slices"
	"strings"
	"testing"
)

const dcHosts = `host "lb" {
  address = "10.0.0.4"
  roles   = ["load_balancer"]
}
host "kong-1" {
  address = "10.0.0.11"
  roles   = ["kong"]
}
host "spare-1" {
  address = "10.0.0.21"
  roles   = ["spare"]
}
load_balancer "haproxy" {
  host    = "lb"
  backend = "kong"
}
database {
  host         = "10.0.0.5"
  password_env = "PG"
}
`

func dcUpgrade(attrs string) string {
	return "upgrade {\n  to = \"3.4.2\"\n" + attrs + "  package {\n    source = \"file\"\n    dir    = \"packages\"\n  }\n}\n"
}

// upgrade { strategy = "dual-cluster" }: decoded with the default shift,
// shown, and the default strategy stays in-place.
func TestDualClusterDecode(t *testing.T) {
	inv, diags := LoadBytes("dc.hcl", []byte(dcHosts+dcUpgrade("  strategy = \"dual-cluster\"\n  target_database = \"kong_y\"\n")))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	u := inv.Upgrade
	if u.Strategy != StrategyDualCluster || u.TargetDatabase != "kong_y" || !slices.Equal(u.Shift, []int{50, 100}) {
		t.Errorf("upgrade %q %q %v", u.Strategy, u.TargetDatabase, u.Shift)
	}
	var text strings.Builder
	if err := Redacted(inv).WriteHCL(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), `"50%"`) || !strings.Contains(text.String(), "kong_y") {
		t.Errorf("strategy not shown:\n%s", text.String())
	}
	inv, diags = LoadBytes("dc.hcl", []byte(dcHosts+dcUpgrade("  strategy = \"dual-cluster\"\n  target_database = \"kong_y\"\n  shift = [\"10%\", \"50%\", \"100%\"]\n")))
	if diags.HasErrors() || !slices.Equal(inv.Upgrade.Shift, []int{10, 50, 100}) {
		t.Errorf("shift: %v %s", inv.Upgrade.Shift, diags.Error())
	}
	inv, diags = LoadBytes("dc.hcl", []byte(dcHosts+dcUpgrade("")))
	if diags.HasErrors() || inv.Upgrade.Strategy != StrategyInPlace || inv.Upgrade.Shift != nil {
		t.Errorf("default strategy %q %v %s", inv.Upgrade.Strategy, inv.Upgrade.Shift, diags.Error())
	}
}

// Bad strategy input is refused at its line and column, with the reason.
func TestDualClusterDiagnostics(t *testing.T) {
	noSpare := strings.Replace(dcHosts, `roles   = ["spare"]`, `roles   = ["kong"]`, 1)
	for _, tc := range []struct {
		name, src, summary string
		line, col          int
	}{
		{"unknown strategy", dcHosts + dcUpgrade("  strategy = \"blue-green\"\n"), "Invalid value for strategy", 23, 14},
		{"no target", dcHosts + dcUpgrade("  strategy = \"dual-cluster\"\n"), "Dual-cluster without a target database", 23, 14},
		{"target is X's", dcHosts + dcUpgrade("  strategy = \"dual-cluster\"\n  target_database = \"kong\"\n"), "Target database is X's", 24, 21},
		{"bad name", dcHosts + dcUpgrade("  strategy = \"dual-cluster\"\n  target_database = \"Kong-Y\"\n"), "Invalid target database name", 24, 21},
		{"shift not ending at 100", dcHosts + dcUpgrade("  strategy = \"dual-cluster\"\n  target_database = \"kong_y\"\n  shift = [\"50%\"]\n"), "Shift does not end at 100%", 25, 11},
		{"shift not ascending", dcHosts + dcUpgrade("  strategy = \"dual-cluster\"\n  target_database = \"kong_y\"\n  shift = [\"50%\", \"10%\", \"100%\"]\n"), "Shift steps not ascending", 25, 11},
		{"shift not a percentage", dcHosts + dcUpgrade("  strategy = \"dual-cluster\"\n  target_database = \"kong_y\"\n  shift = [\"half\", \"100%\"]\n"), "Invalid shift step", 25, 11},
		{"no spares", noSpare + dcUpgrade("  strategy = \"dual-cluster\"\n  target_database = \"kong_y\"\n"), "Dual-cluster without spare hosts", 23, 14},
		{"target with in-place", dcHosts + dcUpgrade("  target_database = \"kong_y\"\n"), "Not a dual-cluster upgrade", 23, 21},
		{"replace with in-place", dcHosts + dcUpgrade("  replace_target_database = true\n"), "Not a dual-cluster upgrade", 23, 29},
		{"replace X's database", dcHosts + dcUpgrade("  strategy = \"dual-cluster\"\n  target_database = \"kong\"\n  replace_target_database = true\n"), "Replacing X's database", 25, 29},
		{"target object is X's", dcHosts + dcUpgrade("  strategy = \"dual-cluster\"\n  target_database = { host = \"10.0.0.5\", name = \"kong\" }\n"), "Target database is X's", 24, 49},
		{"target is postgres", dcHosts + dcUpgrade("  strategy = \"dual-cluster\"\n  target_database = { host = \"10.0.0.6\", name = \"postgres\" }\n"), "Invalid target database name", 24, 49},
		{"target object without name", dcHosts + dcUpgrade("  strategy = \"dual-cluster\"\n  target_database = { host = \"10.0.0.6\" }\n"), "Target database without a name", 24, 21},
		{"replace X's database by object", dcHosts + dcUpgrade("  strategy = \"dual-cluster\"\n  target_database = { port = 5432, name = \"kong\" }\n  replace_target_database = true\n"), "Replacing X's database", 25, 29},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := LoadBytes("dc.hcl", []byte(tc.src))
			for _, d := range diags {
				if d.Summary == tc.summary && d.Subject != nil && d.Subject.Filename == "dc.hcl" && d.Subject.Start.Line == tc.line && d.Subject.Start.Column == tc.col {
					return
				}
			}
			t.Errorf("want %q at dc.hcl:%d:%d, got %s", tc.summary, tc.line, tc.col, diags.Error())
		})
	}
}

// replace_target_database and decommission with dual-cluster: decoded
// and shown.
func TestDualClusterReplaceAndDecommission(t *testing.T) {
	inv, diags := LoadBytes("dc.hcl", []byte(dcHosts+dcUpgrade("  strategy = \"dual-cluster\"\n  target_database = \"kong_y\"\n  replace_target_database = true\n  decommission = true\n")))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if u := inv.Upgrade; !u.ReplaceTargetDatabase || !u.Decommission {
		t.Errorf("replace %v decommission %v", u.ReplaceTargetDatabase, u.Decommission)
	}
	var text strings.Builder
	if err := Redacted(inv).WriteHCL(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"replace_target_database = true", "decommission"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("%s not shown:\n%s", want, text.String())
		}
	}
}
