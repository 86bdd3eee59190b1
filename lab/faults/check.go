package faults

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/kongctl/kongctl/lab/labenv"
)

// Fingerprint hashes every table of the kong database's public schema but
// Kong's own `locks` (rows in text form, sorted), independently of the
// controller's own fingerprint code. It is what "no data lost" is checked
// against.
func Fingerprint(ctx context.Context, l *labenv.Lab) (string, error) {
	dsn, err := l.DSN()
	if err != nil {
		return "", err
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", fmt.Errorf("fingerprint: connect to the lab database: %w", err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return "", fmt.Errorf("fingerprint: %w", err)
	}
	defer tx.Rollback(context.Background())
	rows, err := tx.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r','p') ORDER BY c.relname COLLATE "C"`)
	if err != nil {
		return "", fmt.Errorf("fingerprint: list tables: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", fmt.Errorf("fingerprint: list tables: %w", err)
	}
	h := sha256.New()
	for _, t := range tables {
		if t == "locks" {
			continue
		}
		var n int64
		var sum *string
		q := `SELECT count(*), md5(string_agg(t::text, E'\n' ORDER BY t::text COLLATE "C")) FROM public.` + pgx.Identifier{t}.Sanitize() + ` t`
		if err := tx.QueryRow(ctx, q).Scan(&n, &sum); err != nil {
			return "", fmt.Errorf("fingerprint: read %s: %w", t, err)
		}
		s := ""
		if sum != nil {
			s = *sum
		}
		fmt.Fprintf(h, "%s %d %s\n", t, n, s)
	}
	if len(tables) == 0 {
		return "", errors.New("fingerprint: the kong database has no tables")
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// FleetLock returns the run holding kongctl's fleet lock ("" = free).
func FleetLock(ctx context.Context, l *labenv.Lab) (string, error) {
	dsn, err := l.DSN()
	if err != nil {
		return "", err
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", fmt.Errorf("fleet lock: connect to the lab database: %w", err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('kongctl.fleet_lock') IS NOT NULL`).Scan(&exists); err != nil {
		return "", fmt.Errorf("fleet lock: %w", err)
	}
	if !exists {
		return "", nil
	}
	var run string
	err = conn.QueryRow(ctx, `SELECT run_id FROM kongctl.fleet_lock WHERE id = 1`).Scan(&run)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("fleet lock: %w", err)
	}
	return run, nil
}

// NodeState is what a Kong node runs and serves.
type NodeState struct {
	Version string // `kong version`, "" when it fails
	Serving bool   // the proxy answers the lab's smoke route /lab with 200
}

// Node reads a Kong node's version and whether its proxy routes /lab.
func Node(ctx context.Context, l *labenv.Lab, name string) NodeState {
	var st NodeState
	if out, err := l.Exec(ctx, name, "kong version 2>/dev/null"); err == nil {
		f := strings.Fields(out)
		if len(f) > 0 {
			st.Version = f[len(f)-1]
		}
	}
	out, err := l.Exec(ctx, name, `curl -s -m 3 -o /dev/null -w '%{http_code}' http://127.0.0.1:8000/lab`)
	st.Serving = err == nil && strings.TrimSpace(out) == "200"
	return st
}

// FleetOn checks every Kong node of the lab serves version v, with a few
// seconds' grace for routes to load.
func FleetOn(ctx context.Context, l *labenv.Lab, v string) error {
	var errs []error
	for _, h := range l.KongHosts() {
		var st NodeState
		for i := 0; i < 20; i++ {
			st = Node(ctx, l, h.Name)
			if st.Version == v && st.Serving {
				break
			}
			if err := sleep(ctx, 500e6); err != nil {
				return err
			}
		}
		if st.Version != v || !st.Serving {
			errs = append(errs, fmt.Errorf("host %s: kong %q serving=%v, want %s serving", h.Name, st.Version, st.Serving, v))
		}
	}
	return errors.Join(errs...)
}
