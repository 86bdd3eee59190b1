package labenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DB settings of every lab.
const (
	DBName = "kong"
	DBUser = "kong"
	DBPort = 5432
)

// An ENVCONF lab's decoy: the database (and role) its nodes' kong.conf
// names, its password in DecoyPasswordFile beside hosts.hcl; and the
// service environment file holding the real settings on each node.
const (
	DecoyDB           = "kong_decoy"
	DecoyPasswordFile = "decoy_pg_password"
	ServiceEnvFile    = "/etc/kong/kong_env.conf"
)

// decoyPassword reads the decoy role's password.
func (l *Lab) decoyPassword() (string, error) {
	b, err := os.ReadFile(filepath.Join(l.st.Dir, DecoyPasswordFile))
	if err != nil {
		return "", fmt.Errorf("read the decoy database's password: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func (l *Lab) dbEnv() []string {
	return []string{
		"PG_DATA=" + l.st.DBData,
		"PG_LOG=" + filepath.Join(filepath.Dir(l.st.DBData), "postgresql.log"),
		"PG_LISTEN=*",
		fmt.Sprintf("PG_PORT=%d", l.st.DBPort),
		"PG_ALLOW=" + l.dbClients(),
		"DB_USER=" + DBUser,
		"DB_NAME=" + DBName,
	}
}

// dbClients is the network the database admits password logins from: the
// lab's own /19 that the db host is on (inner behind a bastion).
func (l *Lab) dbClients() string {
	n := NetworkOf(l.st.Options.ID)
	if l.st.Options.Bastion {
		return n.InnerNet
	}
	return n.OuterNet
}

// ensurePassword writes build/lab/pg_password (0600) unless it exists.
func ensurePassword(dir string) (string, error) {
	return ensureSecretFile(filepath.Join(dir, "pg_password"))
}

// ensureSecretFile writes a new random secret to path (0600) unless the
// file holds one already, and returns it.
func ensureSecretFile(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	pw, err := randomPassword()
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(pw+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write secret file %s: %w", filepath.Base(path), err)
	}
	return pw, nil
}

// provisionDB initialises the PostgreSQL cluster on the db host, starts it and
// creates the kong role and database.
func (l *Lab) provisionDB(ctx context.Context) error {
	db := l.DBHost()
	pw, err := l.DBPassword()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(l.st.DBData), 0o755); err != nil {
		return fmt.Errorf("host db: %w", err)
	}
	if _, err := execIn(ctx, db, strings.NewReader(pw+"\n"), l.dbEnv(), l.script("db.sh")+" init"); err != nil {
		return fmt.Errorf("host %s: provision database: %w", db.Name, err)
	}
	if l.st.Options.DB2 {
		if err := l.provisionDB2(ctx); err != nil {
			return err
		}
	}
	if l.st.Options.EnvConf {
		// The decoy: a role and database of its own on the same server.
		decoy, err := l.decoyPassword()
		if err != nil {
			return err
		}
		env := append(l.dbEnv(), "DB_USER="+DecoyDB, "DB_NAME="+DecoyDB)
		if _, err := execIn(ctx, db, strings.NewReader(decoy+"\n"), env, l.script("db.sh")+" init"); err != nil {
			return fmt.Errorf("host %s: provision the decoy database: %w", db.Name, err)
		}
	}
	return nil
}

// StopDB stops PostgreSQL (fast shutdown); the Kong nodes lose their database.
func (l *Lab) StopDB(ctx context.Context) error {
	if _, err := execIn(ctx, l.DBHost(), nil, l.dbEnv(), l.script("db.sh")+" stop"); err != nil {
		return fmt.Errorf("host db: stop database: %w", err)
	}
	return nil
}

// StartDB starts PostgreSQL again and waits until it accepts connections.
func (l *Lab) StartDB(ctx context.Context) error {
	if _, err := execIn(ctx, l.DBHost(), nil, l.dbEnv(), l.script("db.sh")+" start"); err != nil {
		return fmt.Errorf("host db: start database: %w", err)
	}
	return nil
}

// RestartDB restarts PostgreSQL (pg_ctl restart, fast shutdown): every
// session is cut and the server accepts connections again when it returns.
func (l *Lab) RestartDB(ctx context.Context) error {
	if _, err := execIn(ctx, l.DBHost(), nil, l.dbEnv(), l.script("db.sh")+" restart"); err != nil {
		return fmt.Errorf("host db: restart database: %w", err)
	}
	return nil
}

// DBRunning reports whether PostgreSQL runs on the db host.
func (l *Lab) DBRunning(ctx context.Context) bool {
	_, err := execIn(ctx, l.DBHost(), nil, l.dbEnv(), l.script("db.sh")+" status")
	return err == nil
}
