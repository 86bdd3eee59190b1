//go:build !nodeagent

package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// ---- kongctl schema: fleet lock and run journal ----

const setupKongctlSchema = `
CREATE SCHEMA IF NOT EXISTS kongctl;
CREATE TABLE IF NOT EXISTS kongctl.fleet_lock (
	id           integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
	owner        text NOT NULL,
	run_id       text NOT NULL,
	acquired_at  timestamptz NOT NULL DEFAULT now(),
	heartbeat_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS kongctl.runs (
	run_id     text PRIMARY KEY,
	owner      text NOT NULL DEFAULT '',
	phase      text NOT NULL DEFAULT '',
	status     text NOT NULL DEFAULT '',
	summary    text NOT NULL DEFAULT '',
	started_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);`

// kongctlLockKey serialises kongctl's own schema changes and lock actions
// (an advisory lock, so concurrent agents do not race CREATE IF NOT EXISTS).
const kongctlLockKey = 0x6b6f6e67 // "kong"

func (a *Agent) withKongctlTx(ctx context.Context, c agentproto.DBConn, fn func(tx pgx.Tx) error) error {
	conn, err := a.connect(ctx, c, "")
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(kongctlLockKey)); err != nil {
			return fmt.Errorf("kongctl advisory lock: %w", err)
		}
		if _, err := tx.Exec(ctx, setupKongctlSchema); err != nil {
			return fmt.Errorf("create kongctl schema: %w", err)
		}
		return fn(tx)
	})
}

func readFleetLock(ctx context.Context, tx pgx.Tx, stale time.Duration) (*agentproto.FleetLock, error) {
	var l agentproto.FleetLock
	var ageSec float64
	err := tx.QueryRow(ctx, `SELECT owner, run_id, acquired_at, heartbeat_at, EXTRACT(EPOCH FROM (now() - heartbeat_at))::float8
		FROM kongctl.fleet_lock WHERE id = 1`).Scan(&l.Owner, &l.RunID, &l.AcquiredAt, &l.HeartbeatAt, &ageSec)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read fleet lock: %w", err)
	}
	l.AcquiredAt, l.HeartbeatAt = l.AcquiredAt.UTC(), l.HeartbeatAt.UTC()
	l.Age = time.Duration(ageSec * float64(time.Second))
	l.Stale = l.Age > stale
	return &l, nil
}

func heldErr(l *agentproto.FleetLock) error {
	stale := ""
	if l.Stale {
		stale = " (stale: the run looks dead; release it with its run id after checking)"
	}
	return agentproto.Errorf(agentproto.CodeLockHeld, "fleet lock held by run %s of %s since %s, last heartbeat %s ago%s",
		l.RunID, l.Owner, l.AcquiredAt.Format(time.RFC3339), l.Age.Round(time.Second), stale)
}

func (a *Agent) fleetLock(ctx context.Context, run *opRun, p *agentproto.FleetLockParams) (*agentproto.FleetLockResult, error) {
	stale := p.StaleAfter
	if stale <= 0 {
		stale = 5 * time.Minute
	}
	res := &agentproto.FleetLockResult{}
	var opErr error
	err := a.withKongctlTx(ctx, p.DB, func(tx pgx.Tx) error {
		cur, err := readFleetLock(ctx, tx, stale)
		if err != nil {
			return err
		}
		switch p.Action {
		case agentproto.LockAcquire:
			if cur != nil && cur.RunID != p.RunID {
				res.Held, res.Lock = true, cur
				opErr = heldErr(cur)
				return nil
			}
			if cur == nil {
				if _, err := tx.Exec(ctx, `INSERT INTO kongctl.fleet_lock (id, owner, run_id) VALUES (1, $1, $2)`, p.Owner, p.RunID); err != nil {
					return fmt.Errorf("insert fleet lock: %w", err)
				}
				res.Acquired = true
			} else if _, err := tx.Exec(ctx, `UPDATE kongctl.fleet_lock SET heartbeat_at = now() WHERE id = 1`); err != nil {
				return fmt.Errorf("refresh fleet lock: %w", err)
			}
		case agentproto.LockHeartbeat:
			if cur == nil {
				opErr = agentproto.Errorf(agentproto.CodeNotFound, "fleet lock is not held (run %s lost it)", p.RunID)
				return nil
			}
			if cur.RunID != p.RunID {
				res.Held, res.Lock = true, cur
				opErr = heldErr(cur)
				return nil
			}
			if _, err := tx.Exec(ctx, `UPDATE kongctl.fleet_lock SET heartbeat_at = now() WHERE id = 1`); err != nil {
				return fmt.Errorf("heartbeat fleet lock: %w", err)
			}
		case agentproto.LockRelease:
			if cur == nil {
				return nil // released already
			}
			if cur.RunID != p.RunID {
				res.Held, res.Lock = true, cur
				opErr = heldErr(cur)
				return nil
			}
			if _, err := tx.Exec(ctx, `DELETE FROM kongctl.fleet_lock WHERE id = 1 AND run_id = $1`, p.RunID); err != nil {
				return fmt.Errorf("release fleet lock: %w", err)
			}
			res.Released = true
		}
		after, err := readFleetLock(ctx, tx, stale)
		if err != nil {
			return err
		}
		res.Lock = after
		res.Held = after != nil
		res.Mine = after != nil && after.RunID == p.RunID && p.RunID != ""
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, opErr
}

func (a *Agent) runJournal(ctx context.Context, run *opRun, p *agentproto.RunJournalParams) (*agentproto.RunJournalResult, error) {
	res := &agentproto.RunJournalResult{}
	err := a.withKongctlTx(ctx, p.DB, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO kongctl.runs (run_id, owner, phase, status, summary) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (run_id) DO UPDATE SET phase = EXCLUDED.phase, status = EXCLUDED.status, summary = EXCLUDED.summary,
				owner = CASE WHEN EXCLUDED.owner = '' THEN kongctl.runs.owner ELSE EXCLUDED.owner END, updated_at = now()
			RETURNING run_id, phase, status, started_at, updated_at`,
			p.RunID, p.Owner, p.Phase, p.Status, p.Summary).Scan(&res.RunID, &res.Phase, &res.Status, &res.StartedAt, &res.UpdatedAt)
	})
	if err != nil {
		return nil, fmt.Errorf("run journal: %w", err)
	}
	res.StartedAt, res.UpdatedAt = res.StartedAt.UTC(), res.UpdatedAt.UTC()
	return res, nil
}

// ---- Kong's migrations lock ----

func (a *Agent) migrationLock(ctx context.Context, run *opRun, p *agentproto.MigrationLockParams) (*agentproto.MigrationLockResult, error) {
	conn, err := a.connect(ctx, p.DB, "")
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	locks := pgx.Identifier{schemaOf(p.DB), "locks"}.Sanitize()
	var reg *string
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1)::text", locks).Scan(&reg); err != nil {
		return nil, fmt.Errorf("look for %s: %w", locks, err)
	}
	res := &agentproto.MigrationLockResult{}
	if reg == nil {
		res.NoTable = true
		return res, nil
	}
	var owner *string
	var ttl time.Time
	err = conn.QueryRow(ctx, "SELECT owner, ttl FROM "+locks+" WHERE key = 'migrations' AND ttl >= now()").Scan(&owner, &ttl)
	if errors.Is(err, pgx.ErrNoRows) {
		return res, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", locks, err)
	}
	res.Held, res.TTL = true, ttl.UTC()
	if owner != nil {
		res.Owner = *owner
	}
	return res, nil
}
