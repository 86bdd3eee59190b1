package bench

import (
	"math"
	"testing"
	"time"
)

func at(ms int) time.Time {
	return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(ms) * time.Millisecond)
}

// Two nodes probed every 50ms: a stops at 1000ms (last good 950), b at
// 2000ms (last good 1950); b is back at 5000, a at 5200. The fleet is down
// from b's last good answer to b's first good one.
func TestFleetDowntimeFromSamples(t *testing.T) {
	var ss []Sample
	for ms := 0; ms <= 6000; ms += 50 {
		ss = append(ss, Sample{Node: "a", T: at(ms + 1), OK: ms < 1000 || ms >= 5200})
		ss = append(ss, Sample{Node: "b", T: at(ms + 2), OK: ms < 2000 || ms >= 5000})
	}
	o, ok := LongestOutage(ss)
	if !ok {
		t.Fatal("no fleet outage found")
	}
	if !o.LastGood.Equal(at(1952)) || !o.FirstGood.Equal(at(5002)) {
		t.Errorf("fleet outage %s → %s, want 1952ms → 5002ms", o.LastGood.Format("05.000"), o.FirstGood.Format("05.000"))
	}
	if math.Abs(o.Seconds-3.05) > 1e-9 {
		t.Errorf("fleet downtime %v s, want 3.05", o.Seconds)
	}
	// a fails at 2001..5001 (61 probes), b at 2002..4952 (60).
	if o.Failed != 121 {
		t.Errorf("failed probes in the window: %d, want 121", o.Failed)
	}
	per := NodeOutages(ss)
	if got := per["a"].Seconds; math.Abs(got-4.25) > 1e-9 {
		t.Errorf("node a downtime %v, want 4.25 (951 → 5201)", got)
	}
	if got := per["b"].Seconds; math.Abs(got-3.05) > 1e-9 {
		t.Errorf("node b downtime %v, want 3.05", got)
	}
}

// Without a failed probe there is no outage, however far apart the answers.
func TestNoOutageWithoutFailures(t *testing.T) {
	ss := []Sample{{Node: "a", T: at(0), OK: true}, {Node: "a", T: at(900), OK: true}}
	if o, ok := LongestOutage(ss); ok {
		t.Errorf("outage %+v reported without a failed probe", o)
	}
	// Failures at the end (never came back) are no window either.
	ss = append(ss, Sample{Node: "a", T: at(1000), OK: false})
	if o, ok := LongestOutage(ss); ok {
		t.Errorf("outage %+v reported without a good answer after it", o)
	}
}

func TestSummarize(t *testing.T) {
	st := Summarize([]float64{3, 1, 2, math.NaN()})
	if st.N != 3 || st.Median != 2 || st.Min != 1 || st.Max != 3 || st.Spread != 1 {
		t.Errorf("Summarize(3,1,2,NaN) = %+v, want n=3 median 2 min 1 max 3 spread 1", st)
	}
	if st := Summarize([]float64{4, 1, 2, 3}); st.Median != 2.5 {
		t.Errorf("median of 1..4 = %v, want 2.5", st.Median)
	}
	if st := Summarize(nil); st.N != 0 || st.Median != 0 {
		t.Errorf("Summarize(nil) = %+v", st)
	}
}

func TestCriticalPath(t *testing.T) {
	hosts := []ReportHost{
		{Name: "kong-1", Steps: []ReportStep{
			{Phase: "stop", Agent: map[string]float64{"service.stop": 0.3, "health": 0.1}},
			{Phase: "install", Agent: map[string]float64{"package.install": 1.0, "facts": 0.05}},
			{Phase: "migrate-up", Agent: map[string]float64{"migrations.up": 0.4, "migrations": 0.2}},
			{Phase: "migrate-finish", Agent: map[string]float64{"migrations.finish": 0.3}},
			{Phase: "start", Agent: map[string]float64{"service.start": 0.5}},
		}},
		{Name: "kong-2", Steps: []ReportStep{
			{Phase: "stop", Agent: map[string]float64{"service.stop": 0.4}},
			{Phase: "install", Agent: map[string]float64{"package.install": 1.2}},
			{Phase: "start", Agent: map[string]float64{"service.start": 0.6}},
		}},
	}
	cp, ok := Critical(hosts)
	if !ok {
		t.Fatalf("critical path incomplete: %+v", cp)
	}
	want := CriticalPath{Stop: 0.4, Install: 1.2, MigrateUp: 0.4, MigrateFinish: 0.3, Start: 0.6, StartFastest: 0.5, Total: 0.4 + 1.2 + 0.4 + 0.3 + 0.6}
	if math.Abs(cp.Total-want.Total) > 1e-9 || cp.Stop != want.Stop || cp.Install != want.Install || cp.Start != want.Start || cp.StartFastest != want.StartFastest || cp.MigrateUp != want.MigrateUp {
		t.Errorf("critical path %+v, want %+v", cp, want)
	}
	if _, ok := Critical(hosts[1:]); ok {
		t.Error("critical path without migrations reported complete")
	}
}
