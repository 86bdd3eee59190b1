package journal

import (
	"fmt"
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

// The journal's own Status, Done and Data (folded as records are
// appended) always agree with a fold of every record, also after Open.
func TestLiveLookupsAgreeWithFold(t *testing.T) {
	root := t.TempDir()
	j, err := Create(root, Header{RunID: "r1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	check := func(j *Journal, when string) {
		t.Helper()
		st := j.State()
		for _, k := range []string{"stop/a", "stop/b", "install/a", "never"} {
			var live, fold map[string]int
			lok, fok := j.Data(k, &live), st.Data(k, &fold)
			if j.Status(k) != st.Status(k) || j.Done(k) != st.Done(k) || lok != fok || len(live) != len(fold) || live["n"] != fold["n"] {
				t.Fatalf("%s: step %s: live %q %v %v %v, fold %q %v %v %v", when, k, j.Status(k), j.Done(k), lok, live, st.Status(k), st.Done(k), fok, fold)
			}
		}
	}
	steps := []struct {
		key  string
		st   Status
		data any
	}{
		{"stop/a", Started, nil}, {"stop/b", Started, map[string]int{"n": 1}}, {"stop/a", Done, map[string]int{"n": 2}},
		{"stop/b", Failed, nil}, {"install/a", Started, nil}, {"stop/b", Started, nil}, {"stop/b", Done, nil},
	}
	for i, s := range steps {
		if err := j.Step("p", s.key, "h", s.st, s.data, nil); err != nil {
			t.Fatal(err)
		}
		check(j, fmt.Sprintf("after record %d", i+1))
	}
	if !j.Done("stop/b") || j.Status("install/a") != Started {
		t.Fatalf("stop/b done %v, install/a %q", j.Done("stop/b"), j.Status("install/a"))
	}
	j.Close()
	j2, err := Open(RunDir(root, "r1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	check(j2, "after Open")
	// The second stop/b done carries the second started record's time.
	recs := j2.Records()
	if last := recs[len(recs)-1]; !last.Started.Equal(recs[6].Time) {
		t.Fatalf("stop/b done started %v, want its latest start %v", last.Started, recs[6].Time)
	}
}

// BenchmarkStepLookup: one step's status at the end of a 64-host run
// (20 steps a host, started and done): a fold of the whole journal
// against the journal's own lookup.
func BenchmarkStepLookup(b *testing.B) {
	j, err := Create(b.TempDir(), Header{RunID: "bench"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	for s := range 20 {
		for h := range 64 {
			key := fmt.Sprintf("step%d/kong-%d", s, h)
			if err := j.Step("p", key, "h", Started, nil, nil); err != nil {
				b.Fatal(err)
			}
			if err := j.Step("p", key, "h", Done, map[string]int{"n": s}, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("fold", func(b *testing.B) {
		for b.Loop() {
			_ = j.State().Status("step10/kong-31")
		}
	})
	b.Run("lookup", func(b *testing.B) {
		for b.Loop() {
			_ = j.Status("step10/kong-31")
		}
	})
}
