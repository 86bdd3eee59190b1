package kongsim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pgConfig builds a pgx connection config from kong.conf keys. The statement
// mode avoids cached plans, which break when another node alters a table.
func pgConfig(c *Config) (*pgx.ConnConfig, error) {
	cc, err := pgx.ParseConfig("sslmode=disable")
	if err != nil {
		return nil, err
	}
	port, err := strconv.Atoi(c.Get("pg_port"))
	if err != nil {
		return nil, fmt.Errorf("pg_port is not a valid number: '%s'", c.Get("pg_port"))
	}
	cc.Host = c.Get("pg_host")
	cc.Port = uint16(port)
	cc.User = c.Get("pg_user")
	cc.Password = c.Get("pg_password")
	cc.Database = c.Get("pg_database")
	cc.TLSConfig = nil
	cc.Fallbacks = nil
	ms, _ := strconv.Atoi(c.Get("pg_timeout"))
	if ms <= 0 {
		ms = 5000
	}
	cc.ConnectTimeout = time.Duration(ms) * time.Millisecond
	cc.RuntimeParams = map[string]string{"search_path": c.Schema(), "application_name": "kong"}
	cc.DefaultQueryExecMode = pgx.QueryExecModeExec
	return cc, nil
}

// pgErrText renders a driver error the way lua-resty-postgres/Kong shows it:
// the innermost cause ("connection refused", "timeout", "FATAL: ...").
func pgErrText(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Severity + ": " + pe.Message
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		s := oe.Err.Error()
		if i := strings.LastIndex(s, ": "); i >= 0 {
			s = s[i+2:]
		}
		return s
	}
	return err.Error()
}

// kdb is one CLI connection to the Kong database.
type kdb struct {
	conn   *pgx.Conn
	schema string
	name   string // pg_database, for "migrating x on database 'kong'..."
	// queryTimeout bounds each migration query (migtimeout.go); 0 = none.
	queryTimeout time.Duration
}

func openDB(ctx context.Context, c *Config) (*kdb, error) {
	cc, err := pgConfig(c)
	if err != nil {
		return nil, err
	}
	connected := abandonOnTimeout(cc)
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("[PostgreSQL error] failed to retrieve PostgreSQL server_version_num: %s", pgErrText(err))
	}
	connected()
	var v string
	if err := conn.QueryRow(ctx, "SHOW server_version_num").Scan(&v); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("[PostgreSQL error] failed to retrieve PostgreSQL server_version_num: %s", pgErrText(err))
	}
	return &kdb{conn: conn, schema: c.Schema(), name: c.Get("pg_database")}, nil
}

func (d *kdb) close() { d.conn.Close(context.Background()) }

func pgErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("[PostgreSQL error] %s", pgErrText(err))
}

func (d *kdb) needsBootstrap(ctx context.Context) (bool, error) {
	return needsBootstrap(ctx, d.conn, d.schema)
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func needsBootstrap(ctx context.Context, q querier, schema string) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'schema_meta')`, schema).Scan(&ok)
	if err != nil {
		return false, pgErr(err)
	}
	return !ok, nil
}

func readMeta(ctx context.Context, q querier) (map[string]MetaRow, error) {
	rows, err := q.Query(ctx, `SELECT subsystem, coalesce(last_executed, ''), coalesce(executed, '{}'), coalesce(pending, '{}') FROM schema_meta WHERE key = 'schema_meta'`)
	if err != nil {
		return nil, pgErr(err)
	}
	defer rows.Close()
	out := map[string]MetaRow{}
	for rows.Next() {
		var r MetaRow
		if err := rows.Scan(&r.Subsystem, &r.LastExecuted, &r.Executed, &r.Pending); err != nil {
			return nil, pgErr(err)
		}
		out[r.Subsystem] = r
	}
	return out, pgErr(rows.Err())
}

// loadState computes the schema state for a catalogue.
func loadState(ctx context.Context, q querier, schema string, cat []Subsystem) (State, error) {
	nb, err := needsBootstrap(ctx, q, schema)
	if err != nil {
		return State{}, err
	}
	if nb {
		return State{NeedsBootstrap: true}, nil
	}
	rows, err := readMeta(ctx, q)
	if err != nil {
		return State{}, err
	}
	return Classify(cat, rows, false), nil
}

func (d *kdb) state(ctx context.Context, cat []Subsystem) (State, error) {
	return loadState(ctx, d.conn, d.schema, cat)
}

// bootstrapTables creates the schema, schema_meta and locks (2.1, 2.2).
func (d *kdb) bootstrapTables(ctx context.Context) error {
	// Insufficient privilege on CREATE SCHEMA is ignored, as Postgres/Kong do.
	_, _ = d.conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{d.schema}.Sanitize()+" AUTHORIZATION CURRENT_USER")
	_, err := d.conn.Exec(ctx, `
CREATE TABLE IF NOT EXISTS schema_meta (
  key text, subsystem text, last_executed text, executed text[], pending text[],
  PRIMARY KEY (key, subsystem));
CREATE TABLE IF NOT EXISTS locks (key text PRIMARY KEY, owner text, ttl timestamptz);
CREATE INDEX IF NOT EXISTS locks_ttl_idx ON locks (ttl);`)
	return pgErr(err)
}

// Migration record states (2.1).
const (
	recExecuted = "executed"
	recPending  = "pending"
	recTeardown = "teardown"
)

const recordExecuted = `
INSERT INTO schema_meta (key, subsystem, last_executed, executed)
VALUES ('schema_meta', $1, $2, ARRAY[$2]::text[])
ON CONFLICT (key, subsystem) DO UPDATE SET
  last_executed = EXCLUDED.last_executed,
  executed = CASE WHEN $2 = ANY (coalesce(schema_meta.executed, '{}')) THEN schema_meta.executed
                  ELSE array_append(coalesce(schema_meta.executed, ARRAY[]::text[]), $2) END`

const recordPending = `
INSERT INTO schema_meta (key, subsystem, pending)
VALUES ('schema_meta', $1, ARRAY[$2]::text[])
ON CONFLICT (key, subsystem) DO UPDATE SET
  pending = CASE WHEN $2 = ANY (coalesce(schema_meta.pending, '{}')) THEN schema_meta.pending
                 ELSE array_append(coalesce(schema_meta.pending, ARRAY[]::text[]), $2) END`

const recordTeardown = `
INSERT INTO schema_meta (key, subsystem, last_executed, executed, pending)
VALUES ('schema_meta', $1, $2, ARRAY[$2]::text[], '{}')
ON CONFLICT (key, subsystem) DO UPDATE SET
  last_executed = EXCLUDED.last_executed,
  executed = CASE WHEN $2 = ANY (coalesce(schema_meta.executed, '{}')) THEN schema_meta.executed
                  ELSE array_append(coalesce(schema_meta.executed, ARRAY[]::text[]), $2) END,
  pending = array_remove(coalesce(schema_meta.pending, ARRAY[]::text[]), $2)`

// Locks (2.2, 2.3).

func (d *kdb) insertLock(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	tx, err := d.conn.Begin(ctx)
	if err != nil {
		return false, pgErr(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `DELETE FROM locks WHERE ttl < CURRENT_TIMESTAMP`); err != nil {
		return false, pgErr(err)
	}
	tag, err := tx.Exec(ctx, `INSERT INTO locks (key, owner, ttl) VALUES ($1, $2, CURRENT_TIMESTAMP + make_interval(secs => $3)) ON CONFLICT DO NOTHING`,
		key, owner, ttl.Seconds())
	if err != nil {
		return false, pgErr(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, pgErr(err)
	}
	return tag.RowsAffected() == 1, nil
}

func (d *kdb) readLock(ctx context.Context, key string) (bool, error) {
	var n int
	err := d.conn.QueryRow(ctx, `SELECT count(*) FROM locks WHERE key = $1 AND ttl >= CURRENT_TIMESTAMP`, key).Scan(&n)
	return n > 0, pgErr(err)
}

func (d *kdb) removeLock(ctx context.Context, key, owner string) error {
	_, err := d.conn.Exec(ctx, `DELETE FROM locks WHERE key = $1 AND owner = $2`, key, owner)
	return pgErr(err)
}

// errLockTimeout is `[PostgreSQL error] timeout`.
var errLockTimeout = errors.New("[PostgreSQL error] timeout")

// crashError makes the CLI exit 137 at once, leaving the lock row behind.
type crashError struct{}

func (crashError) Error() string { return "crash injected by FAKE_KONG_CRASH_AFTER" }

// clusterMutex is DB:cluster_mutex: acquired reports whether fn ran.
// Waiting (noWait false) polls with 0.1s steps tripling up to 2s until
// ttl; a lock that vanishes while waiting gives acquired=false, err=nil.
func (d *kdb) clusterMutex(ctx context.Context, owner string, ttl time.Duration, noWait bool, fn func() error) (acquired bool, err error) {
	const key = "migrations"
	ok, err := d.insertLock(ctx, key, owner, ttl)
	if err != nil {
		return false, err
	}
	if !ok {
		if noWait {
			return false, nil
		}
		elapsed, step := 0.0, 0.1
		for elapsed < ttl.Seconds() {
			select {
			case <-ctx.Done():
				return false, ctx.Err()
			case <-time.After(time.Duration(step * float64(time.Second))):
			}
			elapsed += step
			step = min(step*3, 2)
			locked, err := d.readLock(ctx, key)
			if err != nil {
				return false, err
			}
			if !locked {
				return false, nil
			}
		}
		return false, errLockTimeout
	}
	ferr := fn()
	var ce crashError
	if errors.As(ferr, &ce) {
		return true, ferr
	}
	_ = d.removeLock(context.WithoutCancel(ctx), key, owner)
	if ferr != nil {
		return true, fmt.Errorf("[PostgreSQL error] cluster_mutex callback threw an error: %w", ferr)
	}
	return true, nil
}

// connPool is a small lazy pool for the daemon (pgxpool would need a module
// go.mod does not carry). The daemon starts while the database is down and
// reports reachable:false.
type connPool struct {
	cc   *pgx.ConnConfig
	idle chan *pgx.Conn
	sem  chan struct{}
}

func newPool(c *Config, size int) (*connPool, error) {
	cc, err := pgConfig(c)
	if err != nil {
		return nil, err
	}
	return &connPool{cc: cc, idle: make(chan *pgx.Conn, size), sem: make(chan struct{}, size)}, nil
}

// with runs fn on a pooled connection; a connection that failed is dropped.
func (p *connPool) with(ctx context.Context, fn func(*pgx.Conn) error) error {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.sem }()
	var conn *pgx.Conn
	select {
	case conn = <-p.idle:
	default:
	}
	if conn == nil || conn.IsClosed() {
		var err error
		conn, err = pgx.ConnectConfig(ctx, p.cc)
		if err != nil {
			return err
		}
	}
	err := fn(conn)
	if err != nil && (conn.IsClosed() || !isPgError(err)) {
		conn.Close(context.Background())
		return err
	}
	select {
	case p.idle <- conn:
	default:
		conn.Close(context.Background())
	}
	return err
}

func isPgError(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe)
}

func (p *connPool) close() {
	for {
		select {
		case c := <-p.idle:
			c.Close(context.Background())
		default:
			return
		}
	}
}
