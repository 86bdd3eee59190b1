package fleet

import "context"

// Load balancer server states kongctl sets (HAProxy's runtime API names).
const (
	LBReady = "ready" // in the load balancing
	LBDrain = "drain" // no new connections; established ones run on
	LBMaint = "maint" // out of the load balancing, health checks off (disabled)
)

// LoadBalancer is the load balancer in front of the Kong nodes, reached
// through its runtime API on its host. Errors name the host and the
// operation.
type LoadBalancer interface {
	// Servers lists the servers of the inventory's backend; an error
	// when the backend does not exist.
	Servers(ctx context.Context) ([]LBServer, error)
	// SetState sets a server's administrative state: LBReady, LBDrain
	// or LBMaint.
	SetState(ctx context.Context, server, state string) error
	// SetWeight sets a server's weight (0-256; 0 takes no new
	// connections, as drained).
	SetWeight(ctx context.Context, server string, weight int) error
	// SetHealthy tells the load balancer that a server is healthy now
	// (kongctl's own check passed: Kong runs, /status answers 200, it is
	// ready and reaches its database), so that it takes traffic at once
	// instead of after its own health checks rise (HAProxy: rise × inter,
	// seconds with common settings, all of them downtime when it is the
	// first node back). The load balancer's checks go on as before and
	// take the server out again should they fail.
	SetHealthy(ctx context.Context, server string) error
}

// LBServer is one server of the backend as the load balancer reports it.
type LBServer struct {
	Name string `json:"name"`
	// Status is the load balancer's own word ("UP", "DOWN", "DRAIN",
	// "MAINT", "no check").
	Status string `json:"status"`
	// Sessions are the server's current sessions (HAProxy's scur).
	Sessions int `json:"sessions"`
	// Drain is set while the server is in state drain (set by kongctl or
	// by hand), whatever its health.
	Drain bool `json:"drain"`
	// Weight is the server's current weight (HAProxy's srv_uweight).
	Weight int `json:"weight"`
}

// LBConnector is implemented by connectors that reach the inventory's
// load balancer (the SSH connector, when the inventory has one).
type LBConnector interface {
	LoadBalancer(ctx context.Context) (LoadBalancer, error)
}
