package bench

import (
	"math"
	"testing"
)

// Three nodes probed every 20 ms, stopped together at 1000 ms as the
// baseline stops them; kong-1 (the migration node) serves again at 3000 ms,
// kong-2 at 3100, kong-3 at 3500. The fleet is down from the last good
// answer before 1000 to kong-1's first good one; kong-3 is the worst node.
func TestOutagesOf(t *testing.T) {
	back := map[string]int{"kong-1": 3000, "kong-2": 3100, "kong-3": 3500}
	var ss []Sample
	for ms := 0; ms <= 5000; ms += 20 {
		for i, n := range []string{"kong-1", "kong-2", "kong-3"} {
			ss = append(ss, Sample{Node: n, T: at(ms + i), OK: ms < 1000 || ms >= back[n]})
		}
	}
	o := OutagesOf(ss)
	if math.Abs(o.Fleet-(3.000-0.982)) > 1e-9 {
		t.Errorf("fleet outage %v s, want 2.018 (982 → 3000 ms)", o.Fleet)
	}
	if o.WorstNodeName != "kong-3" || math.Abs(o.WorstNode-(3.502-0.982)) > 1e-9 {
		t.Errorf("worst node %s %v s, want kong-3 2.52 (982 → 3502 ms)", o.WorstNodeName, o.WorstNode)
	}

	// One node down while another serves throughout: no fleet outage
	// longer than the resolution (a's failed probe falls between two of
	// b's good answers, 20 ms apart).
	ss = nil
	for ms := 0; ms <= 2000; ms += 20 {
		ss = append(ss, Sample{Node: "a", T: at(ms), OK: ms < 500 || ms >= 1500}, Sample{Node: "b", T: at(ms + 1), OK: true})
	}
	o = OutagesOf(ss)
	if o.Fleet > 0.020+1e-9 {
		t.Errorf("fleet outage %v with one node serving throughout, want at most the probe interval", o.Fleet)
	}
	if o.WorstNodeName != "a" || math.Abs(o.WorstNode-1.02) > 1e-9 {
		t.Errorf("worst node %s %v, want a 1.02", o.WorstNodeName, o.WorstNode)
	}
	if o := OutagesOf(nil); !math.IsNaN(o.Fleet) || !math.IsNaN(o.WorstNode) {
		t.Errorf("no samples: %+v, want NaNs", o)
	}
}

func TestMigrationChain(t *testing.T) {
	step := func(phase string, d float64, agent map[string]float64) ReportStep {
		return ReportStep{Phase: phase, Duration: d, Agent: agent}
	}
	hosts := []ReportHost{
		{Name: "kong-2", Steps: []ReportStep{
			step("stop", 9, map[string]float64{"service.stop": 9}),
			step("install", 9, map[string]float64{"package.install": 9}),
			step("start", 9, map[string]float64{"service.start": 9}),
		}},
		{Name: "kong-1", Steps: []ReportStep{
			step("preflight", 5, map[string]float64{"facts": 5}),
			step("stop", 0.4, map[string]float64{"service.stop": 0.3}),
			step("install", 1.5, map[string]float64{"package.install": 1.0, "package.hold": 0.2}),
			step("migrate-up", 0.9, map[string]float64{"migrations.up": 0.8}),
			step("migrate-finish", 0.5, nil), // no agent time: the step's duration
			step("start", 0.7, map[string]float64{"service.start": 0.6}),
			step("verify", 10, map[string]float64{"health": 10}),
		}},
	}
	c, ok := MigrationChain(hosts, "kong-1")
	if !ok {
		t.Fatalf("chain incomplete: %+v", c)
	}
	want := Chain{Host: "kong-1", Stop: 0.3, Install: 1.2, MigrateUp: 0.8, MigrateFinish: 0.5, Start: 0.6, Total: 3.4}
	if c.Host != want.Host || math.Abs(c.Total-want.Total) > 1e-9 || math.Abs(c.Install-want.Install) > 1e-9 || c.MigrateFinish != want.MigrateFinish {
		t.Errorf("chain %+v, want %+v", c, want)
	}
	// Without migration_host: the host that ran migrate-up.
	if c, ok := MigrationChain(hosts, ""); !ok || c.Host != "kong-1" {
		t.Errorf("chain without a migration host: %+v %v, want kong-1's", c, ok)
	}
	// kong-2 has no migrations: incomplete.
	if _, ok := MigrationChain(hosts, "kong-2"); ok {
		t.Error("kong-2's chain (no migrations) reported complete")
	}
	if _, ok := MigrationChain(hosts, "kong-9"); ok {
		t.Error("an unknown migration host's chain reported complete")
	}
}

func TestRatio(t *testing.T) {
	if r := Ratio(1, 4); r != 0.25 {
		t.Errorf("Ratio(1, 4) = %v", r)
	}
	for _, c := range [][2]float64{{math.NaN(), 1}, {1, math.NaN()}, {1, 0}} {
		if r := Ratio(c[0], c[1]); !math.IsNaN(r) {
			t.Errorf("Ratio(%v, %v) = %v, want NaN", c[0], c[1], r)
		}
	}
}
