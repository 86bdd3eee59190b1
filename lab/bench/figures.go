// Package bench measures kongctl on the rehearsal lab: fleet downtime as a
// prober outside the nodes sees it, the upgrade's critical path as the
// agents timed it, and how the controller scales with the fleet. The
// program is lab/cmd/kongctl-bench (`make bench`).
package bench

import (
	"math"
	"slices"
	"sort"
	"time"
)

// Sample is one probe of one node's proxy.
type Sample struct {
	Node string
	T    time.Time // when the answer (or the failure) came
	OK   bool      // a good answer (HTTP 200 routed by Kong)
}

// Outage is the longest window in which a node (or the fleet) gave no good
// answer: from the last good answer before it to the first good answer
// after it.
type Outage struct {
	LastGood  time.Time `json:"last_good"`
	FirstGood time.Time `json:"first_good"`
	Seconds   float64   `json:"seconds"`
	// Failed is the number of failed probes inside the window.
	Failed int `json:"failed_probes"`
}

// LongestOutage returns the longest gap between consecutive good answers
// among samples (all nodes together: the fleet, in which any node serving
// is enough; or one node's samples). ok is false when no probe failed
// between two good answers (no outage was seen), or when there is no good
// answer on both sides of the failures.
func LongestOutage(samples []Sample) (o Outage, ok bool) {
	s := slices.Clone(samples)
	sort.SliceStable(s, func(i, j int) bool { return s[i].T.Before(s[j].T) })
	var last time.Time
	failed := 0
	for _, x := range s {
		if !x.OK {
			failed++
			continue
		}
		if !last.IsZero() && failed > 0 {
			if gap := x.T.Sub(last).Seconds(); !ok || gap > o.Seconds {
				o, ok = Outage{LastGood: last, FirstGood: x.T, Seconds: gap, Failed: failed}, true
			}
		}
		last, failed = x.T, 0
	}
	return o, ok
}

// NodeOutages is LongestOutage per node.
func NodeOutages(samples []Sample) map[string]Outage {
	by := map[string][]Sample{}
	for _, x := range samples {
		by[x.Node] = append(by[x.Node], x)
	}
	out := map[string]Outage{}
	for n, ss := range by {
		if o, ok := LongestOutage(ss); ok {
			out[n] = o
		}
	}
	return out
}

// Stat is the median and spread of repeated measurements.
type Stat struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	// Spread is (max-min)/median: the relative range of the runs.
	Spread float64   `json:"spread"`
	Values []float64 `json:"values"`
}

// Summarize returns the median and spread of vs (NaNs dropped).
func Summarize(vs []float64) Stat {
	var v []float64
	for _, x := range vs {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	st := Stat{N: len(v), Values: v}
	if len(v) == 0 {
		return st
	}
	s := slices.Clone(v)
	slices.Sort(s)
	st.Min, st.Max = s[0], s[len(s)-1]
	if len(s)%2 == 1 {
		st.Median = s[len(s)/2]
	} else {
		st.Median = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	if st.Median != 0 {
		st.Spread = (st.Max - st.Min) / st.Median
	}
	return st
}

// Step durations of the critical path, as the agents timed them.
type CriticalPath struct {
	Stop          float64 `json:"stop_s"`          // slowest node's service.stop
	Install       float64 `json:"install_s"`       // slowest node's package.install
	MigrateUp     float64 `json:"migrations_up_s"` // migrations.up on the migration host
	MigrateFinish float64 `json:"migrations_finish_s"`
	Start         float64 `json:"start_s"`         // slowest node's service.start (returns once healthy)
	StartFastest  float64 `json:"start_fastest_s"` // for reference: the fleet serves again with its first node
	Total         float64 `json:"total_s"`
}

// ReportStep is the part of a kongctl report host step the benchmark reads.
type ReportStep struct {
	Phase    string             `json:"phase"`
	Duration float64            `json:"duration_seconds"`
	Agent    map[string]float64 `json:"agent_seconds"`
}

// ReportHost is the part of a kongctl report host the benchmark reads.
type ReportHost struct {
	Name  string       `json:"name"`
	Steps []ReportStep `json:"steps"`
}

// Critical computes the critical path from the report's hosts: stop,
// install and start on the slowest node, migrations up and finish where
// they ran. ok is false when a step's agent time is missing.
func Critical(hosts []ReportHost) (cp CriticalPath, ok bool) {
	var haveStop, haveInst, haveUp, haveFin, haveStart bool
	cp.StartFastest = math.Inf(1)
	for _, h := range hosts {
		for _, s := range h.Steps {
			switch s.Phase {
			case "stop":
				if d, has := s.Agent["service.stop"]; has {
					cp.Stop, haveStop = max(cp.Stop, d), true
				}
			case "install":
				if d, has := s.Agent["package.install"]; has {
					cp.Install, haveInst = max(cp.Install, d), true
				}
			case "migrate-up":
				if d, has := s.Agent["migrations.up"]; has {
					cp.MigrateUp, haveUp = d, true
				}
			case "migrate-finish":
				if d, has := s.Agent["migrations.finish"]; has {
					cp.MigrateFinish, haveFin = d, true
				}
			case "start":
				if d, has := s.Agent["service.start"]; has {
					cp.Start, haveStart = max(cp.Start, d), true
					cp.StartFastest = min(cp.StartFastest, d)
				}
			}
		}
	}
	if math.IsInf(cp.StartFastest, 1) {
		cp.StartFastest = 0
	}
	cp.Total = cp.Stop + cp.Install + cp.MigrateUp + cp.MigrateFinish + cp.Start
	return cp, haveStop && haveInst && haveUp && haveFin && haveStart
}
