package keycache

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

func TestGetMakesOnceAndKeeps(t *testing.T) {
	var mu sync.Mutex
	m := map[string]int{}
	made := 0
	mk := func() (int, error) { made++; return 7, nil }
	for range 3 {
		v, err := Get(&mu, m, "a", mk, func(int) { t.Error("discard called without a race") })
		if err != nil || v != 7 {
			t.Fatalf("Get = %d, %v; want 7, nil", v, err)
		}
	}
	if made != 1 || m["a"] != 7 {
		t.Errorf("made %d times, m = %v; want once, a=7", made, m)
	}
}

func TestGetErrorStoresNothing(t *testing.T) {
	var mu sync.Mutex
	m := map[string]int{}
	boom := errors.New("dial refused")
	if _, err := Get(&mu, m, "a", func() (int, error) { return 1, boom }, func(int) {}); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
	if len(m) != 0 {
		t.Errorf("m = %v after a failed make, want empty", m)
	}
}

// TestGetRaceKeepsFirst: callers that made the same key at once all get
// the value stored first; every other value made is discarded.
func TestGetRaceKeepsFirst(t *testing.T) {
	var mu sync.Mutex
	m := map[string]int{}
	var next, discarded atomic.Int32
	start := make(chan struct{})
	const n = 8
	got := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = Get(&mu, m, "a", func() (int, error) {
				<-start
				return int(next.Add(1)), nil
			}, func(int) { discarded.Add(1) })
		}()
	}
	close(start)
	wg.Wait()
	for i, v := range got {
		if v != m["a"] {
			t.Errorf("caller %d got %d, the stored value is %d", i, v, m["a"])
		}
	}
	if made := next.Load(); discarded.Load() != made-1 {
		t.Errorf("made %d, discarded %d: want all but the stored one discarded", made, discarded.Load())
	}
}
