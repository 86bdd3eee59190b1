//go:build !nodeagent

package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// kongctlSchema is kongctl's own schema in Kong's database: the fleet lock
// and the run journal. It is never part of a fingerprint or a backup.
const kongctlSchema = "kongctl"

func schemaOf(c agentproto.DBConn) string {
	if c.Schema == "" {
		return "public"
	}
	return c.Schema
}

func connConfig(c agentproto.DBConn, database, rootCert string) (*pgx.ConnConfig, error) {
	port := c.Port
	if port == 0 {
		port = 5432
	}
	ssl := c.SSLMode
	if ssl == "" {
		ssl = "prefer"
	}
	if database == "" {
		database = c.Database
	}
	// The password is set on the struct, never written into a DSN string.
	dsn := fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=%s application_name=kongctl-agent",
		dsnQuote(c.Host), port, dsnQuote(c.User), dsnQuote(database), dsnQuote(ssl))
	if rootCert != "" {
		dsn += " sslrootcert=" + dsnQuote(rootCert)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, agentproto.Errorf(agentproto.CodeInvalid, "database settings: %v", err)
	}
	cfg.Password = c.Password
	cfg.ConnectTimeout = c.Connect
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	// No ~/.pgpass, no service file: what the controller says only.
	cfg.Fallbacks = nil
	return cfg, nil
}

func dsnQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func (a *Agent) connect(ctx context.Context, c agentproto.DBConn, database string) (*pgx.Conn, error) {
	rootCert, err := a.caFile(c)
	if err != nil {
		return nil, err
	}
	cfg, err := connConfig(c, database, rootCert)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, agentproto.Errorf(agentproto.CodeDBUnreachable, "connect to %s@%s:%d/%s: %v", c.User, cfg.Host, cfg.Port, cfg.Database, err)
	}
	return conn, nil
}

// ---- fingerprint ----

func (a *Agent) fingerprintOp(ctx context.Context, run *opRun, p *agentproto.FingerprintParams) (*agentproto.Fingerprint, error) {
	conn, err := a.connect(ctx, p.DB, "")
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	return a.fingerprintConn(ctx, conn, schemaOf(p.DB), p.ExcludeTables, "")
}

// fingerprintConn fingerprints schema in one REPEATABLE READ transaction
// (importing snapshot when set).
func (a *Agent) fingerprintConn(ctx context.Context, conn *pgx.Conn, schema string, exclude []string, snapshot string) (*agentproto.Fingerprint, error) {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("begin fingerprint transaction: %w", err)
	}
	defer tx.Rollback(context.Background())
	if snapshot != "" {
		if _, err := tx.Exec(ctx, "SET TRANSACTION SNAPSHOT "+quoteLiteral(snapshot)); err != nil {
			return nil, fmt.Errorf("import snapshot: %w", err)
		}
	}
	return fingerprintTx(ctx, tx, schema, exclude, a.Now)
}

// fingerprintTx hashes every table of schema (but locks and exclude) in tx:
// rows as their text form, sorted by primary key (by the whole row when
// there is none), one sha256 per table and one over all tables.
func fingerprintTx(ctx context.Context, tx pgx.Tx, schema string, exclude []string, now func() time.Time) (*agentproto.Fingerprint, error) {
	// Text forms that do not depend on the session.
	for _, s := range []string{"SET LOCAL TimeZone = 'UTC'", "SET LOCAL DateStyle = 'ISO, YMD'", "SET LOCAL IntervalStyle = 'postgres'",
		"SET LOCAL extra_float_digits = 3", "SET LOCAL bytea_output = 'hex'"} {
		if _, err := tx.Exec(ctx, s); err != nil {
			return nil, fmt.Errorf("fingerprint: %s: %w", s, err)
		}
	}
	skip := map[string]bool{"locks": true}
	for _, t := range exclude {
		skip[t] = true
	}
	rows, err := tx.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r','p') AND NOT c.relispartition ORDER BY c.relname COLLATE "C"`, schema)
	if err != nil {
		return nil, fmt.Errorf("fingerprint: list tables of %s: %w", schema, err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("fingerprint: list tables of %s: %w", schema, err)
	}
	fp := &agentproto.Fingerprint{Schema: schema, TakenAt: now().UTC()}
	all := sha256.New()
	for _, t := range tables {
		if skip[t] {
			continue
		}
		sig, err := tableSignature(ctx, tx, schema, t)
		if err != nil {
			return nil, err
		}
		fp.Tables = append(fp.Tables, sig)
		fmt.Fprintf(all, "%s %d %s\n", sig.Name, sig.Rows, sig.SHA256)
	}
	fp.SHA256 = hex.EncodeToString(all.Sum(nil))
	return fp, nil
}

func tableSignature(ctx context.Context, tx pgx.Tx, schema, table string) (agentproto.TableSignature, error) {
	sig := agentproto.TableSignature{Name: table}
	qualified := pgx.Identifier{schema, table}.Sanitize()
	rows, err := tx.Query(ctx, `SELECT a.attname FROM pg_index i
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
		WHERE i.indrelid = $1::regclass AND i.indisprimary
		ORDER BY array_position(i.indkey, a.attnum)`, qualified)
	if err != nil {
		return sig, fmt.Errorf("fingerprint: primary key of %s: %w", qualified, err)
	}
	pk, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return sig, fmt.Errorf("fingerprint: primary key of %s: %w", qualified, err)
	}
	order := `(t::text) COLLATE "C"`
	if len(pk) > 0 {
		var cols []string
		for _, c := range pk {
			cols = append(cols, "t."+pgx.Identifier{c}.Sanitize())
		}
		order = strings.Join(cols, ", ")
	}
	rows, err = tx.Query(ctx, "SELECT t::text FROM "+qualified+" AS t ORDER BY "+order)
	if err != nil {
		return sig, fmt.Errorf("fingerprint: read %s: %w", qualified, err)
	}
	defer rows.Close()
	h := sha256.New()
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return sig, fmt.Errorf("fingerprint: read %s: %w", qualified, err)
		}
		io.WriteString(h, line)
		h.Write([]byte{'\n'})
		sig.Rows++
	}
	if err := rows.Err(); err != nil {
		return sig, fmt.Errorf("fingerprint: read %s: %w", qualified, err)
	}
	sig.SHA256 = hex.EncodeToString(h.Sum(nil))
	return sig, nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
