package bench

import (
	"testing"
	"time"
)

// CPUBetween takes the samples nearest to the window's ends.
func TestCPUBetween(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	var ss []CPUSample
	for i := 0; i <= 10; i++ {
		ss = append(ss, CPUSample{At: t0.Add(time.Duration(i) * 250 * time.Millisecond), Group: time.Duration(i) * time.Second, Self: time.Duration(i) * 100 * time.Millisecond})
	}
	g, self, ok := CPUBetween(ss, t0.Add(260*time.Millisecond), t0.Add(1990*time.Millisecond))
	if !ok || g != 7*time.Second || self != 700*time.Millisecond {
		t.Fatalf("CPUBetween = %v, %v, %v; want 7s, 700ms", g, self, ok)
	}
	if _, _, ok := CPUBetween(ss[:1], t0, t0.Add(time.Second)); ok {
		t.Fatal("one sample cannot make a window")
	}
}
