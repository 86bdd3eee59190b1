//go:build integration

package agent

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/lab/pgtest"
)

// TestScratchKeepAndDrop: a verify-restore with keep leaves the restored
// rehearsal copy (its fingerprint the dump's); db.scratch drops it by name
// or with every rehearsal copy, never another database, and reads whether
// the role may create one.
func TestScratchKeepAndDrop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sb := seededBackup(t, ctx, "rehearsal.dump")
	a, db, admin, bk := sb.a, sb.db, sb.admin, sb.bk
	// Keep is for rehearsal names only.
	if _, rep := call[agentproto.VerifyRestoreResult](t, a, agentproto.OpVerifyRestore, agentproto.VerifyRestoreParams{DB: db, Path: bk.Path, SHA256: bk.SHA256, Admin: &admin, Scratch: "kong", Keep: true}); rep.Error == nil {
		t.Fatal("keep of a non-rehearsal database accepted")
	}
	for _, name := range []string{"kongctl_rehearsal_run1", "kongctl_rehearsal_run2"} {
		vr, rep := call[agentproto.VerifyRestoreResult](t, a, agentproto.OpVerifyRestore, agentproto.VerifyRestoreParams{DB: db, Path: bk.Path, SHA256: bk.SHA256, Admin: &admin, Scratch: name, Keep: true})
		if vr == nil || vr.Dropped || vr.Fingerprint.SHA256 != bk.Fingerprint.SHA256 {
			t.Fatalf("keep %s: %+v %+v", name, vr, rep.Error)
		}
	}
	copyDB := db
	copyDB.Database = "kongctl_rehearsal_run1"
	fp, rep := call[agentproto.Fingerprint](t, a, agentproto.OpDBFingerprint, agentproto.FingerprintParams{DB: copyDB})
	if fp == nil || fp.SHA256 != bk.Fingerprint.SHA256 {
		t.Fatalf("the kept copy's fingerprint: %+v %+v", fp, rep.Error)
	}

	r, rep := call[agentproto.ScratchResult](t, a, agentproto.OpScratch, agentproto.ScratchParams{DB: db, Drop: []string{"kongctl_rehearsal_run1", "kongctl_rehearsal_gone"}, CheckCreate: true})
	if r == nil || !slices.Equal(r.Dropped, []string{"kongctl_rehearsal_run1"}) {
		t.Fatalf("drop by name: %+v %+v", r, rep.Error)
	}
	if !r.CanCreate && r.CreateReason == "" {
		t.Error("no reason given for a role that cannot create databases")
	}
	if _, rep := call[agentproto.ScratchResult](t, a, agentproto.OpScratch, agentproto.ScratchParams{DB: db, Drop: []string{"kong"}}); rep.Error == nil || rep.Error.Code != agentproto.CodeInvalid {
		t.Fatalf("dropping a non-scratch database: %+v", rep.Error)
	}
	r, rep = call[agentproto.ScratchResult](t, a, agentproto.OpScratch, agentproto.ScratchParams{DB: admin, DropAll: true, CheckCreate: true})
	if r == nil || !slices.Equal(r.Dropped, []string{"kongctl_rehearsal_run2"}) || !r.CanCreate {
		t.Fatalf("drop all as the superuser: %+v %+v", r, rep.Error)
	}
	// Kong's own database is still there.
	if fp, _ := call[agentproto.Fingerprint](t, a, agentproto.OpDBFingerprint, agentproto.FingerprintParams{DB: db}); fp == nil {
		t.Fatal("Kong's database gone")
	}
}

// A session of a role Kong's role may not signal (as an autovacuum worker
// on a freshly restored copy is) makes DROP DATABASE ... WITH (FORCE)
// fail with 42501: the drop then falls back to a plain DROP DATABASE,
// tried again until that session is gone, and the copy is dropped.
func TestScratchDropOutlastsAnotherRolesSession(t *testing.T) {
	s := pgtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	su, err := pgx.Connect(ctx, s.SuperDSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer su.Close(ctx)
	for _, q := range []string{"CREATE ROLE other LOGIN PASSWORD 'other-pw-1'", "CREATE DATABASE kongctl_rehearsal_held OWNER " + pgx.Identifier{s.User}.Sanitize()} {
		if _, err := su.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	other, err := pgx.Connect(ctx, fmt.Sprintf("postgres://other:other-pw-1@%s:%d/kongctl_rehearsal_held?sslmode=disable", s.Host, s.Port))
	if err != nil {
		t.Fatal(err)
	}
	go func() { time.Sleep(1500 * time.Millisecond); other.Close(context.Background()) }()
	a := testAgent(t)
	r, rep := call[agentproto.ScratchResult](t, a, agentproto.OpScratch, agentproto.ScratchParams{DB: dbConn(s), Drop: []string{"kongctl_rehearsal_held"}})
	if r == nil || !slices.Equal(r.Dropped, []string{"kongctl_rehearsal_held"}) {
		t.Fatalf("drop with another role's session on the copy: %+v %+v", r, rep.Error)
	}
}

// seeded is a PostgreSQL server with Kong-like tables, an agent, the
// Kong role's and the superuser's connections, and a backup of Kong's
// database taken through the agent.
type seeded struct {
	a         *Agent
	s         *pgtest.Server
	db, admin agentproto.DBConn
	bk        *agentproto.BackupResult
}

// seededBackup starts the server, seeds it and backs it up as name.
func seededBackup(t *testing.T, ctx context.Context, name string) seeded {
	t.Helper()
	s := pgtest.Start(t)
	seedKong(t, ctx, s)
	sb := seeded{a: testAgent(t), s: s, db: dbConn(s), admin: adminConn(s)}
	bk, rep := call[agentproto.BackupResult](t, sb.a, agentproto.OpBackup, agentproto.BackupParams{DB: sb.db, Name: name})
	if bk == nil {
		t.Fatalf("backup: %+v", rep.Error)
	}
	sb.bk = bk
	return sb
}
