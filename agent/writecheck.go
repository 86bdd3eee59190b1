//go:build !nodeagent

package agent

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// ---- write signature: a constant-time write check ----

// settlePoll is how often the write signature looks for other clients
// while it waits for them to leave.
const settlePoll = 50 * time.Millisecond

// writeSignature summarises the writes to Kong's configuration tables from
// the catalog and the cumulative statistics, one row per table: its cost
// does not grow with the rows.
//
// PostgreSQL 15+ keeps a backend's table counts in the backend until its
// transaction ends and PGSTAT_MIN_INTERVAL (1 s) has passed since its last
// flush, or for up to PGSTAT_IDLE_INTERVAL (10 s) while it idles, and
// always flushes them when it exits, before it leaves pg_stat_activity
// (pgstat_shutdown_hook is a before_shmem_exit callback, the backend's
// status entry is cleared later, by an on_shmem_exit one). So once no
// other client backend is connected to Kong's database, every write
// committed before is in the counters. A reader caches what it read for
// its transaction (stats_fetch_consistency): each read here runs in its own
// transaction after pg_stat_clear_snapshot().
func (a *Agent) writeSignature(ctx context.Context, run *opRun, p *agentproto.WriteSignatureParams) (*agentproto.WriteSignature, error) {
	conn, err := a.connect(ctx, p.DB, "")
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	sig := &agentproto.WriteSignature{Schema: schemaOf(p.DB)}
	var version int
	var trackCounts string
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int, current_setting('track_counts')").Scan(&version, &trackCounts); err != nil {
		return nil, fmt.Errorf("write signature: read server settings: %w", err)
	}
	switch {
	case version < 150000:
		sig.Note = fmt.Sprintf("PostgreSQL %d.%d sends table statistics through the statistics collector, which may drop them: the counters cannot prove a write did not happen", version/10000, version%10000/100)
	case trackCounts != "on":
		sig.Note = "track_counts is off: PostgreSQL keeps no table write counters"
	}
	if sig.Note != "" {
		sig.TakenAt = a.Now().UTC()
		return sig, nil
	}
	sig.Usable = true
	start := a.Now()
	if len(p.EndFrom) > 0 {
		ended, note := endStoppedClients(ctx, conn, p.EndFrom)
		sig.Ended, sig.Note = ended, note
	}
	for {
		others, err := otherClients(ctx, conn)
		if err != nil {
			return nil, err
		}
		if len(others) == 0 {
			sig.Settled = true
			break
		}
		if a.Now().Sub(start) >= p.Settle {
			sig.Others = others
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(settlePoll):
		}
	}
	sig.Waited = a.Now().Sub(start)
	if err := readWriteCounters(ctx, conn, sig); err != nil {
		return nil, err
	}
	sig.TakenAt = a.Now().UTC()
	return sig, nil
}

// clientName names a backend as application@address, and clientBackend
// keeps the client backends (a backend of another role shows no
// backend_type to a role without pg_read_all_stats: it is counted, it may
// be a client): what otherClients waits for and endStoppedClients ends.
const (
	clientName    = `coalesce(nullif(application_name, ''), usename::text, 'pid ' || pid) || '@' || coalesce(host(client_addr), 'local')`
	clientBackend = `(backend_type = 'client backend' OR backend_type IS NULL)`
)

// otherClients lists the client backends connected to the current
// database besides this one, as application@address.
func otherClients(ctx context.Context, conn *pgx.Conn) ([]string, error) {
	rows, err := conn.Query(ctx, `SELECT `+clientName+`
		FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND `+clientBackend+`
		ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("write signature: list connected clients: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("write signature: list connected clients: %w", err)
	}
	return out, nil
}

// endStoppedClients ends the backends connected to the current database
// from the addresses of stopped Kong nodes (host names resolved here, on
// the tools host) and names them as application@address. A backend that
// cannot be ended (another role's, without the privilege) is left: the
// wait then sees it, as before, and the note says why it stayed.
func endStoppedClients(ctx context.Context, conn *pgx.Conn, from []string) (ended []string, note string) {
	var ips []string
	for _, h := range from {
		if net.ParseIP(h) != nil {
			ips = append(ips, h)
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		addrs, err := net.DefaultResolver.LookupHost(rctx, h)
		cancel()
		if err == nil {
			ips = append(ips, addrs...)
		}
	}
	if len(ips) == 0 {
		return nil, ""
	}
	rows, err := conn.Query(ctx, `SELECT pid, `+clientName+`
		FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND `+clientBackend+` AND host(client_addr) = ANY($1)
		ORDER BY 2`, ips)
	if err != nil {
		return nil, fmt.Sprintf("the stopped nodes' connections could not be listed: %v", err)
	}
	type backend struct {
		pid  int32
		name string
	}
	var bs []backend
	for rows.Next() {
		var b backend
		if err := rows.Scan(&b.pid, &b.name); err != nil {
			rows.Close()
			return nil, fmt.Sprintf("the stopped nodes' connections could not be listed: %v", err)
		}
		bs = append(bs, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Sprintf("the stopped nodes' connections could not be listed: %v", err)
	}
	var failed []string
	for _, b := range bs {
		var ok bool
		if err := conn.QueryRow(ctx, "SELECT pg_terminate_backend($1)", b.pid).Scan(&ok); err != nil || !ok {
			failed = append(failed, b.name)
			continue
		}
		ended = append(ended, b.name)
	}
	if len(failed) > 0 {
		note = fmt.Sprintf("the connection(s) %s of stopped nodes could not be ended (the database user may lack the right to end them)", strings.Join(failed, ", "))
	}
	return ended, note
}

// readWriteCounters fills sig.Tables, sig.Excluded, sig.Server and
// sig.Transactions from a fresh statistics snapshot.
func readWriteCounters(ctx context.Context, conn *pgx.Conn, sig *agentproto.WriteSignature) error {
	if _, err := conn.Exec(ctx, "SELECT pg_stat_clear_snapshot()"); err != nil {
		return fmt.Errorf("write signature: clear statistics snapshot: %w", err)
	}
	err := conn.QueryRow(ctx, `SELECT extract(epoch FROM pg_postmaster_start_time())::text || ' ' || coalesce(extract(epoch FROM d.stats_reset)::text, '-'),
		coalesce(d.xact_commit + d.xact_rollback, 0)
		FROM (SELECT 1) one LEFT JOIN pg_stat_database d ON d.datname = current_database()`).Scan(&sig.Server, &sig.Transactions)
	if err != nil {
		return fmt.Errorf("write signature: read server start: %w", err)
	}
	rows, err := conn.Query(ctx, `SELECT c.relname, c.relfilenode::int8, coalesce(s.n_tup_ins, 0), coalesce(s.n_tup_upd, 0), coalesce(s.n_tup_del, 0)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
		WHERE n.nspname = $1 AND c.relkind IN ('r','p')
		ORDER BY c.relname COLLATE "C"`, sig.Schema)
	if err != nil {
		return fmt.Errorf("write signature: read counters of %s: %w", sig.Schema, err)
	}
	defer rows.Close()
	sig.Tables = map[string]string{}
	for rows.Next() {
		var name string
		var node, ins, upd, del int64
		if err := rows.Scan(&name, &node, &ins, &upd, &del); err != nil {
			return fmt.Errorf("write signature: read counters of %s: %w", sig.Schema, err)
		}
		if agentproto.IsRuntimeTable(name) {
			sig.Excluded = append(sig.Excluded, name)
			continue
		}
		sig.Tables[name] = strconv.FormatInt(node, 10) + " " + strconv.FormatInt(ins, 10) + " " + strconv.FormatInt(upd, 10) + " " + strconv.FormatInt(del, 10)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("write signature: read counters of %s: %w", sig.Schema, err)
	}
	return nil
}
