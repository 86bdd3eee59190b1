package runner

import (
	"context"
	"testing"

	"github.com/kongctl/kongctl/controller/fleet"
)

// transportCluster is a fake cluster whose connector accounts its SSH
// sessions and agent processes.
type transportCluster struct {
	*fakeCluster
	t fleet.Transport
}

func (c transportCluster) Transport() fleet.Transport { return c.t }

// The report carries the connector's transport accounting (the benchmark's
// SSH sessions and agent processes per node), and none without it.
func TestReportCarriesTransport(t *testing.T) {
	inv := labInventory(t, "pw-123")
	want := fleet.Transport{Hosts: 4, SSHSessions: 100, AgentProcesses: 80, UploadedBytes: 7_800_000}
	c := newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3", "db")
	r, err := Upgrade(context.Background(), Options{Inventory: inv, Yes: true, Connector: transportCluster{c, want}, clock: c.clk})
	if err != nil {
		t.Fatal(err)
	}
	if r.Transport == nil || *r.Transport != want {
		t.Fatalf("report transport %+v, want %+v (outcome %s %s)", r.Transport, want, r.Outcome, r.Error)
	}
	c = newFakeCluster(t, "2.8.4", "kong-1", "kong-2", "kong-3", "db")
	if r, err := Upgrade(context.Background(), Options{Inventory: inv, Yes: true, Connector: c, clock: c.clk}); err != nil || r.Transport != nil {
		t.Fatalf("report without accounting: transport %+v, %v", r.Transport, err)
	}
}
