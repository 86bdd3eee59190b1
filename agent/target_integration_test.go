//go:build integration

package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// TestTargetReplace: a dual-cluster's target database is kept after the
// restore; a second restore into it is refused unless Replace, which
// drops it first and restores the dump again; Replace of the connection's
// own database is refused before anything is dropped.
func TestTargetReplace(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sb := seededBackup(t, ctx, "target.dump")
	a, db, admin, bk := sb.a, sb.db, sb.admin, sb.bk
	restore := func(replace bool) (*agentproto.VerifyRestoreResult, *agentproto.Reply) {
		return call[agentproto.VerifyRestoreResult](t, a, agentproto.OpVerifyRestore, agentproto.VerifyRestoreParams{
			DB: db, Path: bk.Path, SHA256: bk.SHA256, Admin: &admin, Scratch: "kong_y", Keep: true, Target: true, Replace: replace})
	}
	if vr, rep := restore(false); vr == nil || vr.Dropped || vr.Fingerprint.SHA256 != bk.Fingerprint.SHA256 {
		t.Fatalf("first restore into kong_y: %+v %+v", vr, rep.Error)
	}
	// Y ran on it: a table of its own there.
	conn, err := a.connect(ctx, admin, "kong_y")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE y_leftover (id int)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if _, rep := restore(false); rep.Error == nil {
		t.Fatal("a restore into the existing kong_y without replace succeeded")
	}
	if vr, rep := restore(true); vr == nil || vr.Fingerprint.SHA256 != bk.Fingerprint.SHA256 {
		t.Fatalf("replace kong_y: %+v %+v", vr, rep.Error)
	}
	conn, err = a.connect(ctx, admin, "kong_y")
	if err != nil {
		t.Fatal(err)
	}
	var left bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass('y_leftover') IS NOT NULL").Scan(&left); err != nil || left {
		t.Errorf("kong_y not recreated: y_leftover there %v (%v)", left, err)
	}
	conn.Close(ctx)
	// Kong's own database: refused, still there.
	if _, rep := call[agentproto.VerifyRestoreResult](t, a, agentproto.OpVerifyRestore, agentproto.VerifyRestoreParams{
		DB: db, Path: bk.Path, SHA256: bk.SHA256, Admin: &admin, Scratch: db.Database, Keep: true, Target: true, Replace: true}); rep.Error == nil || rep.Error.Code != agentproto.CodeInvalid {
		t.Fatalf("replacing the connection's own database: %+v", rep.Error)
	}
	if fp, _ := call[agentproto.Fingerprint](t, a, agentproto.OpDBFingerprint, agentproto.FingerprintParams{DB: db}); fp == nil || fp.SHA256 != bk.Fingerprint.SHA256 {
		t.Fatalf("Kong's database changed or gone: %+v", fp)
	}
}

// TestTargetIntoEmpty: a target a DBA created empty, owned by a role
// without CREATEDB, is probed empty and restored into (not created); one
// that holds a table is refused and left as it was.
func TestTargetIntoEmpty(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sb := seededBackup(t, ctx, "empty.dump")
	a, db, admin, bk := sb.a, sb.db, sb.admin, sb.bk
	aconn, err := a.connect(ctx, admin, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer aconn.Close(context.Background())
	for _, q := range []string{
		"CREATE ROLE kong_y LOGIN NOCREATEDB PASSWORD 'y-pw'",
		"CREATE DATABASE kong_y OWNER kong_y", "CREATE DATABASE kong_z OWNER kong_y",
	} {
		if _, err := aconn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	y := db
	y.User, y.Password, y.Database = "kong_y", "y-pw", "postgres"
	zconn, err := a.connect(ctx, y, "kong_z")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zconn.Exec(ctx, "CREATE TABLE leftover (id int)"); err != nil {
		t.Fatal(err)
	}
	zconn.Close(ctx)
	for name, want := range map[string]bool{"kong_y": true, "kong_z": false} {
		if r, rep := call[agentproto.ScratchResult](t, a, agentproto.OpScratch, agentproto.ScratchParams{DB: y, Probe: name}); r == nil || !r.ProbeExists || r.ProbeEmpty != want || r.ProbeKong {
			t.Fatalf("probe %s: %+v %+v, want empty=%v", name, r, rep.Error, want)
		}
	}
	restore := func(name string) (*agentproto.VerifyRestoreResult, *agentproto.Reply) {
		return call[agentproto.VerifyRestoreResult](t, a, agentproto.OpVerifyRestore, agentproto.VerifyRestoreParams{
			DB: y, Path: bk.Path, SHA256: bk.SHA256, Scratch: name, Keep: true, Target: true, Existing: true})
	}
	if vr, rep := restore("kong_y"); vr == nil || vr.Dropped || vr.Fingerprint.SHA256 != bk.Fingerprint.SHA256 {
		t.Fatalf("restore into the empty kong_y: %+v %+v", vr, rep.Error)
	}
	if r, _ := call[agentproto.ScratchResult](t, a, agentproto.OpScratch, agentproto.ScratchParams{DB: y, Probe: "kong_y"}); r == nil || r.ProbeEmpty || !r.ProbeKong {
		t.Errorf("kong_y after the restore: %+v, want Kong's tables", r)
	}
	if _, rep := restore("kong_z"); rep.Error == nil || !strings.Contains(rep.Error.Message, "not empty") {
		t.Fatalf("restore into kong_z with a table: %+v", rep.Error)
	}
	var left bool
	zconn, err = a.connect(ctx, y, "kong_z")
	if err == nil {
		err = zconn.QueryRow(ctx, "SELECT to_regclass('leftover') IS NOT NULL").Scan(&left)
		zconn.Close(ctx)
	}
	if err != nil || !left {
		t.Errorf("kong_z not left as it was: leftover there %v (%v)", left, err)
	}
}
