package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/kongctl/kongctl/lab/bench"
)

// perNode is run r's cost per Kong node (issue 21), from kongctl's own
// accounting in its report and the controller's rusage and the run's
// CPU floor here; nil when the report has no accounting.
func perNode(r upgradeRun) *bench.PerNode {
	var floor float64
	if r.CPU != nil {
		floor = r.CPU.Floor
	}
	p, ok := bench.PerNodeOf(r.Nodes, r.Transport, r.Controller.WallSeconds, r.Controller.CPUSeconds, floor)
	if !ok {
		return nil
	}
	return &p
}

// medianPerNode is the median cost per node of the runs that have one.
func medianPerNode(rs []upgradeRun) bench.PerNode {
	var ps []bench.PerNode
	for _, r := range rs {
		if r.PerNode != nil {
			ps = append(ps, *r.PerNode)
		}
	}
	return bench.MedianPerNode(ps)
}

// Issue 21's bars, at 64 nodes: SSH sessions and agent processes per
// node, the controller's CPU per node, the wall time over the CPU floor.
const (
	maxSessionsPerNode  = 3
	maxProcessesPerNode = 3
	maxCPUMSPerNode     = 30
	maxWallOverFloor    = 1.15
)

// addPerNodeBars sets issue 21's bars from the 64-node row, if measured
// with kongctl's accounting.
func addPerNodeBars(res *results) {
	for _, row := range res.Scale {
		if row.Nodes != 64 || row.SSHSessions == 0 {
			continue
		}
		res.Bars["ssh_sessions_per_node_64_nodes"] = bar{Value: row.SSHSessions, Limit: maxSessionsPerNode, Met: row.SSHSessions <= maxSessionsPerNode}
		res.Bars["agent_processes_per_node_64_nodes"] = bar{Value: row.AgentProcesses, Limit: maxProcessesPerNode, Met: row.AgentProcesses <= maxProcessesPerNode}
		res.Bars["controller_cpu_ms_per_node_64_nodes"] = bar{Value: row.ControllerCPUMS, Limit: maxCPUMSPerNode, Met: row.ControllerCPUMS <= maxCPUMSPerNode}
		if row.WallOverFloor > 0 {
			res.Bars["wall_over_cpu_floor_64_nodes"] = bar{Value: row.WallOverFloor, Limit: maxWallOverFloor, Met: row.WallOverFloor <= maxWallOverFloor}
		}
	}
}

// renderPerNode writes the per-node table of the fleet sizes.
func renderPerNode(out io.Writer, r *results) {
	w := tabwriter.NewWriter(out, 0, 2, 2, ' ', 0)
	fmt.Fprintf(w, "per Kong node: nodes\tSSH sessions\tagent processes\tcontroller CPU ms\tbytes delivered\twall / CPU floor\n")
	for _, s := range r.Scale {
		fmt.Fprintf(w, "%d\t%.1f\t%.1f\t%.1f\t%.0f\t%.2f\n", s.Nodes, s.SSHSessions, s.AgentProcesses, s.ControllerCPUMS, s.BytesDelivered, s.WallOverFloor)
	}
	w.Flush()
}
