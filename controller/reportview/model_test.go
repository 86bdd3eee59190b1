package reportview

import (
	"testing"

	"github.com/kongctl/kongctl/controller"
)

// TestKindOfPhase: the phases the timeline tells apart get their kind,
// every other phase (and a name no phase has) KindOther.
func TestKindOfPhase(t *testing.T) {
	for phase, want := range map[controller.PhaseName]string{
		controller.PhaseStop: KindStop, controller.PhaseInstall: KindInstall, controller.PhaseMigrateUp: KindMigrateUp,
		controller.PhaseMigrateFinish: KindMigrateFinish, controller.PhaseStart: KindStart,
		controller.PhaseVerify: KindOther, controller.PhasePreflight: KindOther, "no-such-phase": KindOther,
	} {
		if got := kindOfPhase(string(phase)); got != want {
			t.Errorf("kindOfPhase(%q) = %q, want %q", phase, got, want)
		}
	}
}
