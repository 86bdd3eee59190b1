package inventory

import (
	"path"
	"regexp"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Load balancer kinds (the load_balancer block's label).
const LBHAProxy = "haproxy"

// LoadBalancer is the load balancer in front of the Kong nodes: kongctl
// drains each node there before it stops and sets it ready again once it
// serves (docs/upgrade.md). Other load balancers are driven by per-node
// hooks instead.
type LoadBalancer struct {
	Kind string // "haproxy"
	// Host is the inventory host the load balancer runs on; its runtime
	// API is reached over SSH there.
	Host string
	// Backend is the backend (HAProxy) whose servers are the Kong nodes.
	Backend string
	// Socket is the runtime API's unix socket on Host.
	Socket string
	// DrainTimeout bounds the wait for a drained node's sessions to end.
	DrainTimeout time.Duration

	DeclRange hcl.Range
	Ranges    map[string]hcl.Range // attribute name -> its value's range
}

// Defaults of the load_balancer block.
const (
	DefaultLBSocket       = "/run/haproxy/admin.sock"
	DefaultLBDrainTimeout = 30 * time.Second
)

var loadBalancerSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "host", Required: true},
		{Name: "backend", Required: true},
		{Name: "socket"},
		{Name: "drain_timeout"},
	},
}

func (d *decoder) decodeLoadBalancer(block *hcl.Block) *LoadBalancer {
	lb := &LoadBalancer{Kind: block.Labels[0], Socket: DefaultLBSocket, DrainTimeout: DefaultLBDrainTimeout,
		DeclRange: block.DefRange, Ranges: map[string]hcl.Range{}}
	if lb.Kind != LBHAProxy {
		d.errorf(block.LabelRanges[0], "Unknown load balancer",
			"%q is not a load balancer kongctl drives. The kinds are %q; drive another load balancer with per_node before_stop and after_start hooks.", lb.Kind, LBHAProxy)
	}
	c := d.content(block.Body, loadBalancerSchema)
	for name, at := range c.Attributes {
		lb.Ranges[name] = at.Expr.Range()
	}
	setAttr(c.Attributes, "host", &lb.Host, d.nonEmpty)
	setAttr(c.Attributes, "backend", &lb.Backend, d.lbName)
	if at, ok := c.Attributes["socket"]; ok {
		if v, ok := d.nonEmpty(at); ok {
			if !path.IsAbs(v) {
				d.errorf(at.Expr.Range(), "Invalid socket", "The socket %q must be an absolute path on the load balancer's host, such as %q.", v, DefaultLBSocket)
			}
			lb.Socket = v
		}
	}
	setAttr(c.Attributes, "drain_timeout", &lb.DrainTimeout, d.durationOf(false))
	return lb
}

// lbNameRE is what a backend or server name may hold: it goes into a
// runtime API command line, where a space or ";" would start another.
var lbNameRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)

// lbName reads a backend or server name.
func (d *decoder) lbName(at *hcl.Attribute) (string, bool) {
	v, ok := d.nonEmpty(at)
	if ok && !lbNameRE.MatchString(v) {
		d.errorf(at.Expr.Range(), "Invalid load balancer name",
			"The name %q may hold only letters, digits and . _ : - (at most 128): it is sent in the load balancer's runtime API commands.", v)
		return "", false
	}
	return v, ok
}

// LBServerOf is h's server name in the load balancer's backend: its
// lb_server, else its name.
func (h *Host) LBServerOf() string {
	if h.LBServer != "" {
		return h.LBServer
	}
	return h.Name
}

// validateLoadBalancer checks the load_balancer block against the hosts:
// its host is declared, and no two Kong nodes share a server name.
func (d *decoder) validateLoadBalancer(inv *Inventory, hostAt map[string]*Host) {
	for _, h := range inv.Hosts {
		if h.LBServer != "" && inv.LoadBalancer == nil {
			d.errorf(h.Ranges["lb_server"], "lb_server without a load balancer",
				"The host %q names its load balancer server, but the inventory has no load_balancer block. Add one, or remove lb_server.", h.Name)
		}
	}
	lb := inv.LoadBalancer
	if lb == nil {
		return
	}
	if lb.Host != "" {
		if _, ok := hostAt[lb.Host]; !ok {
			names := make([]string, 0, len(inv.Hosts))
			for _, h := range inv.Hosts {
				names = append(names, h.Name)
			}
			d.errorf(lb.Ranges["host"], "Unknown load balancer host",
				"host names %q, but no host of that name is declared.%s It names the host the load balancer runs on (its runtime API is reached over SSH there).", lb.Host, didYouMean(lb.Host, names))
		}
	}
	server := map[string]*Host{}
	for _, h := range inv.KongHosts() {
		s := h.LBServerOf()
		if prev, dup := server[s]; dup {
			rng := h.Ranges["lb_server"]
			if rng == (hcl.Range{}) {
				rng = h.NameRange
			}
			d.errorf(rng, "Duplicate load balancer server",
				"The hosts %q and %q (declared at %s) are both server %q of the load balancer's backend. Give each Kong node its own lb_server.", h.Name, prev.Name, posString(prev.NameRange), s)
			continue
		}
		server[s] = h
	}
}
