//go:build integration && !nodeagent

package agent

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/internal/filehash"
	"github.com/kongctl/kongctl/lab/pgtest"
)

// commandTrace is the argv and environment keys of every command an
// agent ran.
type commandTrace struct {
	mu      sync.Mutex
	argvs   [][]string
	envKeys []string
}

func traceCommands(a *Agent) *commandTrace {
	c := &commandTrace{}
	a.Trace = func(argv, keys []string) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.argvs = append(c.argvs, argv)
		c.envKeys = append(c.envKeys, keys...)
	}
	return c
}

func (c *commandTrace) get() ([][]string, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.argvs, c.envKeys
}

func dbConn(s *pgtest.Server) agentproto.DBConn {
	return agentproto.DBConn{Host: s.Host, Port: s.Port, User: s.User, Password: s.Password, Database: s.Database, SSLMode: "disable", BinDir: s.BinDir}
}

// adminConn is the server's superuser on its maintenance database.
func adminConn(s *pgtest.Server) agentproto.DBConn {
	return agentproto.DBConn{Host: s.Host, Port: s.Port, User: s.SuperUser, Password: s.SuperPassword, Database: "postgres", SSLMode: "disable", BinDir: s.BinDir}
}

// seedKong creates a few Kong-like tables, including locks.
func seedKong(t *testing.T, ctx context.Context, s *pgtest.Server) {
	t.Helper()
	conn, err := (&Agent{}).connect(ctx, dbConn(s), "")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `
		CREATE TABLE schema_meta (key text, subsystem text, last_executed text, executed text[], pending text[], PRIMARY KEY (key, subsystem));
		CREATE TABLE locks (key text PRIMARY KEY, owner text, ttl timestamptz);
		CREATE TABLE services (id uuid PRIMARY KEY, name text UNIQUE, host text, created_at timestamptz DEFAULT now(), tags text[]);
		CREATE TABLE routes (id uuid PRIMARY KEY, service_id uuid REFERENCES services(id) ON DELETE CASCADE, paths text[]);
		CREATE TABLE nopk (a int, b text);
		INSERT INTO schema_meta VALUES ('schema_meta','core','016_280_to_300', ARRAY['000_base','016_280_to_300'], NULL);
		INSERT INTO services (id, name, host) VALUES ('11111111-1111-1111-1111-111111111111','svc-a','a.example'), ('22222222-2222-2222-2222-222222222222','svc-b','b.example');
		INSERT INTO routes VALUES ('33333333-3333-3333-3333-333333333333','11111111-1111-1111-1111-111111111111', ARRAY['/a']);
		INSERT INTO nopk VALUES (2,'y'),(1,'x');
	`)
	if err != nil {
		t.Fatal(err)
	}
}

func execSQL(t *testing.T, ctx context.Context, s *pgtest.Server, sql string) {
	t.Helper()
	conn, err := (&Agent{}).connect(ctx, dbConn(s), "")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func call[T any](t *testing.T, a *Agent, op agentproto.Op, params any) (*T, *agentproto.Reply) {
	t.Helper()
	rep, _ := rpc(t, a, mustReq(t, op, params))
	if rep.Error != nil {
		return nil, rep
	}
	v, err := agentproto.DecodeResult[T](rep)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return &v, rep
}

func TestDBFingerprintBackupRestore(t *testing.T) {
	s := pgtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	seedKong(t, ctx, s)
	a := testAgent(t)
	trace := traceCommands(a)
	db := dbConn(s)

	fp1, rep := call[agentproto.Fingerprint](t, a, agentproto.OpDBFingerprint, agentproto.FingerprintParams{DB: db})
	if fp1 == nil {
		t.Fatalf("fingerprint: %+v", rep.Error)
	}
	names := map[string]int64{}
	for _, tb := range fp1.Tables {
		names[tb.Name] = tb.Rows
	}
	if _, ok := names["locks"]; ok || names["services"] != 2 || names["routes"] != 1 || names["nopk"] != 2 || len(fp1.Tables) != 4 {
		t.Fatalf("tables = %+v", fp1.Tables)
	}
	// Stable; unaffected by the locks table and by kongctl's own schema.
	execSQL(t, ctx, s, "INSERT INTO locks VALUES ('migrations','x', now() + interval '1 minute')")
	if _, rep := call[agentproto.FleetLockResult](t, a, agentproto.OpFleetLock, agentproto.FleetLockParams{DB: db, Action: "acquire", RunID: "r0", Owner: "t"}); rep.Error != nil {
		t.Fatal(rep.Error)
	}
	fp2, _ := call[agentproto.Fingerprint](t, a, agentproto.OpDBFingerprint, agentproto.FingerprintParams{DB: db})
	if fp2.SHA256 != fp1.SHA256 {
		t.Fatal("fingerprint changed without a write to Kong's tables")
	}
	// Kong's migration lock is visible.
	ml, rep := call[agentproto.MigrationLockResult](t, a, agentproto.OpMigrationLock, agentproto.MigrationLockParams{DB: db})
	if ml == nil || !ml.Held || ml.Owner != "x" {
		t.Fatalf("migration lock: %+v %+v", ml, rep.Error)
	}

	// Backup, 0600, hash matches, fingerprint in the dump's snapshot.
	bk, rep := call[agentproto.BackupResult](t, a, agentproto.OpBackup, agentproto.BackupParams{DB: db, Name: "before.dump"})
	if bk == nil {
		t.Fatalf("backup: %+v\n%s", rep.Error, rep.StderrTail)
	}
	fi, err := os.Stat(bk.Path)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != bk.Size {
		t.Fatalf("dump file %s: %v %v", bk.Path, fi, err)
	}
	if sum, _ := filehash.SHA256(bk.Path); sum != bk.SHA256 {
		t.Fatal("backup sha256 mismatch")
	}
	if bk.Fingerprint == nil || bk.Fingerprint.SHA256 != fp1.SHA256 {
		t.Fatalf("backup fingerprint %+v, want %s", bk.Fingerprint, fp1.SHA256)
	}
	// Idempotent by name.
	bk2, _ := call[agentproto.BackupResult](t, a, agentproto.OpBackup, agentproto.BackupParams{DB: db, Name: "before.dump"})
	if !bk2.AlreadyDone || bk2.SHA256 != bk.SHA256 {
		t.Fatalf("second backup: %+v", bk2)
	}

	// A write changes the fingerprint; so does a new table (a newer Kong's
	// migration).
	execSQL(t, ctx, s, "UPDATE services SET host = 'changed' WHERE name = 'svc-a'; CREATE TABLE new_in_y (id int PRIMARY KEY); INSERT INTO new_in_y VALUES (1)")
	fp3, _ := call[agentproto.Fingerprint](t, a, agentproto.OpDBFingerprint, agentproto.FingerprintParams{DB: db})
	if fp3.SHA256 == fp1.SHA256 {
		t.Fatal("fingerprint did not change after a write")
	}

	// Verify-restore into a scratch database (created by the superuser).
	admin := agentproto.DBConn{Host: s.Host, Port: s.Port, User: s.SuperUser, Password: s.SuperPassword, Database: "postgres", SSLMode: "disable"}
	vr, rep := call[agentproto.VerifyRestoreResult](t, a, agentproto.OpVerifyRestore, agentproto.VerifyRestoreParams{DB: db, Path: bk.Path, SHA256: bk.SHA256, Admin: &admin})
	if vr == nil {
		t.Fatalf("verify-restore: %+v\n%s", rep.Error, rep.StderrTail)
	}
	if vr.Fingerprint.SHA256 != fp1.SHA256 || !vr.Dropped {
		t.Fatalf("verify-restore: %+v, want fingerprint %s", vr, fp1.SHA256)
	}

	// Restore with a wrong checksum is refused before touching anything.
	_, rep = call[agentproto.RestoreResult](t, a, agentproto.OpRestore, agentproto.RestoreParams{DB: db, Path: bk.Path, SHA256: strings.Repeat("0", 64)})
	if rep.Error == nil || rep.Error.Code != agentproto.CodeChecksumMismatch {
		t.Fatalf("bad checksum restore: %+v", rep.Error)
	}
	// Restore: back to the original fingerprint, the extra table gone.
	rs, rep := call[agentproto.RestoreResult](t, a, agentproto.OpRestore, agentproto.RestoreParams{DB: db, Path: bk.Path, SHA256: bk.SHA256})
	if rs == nil {
		t.Fatalf("restore: %+v\n%s", rep.Error, rep.StderrTail)
	}
	if rs.Fingerprint.SHA256 != fp1.SHA256 {
		t.Fatalf("restored fingerprint %s, want %s (tables %+v)", rs.Fingerprint.SHA256, fp1.SHA256, rs.Fingerprint.Tables)
	}
	fp4, _ := call[agentproto.Fingerprint](t, a, agentproto.OpDBFingerprint, agentproto.FingerprintParams{DB: db})
	if fp4.SHA256 != fp1.SHA256 {
		t.Fatal("fingerprint after restore differs")
	}
	// kongctl's own schema survived the restore (it is not Kong's).
	li, rep := call[agentproto.FleetLockResult](t, a, agentproto.OpFleetLock, agentproto.FleetLockParams{DB: db, Action: "inspect"})
	if li == nil || !li.Held || li.Lock.RunID != "r0" {
		t.Fatalf("fleet lock after restore: %+v %+v", li, rep.Error)
	}

	// Directory format too.
	bd, rep := call[agentproto.BackupResult](t, a, agentproto.OpBackup, agentproto.BackupParams{DB: db, Name: "dir.dump", Format: agentproto.FormatDirectory})
	if bd == nil || bd.Size == 0 || len(bd.SHA256) != 64 {
		t.Fatalf("directory backup: %+v %+v", bd, rep.Error)
	}

	// The password never reached an argv; it went in PGPASSWORD.
	argvs, envKeys := trace.get()
	if len(argvs) == 0 {
		t.Fatal("no command traced")
	}
	sawDump := false
	for _, argv := range argvs {
		if strings.HasSuffix(argv[0], "pg_dump") {
			sawDump = true
		}
		for _, arg := range argv {
			if strings.Contains(arg, s.Password) || strings.Contains(arg, s.SuperPassword) {
				t.Fatalf("password in argv: %q", argv)
			}
		}
	}
	if !sawDump || !containsStr(envKeys, "PGPASSWORD") {
		t.Fatalf("pg_dump run %v, env keys %v", sawDump, envKeys)
	}
}

func TestFleetLock(t *testing.T) {
	s := pgtest.Start(t)
	a := testAgent(t)
	db := dbConn(s)
	lock := func(action, run string, stale time.Duration) (*agentproto.FleetLockResult, *agentproto.Reply) {
		return call[agentproto.FleetLockResult](t, a, agentproto.OpFleetLock, agentproto.FleetLockParams{DB: db, Action: action, RunID: run, Owner: "op@bastion", StaleAfter: stale})
	}
	r, rep := lock("inspect", "", 0)
	if r == nil || r.Held {
		t.Fatalf("fresh: %+v %+v", r, rep.Error)
	}
	// Concurrent acquires: exactly one wins.
	var wg sync.WaitGroup
	wins := make(chan string, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			run := "run-" + string(rune('a'+i))
			req, _ := agentproto.NewRequest(agentproto.OpFleetLock, agentproto.FleetLockParams{DB: db, Action: "acquire", RunID: run})
			rep := a.Handle(context.Background(), req)
			if rep.Error == nil {
				wins <- run
			} else if rep.Error.Code != agentproto.CodeLockHeld {
				t.Errorf("acquire %s: %+v", run, rep.Error)
			}
		}(i)
	}
	wg.Wait()
	close(wins)
	var winners []string
	for w := range wins {
		winners = append(winners, w)
	}
	if len(winners) != 1 {
		t.Fatalf("winners = %v, want exactly one", winners)
	}
	holder := winners[0]
	// Re-acquire by the holder is fine; another run is refused.
	if r, rep := lock("acquire", holder, 0); r == nil || !r.Mine || r.Acquired {
		t.Fatalf("re-acquire: %+v %+v", r, rep.Error)
	}
	if _, rep := lock("acquire", "intruder", 0); rep.Error == nil || rep.Error.Code != agentproto.CodeLockHeld || !strings.Contains(rep.Error.Message, holder) {
		t.Fatalf("intruder: %+v", rep.Error)
	}
	// Heartbeat; then stale reporting (no takeover).
	if r, rep := lock("heartbeat", holder, 0); r == nil || !r.Mine {
		t.Fatalf("heartbeat: %+v", rep.Error)
	}
	execSQL(t, context.Background(), s, "UPDATE kongctl.fleet_lock SET heartbeat_at = now() - interval '10 minutes'")
	r, _ = lock("inspect", "", 5*time.Minute)
	if !r.Held || !r.Lock.Stale || r.Lock.Age < 9*time.Minute {
		t.Fatalf("stale inspect: %+v", r.Lock)
	}
	if _, rep := lock("acquire", "intruder", 5*time.Minute); rep.Error == nil || rep.Error.Code != agentproto.CodeLockHeld || !strings.Contains(rep.Error.Message, "stale") {
		t.Fatalf("stale lock taken over or not reported: %+v", rep.Error)
	}
	if _, rep := lock("release", "intruder", 0); rep.Error == nil || rep.Error.Code != agentproto.CodeLockHeld {
		t.Fatalf("release by another run: %+v", rep.Error)
	}
	if r, rep := lock("release", holder, 0); r == nil || !r.Released || r.Held {
		t.Fatalf("release: %+v %+v", r, rep.Error)
	}
	if r, rep := lock("release", holder, 0); r == nil || r.Released {
		t.Fatalf("second release must be a no-op: %+v %+v", r, rep.Error)
	}
	if _, rep := lock("heartbeat", holder, 0); rep.Error == nil || rep.Error.Code != agentproto.CodeNotFound {
		t.Fatalf("heartbeat after release: %+v", rep.Error)
	}
	// Run journal upsert.
	j, rep := call[agentproto.RunJournalResult](t, a, agentproto.OpRunJournal, agentproto.RunJournalParams{DB: db, RunID: holder, Phase: "backup", Status: "running"})
	if j == nil {
		t.Fatal(rep.Error)
	}
	j2, _ := call[agentproto.RunJournalResult](t, a, agentproto.OpRunJournal, agentproto.RunJournalParams{DB: db, RunID: holder, Phase: "verify", Status: "succeeded"})
	if j2.Phase != "verify" || !j2.StartedAt.Equal(j.StartedAt) {
		t.Fatalf("journal: %+v then %+v", j, j2)
	}
	// Unreachable database is typed.
	bad := db
	bad.Port = 1
	if _, rep := call[agentproto.FleetLockResult](t, a, agentproto.OpFleetLock, agentproto.FleetLockParams{DB: bad, Action: "inspect"}); rep.Error == nil || rep.Error.Code != agentproto.CodeDBUnreachable {
		t.Fatalf("unreachable: %+v", rep.Error)
	}
}
