//go:build integration

package kongsim_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// seedRateLimiting writes count rate-limiting plugin rows with the flat
// redis_* fields Kong stores before 3.6 (as the lab's ROWS option does).
func seedRateLimiting(n *node, count int) {
	n.t.Helper()
	n.sql(fmt.Sprintf(`INSERT INTO plugins (id, created_at, name, config, enabled, cache_key, protocols, ws_id)
SELECT md5('rl-' || i)::uuid, now(), 'rate-limiting',
  '{"minute": 100, "policy": "local", "limit_by": "consumer", "fault_tolerant": true, "redis_host": "redis.internal",
    "redis_port": 6379, "redis_password": null, "redis_username": null, "redis_ssl": false, "redis_ssl_verify": false,
    "redis_server_name": null, "redis_timeout": 2000, "redis_database": 0, "hide_client_headers": false}'::jsonb,
  true, 'plugins:rate-limiting:::' || i || '::', ARRAY['http', 'https'], (SELECT id FROM workspaces WHERE name = 'default')
FROM generate_series(1, %d) AS i`, count))
}

func (n *node) count(q string) int {
	n.t.Helper()
	var c int
	n.queryRow(q, &c)
	return c
}

// waitIdle waits until no query of the node's database runs on the server
// (a query the CLI abandoned on a timeout runs on to its end).
func (n *node) waitIdle() {
	n.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if n.count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'`) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	n.t.Fatal("an abandoned migration query still runs after 2 minutes")
}

// kong-reference 9.4 (with its correction to 1.4): the 2.8 -> 3.x plugin
// fix-ups. pre-function and post-function 001_280_to_300 have a teardown,
// so `up` leaves 4 pending (core 016, http-log, pre-function,
// post-function) and 11 executed; up_f copies config.functions to
// config.access, the teardown removes config.functions; http-log's
// teardown turns each array header into its first element ("empty header
// value" for an empty array: Kong/kong kong/plugins/http-log/migrations/
// 001_280_to_300.lua). key-auth 000_base creates keyauth_credentials.
func TestPluginFixups280To300(t *testing.T) {
	n := newNode(t, sharedPG, freshDB(t, sharedPG))
	n.must(n.kong("2.8.4", "migrations", "bootstrap"), 0)
	ws := `(SELECT id FROM workspaces WHERE name = 'default')`
	n.sql(`INSERT INTO plugins (id, created_at, name, config, enabled, cache_key, ws_id) VALUES
  ('8a6ae9e6-0f5e-4d6e-9d55-0000000000a1', now(), 'pre-function', '{"functions": ["return 1"]}', true, 'plugins:pre-function::::', ` + ws + `),
  ('8a6ae9e6-0f5e-4d6e-9d55-0000000000a2', now(), 'post-function', '{"functions": ["return 2"], "access": []}', true, 'plugins:post-function::::', ` + ws + `),
  ('8a6ae9e6-0f5e-4d6e-9d55-0000000000a3', now(), 'http-log', '{"headers": {"a": ["x", "y"], "b": [], "c": "z"}}', true, 'plugins:http-log::::', ` + ws + `)`)
	if got := n.count(`SELECT count(*) FROM information_schema.tables WHERE table_name = 'keyauth_credentials'`); got != 1 {
		t.Fatalf("key-auth 000_base: keyauth_credentials tables %d", got)
	}
	cfg := func(id string) string {
		var s string
		n.queryRow(`SELECT config::text FROM plugins WHERE id = '`+id+`'`, &s)
		return s
	}
	t.Run("9.4/up: 15 processed, 11 executed, 4 pending", func(t *testing.T) {
		r := n.must(n.kong("3.4.2", "migrations", "up"), 0)
		if !strings.HasSuffix(r.stdout, "\n15 migrations processed\n11 executed\n4 pending\n\nDatabase has pending migrations; run 'kong migrations finish' when ready\n") ||
			!strings.Contains(r.stdout, "pre-function migrated up to: 001_280_to_300 (pending)\n") ||
			!strings.Contains(r.stdout, "post-function migrated up to: 001_280_to_300 (pending)\n") {
			t.Fatalf("%s", r)
		}
		l := n.must(n.kong("3.4.2", "migrations", "list"), 4)
		if !strings.Contains(l.stdout, "Pending migrations:\n         core: 016_280_to_300\n     http-log: 001_280_to_300\npost-function: 001_280_to_300\n pre-function: 001_280_to_300\n") {
			t.Fatalf("list: %s", l)
		}
	})
	t.Run("9.4/up_f copies functions to access; http-log untouched until finish", func(t *testing.T) {
		if c := cfg("8a6ae9e6-0f5e-4d6e-9d55-0000000000a1"); c != `{"access": ["return 1"], "functions": ["return 1"]}` {
			t.Errorf("pre-function after up: %s", c)
		}
		if c := cfg("8a6ae9e6-0f5e-4d6e-9d55-0000000000a2"); c != `{"access": ["return 2"], "functions": ["return 2"]}` {
			t.Errorf("post-function after up: %s", c)
		}
		if c := cfg("8a6ae9e6-0f5e-4d6e-9d55-0000000000a3"); c != `{"headers": {"a": ["x", "y"], "b": [], "c": "z"}}` {
			t.Errorf("http-log after up: %s", c)
		}
	})
	t.Run("9.4/finish: teardowns remove functions and flatten http-log headers", func(t *testing.T) {
		r := n.must(n.kong("3.4.2", "migrations", "finish"), 0)
		if !strings.Contains(r.stdout, "4 migrations processed\n4 executed\n") {
			t.Fatalf("%s", r)
		}
		if c := cfg("8a6ae9e6-0f5e-4d6e-9d55-0000000000a1"); c != `{"access": ["return 1"]}` {
			t.Errorf("pre-function after finish: %s", c)
		}
		if c := cfg("8a6ae9e6-0f5e-4d6e-9d55-0000000000a3"); c != `{"headers": {"a": "x", "b": "empty header value", "c": "z"}}` {
			t.Errorf("http-log after finish: %s", c)
		}
	})
}

// kong-reference 1.1 and 9.4: a migration query is bounded by --db-timeout
// (default 60 s through 3.6) or, from 3.7 without it, by pg_timeout
// (Kong/kong#12761). rate-limiting 006_350_to_360 (3.6) is one UPDATE over
// every rate-limiting row (Kong/kong#12978), so its time grows with the
// rows. Past the timeout the CLI fails with pgmoon's error (Kong/kong#4335:
// "failed to run migration ... up: receive_message: failed to get type:
// timeout") and leaves what Kong leaves: the step not in schema_meta,
// though the server, never cancelled, commits it (the migration of #12978
// that ran twice), and the migrations lock until its TTL.
func TestMigrationQueryTimeouts(t *testing.T) {
	const rows = 30000
	n := newNode(t, sharedPG, freshDB(t, sharedPG))
	n.must(n.kong("3.4.2", "migrations", "bootstrap"), 0)
	seedRateLimiting(n, rows)
	n.sql(`ANALYZE plugins`)

	t.Run("1.1/3.7+: without --db-timeout a query has pg_timeout; 9.4: the UPDATE over the rows outlives it", func(t *testing.T) {
		n.env = []string{"KONG_PG_TIMEOUT=200"}
		defer func() { n.env = nil }()
		t0 := time.Now()
		r := n.must(n.kong("3.9.1", "migrations", "up", "--lock-timeout", "3"), 1)
		if !strings.Contains(r.stderr, "failed to run migration '006_350_to_360' up: receive_message: failed to get type: timeout") {
			t.Fatalf("%s", r)
		}
		if !strings.Contains(r.stdout, "rate-limiting migrated up to: 005_320_to_330") && !strings.Contains(r.stdout, "migrating rate-limiting on database") {
			t.Fatalf("the run did not reach rate-limiting: %s", r)
		}
		t.Logf("up failed after %s", time.Since(t0).Round(time.Millisecond))
	})
	t.Run("9.4/state left: step not recorded, lock held until its TTL, the server commits the step anyway", func(t *testing.T) {
		// The steps before it are recorded (those with a teardown
		// pending); 006 is new again.
		l := n.must(n.kong("3.9.1", "migrations", "list"), 4)
		if !strings.Contains(l.stdout, "New migrations available:\n        rate-limiting: 006_350_to_360\n") {
			t.Errorf("006_350_to_360 is not new after the timeout: %s", l)
		}
		if got := n.count(`SELECT count(*) FROM schema_meta WHERE subsystem = 'rate-limiting' AND '006_350_to_360' = ANY(coalesce(executed, '{}') || coalesce(pending, '{}'))`); got != 0 {
			t.Errorf("006_350_to_360 recorded in schema_meta after its timeout")
		}
		if got := n.count(`SELECT count(*) FROM locks WHERE key = 'migrations'`); got != 1 {
			t.Errorf("migrations lock rows after the timeout: %d, want 1 (left until its TTL)", got)
		}
		n.waitIdle()
		if got := n.count(`SELECT count(*) FROM plugins WHERE name = 'rate-limiting' AND config ? 'redis'`); got != rows {
			t.Errorf("rows the abandoned UPDATE committed: %d, want %d", got, rows)
		}
	})
	t.Run("1.1/--db-timeout overrides pg_timeout: up and finish run over the rows", func(t *testing.T) {
		n.env = []string{"KONG_PG_TIMEOUT=200"}
		defer func() { n.env = nil }()
		time.Sleep(3 * time.Second) // the lock's TTL
		// up refuses while steps are pending: finish them, then up again.
		n.must(n.kong("3.9.1", "migrations", "up", "--db-timeout", "120"), 1)
		n.must(n.kong("3.9.1", "migrations", "finish", "--db-timeout", "120"), 0)
		n.must(n.kong("3.9.1", "migrations", "up", "--db-timeout", "120"), 0)
		n.must(n.kong("3.9.1", "migrations", "finish", "--db-timeout", "120"), 0)
		if got := n.count(`SELECT count(*) FROM plugins WHERE name = 'rate-limiting' AND config ? 'redis_host'`); got != 0 {
			t.Errorf("rows with the flat redis_host after finish: %d", got)
		}
		if got := n.count(`SELECT count(*) FROM plugins WHERE config #>> '{redis,host}' = 'redis.internal' AND config #>> '{redis,port}' = '6379'`); got != rows {
			t.Errorf("rows with config.redis built: %d, want %d", got, rows)
		}
	})
}

// kong-reference 1.1: through 3.6 `kong migrations` sets pg_timeout from
// --db-timeout, whose default is 60: a kong.conf pg_timeout does not bound
// a migration query. The same plugin fix-up over the rows fails once
// --db-timeout is below its time.
func TestMigrationDBTimeoutDefault60(t *testing.T) {
	const rows = 100000
	n := newNode(t, sharedPG, freshDB(t, sharedPG))
	n.must(n.kong("2.8.4", "migrations", "bootstrap"), 0)
	seedRateLimiting(n, rows)
	n.sql(`ANALYZE plugins`)
	t.Run("1.1/usage: --db-timeout (default 60) through 3.6, (optional number) from 3.7", func(t *testing.T) {
		for v, want := range map[string]string{"3.4.2": "--db-timeout     (default 60)      Timeout", "3.9.1": "--db-timeout     (optional number) Timeout"} {
			if r := n.run(sim(t, v), "migrations", "--help"); !strings.Contains(r.stderr, want) {
				t.Errorf("%s usage lacks %q: %s", v, want, r)
			}
		}
	})
	t.Run("1.1/a too short --db-timeout fails the fix-up that reads every plugin row", func(t *testing.T) {
		// How long the read of 100,000 rows takes depends on the
		// machine (under 50 ms on an idle one): another session holds
		// the plugins table, so the migration's read of it waits past
		// the timeout whatever the machine, then runs on once released.
		ctx := context.Background()
		holder, err := pgx.Connect(ctx, n.dsn())
		if err != nil {
			t.Fatal(err)
		}
		defer holder.Close(ctx)
		tx, err := holder.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `LOCK TABLE plugins IN ACCESS EXCLUSIVE MODE`); err != nil {
			t.Fatal(err)
		}
		r := n.kong("3.4.2", "migrations", "up", "--db-timeout", "0.5", "--lock-timeout", "1")
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if r.code != 1 || !strings.Contains(r.stderr, "up: receive_message: failed to get type: timeout") {
			t.Fatalf("want exit 1 with the timeout: %s", r)
		}
		n.waitIdle()
		time.Sleep(time.Second) // the lock's TTL
	})
	t.Run("1.1/<3.7: pg_timeout from the environment is replaced by --db-timeout's default 60", func(t *testing.T) {
		n.env = []string{"KONG_PG_TIMEOUT=50"}
		defer func() { n.env = nil }()
		// The steps before the failed one left teardowns pending: finish
		// (its fix-ups read every plugin row), up the rest, finish.
		for _, cmd := range []string{"finish", "up", "finish"} {
			t0 := time.Now()
			n.must(n.kong("3.4.2", "migrations", cmd), 0)
			t.Logf("%s: %s", cmd, time.Since(t0).Round(time.Millisecond))
		}
	})
}
