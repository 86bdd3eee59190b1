package inventory

import (
	"strings"
	"testing"
	"time"
)

// TestLoadBalancer: the load_balancer block with its defaults (socket,
// drain_timeout), and each Kong node's server name: lb_server, else the
// host's name.
func TestLoadBalancer(t *testing.T) {
	src := `host "lb" {
  address = "10.0.0.4"
  roles   = ["load_balancer"]
}
host "kong-1" {
  address   = "10.0.0.11"
  roles     = ["kong"]
  lb_server = "k1"
}
host "kong-2" {
  address = "10.0.0.12"
  roles   = ["kong"]
}
load_balancer "haproxy" {
  host    = "lb"
  backend = "kong"
}
`
	inv, diags := LoadBytes("lb.hcl", []byte(src+base))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	lb := inv.LoadBalancer
	if lb == nil || lb.Kind != LBHAProxy || lb.Host != "lb" || lb.Backend != "kong" || lb.Socket != DefaultLBSocket || lb.DrainTimeout != 30*time.Second {
		t.Fatalf("load balancer %+v", lb)
	}
	if got := inv.Host("kong-1").LBServerOf() + "," + inv.Host("kong-2").LBServerOf(); got != "k1,kong-2" {
		t.Errorf("servers %s, want k1,kong-2", got)
	}
	if !inv.Host("lb").Has(RoleLoadBalancer) || inv.Host("lb").IsKong() {
		t.Errorf("the lb host: roles %v", inv.Host("lb").Roles)
	}

	// Another kind is refused at its label.
	_, diags = LoadBytes("lb.hcl", []byte(strings.Replace(src, `"haproxy"`, `"nginx"`, 1)+base))
	if !diags.HasErrors() || !strings.Contains(diags.Error(), `lb.hcl:14,15-22: Unknown load balancer; "nginx" is not a load balancer`) {
		t.Errorf("kind nginx: %v", diags)
	}
}
