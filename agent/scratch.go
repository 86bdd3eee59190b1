//go:build !nodeagent

package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// scratch drops rehearsal scratch databases (db.scratch) and tells whether
// the role may create one. It connects to the maintenance database
// "postgres": a database cannot be dropped from inside itself.
func (a *Agent) scratch(ctx context.Context, run *opRun, p *agentproto.ScratchParams) (*agentproto.ScratchResult, error) {
	conn, err := a.connect(ctx, p.DB, "postgres")
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	res := &agentproto.ScratchResult{}
	if p.CheckCreate {
		var createDB, super bool
		if err := conn.QueryRow(ctx, "SELECT rolcreatedb, rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&createDB, &super); err != nil {
			return nil, fmt.Errorf("read the attributes of role %s: %w", p.DB.User, err)
		}
		res.CanCreate = createDB || super
		if !res.CanCreate {
			res.CreateReason = fmt.Sprintf("role %s has neither CREATEDB nor SUPERUSER, so it cannot create the scratch database", p.DB.User)
		}
	}
	if p.Probe != "" {
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", p.Probe).Scan(&res.ProbeExists); err != nil {
			return nil, fmt.Errorf("look for database %s: %w", p.Probe, err)
		}
		if res.ProbeExists {
			pconn, err := a.connect(ctx, p.DB, p.Probe)
			if err != nil {
				return nil, err
			}
			err = pconn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", pgx.Identifier{schemaOf(p.DB), "schema_meta"}.Sanitize()).Scan(&res.ProbeKong)
			if err == nil {
				res.ProbeEmpty, err = relationsEmpty(ctx, pconn)
			}
			pconn.Close(context.Background())
			if err != nil {
				return nil, fmt.Errorf("look for kong's tables in database %s: %w", p.Probe, err)
			}
		}
	}
	drop := slices.Clone(p.Drop)
	if p.DropAll {
		rows, err := conn.Query(ctx, "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", agentproto.RehearsalPrefix)
		if err != nil {
			return nil, fmt.Errorf("list scratch databases: %w", err)
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("list scratch databases: %w", err)
		}
		for _, n := range names {
			if agentproto.IsRehearsalScratch(n) && !slices.Contains(drop, n) {
				drop = append(drop, n)
			}
		}
	}
	for _, n := range drop {
		var exists bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", n).Scan(&exists); err != nil {
			return res, fmt.Errorf("look for scratch database %s: %w", n, err)
		}
		if !exists {
			continue
		}
		if err := dropDatabase(ctx, conn, n); err != nil {
			return res, fmt.Errorf("drop scratch database %s: %w", n, err)
		}
		run.note("dropped scratch database %s", n)
		res.Dropped = append(res.Dropped, n)
	}
	return res, nil
}

// dropDatabase drops name. WITH (FORCE) ends the sessions still on it,
// but PostgreSQL refuses (42501) when one is a process the connection's
// role may not signal: an autovacuum worker on a freshly restored copy,
// another role's session. Then the role's own sessions there are ended
// and a plain DROP DATABASE, which stops autovacuum workers itself, is
// tried again for up to dropRetries seconds (another role's session may
// be closing).
func dropDatabase(ctx context.Context, conn *pgx.Conn, name string) error {
	ident := pgx.Identifier{name}.Sanitize()
	_, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
	var pe *pgconn.PgError
	if err == nil || !errors.As(err, &pe) || pe.Code != "42501" {
		return err
	}
	for i := 0; ; i++ {
		if _, terr := conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND usename = current_user AND pid <> pg_backend_pid()", name); terr != nil {
			return fmt.Errorf("%w; then end the role's sessions: %v", err, terr)
		}
		_, perr := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident)
		if perr == nil {
			return nil
		}
		if i >= dropRetries {
			return fmt.Errorf("%w; then without FORCE: %v", err, perr)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; then without FORCE: %v", err, perr)
		case <-time.After(time.Second):
		}
	}
}

// dropRetries is how many more times dropDatabase tries a plain DROP
// DATABASE, a second apart.
const dropRetries = 10
