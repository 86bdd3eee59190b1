//go:build integration

package faults

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestQuickMatrix runs the representative cells `make test` runs (the whole
// matrix is `make faults`): each must end in an accepted state, checked on
// the lab (fingerprint, versions served, fleet lock), and in the state
// expected for that fault.
func TestQuickMatrix(t *testing.T) {
	want := map[string][]Outcome{
		"migrate-up/migration-fail": {OutRolledBack},
		"start/kong-refuse-start":   {OutRolledBack},
		"install/controller-kill":   {OutUpgraded},
		"stop/network-cut":          {OutUpgraded, OutRolledBack},
		"backup/db-unreachable":     {OutRefused},
	}
	var quick []Cell
	for _, c := range Matrix() {
		if c.Quick {
			quick = append(quick, c)
		}
	}
	if len(quick) != len(want) {
		t.Fatalf("%d quick cells, want %d", len(quick), len(want))
	}
	for _, c := range quick {
		t.Run(strings.ReplaceAll(c.Name(), "/", "_"), func(t *testing.T) {
			ctx := labCtx(t, 10*time.Minute)
			res := testRunner.Run(ctx, c)
			t.Logf("%s: %s %v in %.0fs", c.Name(), res.Outcome, res.Steps, res.Seconds)
			if res.Passed == nil || !*res.Passed {
				t.Fatalf("%s failed: %s (steps %v, outputs in %s)", c.Name(), res.Reason, res.Steps, res.Dir)
			}
			if !slices.Contains(want[c.Name()], res.Outcome) {
				t.Fatalf("%s ended %s, want one of %v", c.Name(), res.Outcome, want[c.Name()])
			}
			if c.Fault == FaultKill && (len(res.Steps) < 2 || !strings.HasSuffix(res.Steps[0], "=SIGKILL")) {
				t.Fatalf("controller-kill: steps %v, want a SIGKILLed run then a resume", res.Steps)
			}
		})
	}
}
