//go:build integration

package pgtest_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kongctl/kongctl/lab/pgtest"
)

func TestStartConnectStop(t *testing.T) {
	t0 := time.Now()
	s := pgtest.Start(t)
	t.Logf("cluster up in %s on %s:%d", time.Since(t0), s.Host, s.Port)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	conn, err := pgx.Connect(ctx, s.DSN())
	if err != nil {
		t.Fatalf("connect as %s: %v", s.User, err)
	}
	var who, db string
	if err := conn.QueryRow(ctx, "SELECT current_user, current_database()").Scan(&who, &db); err != nil {
		t.Fatal(err)
	}
	if who != "kong" || db != "kong" {
		t.Fatalf("got user %q db %q, want kong/kong", who, db)
	}
	// The role owns public: it can create and drop tables and the schema.
	if _, err := conn.Exec(ctx, "CREATE TABLE t(x int); DROP SCHEMA public CASCADE; CREATE SCHEMA public"); err != nil {
		t.Fatalf("schema ops as kong: %v", err)
	}
	conn.Close(ctx)

	// Password auth is enforced over TCP.
	bad := strings.Replace(s.DSN(), s.Password, "wrong", 1)
	if c, err := pgx.Connect(ctx, bad); err == nil {
		c.Close(ctx)
		t.Fatal("connected with a wrong password")
	}

	// Libpq environment works for child tools without argv secrets.
	cmd := exec.Command(s.Bin("psql"), "-Atc", "select 42")
	cmd.Env = append(os.Environ(), s.Env()...)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "42" {
		t.Fatalf("psql via Env: %v %s", err, out)
	}

	dir := s.Dir
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("cluster dir %s left behind: %v", dir, err)
	}
	if c, err := pgx.Connect(ctx, s.DSN()); err == nil {
		c.Close(ctx)
		t.Fatal("server still accepting after Stop")
	}
}

func TestStartClusterInDir(t *testing.T) {
	dir, err := os.MkdirTemp("", "pgtest-dir-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 { // root: postgres runs as another user, who cannot enter a 0700 dir
		bad, err := pgtest.StartCluster(dir+"/pg", pgtest.Options{})
		if err == nil {
			bad.Stop()
		}
		if err == nil || !strings.Contains(err.Error(), "not searchable") {
			t.Fatalf("want a not-searchable error for a 0700 parent, got %v", err)
		}
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(dir + "/pg")
	s, err := pgtest.StartCluster(dir+"/pg", pgtest.Options{User: "app", Database: "appdb", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var db string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil || db != "appdb" {
		t.Fatalf("db %q err %v", db, err)
	}
	sc, err := pgx.Connect(ctx, s.SuperDSN(""))
	if err != nil {
		t.Fatalf("superuser over tcp: %v", err)
	}
	sc.Close(ctx)
	// Two clusters side by side get different ports.
	s2 := pgtest.Start(t)
	if s2.Port == s.Port {
		t.Fatalf("same port %d", s.Port)
	}
}
