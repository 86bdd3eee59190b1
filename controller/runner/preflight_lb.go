package runner

import (
	"context"
	"fmt"
	"strings"

	"github.com/kongctl/kongctl/controller/fleet"
)

// checkLoadBalancer: the load balancer's runtime API answers over SSH on
// its host, the backend exists and every proxying node has its server
// there. A server already drained before the run is named: kongctl sets
// it ready once the node serves Y.
func (e *engine) checkLoadBalancer(ctx context.Context) {
	lbs := e.spec.LB
	if lbs == nil {
		return
	}
	fix := fmt.Sprintf("check that HAProxy runs on %s with its runtime API on the inventory's socket (stats socket ... level admin), and the load_balancer block", lbs.Host)
	lb, err := e.loadBalancer(ctx)
	var servers []fleet.LBServer
	if err == nil {
		servers, err = lb.Servers(ctx)
	}
	if err != nil {
		code := "lb-unreachable"
		if strings.Contains(err.Error(), "no backend") {
			code, fix = "lb-backend", fmt.Sprintf("name the backend whose servers are the Kong nodes (load_balancer.backend, now %q)", lbs.Backend)
		}
		e.find(Finding{Severity: SevError, Code: code, Host: lbs.Host, Message: "load balancer: " + e.red.err(err), Fix: fix})
		return
	}
	have := map[string]fleet.LBServer{}
	for _, s := range servers {
		have[s.Name] = s
	}
	for _, h := range sortedKeys(lbs.Servers) {
		srv := lbs.Servers[h]
		s, ok := have[srv]
		switch {
		case !ok:
			e.find(Finding{Severity: SevError, Code: "lb-server", Host: h,
				Message: fmt.Sprintf("the load balancer's backend %s on %s has no server %s for node %s", lbs.Backend, lbs.Host, srv, h),
				Fix:     "add the server to the backend, or set the node's lb_server to its server name"})
		case s.Drain:
			e.find(Finding{Severity: SevWarning, Code: "lb-drained", Host: h,
				Message: fmt.Sprintf("server %s/%s is drained already; kongctl sets it ready once the node serves Y", lbs.Backend, srv)})
		}
	}
}
