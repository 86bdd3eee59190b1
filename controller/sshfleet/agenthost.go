package sshfleet

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/kongctl/kongctl/controller/agentclient"
	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/sshremote"
)

// agentHost is one host's SSH connection and agent client. The connection
// may be replaced (reconnect) while other goroutines use the host (the
// fleet-lock heartbeat on the tools host while a detached migrations step
// on the same host re-attaches): ssh and ac are read through conn() and
// client() under mu.
type agentHost struct {
	name     string
	mu       sync.RWMutex
	ssh      *sshremote.Client
	ac       *agentclient.Client
	time     agentTiming
	delivery *agentclient.Delivery
	// redial opens a new connection (and agent client) to the host, for
	// re-attaching to a detached step after the connection was lost.
	redial func(ctx context.Context) (*sshremote.Client, *agentclient.Client, error)
	// retired is what the connections replaced by reconnect used.
	retired fleet.Transport
}

// transport is what the host's connections used, the replaced ones
// included (Hosts and UploadedBytes are the connector's).
func (ah *agentHost) transport() fleet.Transport {
	ah.mu.RLock()
	defer ah.mu.RUnlock()
	t := ah.retired
	addUse(&t, ah.ssh, ah.ac)
	return t
}

// client is the host's current agent client.
func (ah *agentHost) client() *agentclient.Client {
	ah.mu.RLock()
	defer ah.mu.RUnlock()
	return ah.ac
}

// conn is the host's current SSH connection.
func (ah *agentHost) conn() *sshremote.Client {
	ah.mu.RLock()
	defer ah.mu.RUnlock()
	return ah.ssh
}

// reconnect replaces a lost connection (a detached step's wait). Other
// users of the host keep the client they hold for their call in flight
// (it fails with the lost connection) and pick up the new one on their
// next call.
func (ah *agentHost) reconnect(ctx context.Context) error {
	cl, ac, err := ah.redial(ctx)
	if err != nil {
		return err
	}
	ah.mu.Lock()
	old, oldAC := ah.ssh, ah.ac
	addUse(&ah.retired, old, oldAC)
	ah.ssh, ah.ac = cl, ac
	ah.mu.Unlock()
	if oldAC != nil {
		oldAC.Close()
	}
	if old != nil {
		old.Close()
	}
	return nil
}

// close ends the host's agent session (the agent exits) and then its
// connection.
func (ah *agentHost) close() error {
	if ac := ah.client(); ac != nil {
		ac.Close()
	}
	return ah.conn().Close()
}

// addUse adds what a connection and its agent client used to t.
func addUse(t *fleet.Transport, ssh *sshremote.Client, ac *agentclient.Client) {
	if ssh != nil {
		t.SSHSessions += ssh.Sessions()
	}
	if ac != nil {
		t.AgentProcesses += ac.Processes()
	}
}

// agentTiming sums, per operation, the durations the agent itself
// reported (its own clock, without SSH round trips).
type agentTiming struct {
	mu  sync.Mutex
	sum map[string]time.Duration
}

func (t *agentTiming) add(op string, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sum == nil {
		t.sum = map[string]time.Duration{}
	}
	t.sum[op] += d
}

func (t *agentTiming) snapshot() map[string]time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.sum)
}
