package runner

import (
	"context"
	"fmt"

	"github.com/kongctl/kongctl/controller/fleet"
	"github.com/kongctl/kongctl/internal/keycache"
)

func (e *engine) node(ctx context.Context, name string) (fleet.Node, error) {
	return keycache.Get(&e.mu, e.nodes, name, func() (fleet.Node, error) {
		n, err := e.conn.Node(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("connect to %s: %w", name, fleet.ConnectFailed(err))
		}
		return n, nil
	}, func(n fleet.Node) { n.Close() })
}

func (e *engine) database(ctx context.Context) (fleet.Database, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.db != nil {
		return e.db, nil
	}
	db, err := e.conn.Database(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to database tools host %s: %w", e.spec.ToolsHost, fleet.ConnectFailed(err))
	}
	e.db = db
	return db, nil
}

func (e *engine) fleetLocker(ctx context.Context) (fleet.Locker, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.lk.locker != nil {
		return e.lk.locker, nil
	}
	l, err := e.conn.Locker(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to fleet lock: %w", err)
	}
	e.lk.locker = l
	return l, nil
}
