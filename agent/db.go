package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
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

// ---- backup and restore ----

// pgTool finds a PostgreSQL client program: c.BinDir, then the newest
// /usr/lib/postgresql/*/bin (Debian), /usr/pgsql-*/bin (PGDG RPMs), PATH.
func (a *Agent) pgTool(c agentproto.DBConn, name string) (string, error) {
	if c.BinDir != "" {
		p := filepath.Join(c.BinDir, name)
		if _, err := os.Stat(p); err != nil {
			return "", agentproto.Errorf(agentproto.CodeNotFound, "%s: %v", name, err)
		}
		return p, nil
	}
	var cands []string
	for _, g := range []string{"/usr/lib/postgresql/*/bin/" + name, "/usr/pgsql-*/bin/" + name} {
		m, _ := filepath.Glob(g)
		cands = append(cands, m...)
	}
	sort.Slice(cands, func(i, j int) bool { return pgMajor(cands[i]) > pgMajor(cands[j]) })
	if len(cands) > 0 {
		return cands[0], nil
	}
	if p, err := a.lookPath(name); err == nil {
		return p, nil
	}
	return "", agentproto.Errorf(agentproto.CodeNotFound, "%s not found (install the PostgreSQL client tools or set the db bin_dir)", name)
}

func pgMajor(p string) float64 {
	for _, part := range strings.Split(p, "/") {
		part = strings.TrimPrefix(part, "pgsql-")
		if f, err := strconv.ParseFloat(part, 64); err == nil {
			return f
		}
	}
	return 0
}

// pgEnv is the libpq environment of pg_dump/pg_restore: the password goes
// here (PGPASSWORD), never on the command line; rootCert ("" = none) is
// the CA file (caFile).
func pgEnv(c agentproto.DBConn, rootCert string) []string {
	port := c.Port
	if port == 0 {
		port = 5432
	}
	env := []string{"PGHOST=" + c.Host, "PGPORT=" + strconv.Itoa(port), "PGUSER=" + c.User,
		"PGAPPNAME=kongctl-agent", "PGPASSFILE=/dev/null"}
	if c.SSLMode != "" {
		env = append(env, "PGSSLMODE="+c.SSLMode)
	}
	if c.Connect > 0 {
		env = append(env, "PGCONNECT_TIMEOUT="+seconds(c.Connect))
	}
	if rootCert != "" {
		env = append(env, "PGSSLROOTCERT="+rootCert)
	}
	if c.Password != "" {
		env = append(env, "PGPASSWORD="+c.Password)
	}
	return env
}

func (a *Agent) backupsDir() string { return filepath.Join(a.StateDir, "backups") }

func (a *Agent) backup(ctx context.Context, run *opRun, p *agentproto.BackupParams) (*agentproto.BackupResult, error) {
	dir := p.Dir
	if dir == "" {
		dir = a.backupsDir()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	format := p.Format
	if format == "" {
		format = agentproto.FormatCustom
	}
	final := filepath.Join(dir, p.Name)
	if _, err := os.Stat(final); err == nil {
		size, sum, err := dumpHash(final, format)
		if err != nil {
			return nil, err
		}
		return &agentproto.BackupResult{Path: final, Format: format, Size: size, SHA256: sum, AlreadyDone: true}, nil
	}
	pgDump, err := a.pgTool(p.DB, "pg_dump")
	if err != nil {
		return nil, err
	}
	env, err := a.libpqEnv(p.DB)
	if err != nil {
		return nil, err
	}
	// Hold a snapshot open so the fingerprint and the dump see the same data.
	conn, err := a.connect(ctx, p.DB, "")
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("begin snapshot: %w", err)
	}
	defer tx.Rollback(context.Background())
	var snapshot string
	if err := tx.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&snapshot); err != nil {
		return nil, fmt.Errorf("export snapshot: %w", err)
	}
	tmp := filepath.Join(dir, "."+p.Name+".partial")
	_ = os.RemoveAll(tmp)
	fmtFlag := "-Fc"
	if format == agentproto.FormatDirectory {
		fmtFlag = "-Fd"
	}
	args := []string{pgDump, fmtFlag, "--no-password", "--snapshot=" + snapshot,
		"-n", schemaOf(p.DB), "-d", p.DB.Database, "-f", tmp}
	res, err := run.exec(ctx, cmdSpec{Args: args, Env: env})
	if err != nil {
		_ = os.RemoveAll(tmp)
		return nil, err
	}
	if res.ExitCode != 0 {
		_ = os.RemoveAll(tmp)
		return nil, pgToolError("pg_dump", res)
	}
	fp, err := fingerprintTx(ctx, tx, schemaOf(p.DB), nil, a.Now)
	if err != nil {
		_ = os.RemoveAll(tmp)
		return nil, err
	}
	if err := chmodTree(tmp); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, final); err != nil {
		return nil, fmt.Errorf("move dump into place: %w", err)
	}
	size, sum, err := dumpHash(final, format)
	if err != nil {
		return nil, err
	}
	return &agentproto.BackupResult{Path: final, Format: format, Size: size, SHA256: sum, Fingerprint: fp}, nil
}

func pgToolError(name string, res cmdResult) error {
	msg := strings.TrimSpace(clip(string(res.Stderr), 2048))
	code := agentproto.CodeCommandFailed
	if strings.Contains(msg, "connection to server") || strings.Contains(msg, "could not connect") {
		code = agentproto.CodeDBUnreachable
	}
	return agentproto.Errorf(code, "%s exited %d: %s", name, res.ExitCode, msg)
}

// chmodTree makes a dump file 0600, or a dump dir 0700 with 0600 files.
func chmodTree(root string) error {
	return filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		mode := os.FileMode(0o600)
		if info.IsDir() {
			mode = 0o700
		}
		return os.Chmod(p, mode)
	})
}

// dumpHash returns the size and SHA-256 of a dump: of the file, or for a
// directory dump the total size and the hash of its sorted "sha  name" lines.
func dumpHash(path, format string) (int64, string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, "", agentproto.Errorf(agentproto.CodeNotFound, "dump: %v", err)
	}
	if !st.IsDir() {
		sum, err := fileSHA256(path)
		return st.Size(), sum, err
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return 0, "", err
	}
	var total int64
	h := sha256.New()
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		f := filepath.Join(path, n)
		sum, err := fileSHA256(f)
		if err != nil {
			return 0, "", err
		}
		sz, _ := fileSize(f)
		total += sz
		fmt.Fprintf(h, "%s  %s\n", sum, n)
	}
	return total, hex.EncodeToString(h.Sum(nil)), nil
}

func checkDump(path, want string) error {
	_, sum, err := dumpHash(path, "")
	if err != nil {
		return err
	}
	if sum != want {
		return agentproto.Errorf(agentproto.CodeChecksumMismatch, "dump %s has sha256 %s, want %s", path, sum, want)
	}
	return nil
}

// tocRelations lists the tables, views and sequences a dump holds, as
// "KIND schema.name".
func (a *Agent) tocRelations(ctx context.Context, run *opRun, pgRestore, path string) (map[string]bool, error) {
	res, err := run.exec(ctx, cmdSpec{Args: []string{pgRestore, "-l", path}})
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return nil, pgToolError("pg_restore -l", res)
	}
	set := map[string]bool{}
	for _, line := range splitLines(string(res.Stdout)) {
		if strings.HasPrefix(line, ";") || line == "" {
			continue
		}
		// "215; 1259 16390 TABLE public services kong"
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		kind := f[3]
		if kind == "MATERIALIZED" && len(f) >= 7 {
			kind, f = "MATERIALIZED VIEW", append(f[:3], f[4:]...)
		}
		switch kind {
		case "TABLE", "VIEW", "SEQUENCE", "MATERIALIZED VIEW":
			set[kind+" "+f[4]+"."+f[5]] = true
		}
	}
	return set, nil
}

// dropExtraRelations drops the relations of schema the dump does not hold
// (tables a newer Kong's migrations created), so that a restore leaves the
// schema as it was when dumped.
func (a *Agent) dropExtraRelations(ctx context.Context, conn *pgx.Conn, schema string, keep map[string]bool) ([]string, error) {
	rows, err := conn.Query(ctx, `SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, c.relname
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r','p','v','m','S') AND NOT c.relispartition
		AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('e','a','i'))`, schema)
	if err != nil {
		return nil, fmt.Errorf("list relations of %s: %w", schema, err)
	}
	type rel struct{ kind, name string }
	var rels []rel
	for rows.Next() {
		var r rel
		if err := rows.Scan(&r.kind, &r.name); err != nil {
			rows.Close()
			return nil, err
		}
		rels = append(rels, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var dropped []string
	for _, r := range rels {
		if keep[r.kind+" "+schema+"."+r.name] {
			continue
		}
		stmt := fmt.Sprintf("DROP %s IF EXISTS %s CASCADE", r.kind, pgx.Identifier{schema, r.name}.Sanitize())
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return dropped, fmt.Errorf("%s: %w", stmt, err)
		}
		dropped = append(dropped, r.kind+" "+r.name)
	}
	return dropped, nil
}

func (a *Agent) restore(ctx context.Context, run *opRun, p *agentproto.RestoreParams) (*agentproto.RestoreResult, error) {
	if err := checkDump(p.Path, p.SHA256); err != nil {
		return nil, err
	}
	pgRestore, err := a.pgTool(p.DB, "pg_restore")
	if err != nil {
		return nil, err
	}
	env, err := a.libpqEnv(p.DB)
	if err != nil {
		return nil, err
	}
	keep, err := a.tocRelations(ctx, run, pgRestore, p.Path)
	if err != nil {
		return nil, err
	}
	conn, err := a.connect(ctx, p.DB, "")
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	dropped, err := a.dropExtraRelations(ctx, conn, schemaOf(p.DB), keep)
	if err != nil {
		return nil, err
	}
	for _, d := range dropped {
		run.note("dropped %s (not in the dump)", d)
	}
	args := []string{pgRestore, "--no-password", "--clean", "--if-exists", "--single-transaction", "--exit-on-error",
		"-d", p.DB.Database, p.Path}
	res, err := run.exec(ctx, cmdSpec{Args: args, Env: env})
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return nil, pgToolError("pg_restore", res)
	}
	fp, err := a.fingerprintConn(ctx, conn, schemaOf(p.DB), nil, "")
	if err != nil {
		return nil, err
	}
	return &agentproto.RestoreResult{Fingerprint: *fp}, nil
}

func (a *Agent) verifyRestore(ctx context.Context, run *opRun, p *agentproto.VerifyRestoreParams) (*agentproto.VerifyRestoreResult, error) {
	if err := checkDump(p.Path, p.SHA256); err != nil {
		return nil, err
	}
	pgRestore, err := a.pgTool(p.DB, "pg_restore")
	if err != nil {
		return nil, err
	}
	env, err := a.libpqEnv(p.DB)
	if err != nil {
		return nil, err
	}
	scratch := p.Scratch
	if scratch == "" {
		scratch = "kongctl_verify_" + strconv.FormatInt(a.Now().UnixNano(), 36)
	}
	admin := p.DB
	if p.Admin != nil {
		admin = *p.Admin
	}
	adminDB := admin.Database
	if adminDB == "" || adminDB == p.DB.Database {
		adminDB = "postgres"
	}
	aconn, err := a.connect(ctx, admin, adminDB)
	if err != nil {
		return nil, err
	}
	defer aconn.Close(context.Background())
	ident := pgx.Identifier{scratch}.Sanitize()
	owner := ""
	if p.Admin != nil {
		owner = " OWNER " + pgx.Identifier{p.DB.User}.Sanitize()
	}
	if _, err := aconn.Exec(ctx, "CREATE DATABASE "+ident+owner+" TEMPLATE template0"); err != nil {
		return nil, fmt.Errorf("create scratch database %s: %w", scratch, err)
	}
	res := &agentproto.VerifyRestoreResult{Scratch: scratch}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := aconn.Exec(dctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err == nil {
			res.Dropped = true
		} else {
			run.note("drop scratch database %s: %v", scratch, err)
		}
	}()
	// The dump's schema may be public, which a fresh database has already:
	// restore with --clean --if-exists so it is replaced, not duplicated.
	target := p.DB
	target.Database = scratch
	args := []string{pgRestore, "--no-password", "--clean", "--if-exists", "--single-transaction", "--exit-on-error", "--no-owner",
		"-d", scratch, p.Path}
	out, err := run.exec(ctx, cmdSpec{Args: args, Env: env})
	if err != nil {
		return res, err
	}
	if out.ExitCode != 0 {
		return res, pgToolError("pg_restore (scratch)", out)
	}
	conn, err := a.connect(ctx, target, scratch)
	if err != nil {
		return res, err
	}
	fp, err := a.fingerprintConn(ctx, conn, schemaOf(p.DB), nil, "")
	conn.Close(context.Background())
	if err != nil {
		return res, err
	}
	res.Fingerprint = *fp
	return res, nil
}
