package labenv

import (
	"strings"
	"testing"
)

// The LB lab plans host lb at 198.18.(32k).4 with role load_balancer, and
// its haproxy.cfg fronts every Kong proxy (the data planes in hybrid
// mode), servers named after the hosts (the inventory's lb_server
// default), health-checked, with the runtime API at the Debian socket
// with level admin. LB is refused with a bastion, and marks the
// fingerprint (an LB lab is not reused for a lab without one).
func TestLBConfig(t *testing.T) {
	o := testOptions(t, Options{ID: 6, Nodes: 3, LB: true})
	st := &State{Options: o, Hosts: plan(o)}
	lb := st.Hosts[1]
	if lb.Name != LBHostName || lb.Kind != KindLB || lb.Address != "198.18.192.4" || !lb.HasRole("load_balancer") {
		t.Fatalf("lb host %+v", lb)
	}
	cfg := renderHAProxyConfig(st)
	for _, want := range []string{
		"stats socket /run/haproxy/admin.sock mode 660 level admin",
		"bind 0.0.0.0:8000",
		"default_backend kong",
		"backend kong",
		"default-server check inter 300ms fall 2 rise 2",
		"\tserver kong-1 198.18.193.1:8000\n\tserver kong-2 198.18.193.2:8000\n\tserver kong-3 198.18.193.3:8000\n",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("haproxy.cfg lacks %q:\n%s", want, cfg)
		}
	}
	if strings.Count(cfg, "\tserver ") != 3 {
		t.Errorf("haproxy.cfg: want 3 servers:\n%s", cfg)
	}

	sp := testOptions(t, Options{ID: 6, Nodes: 3, Spares: 2, LB: true})
	cfg = renderHAProxyConfig(&State{Options: sp, Hosts: plan(sp)})
	if !strings.Contains(cfg, "\tserver spare-1 198.18.195.1:8000 weight 0 disabled\n\tserver spare-2 198.18.195.2:8000 weight 0 disabled\n") || strings.Count(cfg, "\tserver ") != 5 {
		t.Errorf("spares: in maintenance without weight behind the load balancer:\n%s", cfg)
	}

	h := testOptions(t, Options{ID: 6, Nodes: 2, Hybrid: true, DPs: 2, LB: true})
	cfg = renderHAProxyConfig(&State{Options: h, Hosts: plan(h)})
	if !strings.Contains(cfg, "\tserver dp-1 198.18.194.1:8000\n\tserver dp-2 198.18.194.2:8000\n") || strings.Contains(cfg, "server kong-") {
		t.Errorf("hybrid: the data planes only behind the load balancer:\n%s", cfg)
	}

	if _, err := (Options{ID: 6, Bastion: true, LB: true, Dir: "/nonexistent/kongctl-lab-test/lab", PackagesDir: "/srv/packages"}).normalize(); err == nil || !strings.Contains(err.Error(), "lb: not with a bastion") {
		t.Errorf("LB with a bastion: %v", err)
	}
	if a, b := o.fingerprint(), testOptions(t, Options{ID: 6, Nodes: 3}).fingerprint(); !strings.HasSuffix(a, " lb=true") || strings.Contains(b, "lb=") {
		t.Errorf("fingerprints %q / %q", a, b)
	}
}
