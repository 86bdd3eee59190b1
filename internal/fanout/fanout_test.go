package fanout

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// Every item runs, never more than limit at once, and errors come back in
// the items' order.
func TestEachBoundsAndOrder(t *testing.T) {
	for _, limit := range []int{-1, 0, 1, 3, 100} {
		var g gauge
		var ran atomic.Int32
		items := make([]int, 20)
		for i := range items {
			items[i] = i
		}
		errs := Each(context.Background(), items, limit, func(_ context.Context, i int) error {
			defer g.in()()
			time.Sleep(2 * time.Millisecond)
			ran.Add(1)
			if i%5 == 0 {
				return fmt.Errorf("item %d", i)
			}
			return nil
		})
		want := limit
		if limit <= 0 || limit > len(items) {
			want = len(items)
		}
		if peak := g.peak.Load(); ran.Load() != 20 || peak > int32(want) || len(errs) != 20 || limit == 1 && peak != 1 {
			t.Errorf("limit %d: ran %d, peak %d (bound %d), %d errors", limit, ran.Load(), peak, want, len(errs))
		}
		for i, err := range errs {
			if (i%5 == 0) != (err != nil) || err != nil && err.Error() != fmt.Sprintf("item %d", i) {
				t.Errorf("limit %d: errs[%d] = %v", limit, i, err)
			}
		}
	}
	if errs := Each(context.Background(), []string(nil), 4, func(context.Context, string) error { return nil }); len(errs) != 0 {
		t.Errorf("no items: %v", errs)
	}
}

// gauge records the most calls in flight at once.
type gauge struct{ now, peak atomic.Int32 }

// in counts a call in; the function it returns counts it out.
func (g *gauge) in() func() {
	n := g.now.Add(1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
	return func() { g.now.Add(-1) }
}

// Once ctx ends, items still waiting for a slot are not run and say so.
func TestEachCancelLeavesTheRestNotStarted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	var ran atomic.Int32
	done := make(chan []error)
	go func() {
		done <- Each(ctx, []int{0, 1, 2, 3, 4}, 2, func(ctx context.Context, i int) error {
			ran.Add(1)
			<-release
			return nil
		})
	}()
	for ran.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	time.Sleep(20 * time.Millisecond) // the waiting items see ctx end
	close(release)
	errs := <-done
	if ran.Load() != 2 {
		t.Fatalf("ran %d items after cancel, want the 2 started", ran.Load())
	}
	var notStarted int
	for _, err := range errs {
		if err != nil {
			if !errors.Is(err, ErrNotStarted) || !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v", err)
			}
			notStarted++
		}
	}
	if notStarted != 3 {
		t.Errorf("%d not started, want 3: %v", notStarted, errs)
	}
}
