package runner

import (
	"slices"
	"testing"

	"github.com/kongctl/kongctl/controller/journal"
)

// TestStartedOn: an undo visits the hosts whose step of the family was
// started (done or failed included), in the given order, and no other.
func TestStartedOn(t *testing.T) {
	j, err := journal.Create(t.TempDir(), journal.Header{RunID: "r1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	e := &engine{j: j}
	for _, s := range []struct {
		key StepKey
		st  journal.Status
	}{
		{stopSteps.of("kong-3"), journal.Started},
		{stopSteps.of("kong-1"), journal.Done},
		{installSteps.of("kong-2"), journal.Failed},
	} {
		if err := j.Step(string(PhaseStop), string(s.key), "", s.st, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	hosts := []string{"kong-1", "kong-2", "kong-3"}
	if got, want := e.startedOn(hosts, stopSteps), []string{"kong-1", "kong-3"}; !slices.Equal(got, want) {
		t.Errorf("stop: got %v, want %v", got, want)
	}
	if got, want := e.startedOn(hosts, installSteps), []string{"kong-2"}; !slices.Equal(got, want) {
		t.Errorf("install: got %v, want %v", got, want)
	}
	if got := e.startedOn(hosts, startSteps); len(got) != 0 {
		t.Errorf("start: got %v, want none", got)
	}
	if got := (&engine{}).startedOn(hosts, stopSteps); len(got) != 0 {
		t.Errorf("without a journal: got %v, want none", got)
	}
}
