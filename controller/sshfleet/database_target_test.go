package sshfleet

import (
	"strings"
	"testing"

	"github.com/kongctl/kongctl/inventory"
)

const targetInv = `host "lb" {
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
  password_env = "SSHFLEET_TEST_PG"
}
upgrade {
  to              = "3.4.2"
  strategy        = "dual-cluster"
  target_database = TARGET
  package {
    source = "file"
    dir    = "packages"
  }
}
`

// The target's operations reach X's server with X's connection for the
// string form, and the other server with its own role and password from
// the maintenance database (never the name the agent may not replace).
func TestTargetConn(t *testing.T) {
	t.Setenv("SSHFLEET_TEST_PG", "x-pw")
	t.Setenv("SSHFLEET_TEST_PG_Y", "y-pw")
	load := func(target string) *sshConnector {
		t.Helper()
		src := []byte(strings.Replace(targetInv, "TARGET", target, 1))
		inv, diags := inventory.LoadBytes("t.hcl", src)
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		return &sshConnector{inv: inv, tools: "kong-1"}
	}
	c := load(`"kong_y"`)
	x, err := c.dbConn()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.targetConn(x); err != nil || got != x {
		t.Errorf("string form: %+v %v, want X's connection", got, err)
	}
	c = load(`{ host = "10.0.0.6", port = 5433, name = "kong_y", user = "kong_y", password_env = "SSHFLEET_TEST_PG_Y", tls_mode = "require" }`)
	x, _ = c.dbConn()
	got, err := c.targetConn(x)
	if err != nil {
		t.Fatal(err)
	}
	if got.Host != "10.0.0.6" || got.Port != 5433 || got.User != "kong_y" || got.Password != "y-pw" || got.Database != "postgres" || got.SSLMode != "require" || got.Schema != "public" {
		t.Errorf("other server: %+v", got)
	}
	c = load(`{ host = "10.0.0.6", name = "kong_y", password_env = "SSHFLEET_TEST_PG_UNSET" }`)
	if _, err := c.targetConn(x); err == nil {
		t.Error("an unresolved target password reference: no error")
	}
}
