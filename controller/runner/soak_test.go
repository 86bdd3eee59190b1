package runner

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The soak's last check is at the window's end, however long the checks
// take and whether or not the window is a whole number of intervals.
func TestSoakEndsWithTheWindow(t *testing.T) {
	for _, tc := range []struct {
		name             string
		window, interval time.Duration
		want             []time.Duration // when each check starts (each takes 0.7s)
	}{
		{"whole intervals", 10 * time.Second, 5 * time.Second, []time.Duration{5 * time.Second, 10 * time.Second}},
		{"a part interval", 12 * time.Second, 5 * time.Second, []time.Duration{5 * time.Second, 10700 * time.Millisecond, 12 * time.Second}},
		{"interval longer than the window", 3 * time.Second, 5 * time.Second, []time.Duration{3 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &fakeClock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
			t0 := clk.t
			var got []time.Duration
			err := soak(context.Background(), clk, tc.window, tc.interval, func(context.Context) error {
				got = append(got, clk.t.Sub(t0))
				clk.Sleep(context.Background(), 700*time.Millisecond) // a check of 64 nodes takes time
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("checks at %v, want %v", got, tc.want)
			}
			for i := range got {
				// fakeClock's Now moves 1ms per call.
				if d := got[i] - tc.want[i]; d < 0 || d > 5*time.Millisecond {
					t.Errorf("check %d at %v, want %v (all: %v)", i+1, got[i], tc.want[i], got)
				}
			}
		})
	}
}

func TestSoakStopsOnAFailedCheck(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	boom := errors.New("kong-2 unhealthy")
	n := 0
	err := soak(context.Background(), clk, 10*time.Second, time.Second, func(context.Context) error {
		n++
		if n == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || n != 3 {
		t.Fatalf("err %v after %d checks, want %v after 3", err, n, boom)
	}
}
