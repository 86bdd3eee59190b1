package runner

import (
	"context"
	"sync"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"
)

func (e *engine) startHeartbeat(l fleet.Locker, info fleet.LockInfo) {
	ttl := e.spec.Timeouts.FleetLockTTL
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	e.mu.Lock()
	e.lk.hbCancel, e.lk.hbDone = cancel, done
	e.mu.Unlock()
	// Owned by the engine; joined by stopHeartbeat.
	go func() {
		defer close(done)
		for {
			// Real time, not the injected clock: the heartbeat paces a
			// lock TTL measured by the database's clock.
			if err := (realClock{}).Sleep(ctx, ttl/3); err != nil {
				return
			}
			if err := l.Heartbeat(ctx, info); err != nil && ctx.Err() == nil {
				e.note("fleet lock heartbeat failed: %s", e.red.err(err))
			}
		}
	}()
}

func (e *engine) stopHeartbeat() {
	e.mu.Lock()
	cancel, done := e.lk.hbCancel, e.lk.hbDone
	e.lk.hbCancel, e.lk.hbDone = nil, nil
	e.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (e *engine) recordRun(ctx context.Context, ph, status string) {
	e.mu.Lock()
	l, held := e.lk.locker, e.lk.info != nil
	if l == nil || !held || ctx.Err() != nil {
		e.mu.Unlock()
		return
	}
	// The summary row is for `kongctl status`; the journal is the record.
	// One background writer keeps it at the latest state (coalesced), so a
	// database round trip never sits between two phases of the downtime.
	e.rec.pending = &fleet.RunRecord{RunID: e.runID, From: e.pf.From, To: e.spec.To, Phase: ph, Status: status, Updated: e.clk.Now()}
	if e.rec.busy {
		e.mu.Unlock()
		return
	}
	e.rec.busy = true
	e.rec.wg.Add(1)
	e.mu.Unlock()
	wctx := context.WithoutCancel(ctx)
	go func() {
		defer e.rec.wg.Done()
		for {
			e.mu.Lock()
			r := e.rec.pending
			e.rec.pending = nil
			if r == nil {
				e.rec.busy = false
				e.mu.Unlock()
				return
			}
			e.mu.Unlock()
			rctx, cancel := context.WithTimeout(wctx, 30*time.Second)
			if err := l.RecordRun(rctx, *r); err != nil {
				e.note("record run summary in the database: %s", e.red.err(err))
			}
			cancel()
		}
	}()
}

// flushRuns waits until the run summary row holds the latest state.
func (e *engine) flushRuns() { e.rec.wg.Wait() }

// runRecorder writes the run's summary row in the database, one write at
// a time, the latest state winning (under engine.mu).
type runRecorder struct {
	pending *fleet.RunRecord
	busy    bool
	wg      sync.WaitGroup
}
