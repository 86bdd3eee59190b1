package sshfleet

import (
	"testing"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// A node without an Admin API (a data plane, admin_listen = off) is
// healthy on its Status API's word; with an Admin API, /status there
// decides StatusOK as before.
func TestHealthOfWithoutAdminAPI(t *testing.T) {
	dp := healthOf(&agentproto.HealthResult{Healthy: true, CLI: true, Status: &agentproto.HTTPProbe{Status: 200}})
	if !dp.Healthy() || dp.Version != "" {
		t.Errorf("data plane serving: %+v, want healthy with no version", dp)
	}
	down := healthOf(&agentproto.HealthResult{CLI: true, Status: &agentproto.HTTPProbe{Status: 503}})
	if down.Healthy() || down.StatusOK {
		t.Errorf("data plane not ready: %+v, want unhealthy", down)
	}
	cp := healthOf(&agentproto.HealthResult{Healthy: true, CLI: true, Admin: &agentproto.HTTPProbe{Status: 500}, Status: &agentproto.HTTPProbe{Status: 200}, Version: "3.4.2"})
	if cp.StatusOK {
		t.Errorf("admin API answering 500: %+v, want StatusOK false", cp)
	}
}
