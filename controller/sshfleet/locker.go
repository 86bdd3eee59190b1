package sshfleet

import (
	"context"
	"fmt"
	"time"

	"github.com/kongctl/kongctl/controller/fleet"

	"github.com/kongctl/kongctl/agent/agentproto"
)

type agentLocker struct {
	h    *agentHost
	conn agentproto.DBConn
	ttl  time.Duration
}

var _ fleet.Locker = (*agentLocker)(nil)

func (l *agentLocker) info(fl *agentproto.FleetLock) fleet.LockInfo {
	if fl == nil {
		return fleet.LockInfo{}
	}
	li := fleet.LockInfo{RunID: fl.RunID, Owner: fl.Owner, Acquired: fl.AcquiredAt, Heartbeat: fl.HeartbeatAt}
	if fl.Stale {
		li.Expires = fl.HeartbeatAt
	} else {
		li.Expires = time.Now().Add(l.ttl - fl.Age)
	}
	return li
}

func (l *agentLocker) params(action, runID, owner string) agentproto.FleetLockParams {
	return agentproto.FleetLockParams{DB: l.conn, Action: action, RunID: runID, Owner: owner, StaleAfter: l.ttl}
}

func (l *agentLocker) Acquire(ctx context.Context, req fleet.LockRequest) (fleet.LockInfo, error) {
	if req.TTL > 0 {
		l.ttl = req.TTL
	}
	r, err := l.h.client().FleetLock(ctx, l.params(agentproto.LockAcquire, req.RunID, req.Owner))
	if agentproto.CodeOf(err) == agentproto.CodeLockHeld {
		holder, _, ierr := l.Inspect(ctx)
		if ierr != nil {
			return fleet.LockInfo{}, fmt.Errorf("%w: %w", fleet.ErrLockHeld, err)
		}
		return holder, fmt.Errorf("%w: %w", fleet.ErrLockHeld, err)
	}
	if err != nil {
		return fleet.LockInfo{}, err
	}
	return l.info(r.Lock), nil
}

func (l *agentLocker) Heartbeat(ctx context.Context, li fleet.LockInfo) error {
	_, err := l.h.client().FleetLock(ctx, l.params(agentproto.LockHeartbeat, li.RunID, li.Owner))
	return err
}

func (l *agentLocker) Release(ctx context.Context, li fleet.LockInfo) error {
	_, err := l.h.client().FleetLock(ctx, l.params(agentproto.LockRelease, li.RunID, li.Owner))
	return err
}

func (l *agentLocker) Inspect(ctx context.Context) (fleet.LockInfo, bool, error) {
	r, err := l.h.client().FleetLock(ctx, l.params(agentproto.LockInspect, "", ""))
	if err != nil {
		return fleet.LockInfo{}, false, err
	}
	return l.info(r.Lock), r.Held, nil
}

func (l *agentLocker) RecordRun(ctx context.Context, r fleet.RunRecord) error {
	_, err := l.h.client().RunJournal(ctx, agentproto.RunJournalParams{DB: l.conn, RunID: r.RunID, Phase: r.Phase, Status: r.Status, Summary: r.From + " -> " + r.To})
	return err
}
