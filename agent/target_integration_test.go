//go:build integration

package agent

import (
	"context"
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
