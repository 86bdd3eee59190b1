//go:build integration && !nodeagent

package agent

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/lab/pgtest"
)

func writeSig(t *testing.T, a *Agent, db agentproto.DBConn, settle time.Duration) *agentproto.WriteSignature {
	t.Helper()
	sig, rep := call[agentproto.WriteSignature](t, a, agentproto.OpWriteSignature, agentproto.WriteSignatureParams{DB: db, Settle: settle})
	if sig == nil {
		t.Fatalf("write signature: %+v", rep.Error)
	}
	if !sig.Usable {
		t.Fatalf("write signature unusable on PostgreSQL 15+: %s", sig.Note)
	}
	return sig
}

func changedTables(a, b map[string]string) []string {
	var out []string
	for k, v := range a {
		if b[k] != v {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// kongDB starts a cluster with seedKong's tables plus runtime tables
// (kong-reference 9.5), and an agent to reach it.
func kongDB(t *testing.T, ctx context.Context) (*pgtest.Server, *Agent, agentproto.DBConn) {
	t.Helper()
	s := pgtest.Start(t)
	seedKong(t, ctx, s)
	execSQL(t, ctx, s, `
		CREATE TABLE clustering_data_planes (id uuid PRIMARY KEY, hostname text, last_seen timestamptz);
		CREATE TABLE cluster_events (id uuid PRIMARY KEY, channel text, data text, at timestamptz);
		CREATE TABLE vitals_stats_seconds (node_id uuid, at int, l2_hit int, PRIMARY KEY (node_id, at));`)
	return s, testAgent(t), dbConn(s)
}

// A configuration write committed through a connection that then closes
// is always in the signature read right after, even when the backend had
// flushed less than PGSTAT_MIN_INTERVAL before (its last counts still
// pending): the check waits for the backend to leave, and a backend
// flushes on exit. Each iteration writes twice through a fresh
// connection (the first commit flushes and starts the interval, the
// second stays pending), closes it and checks at once.
func TestWriteSignatureSeesEveryClosedWrite(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, a, db := kongDB(t, ctx)

	prev := writeSig(t, a, db, 3*time.Second)
	if !prev.Settled || slices.Contains(prev.Excluded, "services") || !slices.Contains(prev.Excluded, "clustering_data_planes") ||
		!slices.Contains(prev.Excluded, "locks") || !slices.Contains(prev.Excluded, "vitals_stats_seconds") || prev.Tables["services"] == "" {
		t.Fatalf("signature %+v", prev)
	}
	const n = 200
	var maxWait time.Duration
	for i := range n {
		conn, err := pgx.Connect(ctx, s.DSN())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "UPDATE routes SET paths = ARRAY[$1] WHERE id = '33333333-3333-3333-3333-333333333333'", fmt.Sprintf("/r%d", i)); err != nil {
			t.Fatal(err)
		}
		// The write under test: an insert, an update or a delete.
		var q string
		switch i % 3 {
		case 0:
			q = fmt.Sprintf("INSERT INTO services (id, name, host) VALUES (gen_random_uuid(), 'svc-%d', 'x')", i)
		case 1:
			q = fmt.Sprintf("UPDATE services SET host = 'h%d' WHERE name = 'svc-a'", i)
		case 2:
			q = fmt.Sprintf("DELETE FROM services WHERE name = 'svc-%d'", i-2)
		}
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if err := conn.Close(ctx); err != nil {
			t.Fatal(err)
		}
		cur := writeSig(t, a, db, 3*time.Second)
		if !cur.Settled {
			t.Fatalf("iteration %d: not settled, others %q", i, cur.Others)
		}
		maxWait = max(maxWait, cur.Waited)
		if got := changedTables(prev.Tables, cur.Tables); !slices.Equal(got, []string{"routes", "services"}) {
			t.Fatalf("iteration %d (%s): changed %q, want [routes services]\nbefore %q\nafter  %q", i, q, got, prev.Tables, cur.Tables)
		}
		prev = cur
	}
	t.Logf("%d writes through closed connections, each seen; longest wait for the writer's backend to leave: %s", n, maxWait)
}

// pendingWrite connects as a Kong worker would and commits two writes: the
// first flushes the backend's counts and starts PGSTAT_MIN_INTERVAL, so
// the second (an insert into services) stays pending in the backend. It
// returns the open connection and its backend's pid.
func pendingWrite(t *testing.T, ctx context.Context, s *pgtest.Server) (*pgx.Conn, int) {
	t.Helper()
	cfg, err := pgx.ParseConfig(s.DSN())
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["application_name"] = "kong-worker"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"UPDATE routes SET paths = ARRAY['/x']", "INSERT INTO services (id, name, host) VALUES (gen_random_uuid(), 'pending', 'x')"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	return conn, pid
}

// The hazard the wait guards against, shown: a second commit within
// PGSTAT_MIN_INTERVAL of a backend's last flush stays out of the shared
// counters while the backend lives (idle, it flushes after up to 10 s).
// Read at once with the writer still connected, the signature is not
// settled and names the writer.
func TestWriteSignatureUnsettledWhileWriterConnected(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, a, db := kongDB(t, ctx)
	before := writeSig(t, a, db, time.Second)

	conn, _ := pendingWrite(t, ctx, s)
	defer conn.Close(ctx)
	t0 := time.Now()
	cur := writeSig(t, a, db, 300*time.Millisecond)
	if cur.Settled || len(cur.Others) != 1 || cur.Others[0] != "kong-worker@127.0.0.1" || cur.Waited < 300*time.Millisecond {
		t.Fatalf("with a writer connected: settled=%v others=%q waited %s", cur.Settled, cur.Others, cur.Waited)
	}
	if before.Tables["services"] != cur.Tables["services"] {
		t.Fatalf("the insert committed within 1 s of the backend's last flush reached the counters while the backend lives (%q -> %q): the hazard the wait guards against did not show", before.Tables["services"], cur.Tables["services"])
	}
	t.Logf("the pending insert is not in the counters %s after its commit, with its backend connected", time.Since(t0).Round(time.Millisecond))
	conn.Close(ctx)
	after := writeSig(t, a, db, 3*time.Second)
	if !after.Settled || after.Tables["services"] == before.Tables["services"] {
		t.Fatalf("after the writer left: settled=%v services %q (before %q)", after.Settled, after.Tables["services"], before.Tables["services"])
	}
}

// A stopped node's backends, still connected (one busy with a query the
// node started before its stop, one holding a write whose counts are not
// flushed yet): given the node's address, the signature ends both at once
// instead of waiting them out, and the ended writer's counts are in the
// counters (a backend ended by pg_terminate_backend flushes them on its
// way out, as on any exit).
func TestWriteSignatureEndsStoppedNodesBackends(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, a, db := kongDB(t, ctx)
	before := writeSig(t, a, db, time.Second)

	writer, _ := pendingWrite(t, ctx, s)
	defer writer.Close(context.Background())
	busy, err := pgx.Connect(ctx, s.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close(context.Background())
	sleeping := make(chan error, 1)
	go func() {
		_, err := busy.Exec(ctx, "SELECT pg_sleep(50)")
		sleeping <- err
	}()
	time.Sleep(200 * time.Millisecond) // the query runs

	t0 := time.Now()
	sig, rep := call[agentproto.WriteSignature](t, a, agentproto.OpWriteSignature,
		agentproto.WriteSignatureParams{DB: db, Settle: 20 * time.Second, EndFrom: []string{"127.0.0.1"}})
	if sig == nil {
		t.Fatalf("write signature: %+v", rep.Error)
	}
	took := time.Since(t0)
	if !sig.Settled || len(sig.Ended) != 2 || took > 5*time.Second {
		t.Fatalf("ended %q, settled=%v after %s (others %q, note %q); want both backends ended and settled at once", sig.Ended, sig.Settled, took, sig.Others, sig.Note)
	}
	if sig.Tables["services"] == before.Tables["services"] {
		t.Fatalf("the ended writer's pending insert is not in the counters (%q)", sig.Tables["services"])
	}
	select {
	case err := <-sleeping:
		if err == nil {
			t.Fatal("the busy backend's query finished: it was not ended")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the busy backend's query still runs 10 s after it was ended")
	}
	// An address that is not a stopped node's ends nothing.
	other, err := pgx.Connect(ctx, s.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(context.Background())
	sig, _ = call[agentproto.WriteSignature](t, a, agentproto.OpWriteSignature,
		agentproto.WriteSignatureParams{DB: db, Settle: 300 * time.Millisecond, EndFrom: []string{"198.51.100.7"}})
	if sig == nil || sig.Settled || len(sig.Ended) != 0 {
		t.Fatalf("with another node's address: %+v; want nothing ended and not settled", sig)
	}
}

// Writes to runtime tables and to kongctl's own schema leave the signature
// as it was; a truncate, a new table and a dropped table
// change it.
func TestWriteSignatureIgnoresRuntimeTables(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, a, db := kongDB(t, ctx)
	base := writeSig(t, a, db, 3*time.Second)

	for i := range 20 {
		execSQL(t, ctx, s, fmt.Sprintf(`INSERT INTO clustering_data_planes VALUES ('44444444-4444-4444-4444-444444444444', 'dp-1', now())
			ON CONFLICT (id) DO UPDATE SET last_seen = now();
			INSERT INTO cluster_events VALUES (gen_random_uuid(), 'invalidations', 'x', now());
			INSERT INTO vitals_stats_seconds VALUES ('44444444-4444-4444-4444-444444444444', %d, 1);
			INSERT INTO locks VALUES ('k%d', 'o', now());`, i, i))
	}
	execSQL(t, ctx, s, "TRUNCATE cluster_events")
	if _, rep := call[agentproto.FleetLockResult](t, a, agentproto.OpFleetLock, agentproto.FleetLockParams{DB: db, Action: "acquire", RunID: "r1", Owner: "t"}); rep.Error != nil {
		t.Fatal(rep.Error)
	}
	cur := writeSig(t, a, db, 3*time.Second)
	if got := changedTables(base.Tables, cur.Tables); len(got) != 0 || cur.Server != base.Server {
		t.Fatalf("runtime and kongctl writes changed the signature: %q, server %q -> %q", got, base.Server, cur.Server)
	}

	// TRUNCATE counts no deleted rows: the new relfilenode shows it.
	execSQL(t, ctx, s, "TRUNCATE nopk")
	cur2 := writeSig(t, a, db, 3*time.Second)
	if got := changedTables(cur.Tables, cur2.Tables); !slices.Equal(got, []string{"nopk"}) {
		t.Fatalf("truncate: changed %q, want [nopk]", got)
	}
	execSQL(t, ctx, s, "CREATE TABLE filter_chains (id uuid PRIMARY KEY); DROP TABLE nopk")
	cur3 := writeSig(t, a, db, 3*time.Second)
	if got := changedTables(cur2.Tables, cur3.Tables); !slices.Equal(got, []string{"filter_chains", "nopk"}) {
		t.Fatalf("a table added and one dropped: changed %q, want [filter_chains nopk]", got)
	}
}

// The cost of the check does not grow with the rows: 200k rows in one
// table, the full fingerprint against the write signature. Timings are
// logged (the report quotes them); the assertion is loose.
func TestWriteSignatureCost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, a, db := kongDB(t, ctx)
	execSQL(t, ctx, s, `CREATE TABLE consumers (id uuid PRIMARY KEY, username text UNIQUE, created_at timestamptz DEFAULT now());
		INSERT INTO consumers (id, username) SELECT gen_random_uuid(), 'c' || g FROM generate_series(1, 200000) g;
		ANALYZE consumers`)
	best := func(f func()) time.Duration {
		var b time.Duration
		for i := range 3 {
			t0 := time.Now()
			f()
			if d := time.Since(t0); i == 0 || d < b {
				b = d
			}
		}
		return b
	}
	fp := best(func() {
		if _, rep := call[agentproto.Fingerprint](t, a, agentproto.OpDBFingerprint, agentproto.FingerprintParams{DB: db}); rep.Error != nil {
			t.Fatal(rep.Error)
		}
	})
	ws := best(func() { writeSig(t, a, db, 3*time.Second) })
	t.Logf("200k rows: fingerprint %s, write signature %s (best of 3, connection included)", fp.Round(time.Millisecond), ws.Round(time.Millisecond))
	if ws >= fp {
		t.Errorf("write signature %s is not cheaper than the fingerprint %s", ws, fp)
	}
}

// Crash recovery discards the statistics without changing the postmaster's
// start time: a table whose counters were zero would read zero again
// after a write its crashed backend never flushed. The database's
// transaction count, smaller than before, shows the reset (the controller
// then fingerprints).
func TestWriteSignatureShowsCrashReset(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, a, db := kongDB(t, ctx)
	before := writeSig(t, a, db, time.Second)
	conn, pid := pendingWrite(t, ctx, s)
	defer conn.Close(ctx)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill backend %d: %v", pid, err)
	}
	var cur *agentproto.WriteSignature
	for i := 0; cur == nil; i++ {
		var rep *agentproto.Reply
		if cur, rep = call[agentproto.WriteSignature](t, a, agentproto.OpWriteSignature, agentproto.WriteSignatureParams{DB: db, Settle: time.Second}); cur == nil {
			if i == 40 {
				t.Fatalf("no write signature after the crash: %+v", rep.Error)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	if cur.Server != before.Server || cur.Transactions >= before.Transactions {
		t.Fatalf("after crash recovery: server %q (before %q), transactions %d (before %d): want the same server and fewer transactions",
			cur.Server, before.Server, cur.Transactions, before.Transactions)
	}
	t.Logf("crash recovery: server %q unchanged, transactions %d -> %d, services %q -> %q", cur.Server, before.Transactions, cur.Transactions, before.Tables["services"], cur.Tables["services"])
}
