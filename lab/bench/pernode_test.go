package bench

import (
	"math"
	"testing"
)

func TestPerNodeOf(t *testing.T) {
	tr := &Transport{Hosts: 65, SSHSessions: 1664, AgentProcesses: 1600, UploadedBytes: 64*1_952_524 + 2_787_708}
	p, ok := PerNodeOf(64, tr, 230, 14.08, 200)
	if !ok {
		t.Fatal("not ok")
	}
	want := PerNode{SSHSessions: 26, AgentProcesses: 25, ControllerCPUMS: 220, BytesDelivered: 1_952_524 + 2_787_708/64.0, WallOverFloor: 1.15}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"ssh_sessions_per_node", p.SSHSessions, want.SSHSessions},
		{"agent_processes_per_node", p.AgentProcesses, want.AgentProcesses},
		{"controller_cpu_ms_per_node", p.ControllerCPUMS, want.ControllerCPUMS},
		{"bytes_delivered_per_node", p.BytesDelivered, want.BytesDelivered},
		{"wall_over_cpu_floor", p.WallOverFloor, want.WallOverFloor},
	} {
		if math.Abs(c.got-c.want) > 1e-9*math.Max(1, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// No floor measured: no ratio, the rest still computed.
	if p, ok := PerNodeOf(3, tr, 10, 1, 0); !ok || p.WallOverFloor != 0 || p.SSHSessions != 1664.0/3 {
		t.Errorf("without a floor: %+v %v", p, ok)
	}
	// An older kongctl's report has no accounting; no nodes, no figures.
	if _, ok := PerNodeOf(3, nil, 10, 1, 5); ok {
		t.Error("figures without accounting")
	}
	if _, ok := PerNodeOf(0, tr, 10, 1, 5); ok {
		t.Error("figures without nodes")
	}
}

func TestMedianPerNode(t *testing.T) {
	m := MedianPerNode([]PerNode{
		{SSHSessions: 25, AgentProcesses: 24, ControllerCPUMS: 40, BytesDelivered: 100, WallOverFloor: 1.3},
		{SSHSessions: 27, AgentProcesses: 26, ControllerCPUMS: 50, BytesDelivered: 100, WallOverFloor: 0}, // no floor
		{SSHSessions: 26, AgentProcesses: 25, ControllerCPUMS: 45, BytesDelivered: 100, WallOverFloor: 1.1},
	})
	if m.SSHSessions != 26 || m.AgentProcesses != 25 || m.ControllerCPUMS != 45 || m.BytesDelivered != 100 || math.Abs(m.WallOverFloor-1.2) > 1e-9 {
		t.Fatalf("median %+v", m)
	}
}
