package inventory

import (
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Verify says how a started fleet is judged healthy.
type Verify struct {
	Soak   time.Duration // how long gates are watched after start
	Health Health
	Smoke  []*Smoke
	Gate   Gate
}

// Health is the readiness check on every node (Kong's status endpoint).
type Health struct {
	Timeout  time.Duration // how long a node may take to become healthy
	Interval time.Duration // between probes
}

// Smoke is one GET sent through each node's proxy. There is no method: a
// smoke request reaches the real upstreams and must change nothing.
type Smoke struct {
	Name      string // optional block label
	Path      string
	Host      string // Host header; "" = none
	Status    int    // expected status code
	DeclRange hcl.Range
}

// Gate holds the metric thresholds over the soak window.
type Gate struct {
	MaxErrorRate  float64       // failed/total proxied requests, 0..1 (1 = no gate)
	Max5xx        int           // 5xx responses tolerated; negative = no gate
	MaxLatencyP99 time.Duration // 0 = no gate
	MinRequests   int           // proxied requests the fleet must serve over the soak window, else the gate fails (0 = no gate)
}

func defaultVerify() *Verify {
	return &Verify{
		Soak:   30 * time.Second,
		Health: Health{Timeout: 60 * time.Second, Interval: 2 * time.Second},
		Gate:   Gate{MaxErrorRate: 0.01, Max5xx: -1},
	}
}

var verifySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "soak"}},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "health"},
		{Type: "smoke"},
		{Type: "gate"},
	},
}

var healthSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "timeout"}, {Name: "interval"}},
}

var smokeSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "name"},
		{Name: "path", Required: true},
		{Name: "host"},
		{Name: "status"},
	},
}

var gateSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "max_error_rate"},
		{Name: "max_5xx"},
		{Name: "max_latency_p99"},
		{Name: "min_requests"},
	},
}

func (d *decoder) decodeVerify(block *hcl.Block) *Verify {
	v := defaultVerify()
	c := d.content(block.Body, verifySchema)
	setAttr(c.Attributes, "soak", &v.Soak, d.durationOf(true))
	if b := d.single(c.Blocks.OfType("health"), "health"); b != nil {
		hc := d.content(b.Body, healthSchema)
		setAttr(hc.Attributes, "timeout", &v.Health.Timeout, d.durationOf(false))
		setAttr(hc.Attributes, "interval", &v.Health.Interval, d.durationOf(false))
	}
	for _, b := range c.Blocks.OfType("smoke") {
		v.Smoke = append(v.Smoke, d.decodeSmoke(b))
	}
	if b := d.single(c.Blocks.OfType("gate"), "gate"); b != nil {
		gc := d.content(b.Body, gateSchema)
		setAttr(gc.Attributes, "max_error_rate", &v.Gate.MaxErrorRate, d.floatIn(0, 1))
		setAttr(gc.Attributes, "max_5xx", &v.Gate.Max5xx, d.intIn(0, 1<<30))
		setAttr(gc.Attributes, "max_latency_p99", &v.Gate.MaxLatencyP99, d.durationOf(false))
		setAttr(gc.Attributes, "min_requests", &v.Gate.MinRequests, d.intIn(0, 1<<30))
	}
	return v
}

func (d *decoder) decodeSmoke(b *hcl.Block) *Smoke {
	s := &Smoke{Status: 200, DeclRange: b.DefRange}
	c := d.content(b.Body, smokeSchema)
	a := c.Attributes
	setAttr(a, "name", &s.Name, d.str)
	if at, ok := a["path"]; ok {
		if x, ok := d.nonEmpty(at); ok {
			if !strings.HasPrefix(x, "/") {
				d.errorf(at.Expr.Range(), "Invalid smoke path", "The path %q must start with \"/\", e.g. \"/health\".", x)
			}
			s.Path = x
		}
	}
	setAttr(a, "host", &s.Host, d.str)
	setAttr(a, "status", &s.Status, d.intIn(100, 599))
	return s
}
