package fleet

import (
	"context"
	"time"
)

// AgentTimed is implemented by nodes whose agent reports its own duration
// of each operation (summed per operation since the node was connected).
type AgentTimed interface {
	AgentTimes() map[string]time.Duration
}

// Reconnector is implemented by connectors that can replace a host's lost
// connection in place (the SSH connector).
type Reconnector interface {
	Reconnect(ctx context.Context, host string) error
}

// DeliveryReporter is implemented by connectors that deliver an agent.
type DeliveryReporter interface{ AgentDelivery() AgentDelivery }
