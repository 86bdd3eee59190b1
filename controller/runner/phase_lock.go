package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"
)

// lockStep journals the fleet lock taken.
const lockStep StepKey = "lock"

// lockPhase takes the fleet lock in the database. A lock held by another
// run is refused; a stale one is reported with how to clear it, never
// taken over. On resume the same run id re-enters its own lock.
type lockPhase struct{}

func (lockPhase) name() PhaseName { return PhaseLock }

func (lockPhase) run(ctx context.Context, e *engine) error {
	l, err := e.fleetLocker(ctx)
	if err != nil {
		return err
	}
	info, err := l.Acquire(ctx, fleet.LockRequest{RunID: e.runID, Owner: lockOwner(), TTL: e.spec.Timeouts.FleetLockTTL, Note: fmt.Sprintf("upgrade %s → %s", e.pf.From, e.spec.To)})
	if err != nil {
		if errors.Is(err, fleet.ErrLockHeld) {
			f := lockFinding(info, e.clk.Now(), e.spec.InventoryPath)
			e.find(f)
			return fmt.Errorf("%s", f.Message)
		}
		return fmt.Errorf("acquire fleet lock: %w", err)
	}
	e.mu.Lock()
	e.lk.info = &info
	e.mu.Unlock()
	_ = e.journalStep(PhaseLock, lockStep, "", "done", info, nil)
	e.startHeartbeat(l, info)
	return nil
}

func (lockPhase) undo(ctx context.Context, e *engine) error {
	return e.releaseLock(ctx)
}

func (e *engine) releaseLock(ctx context.Context) error {
	e.flushRuns()
	e.stopHeartbeat()
	e.mu.Lock()
	l, info := e.lk.locker, e.lk.info
	e.mu.Unlock()
	if l == nil || info == nil {
		return nil
	}
	err := e.retryTransient(ctx, e.spec.ToolsHost, "release fleet lock", func(ctx context.Context) error {
		return l.Release(ctx, *info)
	})
	if err != nil {
		return fmt.Errorf("release fleet lock: %w", err)
	}
	e.mu.Lock()
	e.lk.info = nil
	e.mu.Unlock()
	return nil
}

func lockFinding(info fleet.LockInfo, now time.Time, inv string) Finding {
	invArg := "-i " + orDefault(inv, "INVENTORY")
	if info.Stale(now) {
		return Finding{Severity: SevError, Code: "fleet-lock-stale",
			Message: fmt.Sprintf("the fleet lock is held by run %s (%s, taken %s) but its last heartbeat was %s: the run is probably dead; kongctl never takes a lock over",
				info.RunID, info.Owner, info.Acquired.UTC().Format(time.RFC3339), info.Heartbeat.UTC().Format(time.RFC3339)),
			Fix: fmt.Sprintf("if that run is interrupted, continue it with `kongctl upgrade %s --resume` or undo it with `kongctl rollback %s`; if you are sure no run is alive, clear the lock with `kongctl unlock %s --run %s`", invArg, invArg, invArg, info.RunID)}
	}
	return Finding{Severity: SevError, Code: "fleet-lock-held",
		Message: fmt.Sprintf("another kongctl run holds the fleet lock: run %s (%s, since %s, heartbeat %s)",
			info.RunID, info.Owner, info.Acquired.UTC().Format(time.RFC3339), info.Heartbeat.UTC().Format(time.RFC3339)),
		Fix: "wait for it to finish (kongctl status " + invArg + " shows it)"}
}

// lockState is the fleet lock this run holds and its heartbeat (under
// engine.mu).
type lockState struct {
	locker   fleet.Locker
	info     *fleet.LockInfo // nil: not held
	hbCancel context.CancelFunc
	hbDone   chan struct{}
}
