package labenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// A DB2 lab's second PostgreSQL server: a cluster of its own on the db
// host (the same address, another port and data directory), admitting
// the lab's network as the first does, with a role of its own that may
// create databases and no database for Kong: a dual-cluster's target on
// another server is created there by kongctl.
const (
	DB2Port         = 5433
	DB2User         = "kong_y"
	DB2PasswordFile = "pg2_password"
)

// db2Env is dbEnv for the second server (later entries win).
func (l *Lab) db2Env() []string {
	dir := filepath.Join(filepath.Dir(filepath.Dir(l.st.DBData)), "db2")
	return append(l.dbEnv(),
		"PG_DATA="+filepath.Join(dir, "data"),
		"PG_LOG="+filepath.Join(dir, "postgresql.log"),
		fmt.Sprintf("PG_PORT=%d", DB2Port),
		"DB_USER="+DB2User,
		// db.sh creates DB_NAME unless it exists: postgres always does.
		"DB_NAME=postgres",
	)
}

// provisionDB2 initialises and starts the second server and its role.
func (l *Lab) provisionDB2(ctx context.Context) error {
	db := l.DBHost()
	pw, err := l.DB2Password()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(filepath.Dir(filepath.Dir(l.st.DBData)), "db2"), 0o755); err != nil {
		return fmt.Errorf("host %s: second database server: %w", db.Name, err)
	}
	if _, err := execIn(ctx, db, strings.NewReader(pw+"\n"), l.db2Env(), l.script("db.sh")+" init"); err != nil {
		return fmt.Errorf("host %s: provision the second database server: %w", db.Name, err)
	}
	return nil
}

// DB2PasswordPath is the file holding the second server's role's
// password (an inventory's password_file).
func (l *Lab) DB2PasswordPath() string { return filepath.Join(l.st.Dir, DB2PasswordFile) }

// DB2Password reads the second server's role's password.
func (l *Lab) DB2Password() (string, error) {
	b, err := os.ReadFile(l.DB2PasswordPath())
	if err != nil {
		return "", fmt.Errorf("read the second database server's password: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// DB2DSN is the connection string of database name on the second server
// (with the password), for tests that look into it.
func (l *Lab) DB2DSN(name string) (string, error) {
	if !l.st.Options.DB2 {
		return "", errors.New("lab: no second database server (not a DB2=1 lab)")
	}
	pw, err := l.DB2Password()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", DB2User, pw, l.DBHost().Address, DB2Port, name), nil
}
