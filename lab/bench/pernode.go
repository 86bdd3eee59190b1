package bench

// Transport is kongctl's own accounting of one run, from its report
// (controller/fleet.Transport): SSH sessions opened (one per command, one
// per SFTP client), agent processes started (one per agent call that ran,
// one more per detached step), agent bytes uploaded; over every host it
// reached, the database tools host included.
type Transport struct {
	Hosts          int   `json:"hosts"`
	SSHSessions    int64 `json:"ssh_sessions"`
	AgentProcesses int64 `json:"agent_processes"`
	UploadedBytes  int64 `json:"agent_uploaded_bytes"`
}

// PerNode is what one upgrade cost per Kong node (issue 21): the run's
// totals over every host, divided by the Kong nodes upgraded.
type PerNode struct {
	SSHSessions     float64 `json:"ssh_sessions_per_node"`
	AgentProcesses  float64 `json:"agent_processes_per_node"`
	ControllerCPUMS float64 `json:"controller_cpu_ms_per_node"`
	BytesDelivered  float64 `json:"bytes_delivered_per_node"`
	// WallOverFloor is the wall time over the run's CPU floor (what the
	// whole lab and kongctl burned, over the machine's CPUs): 1 is as fast
	// as this machine allows; 0 when the floor was not measured.
	WallOverFloor float64 `json:"wall_over_cpu_floor"`
}

// PerNodeOf computes one run's PerNode: nodes Kong nodes upgraded, t
// kongctl's accounting (nil: not in the report, an older kongctl), the
// controller's wall and CPU seconds and the run's CPU floor in seconds
// (0: not measured). ok is false without nodes or accounting.
func PerNodeOf(nodes int, t *Transport, wallS, cpuS, floorS float64) (p PerNode, ok bool) {
	if nodes <= 0 || t == nil {
		return p, false
	}
	n := float64(nodes)
	p = PerNode{
		SSHSessions:     float64(t.SSHSessions) / n,
		AgentProcesses:  float64(t.AgentProcesses) / n,
		ControllerCPUMS: cpuS * 1000 / n,
		BytesDelivered:  float64(t.UploadedBytes) / n,
	}
	if floorS > 0 {
		p.WallOverFloor = wallS / floorS
	}
	return p, true
}

// MedianPerNode is the median of each figure over runs (the runs without
// a floor left out of WallOverFloor's).
func MedianPerNode(runs []PerNode) PerNode {
	var ss, ap, cpu, by, wf []float64
	for _, r := range runs {
		ss, ap, cpu, by = append(ss, r.SSHSessions), append(ap, r.AgentProcesses), append(cpu, r.ControllerCPUMS), append(by, r.BytesDelivered)
		if r.WallOverFloor > 0 {
			wf = append(wf, r.WallOverFloor)
		}
	}
	return PerNode{SSHSessions: Summarize(ss).Median, AgentProcesses: Summarize(ap).Median, ControllerCPUMS: Summarize(cpu).Median,
		BytesDelivered: Summarize(by).Median, WallOverFloor: Summarize(wf).Median}
}
