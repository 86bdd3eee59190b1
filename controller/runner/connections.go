package runner

import (
	"context"
	"fmt"

	"github.com/kongctl/kongctl/controller/fleet"
)

func (e *engine) node(ctx context.Context, name string) (fleet.Node, error) {
	e.mu.Lock()
	n, ok := e.nodes[name]
	e.mu.Unlock()
	if ok {
		return n, nil
	}
	n, err := e.conn.Node(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", name, fleet.ConnectFailed(err))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if prev, ok := e.nodes[name]; ok {
		n.Close()
		return prev, nil
	}
	e.nodes[name] = n
	return n, nil
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
