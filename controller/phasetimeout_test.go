package controller

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A phase bounded by its inventory timeout fails when the bound runs out,
// naming the setting; without a bound, or when the caller's ctx ends
// first, the error is the phase's own.
func TestRunBounded(t *testing.T) {
	wait := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	err := runBounded(context.Background(), PhaseVerify, 20*time.Millisecond, wait)
	if !errors.Is(err, errPhaseTimeout) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "verify timed out after 20ms (timeouts.verify)") {
		t.Errorf("bounded: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	if err := runBounded(ctx, PhaseVerify, time.Hour, wait); !errors.Is(err, context.Canceled) || errors.Is(err, errPhaseTimeout) {
		t.Errorf("caller cancelled: %v", err)
	}
	var had bool
	if err := runBounded(context.Background(), PhaseStop, 0, func(ctx context.Context) error {
		_, had = ctx.Deadline()
		return nil
	}); err != nil || had {
		t.Errorf("unbounded: %v, deadline %v", err, had)
	}
}

type sleepPhase struct{ d time.Duration }

func (sleepPhase) name() PhaseName { return PhaseBackup }
func (p sleepPhase) run(ctx context.Context, e *engine) error {
	select {
	case <-time.After(p.d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runPhase applies timeouts.backup to the backup phase, and the timeline
// says why it failed.
func TestRunPhaseAppliesTheInventoryTimeout(t *testing.T) {
	spec := &Spec{Timeouts: Timeouts{Backup: 30 * time.Millisecond}}
	spec.withDefaults()
	e := newEngine(spec, nil, nil, nil, nil)
	err := e.runPhase(context.Background(), sleepPhase{time.Minute})
	if !errors.Is(err, errPhaseTimeout) || len(e.timeline) != 1 || !strings.Contains(e.timeline[0].Error, "timeouts.backup") {
		t.Fatalf("err %v, timeline %+v", err, e.timeline)
	}
	spec.Timeouts.Backup = time.Minute
	if err := e.runPhase(context.Background(), sleepPhase{time.Millisecond}); err != nil {
		t.Fatalf("a phase within its bound: %v", err)
	}
}

// engine.forEach resolves the concurrency classes against ssh.concurrency
// and ssh.upload_concurrency; a number is used as given.
func TestForEachHonoursConcurrency(t *testing.T) {
	spec := &Spec{Concurrency: 2, UploadConcurrency: 1}
	spec.withDefaults()
	e := newEngine(spec, nil, nil, nil, nil)
	hosts := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	for _, tc := range []struct {
		limit, want int
	}{{bastionLimit, 2}, {startLimit, 2}, {nodeLimit, 4}, {uploadLimit, 1}, {3, 3}} {
		// Every call waits until tc.want are in flight (or a second
		// passed), so the peak reaches the bound and shows any excess.
		var now, peak atomic.Int32
		reached := make(chan struct{})
		var once sync.Once
		err := e.forEach(context.Background(), hosts, tc.limit, func(context.Context, string) error {
			n := now.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			if int(n) >= tc.want {
				once.Do(func() { close(reached) })
			}
			select {
			case <-reached:
			case <-time.After(time.Second):
			}
			time.Sleep(time.Millisecond)
			now.Add(-1)
			return nil
		})
		if err != nil || int(peak.Load()) != tc.want {
			t.Errorf("limit %d: peak %d, want %d (%v)", tc.limit, peak.Load(), tc.want, err)
		}
	}
}

// The rollback as a whole is bounded by timeouts.rollback.
func TestRollbackBoundedByItsTimeout(t *testing.T) {
	spec := &Spec{Timeouts: Timeouts{Rollback: 30 * time.Millisecond}}
	spec.withDefaults()
	e := newEngine(spec, nil, nil, nil, nil)
	e.started = []phase{slowUndo{}}
	err := e.rollback(context.Background())
	if !errors.Is(err, errPhaseTimeout) || !strings.Contains(err.Error(), "timeouts.rollback") {
		t.Fatalf("rollback: %v", err)
	}
}

type slowUndo struct{}

func (slowUndo) name() PhaseName                          { return PhaseStop }
func (slowUndo) run(ctx context.Context, e *engine) error { return nil }
func (slowUndo) undo(ctx context.Context, e *engine) error {
	<-ctx.Done()
	return ctx.Err()
}
