//go:build integration && !nodeagent

package agent

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/lab/pgtest"
)

// enableTLS turns TLS on in a running pgtest server (ssl is reloadable)
// with a certificate the returned CA signed for 127.0.0.1.
func enableTLS(t *testing.T, ctx context.Context, s *pgtest.Server) testCA {
	t.Helper()
	ca := newTestCA(t)
	st, err := os.Stat(s.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	own := st.Sys().(*syscall.Stat_t)
	for name, b := range map[string][]byte{"server.crt": ca.CertPEM, "server.key": ca.KeyPEM} {
		p := filepath.Join(s.DataDir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, int(own.Uid), int(own.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := s.SuperConn(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{"ALTER SYSTEM SET ssl = on", "ALTER SYSTEM SET ssl_cert_file = 'server.crt'",
		"ALTER SYSTEM SET ssl_key_file = 'server.key'", "SELECT pg_reload_conf()"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for i := 0; ; i++ {
		var on string
		if err := conn.QueryRow(ctx, "SHOW ssl").Scan(&on); err == nil && on == "on" {
			return ca
		}
		if i > 50 {
			t.Fatal("ssl not on after reload")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// With database.ca_file, verify-full holds against a real PostgreSQL
// serving TLS: the agent's own connection (fingerprint) and pg_dump and
// pg_restore (backup, verify) trust that CA, through the environment;
// without it, or with another CA, the connection is refused.
func TestDatabaseCAVerifyFull(t *testing.T) {
	s := pgtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	seedKong(t, ctx, s)
	ca := enableTLS(t, ctx, s)
	a := testAgent(t)
	t.Setenv("HOME", t.TempDir()) // no ~/.postgresql/root.crt to fall back on
	trace := traceCommands(a)
	db := dbConn(s)
	db.SSLMode = "verify-full"

	if _, rep := call[agentproto.Fingerprint](t, a, agentproto.OpDBFingerprint, agentproto.FingerprintParams{DB: db}); rep.Error == nil || !strings.Contains(rep.Error.Message, "certificate") {
		t.Fatalf("verify-full without the CA: %+v", rep.Error)
	}
	db.CACert = string(newTestCA(t).CAPEM)
	if _, rep := call[agentproto.Fingerprint](t, a, agentproto.OpDBFingerprint, agentproto.FingerprintParams{DB: db}); rep.Error == nil || !strings.Contains(rep.Error.Message, "certificate") {
		t.Fatalf("verify-full with another CA: %+v", rep.Error)
	}

	db.CACert = string(ca.CAPEM)
	fp, rep := call[agentproto.Fingerprint](t, a, agentproto.OpDBFingerprint, agentproto.FingerprintParams{DB: db})
	if fp == nil {
		t.Fatalf("fingerprint over verify-full: %+v", rep.Error)
	}
	b, rep := call[agentproto.BackupResult](t, a, agentproto.OpBackup, agentproto.BackupParams{DB: db, Dir: t.TempDir(), Name: "tls.dump"})
	if b == nil {
		t.Fatalf("pg_dump over verify-full: %+v", rep.Error)
	}
	admin := db
	admin.User, admin.Password, admin.Database = s.SuperUser, s.SuperPassword, "postgres"
	v, rep := call[agentproto.VerifyRestoreResult](t, a, agentproto.OpVerifyRestore, agentproto.VerifyRestoreParams{DB: db, Path: b.Path, SHA256: b.SHA256, Admin: &admin})
	if v == nil || v.Fingerprint.SHA256 != fp.SHA256 {
		t.Fatalf("pg_restore over verify-full: %+v %+v", v, rep.Error)
	}

	argvs, envKeys := trace.get()
	if !slices.Contains(envKeys, "PGSSLROOTCERT") {
		t.Errorf("PGSSLROOTCERT not in the environment of pg_dump/pg_restore: %q", envKeys)
	}
	for _, argv := range argvs {
		if j := strings.Join(argv, " "); strings.Contains(j, "BEGIN CERTIFICATE") || strings.Contains(j, "pgca") || strings.Contains(j, s.Password) || strings.Contains(j, s.SuperPassword) {
			t.Errorf("argv carries the CA or the password: %s", j)
		}
	}
}
