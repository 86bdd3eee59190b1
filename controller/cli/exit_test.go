package cli

import (
	"testing"

	"github.com/kongctl/kongctl/controller"
)

// The outcome → exit code mapping is part of the interface (README).
func TestOutcomeCode(t *testing.T) {
	for o, want := range map[controller.Outcome]int{
		controller.Succeeded: 0, controller.RolledBack: 3, controller.Paused: 4, controller.Failed: 1, "unknown": 1,
	} {
		if got := outcomeCode(o); got != want {
			t.Errorf("outcomeCode(%s) = %d, want %d", o, got, want)
		}
	}
}
