//go:build !nodeagent

package agent

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// createScratch creates the scratch (or target) database name, owned by
// the connection's role when an admin connection creates it.
func createScratch(ctx context.Context, aconn *pgx.Conn, name string, p *agentproto.VerifyRestoreParams) error {
	owner := ""
	if p.Admin != nil {
		owner = " OWNER " + pgx.Identifier{p.DB.User}.Sanitize()
	}
	if _, err := aconn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+owner+" TEMPLATE template0"); err != nil {
		return fmt.Errorf("create scratch database %s: %w", name, err)
	}
	return nil
}

// checkTargetEmpty refuses a dual-cluster target that exists but is not
// empty: kongctl restores only into an empty database it did not create.
func (a *Agent) checkTargetEmpty(ctx context.Context, db agentproto.DBConn, name string) error {
	conn, err := a.connect(ctx, db, name)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	empty, err := relationsEmpty(ctx, conn)
	if err != nil {
		return fmt.Errorf("look into target database %s: %w", name, err)
	}
	if !empty {
		return fmt.Errorf("target database %s is not empty: kongctl restores only into an empty database it did not create", name)
	}
	return nil
}

// relationsEmpty tells whether the connection's database holds no table,
// view, sequence or other relation outside the system schemas.
func relationsEmpty(ctx context.Context, conn *pgx.Conn) (bool, error) {
	var empty bool
	err := conn.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%')`).Scan(&empty)
	return empty, err
}
