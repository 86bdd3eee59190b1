package kongsim

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// errQueryTimeout is pgmoon's error when a query outlives the socket
// timeout (the text of Kong/kong#4335: "failed to run migration
// '001_14_to_15' up: receive_message: failed to get type: timeout").
var errQueryTimeout = errors.New("receive_message: failed to get type: timeout")

// migrationQueryTimeout is how long one migration query may take
// (kong-reference 1.1, 9.4): --db-timeout seconds when given (a number,
// fractions allowed); without it 60 s through 3.6 (the flag's default),
// and from 3.7 the configuration's pg_timeout (default 5000 ms; Kong/kong
// #12761 "do not override kong.conf if --db-timeout is not passed").
//
// Like Kong (conf.pg_timeout = db_timeout * 1000), the value given or
// defaulted replaces pg_timeout, so it bounds the connection too.
func (a *app) migrationQueryTimeout(p parsedArgs, c *Config) (time.Duration, error) {
	set := func(d time.Duration) (time.Duration, error) {
		c.Values["pg_timeout"] = strconv.FormatInt(max(d.Milliseconds(), 1), 10)
		return d, nil
	}
	if v := p.get("db-timeout"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			return 0, fail("db-timeout must be a positive number")
		}
		return set(time.Duration(f * float64(time.Second)))
	}
	if !a.rel.AtLeast(3, 7) {
		return set(60 * time.Second)
	}
	ms, err := strconv.Atoi(c.Get("pg_timeout"))
	if err != nil || ms <= 0 {
		ms = 5000
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// abandonOnTimeout makes cc's connection give up on a query the way
// pgmoon does when its socket times out: the socket is closed and no
// cancel request is sent, so the server runs what it already received to
// its end. pgx sends one when it closes a connection that failed: once
// connected (call the returned function), the dial it needs fails.
func abandonOnTimeout(cc *pgx.ConnConfig) (connected func()) {
	var done atomic.Bool
	dial := cc.DialFunc
	cc.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if done.Load() {
			return nil, errors.New("kongsim: no cancel request (pgmoon sends none)")
		}
		return dial(ctx, network, addr)
	}
	cc.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: pc.Conn()}
	}
	return func() { done.Store(true) }
}

// execTimed runs one query with the migration query timeout (none when 0).
// A query past it returns errQueryTimeout and leaves the connection
// closed.
func (d *kdb) execTimed(ctx context.Context, sql string, args ...any) error {
	qctx, cancel := ctx, context.CancelFunc(func() {})
	if d.queryTimeout > 0 {
		qctx, cancel = context.WithTimeout(ctx, d.queryTimeout)
	}
	defer cancel()
	_, err := d.conn.Exec(qctx, sql, args...)
	if err != nil && ctx.Err() == nil && errors.Is(qctx.Err(), context.DeadlineExceeded) {
		return errQueryTimeout
	}
	return err
}

// runStep runs one migration step as Kong does (kong/db/strategies/
// postgres/connector.lua: run_up_migration sends "BEGIN; <sql>; COMMIT;"
// as one query, then record_migration writes schema_meta in another),
// each query bounded by the migration query timeout. A step whose query
// times out has been sent whole: the server commits it while schema_meta
// never records it, and the connection is gone, so the cluster lock stays
// until its TTL (inference from pgmoon and cluster_mutex; it is how
// Kong/kong#12978's migration ran twice).
func (d *kdb) runStep(ctx context.Context, subsystem, name, sql, record string) error {
	body := strings.TrimRight(strings.TrimSpace(sql), ";")
	if body == "" {
		body = "SELECT 1"
	}
	if err := d.execTimed(ctx, "BEGIN;\n"+body+";\nCOMMIT;"); err != nil {
		if !d.conn.IsClosed() {
			_, _ = d.conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
		return err
	}
	q := map[string]string{recExecuted: recordExecuted, recPending: recordPending, recTeardown: recordTeardown}[record]
	return d.execTimed(ctx, q, subsystem, name)
}
