package bench

import (
	"math"
	"slices"
)

// Outages are the figures of one run of the outage benchmark (issue 15),
// from the prober's samples.
type Outages struct {
	// Fleet is the longest time in which no node answered (NaN: no outage
	// seen).
	Fleet float64 `json:"fleet_s"`
	// WorstNode is the longest outage of any one node, and which node.
	WorstNode     float64 `json:"worst_node_s"`
	WorstNodeName string  `json:"worst_node"`
}

// OutagesOf computes the fleet and worst-node outages of samples.
func OutagesOf(samples []Sample) Outages {
	o := Outages{Fleet: math.NaN(), WorstNode: math.NaN()}
	if f, ok := LongestOutage(samples); ok {
		o.Fleet = f.Seconds
	}
	per := NodeOutages(samples)
	names := make([]string, 0, len(per))
	for n := range per {
		names = append(names, n)
	}
	slices.Sort(names) // the first of equal outages, every time
	for _, n := range names {
		if s := per[n].Seconds; math.IsNaN(o.WorstNode) || s > o.WorstNode {
			o.WorstNode, o.WorstNodeName = s, n
		}
	}
	return o
}

// Chain is the migration node's own chain through the window, as its agent
// timed each step: stop, install, migrations up and finish, start.
type Chain struct {
	Host          string  `json:"host"`
	Stop          float64 `json:"stop_s"`
	Install       float64 `json:"install_s"`
	MigrateUp     float64 `json:"migrations_up_s"`
	MigrateFinish float64 `json:"migrations_finish_s"`
	Start         float64 `json:"start_s"`
	Total         float64 `json:"total_s"`
}

// MigrationChain sums the migration node's stop, install, migrate-up,
// migrate-finish and start steps of a kongctl report. migrationHost is the
// report's migration_host; when empty, the host with a migrate-up step. A
// step counts what the agent timed (the sum of its agent_seconds), or the
// step's duration when the agent reported none. ok is false when the host
// or one of the five steps is missing.
func MigrationChain(hosts []ReportHost, migrationHost string) (c Chain, ok bool) {
	var h *ReportHost
	for i := range hosts {
		if hosts[i].Name == migrationHost {
			h = &hosts[i]
		}
		if migrationHost == "" && slices.ContainsFunc(hosts[i].Steps, func(s ReportStep) bool { return s.Phase == "migrate-up" }) {
			h = &hosts[i]
		}
	}
	if h == nil {
		return c, false
	}
	c.Host = h.Name
	seen := map[string]bool{}
	for _, s := range h.Steps {
		var into *float64
		switch s.Phase {
		case "stop":
			into = &c.Stop
		case "install":
			into = &c.Install
		case "migrate-up":
			into = &c.MigrateUp
		case "migrate-finish":
			into = &c.MigrateFinish
		case "start":
			into = &c.Start
		default:
			continue
		}
		*into += stepSeconds(s)
		seen[s.Phase] = true
	}
	c.Total = c.Stop + c.Install + c.MigrateUp + c.MigrateFinish + c.Start
	return c, len(seen) == 5
}

func stepSeconds(s ReportStep) float64 {
	if len(s.Agent) == 0 {
		return s.Duration
	}
	var sum float64
	for _, d := range s.Agent {
		sum += d
	}
	return sum
}

// Ratio is a / b, or NaN when either is missing (NaN) or b is 0.
func Ratio(a, b float64) float64 {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return math.NaN()
	}
	return a / b
}
