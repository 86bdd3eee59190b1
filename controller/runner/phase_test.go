package runner

import "testing"

// Each phase says how many hosts it works on (the progress bars' size);
// the runner does not know them by name.
func TestPhaseTotals(t *testing.T) {
	spec := testSpec(t, "kong-1", "kong-2", "kong-3")
	spec.withDefaults()
	e := newEngine(spec, nil, nil, nil, nil)
	for _, tc := range []struct {
		p    phase
		want int
	}{
		{preflightPhase{}, len(e.allHosts())}, {stopPhase{}, 3}, {installPhase{}, 3}, {startPhase{}, 3},
		{verifyPhase{}, 3}, {migratePhase{}, 1}, {migratePhase{finish: true}, 1}, {lockPhase{}, 0}, {cleanupPhase{}, 0},
	} {
		if got := e.phaseTotal(tc.p); got != tc.want {
			t.Errorf("%s: total %d, want %d", tc.p.name(), got, tc.want)
		}
	}
}
