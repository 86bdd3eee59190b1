//go:build !nodeagent

package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/internal/filehash"
)

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

// exportSnapshot opens a read-only repeatable-read transaction on db and
// exports its snapshot for pg_dump --snapshot; release ends both the
// transaction and the connection.
func (a *Agent) exportSnapshot(ctx context.Context, db agentproto.DBConn) (tx pgx.Tx, snapshot string, release func(), err error) {
	conn, err := a.connect(ctx, db, "")
	if err != nil {
		return nil, "", nil, err
	}
	release = func() { conn.Close(context.Background()) }
	tx, err = conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		release()
		return nil, "", nil, fmt.Errorf("begin snapshot: %w", err)
	}
	release = func() {
		_ = tx.Rollback(context.Background())
		conn.Close(context.Background())
	}
	if err := tx.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&snapshot); err != nil {
		release()
		return nil, "", nil, fmt.Errorf("export snapshot: %w", err)
	}
	return tx, snapshot, release, nil
}

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
	tx, snapshot, release, err := a.exportSnapshot(ctx, p.DB)
	if err != nil {
		return nil, err
	}
	defer release()
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
		sum, err := filehash.SHA256(path)
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
		sum, err := filehash.SHA256(f)
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

// restoreTools checks the dump at path against its SHA-256 and finds
// pg_restore and its libpq environment: what a restore and a restore test
// need before they start.
func (a *Agent) restoreTools(db agentproto.DBConn, path, sum string) (pgRestore string, env []string, err error) {
	if err := checkDump(path, sum); err != nil {
		return "", nil, err
	}
	if pgRestore, err = a.pgTool(db, "pg_restore"); err != nil {
		return "", nil, err
	}
	if env, err = a.libpqEnv(db); err != nil {
		return "", nil, err
	}
	return pgRestore, env, nil
}

func (a *Agent) restore(ctx context.Context, run *opRun, p *agentproto.RestoreParams) (*agentproto.RestoreResult, error) {
	pgRestore, env, err := a.restoreTools(p.DB, p.Path, p.SHA256)
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
	pgRestore, env, err := a.restoreTools(p.DB, p.Path, p.SHA256)
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
	if p.Replace {
		// Validate refused DB's own database: this is a leftover target.
		if err := dropDatabase(ctx, aconn, scratch); err != nil {
			return nil, fmt.Errorf("drop target database %s to replace it: %w", scratch, err)
		}
		run.note("dropped target database %s to replace it", scratch)
	}
	if p.Existing {
		// A target a DBA created: checked empty, never dropped (target.go).
		if err := a.checkTargetEmpty(ctx, p.DB, scratch); err != nil {
			return nil, err
		}
	} else if err := createScratch(ctx, aconn, scratch, p); err != nil {
		return nil, err
	}
	res := &agentproto.VerifyRestoreResult{Scratch: scratch}
	kept := p.Existing
	defer func() {
		if kept {
			return
		}
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := dropDatabase(dctx, aconn, scratch); err == nil {
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
	kept = p.Keep
	return res, nil
}
