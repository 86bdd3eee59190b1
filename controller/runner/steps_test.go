package runner

import (
	"slices"
	"testing"

	"github.com/kongctl/kongctl/controller/fleet"
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

// TestJournaledBackup: a resumed run finds its backup in the journal only
// when the step recorded one with a path.
func TestJournaledBackup(t *testing.T) {
	j, err := journal.Create(t.TempDir(), journal.Header{RunID: "r1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	want := fleet.BackupInfo{Path: "/var/backups/kong-r1-pre.dump", SHA256: "abc"}
	if err := j.Step(string(PhaseBackup), string(backupStep), "db", journal.Done, want, nil); err != nil {
		t.Fatal(err)
	}
	if err := j.Step(string(PhaseBackupCheck), string(backupCheckStep), "db", journal.Done, fleet.BackupInfo{}, nil); err != nil {
		t.Fatal(err)
	}
	st := j.State()
	if b := journaledBackup(st, backupStep); b == nil || b.Path != want.Path || b.SHA256 != want.SHA256 {
		t.Errorf("backup step: got %+v, want %+v", b, want)
	}
	if b := journaledBackup(st, backupCheckStep); b != nil {
		t.Errorf("backup check without a path: got %+v, want nil", b)
	}
	if b := journaledBackup(st, lockStep); b != nil {
		t.Errorf("a step with no data: got %+v, want nil", b)
	}
}
