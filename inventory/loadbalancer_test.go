package inventory

import (
	"bytes"
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

	// inventory show writes it (defaults filled in) and it loads back.
	var text bytes.Buffer
	if err := Redacted(inv).WriteHCL(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"load_balancer \"haproxy\" {\n  host          = \"lb\"\n  backend       = \"kong\"\n  socket        = \"/run/haproxy/admin.sock\"\n  drain_timeout = \"30s\"\n}", `lb_server = "k1"`} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("inventory show lacks %q:\n%s", want, text.String())
		}
	}
	back, diags := LoadBytes("lb.hcl", text.Bytes())
	if bl := back.LoadBalancer; diags.HasErrors() || bl == nil || bl.Kind != lb.Kind || bl.Host != lb.Host || bl.Backend != lb.Backend || bl.Socket != lb.Socket ||
		bl.DrainTimeout != lb.DrainTimeout || back.Host("kong-1").LBServer != "k1" {
		t.Errorf("inventory show does not load back: %v %+v", diags, back.LoadBalancer)
	}

	// Another kind is refused at its label.
	_, diags = LoadBytes("lb.hcl", []byte(strings.Replace(src, `"haproxy"`, `"nginx"`, 1)+base))
	if !diags.HasErrors() || !strings.Contains(diags.Error(), `lb.hcl:14,15-22: Unknown load balancer; "nginx" is not a load balancer`) {
		t.Errorf("kind nginx: %v", diags)
	}
}
