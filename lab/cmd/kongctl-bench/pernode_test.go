package main

import (
	"strings"
	"testing"

	"github.com/kongctl/kongctl/lab/bench"
)

// A run's cost per node comes from kongctl's accounting, the controller's
// rusage and the CPU floor; the 64-node row sets issue 21's bars.
func TestPerNodeFiguresAndBars(t *testing.T) {
	run := func(sessions int64, cpu, wall, floor float64) upgradeRun {
		r := upgradeRun{Nodes: 64, Transport: &bench.Transport{Hosts: 65, SSHSessions: sessions, AgentProcesses: sessions - 64, UploadedBytes: 64 * 2_000_000}}
		r.Controller.CPUSeconds, r.Controller.WallSeconds = cpu, wall
		r.CPU = &runCPU{Floor: floor}
		r.PerNode = perNode(r)
		return r
	}
	rs := []upgradeRun{run(1664, 3.2, 60, 50), run(1600, 1.6, 55, 50), run(1728, 6.4, 70, 50)}
	if p := rs[1].PerNode; p == nil || p.SSHSessions != 25 || p.AgentProcesses != 24 || p.ControllerCPUMS != 25 || p.BytesDelivered != 2_000_000 || p.WallOverFloor != 1.1 {
		t.Fatalf("per node: %+v", rs[1].PerNode)
	}
	if perNode(upgradeRun{Nodes: 3}) != nil {
		t.Fatal("a per-node figure without kongctl's accounting")
	}
	res := &results{Scale: []scaleRow{{Nodes: 3}, {Nodes: 64, PerNode: medianPerNode(rs)}}, Bars: map[string]bar{}}
	addPerNodeBars(res)
	for name, want := range map[string]bar{
		"ssh_sessions_per_node_64_nodes":      {Value: 26, Limit: 3, Met: false},
		"agent_processes_per_node_64_nodes":   {Value: 25, Limit: 3, Met: false},
		"controller_cpu_ms_per_node_64_nodes": {Value: 50, Limit: 30, Met: false},
		"wall_over_cpu_floor_64_nodes":        {Value: 1.2, Limit: 1.15, Met: false},
	} {
		if got := res.Bars[name]; got != want {
			t.Errorf("bar %s = %+v, want %+v", name, got, want)
		}
	}
	if len(res.Bars) != 4 {
		t.Errorf("bars %v, want the four of the 64-node row", res.Bars)
	}
	var b strings.Builder
	renderPerNode(&b, res)
	if l := strings.Fields(strings.Split(b.String(), "\n")[2]); len(l) != 6 || l[0] != "64" || l[1] != "26.0" || l[5] != "1.20" {
		t.Errorf("per-node table:\n%s", b.String())
	}
}
