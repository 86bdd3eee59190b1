package journal

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCreateAppendReopen(t *testing.T) {
	root := t.TempDir()
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(time.Second); return clock }
	j, err := Create(root, Header{RunID: "20260102T030405Z-ab12", From: "2.8.4", To: "3.4.2"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Step("stop", "stop/kong-1", "kong-1", Started, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := j.Step("stop", "stop/kong-1", "kong-1", Done, map[string]string{"k": "v"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := j.Step("install", "install/kong-1", "kong-1", Started, nil, nil); err != nil {
		t.Fatal(err)
	}
	j.Close()

	// Simulate a torn write at the end.
	path := filepath.Join(RunDir(root, "20260102T030405Z-ab12"), FileName)
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":4,"kind":"step","step":"install/kong-1","sta`)
	f.Close()

	dir, err := Latest(root)
	if err != nil || dir != RunDir(root, "20260102T030405Z-ab12") {
		t.Fatalf("Latest = %q, %v", dir, err)
	}
	j2, err := Open(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	st := j2.State()
	if !st.Done("stop/kong-1") {
		t.Error("stop/kong-1 should be done")
	}
	if got := st.Status("install/kong-1"); got != Started {
		t.Errorf("install/kong-1 = %q, want started (torn line ignored)", got)
	}
	var d map[string]string
	if !st.Data("stop/kong-1", &d) || d["k"] != "v" {
		t.Errorf("data = %v", d)
	}
	if err := j2.Step("install", "install/kong-1", "kong-1", Done, nil, nil); err != nil {
		t.Fatal(err)
	}
	recs, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if last := recs[len(recs)-1]; last.Step != "install/kong-1" || last.Status != Done {
		t.Errorf("last record after repair = %+v", last)
	}
	if recs[0].Header.From != "2.8.4" {
		t.Errorf("header lost: %+v", recs[0].Header)
	}
	if !Fold(recs).Done("stop/kong-1") || !Fold(recs).Data("stop/kong-1", &d) {
		t.Error("data of a done step must survive a later record without data")
	}
}

func TestLatestEmpty(t *testing.T) {
	dir, err := Latest(t.TempDir())
	if err != nil || dir != "" {
		t.Fatalf("Latest on empty root = %q, %v", dir, err)
	}
}

// A done or failed record carries the time its step started (the latest
// started record of the step, also across a reopen), so that every step's
// span can be read from the record that ends it.
func TestStepEndCarriesStart(t *testing.T) {
	root := t.TempDir()
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(time.Second); return clock }
	j, err := Create(root, Header{RunID: "r1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(j.Step("stop", "stop/kong-1", "kong-1", Started, nil, nil)) // 03:04:07
	must(j.Step("stop", "stop/kong-2", "kong-2", Started, nil, nil)) // 03:04:08
	must(j.Step("stop", "stop/kong-1", "kong-1", Failed, nil, nil))  // 03:04:09
	must(j.Step("stop", "stop/kong-1", "kong-1", Started, nil, nil)) // 03:04:10, a retry
	must(j.Step("stop", "stop/kong-2", "kong-2", Done, nil, nil))    // 03:04:11
	must(j.Run("paused", "interrupted"))
	j.Close()
	j2, err := Open(RunDir(root, "r1"), now)
	if err != nil {
		t.Fatal(err)
	}
	must(j2.Step("stop", "stop/kong-1", "kong-1", Done, nil, nil))
	j2.Close()
	recs, err := Read(RunDir(root, "r1"))
	if err != nil {
		t.Fatal(err)
	}
	at := func(sec int) time.Time { return time.Date(2026, 1, 2, 3, 4, sec, 0, time.UTC) }
	want := map[int]time.Time{3: at(7), 5: at(8), 7: at(10)}
	for _, r := range recs {
		if r.Status == Started || r.Kind != "step" {
			if !r.Started.IsZero() {
				t.Errorf("record %d (%s %s) carries a start time %s", r.Seq, r.Step, r.Status, r.Started)
			}
			continue
		}
		if !r.Started.Equal(want[r.Seq]) {
			t.Errorf("record %d (%s %s): started %s, want %s", r.Seq, r.Step, r.Status, r.Started, want[r.Seq])
		}
	}
}
