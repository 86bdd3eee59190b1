//go:build integration

package kongsim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kongctl/kongctl/lab/kongsim"
	"github.com/kongctl/kongctl/lab/pgtest"
)

var warnLine = regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[warn\] `)

func newDBNode(t *testing.T, extra ...string) *node {
	return newNode(t, sharedPG, freshDB(t, sharedPG), extra...)
}

func TestMigrationsList(t *testing.T) {
	t.Run("1.3/list/needs-bootstrap exits 3", func(t *testing.T) {
		n := newDBNode(t)
		r := n.must(n.kong("3.4.2", "migrations", "list"), 3)
		if r.stdout != kongsim.NeedsBootstrapMsg+"\n" || r.stderr != "" {
			t.Fatalf("%s", r)
		}
	})
	t.Run("1.3/list/up-to-date exits 0", func(t *testing.T) {
		n := newDBNode(t)
		n.must(n.kong("3.4.2", "migrations", "bootstrap"), 0)
		r := n.must(n.kong("3.4.2", "migrations", "list"), 0)
		if !strings.HasPrefix(r.stdout, "Executed migrations:\n                 core: 000_base, ") || strings.Contains(r.stdout, "Run '") {
			t.Fatalf("%s", r)
		}
	})
	t.Run("1.3/list/new-only exits 5", func(t *testing.T) {
		n := newDBNode(t)
		n.must(n.kong("2.8.4", "migrations", "bootstrap"), 0)
		r := n.must(n.kong("3.4.2", "migrations", "list"), 5)
		if !strings.Contains(r.stdout, "\n\nNew migrations available:\n         core: 016_280_to_300, 017_300_to_310, 018_310_to_320, 019_320_to_330, 020_330_to_340\n") ||
			!strings.HasSuffix(r.stdout, "\n\nRun 'kong migrations up' to proceed\n") || r.stderr != "" {
			t.Fatalf("%s", r)
		}
	})
	t.Run("1.3/list/pending-only exits 4", func(t *testing.T) {
		n := newDBNode(t)
		n.must(n.kong("2.8.4", "migrations", "bootstrap"), 0)
		n.must(n.kong("3.4.2", "migrations", "up"), 0)
		r := n.must(n.kong("3.4.2", "migrations", "list"), 4)
		if !strings.Contains(r.stdout, "\n\nPending migrations:\n         core: 016_280_to_300\n     http-log: 001_280_to_300\npost-function: 001_280_to_300\n pre-function: 001_280_to_300\n\nRun 'kong migrations finish' when ready\n") {
			t.Fatalf("%s", r)
		}
	})
	t.Run("1.3/list/pending-and-new exits 4 with a warn line", func(t *testing.T) {
		n := newDBNode(t)
		n.must(n.kong("2.8.4", "migrations", "bootstrap"), 0)
		n.must(n.kong("3.4.2", "migrations", "up"), 0)
		r := n.must(n.kong("3.9.1", "migrations", "list"), 4)
		if !warnLine.MatchString(r.stderr) || !strings.HasSuffix(r.stderr, "Database has pending migrations from a previous upgrade, and new migrations from this upgrade (version 3.9.1)\n") {
			t.Fatalf("warn: %s", r)
		}
		if !strings.Contains(r.stdout, "Pending migrations:") || !strings.Contains(r.stdout, "New migrations available:") ||
			!strings.HasSuffix(r.stdout, "\n\n\nRun 'kong migrations finish' when ready to complete pending migrations (postgres database will be incompatible with the previous Kong version)\n") {
			t.Fatalf("%s", r)
		}
	})
	t.Run("1.3/list/enterprise warn uses the EE version", func(t *testing.T) {
		n := newDBNode(t)
		n.must(n.kong("3.4.3.5", "migrations", "bootstrap"), 0)
		n.sql(`UPDATE schema_meta SET pending = ARRAY['018_2800_to_3000'], executed = array_remove(executed, '018_2800_to_3000') WHERE subsystem = 'enterprise'`)
		r := n.must(n.kong("3.10.0.2", "migrations", "list"), 4)
		if !strings.Contains(r.stderr, "(version 3.10.0.2-enterprise-edition)") || !strings.Contains(r.stdout, "enterprise: ") {
			t.Fatalf("%s", r)
		}
	})
	t.Run("1.4/list/empty schema_meta is not needs-bootstrap, exits 5", func(t *testing.T) {
		n := newDBNode(t)
		n.must(n.kong("3.4.2", "migrations", "bootstrap"), 0)
		n.sql(`DELETE FROM schema_meta`)
		r := n.must(n.kong("3.4.2", "migrations", "list"), 5)
		if !strings.HasPrefix(r.stdout, "New migrations available:\n") {
			t.Fatalf("%s", r)
		}
	})
	t.Run("1.4/list/older binary on a newer database exits 0", func(t *testing.T) {
		n := newDBNode(t)
		n.must(n.kong("3.9.1", "migrations", "bootstrap"), 0)
		n.must(n.kong("2.8.4", "migrations", "list"), 0)
	})
	t.Run("1.3/list/connection error exits 1", func(t *testing.T) {
		n := newNode(t, nil, "", fmt.Sprintf("pg_port = %d", freePort(t)), "pg_timeout = 1000")
		r := n.must(n.kong("3.4.2", "migrations", "list"), 1)
		if !strings.HasPrefix(r.stderr, "Error: [PostgreSQL error] failed to retrieve PostgreSQL server_version_num: connection refused\n\n  Run with --v (verbose) or --vv (debug) for more details\n") || r.stdout != "" {
			t.Fatalf("%s", r)
		}
	})
	t.Run("1.3/status/json on 3.x, absent on 2.8", func(t *testing.T) {
		n := newDBNode(t)
		r := n.must(n.kong("3.4.2", "migrations", "status"), 0)
		if strings.TrimSpace(r.stdout) != `{"needs_bootstrap":true}` {
			t.Fatalf("%s", r)
		}
		n.must(n.kong("2.8.4", "migrations", "bootstrap"), 0)
		r = n.must(n.kong("3.4.2", "migrations", "status"), 0)
		var v map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v["new_migrations"] == nil || v["executed_migrations"] == nil {
			t.Fatalf("%v %s", err, r)
		}
		r = n.must(n.kong("2.8.4", "migrations", "status"), 1)
		if r.stderr != "No such command for migrations: status\n" {
			t.Fatalf("%s", r)
		}
	})
}

func TestMigrationsBootstrapUpFinishReset(t *testing.T) {
	n := newDBNode(t)
	t.Run("1.3/up/needs-bootstrap exits 1", func(t *testing.T) {
		r := n.must(n.kong("3.4.2", "migrations", "up"), 1)
		if !strings.HasPrefix(r.stderr, "Error: Cannot run migrations: Database needs bootstrapping or is older than Kong 1.0.") {
			t.Fatalf("%s", r)
		}
	})
	t.Run("1.3/finish/needs-bootstrap exits 1", func(t *testing.T) {
		r := n.must(n.kong("3.4.2", "migrations", "finish"), 1)
		if !strings.HasPrefix(r.stderr, "Error: Cannot run migrations: Database needs bootstrapping") {
			t.Fatalf("%s", r)
		}
	})
	t.Run("1.3/reset/not bootstrapped exits 1", func(t *testing.T) {
		r := n.must(n.kong("3.4.2", "migrations", "reset", "--yes"), 1)
		if r.stdout != "Database not bootstrapped, nothing to reset\n" {
			t.Fatalf("%s", r)
		}
	})
	t.Run("1.3/bootstrap/fresh database", func(t *testing.T) {
		r := n.must(n.kong("2.8.4", "migrations", "bootstrap"), 0)
		if !strings.HasPrefix(r.stdout, "Bootstrapping database...\nmigrating core on database '"+n.db+"'...\ncore migrated up to: 000_base (executed)\n") ||
			!strings.HasSuffix(r.stdout, "43 migrations processed\n43 executed\nDatabase is up-to-date\n") {
			t.Fatalf("%s", r)
		}
		var pending []string
		n.queryRow(`SELECT coalesce(pending, '{}') FROM schema_meta WHERE subsystem = 'core'`, &pending)
		if len(pending) != 0 {
			t.Fatalf("pending after bootstrap: %v", pending)
		}
	})
	t.Run("1.3/bootstrap/already bootstrapped exits 0", func(t *testing.T) {
		r := n.must(n.kong("3.4.2", "migrations", "bootstrap"), 0)
		if r.stdout != "Database already bootstrapped\n" {
			t.Fatalf("%s", r)
		}
	})
	// Regex paths (2.x style) and a 2.x plugin column, to watch 016.
	n.sql(`INSERT INTO services (id, name, host, port, protocol, created_at, ws_id) VALUES ('8a6ae9e6-0f5e-4d6e-9d55-000000000001', 's', 'echo.internal', 80, 'http', now(), $1)`, kongsim.DefaultWorkspaceID)
	n.sql(`INSERT INTO routes (id, service_id, paths, created_at, ws_id) VALUES ('8a6ae9e6-0f5e-4d6e-9d55-000000000002', '8a6ae9e6-0f5e-4d6e-9d55-000000000001', ARRAY['/items/\d+', '/plain'], now(), $1)`, kongsim.DefaultWorkspaceID)
	t.Run("1.4/up/2.8 database with 3.4: 15 processed, 11 executed, 4 pending (9.4's correction)", func(t *testing.T) {
		r := n.must(n.kong("3.4.2", "migrations", "up"), 0)
		if !strings.HasPrefix(r.stdout, "migrating core on database '"+n.db+"'...\ncore migrated up to: 016_280_to_300 (pending)\ncore migrated up to: 017_300_to_310 (executed)\n") ||
			!strings.HasSuffix(r.stdout, "\n15 migrations processed\n11 executed\n4 pending\n\nDatabase has pending migrations; run 'kong migrations finish' when ready\n") || r.stderr != "" {
			t.Fatalf("%s", r)
		}
	})
	t.Run("2.1/schema_meta after up: pending recorded, last_executed untouched by pending", func(t *testing.T) {
		var last string
		var executed, pending []string
		n.queryRow(`SELECT last_executed, executed, pending FROM schema_meta WHERE key = 'schema_meta' AND subsystem = 'core'`, &last, &executed, &pending)
		if last != "020_330_to_340" || len(executed) != 18 || strings.Join(pending, ",") != "016_280_to_300" {
			t.Fatalf("core row: %s %d %v", last, len(executed), pending)
		}
		var hl []string
		var hlExec *[]string
		n.queryRow(`SELECT pending, executed FROM schema_meta WHERE subsystem = 'http-log'`, &hl, &hlExec)
		if strings.Join(hl, ",") != "001_280_to_300" || hlExec != nil {
			t.Fatalf("http-log row: %v %v", hl, hlExec)
		}
	})
	t.Run("1.4/016_280_to_300 up prefixes regex paths with ~", func(t *testing.T) {
		var paths []string
		n.queryRow(`SELECT paths FROM routes WHERE id = '8a6ae9e6-0f5e-4d6e-9d55-000000000002'`, &paths)
		if strings.Join(paths, " ") != `~/items/\d+ /plain` {
			t.Fatalf("paths %v", paths)
		}
		var cols int
		n.queryRow(`SELECT count(*) FROM information_schema.columns WHERE table_name = 'plugins' AND column_name = 'run_on'`, &cols)
		if cols != 1 {
			t.Fatal("run_on dropped before finish")
		}
	})
	t.Run("1.3/up/pending without -f exits 1", func(t *testing.T) {
		r := n.must(n.kong("3.4.2", "migrations", "up"), 1)
		if !strings.HasPrefix(r.stderr, "Error: Database has pending migrations; run 'kong migrations finish'\n\n  Run with --v") {
			t.Fatalf("%s", r)
		}
	})
	t.Run("1.3/finish/runs the teardowns", func(t *testing.T) {
		r := n.must(n.kong("3.4.2", "migrations", "finish"), 0)
		want := fmt.Sprintf("migrating core on database '%[1]s'...\ncore migrated up to: 016_280_to_300 (executed)\nmigrating http-log on database '%[1]s'...\nhttp-log migrated up to: 001_280_to_300 (executed)\n"+
			"migrating post-function on database '%[1]s'...\npost-function migrated up to: 001_280_to_300 (executed)\nmigrating pre-function on database '%[1]s'...\npre-function migrated up to: 001_280_to_300 (executed)\n4 migrations processed\n4 executed\n", n.db)
		if r.stdout != want {
			t.Fatalf("%s", r)
		}
		var cols int
		n.queryRow(`SELECT count(*) FROM information_schema.columns WHERE table_name = 'plugins' AND column_name = 'run_on'`, &cols)
		if cols != 0 {
			t.Fatal("016 teardown did not drop plugins.run_on")
		}
		var pending []string
		var last string
		n.queryRow(`SELECT last_executed, pending FROM schema_meta WHERE subsystem = 'core'`, &last, &pending)
		if last != "016_280_to_300" || len(pending) != 0 {
			t.Fatalf("core after finish: %s %v", last, pending)
		}
		n.must(n.kong("3.4.2", "migrations", "list"), 0)
	})
	t.Run("1.3/finish/nothing pending", func(t *testing.T) {
		r := n.must(n.kong("3.4.2", "migrations", "finish"), 0)
		if r.stdout != "No pending migrations to finish\n" {
			t.Fatalf("%s", r)
		}
	})
	t.Run("1.3/up/nothing new", func(t *testing.T) {
		r := n.must(n.kong("3.4.2", "migrations", "up"), 0)
		if r.stdout != "Database is already up-to-date\n" {
			t.Fatalf("%s", r)
		}
	})
	t.Run("1.3/finish/new migrations present", func(t *testing.T) {
		r := n.must(n.kong("3.9.1", "migrations", "finish"), 0)
		if r.stdout != "\nNew migrations available; run 'kong migrations up' to proceed\n" {
			t.Fatalf("%s", r)
		}
	})
	t.Run("1.3/up -f is reentrant", func(t *testing.T) {
		a := n.must(n.kong("3.4.2", "migrations", "up", "-f"), 0)
		b := n.must(n.kong("3.4.2", "migrations", "up", "-f"), 0)
		if a.stdout != b.stdout || !strings.Contains(a.stdout, "migrations processed") {
			t.Fatalf("%s\n%s", a, b)
		}
		n.must(n.kong("3.4.2", "migrations", "list"), 0)
	})
	t.Run("1.3/reset/--yes drops everything", func(t *testing.T) {
		r := n.must(n.kong("3.4.2", "migrations", "reset", "--yes"), 0)
		if r.stdout != "Resetting database...\nDatabase successfully reset\n" {
			t.Fatalf("%s", r)
		}
		n.must(n.kong("3.4.2", "migrations", "list"), 3)
	})
	t.Run("1.3/bootstrap --force resets first", func(t *testing.T) {
		n.must(n.kong("3.4.2", "migrations", "bootstrap"), 0)
		r := n.must(n.kong("3.4.2", "migrations", "bootstrap", "--force"), 0)
		if !strings.HasPrefix(r.stdout, "Resetting database...\nDatabase successfully reset\nBootstrapping database...\n") {
			t.Fatalf("%s", r)
		}
	})
}

func insertLock(n *node, ttl string) {
	n.sql(`INSERT INTO locks (key, owner, ttl) VALUES ('migrations', 'other-node', now() + interval '` + ttl + `')`)
}

func TestLocks(t *testing.T) {
	const aborted = "aborted: another node is performing database changes\n"
	t.Run("2.3/finish with the lock held: aborted, exit 0", func(t *testing.T) {
		n := newDBNode(t)
		n.must(n.kong("2.8.4", "migrations", "bootstrap"), 0)
		n.must(n.kong("3.4.2", "migrations", "up"), 0)
		insertLock(n, "60 seconds")
		r := n.must(n.kong("3.4.2", "migrations", "finish"), 0)
		if r.stdout != aborted {
			t.Fatalf("%s", r)
		}
		n.must(n.kong("3.4.2", "migrations", "list"), 4)
	})
	t.Run("2.3/bootstrap with the lock held: aborted, exit 0", func(t *testing.T) {
		n := newDBNode(t)
		n.sql(`CREATE TABLE locks (key text PRIMARY KEY, owner text, ttl timestamptz)`)
		insertLock(n, "60 seconds")
		r := n.must(n.kong("3.4.2", "migrations", "bootstrap"), 0)
		if r.stdout != "Bootstrapping database...\n"+aborted {
			t.Fatalf("%s", r)
		}
	})
	t.Run("2.3/up waits, lock released: aborted, exit 0, nothing migrated", func(t *testing.T) {
		n := newDBNode(t)
		n.must(n.kong("2.8.4", "migrations", "bootstrap"), 0)
		insertLock(n, "60 seconds")
		go func() {
			time.Sleep(1500 * time.Millisecond)
			n.sql(`DELETE FROM locks`)
		}()
		start := time.Now()
		r := n.must(n.kong("3.4.2", "migrations", "up"), 0)
		if r.stdout != aborted || time.Since(start) < time.Second {
			t.Fatalf("after %s: %s", time.Since(start), r)
		}
		n.must(n.kong("3.4.2", "migrations", "list"), 5)
	})
	t.Run("2.3/up waits, lock-timeout runs out: timeout, exit 1", func(t *testing.T) {
		n := newDBNode(t)
		n.must(n.kong("2.8.4", "migrations", "bootstrap"), 0)
		insertLock(n, "60 seconds")
		r := n.must(n.kong("3.4.2", "migrations", "up", "--lock-timeout", "1"), 1)
		if !strings.HasPrefix(r.stderr, "Error: [PostgreSQL error] timeout\n") {
			t.Fatalf("%s", r)
		}
	})
	t.Run("2.3/expired lock is cleaned up without a manual step", func(t *testing.T) {
		n := newDBNode(t)
		n.must(n.kong("2.8.4", "migrations", "bootstrap"), 0)
		insertLock(n, "-1 seconds")
		r := n.must(n.kong("3.4.2", "migrations", "up"), 0)
		if !strings.Contains(r.stdout, "15 migrations processed") {
			t.Fatalf("%s", r)
		}
		var locks int
		n.queryRow(`SELECT count(*) FROM locks`, &locks)
		if locks != 0 {
			t.Fatalf("%d lock rows left", locks)
		}
	})
	t.Run("8.3/FAKE_KONG_CRASH_AFTER leaves the lock and partial rows, exit 137; TTL frees it", func(t *testing.T) {
		n := newDBNode(t)
		n.must(n.kong("2.8.4", "migrations", "bootstrap"), 0)
		os.MkdirAll(n.prefix, 0o755)
		os.WriteFile(filepath.Join(n.prefix, kongsim.FaultFile), []byte("FAKE_KONG_CRASH_AFTER=3\n"), 0o644)
		r := n.must(n.kong("3.4.2", "migrations", "up", "--lock-timeout", "2"), 137)
		if !strings.Contains(r.stdout, "core migrated up to: 018_310_to_320 (executed)") || strings.Contains(r.stdout, "019_320_to_330") {
			t.Fatalf("%s", r)
		}
		var locks int
		n.queryRow(`SELECT count(*) FROM locks WHERE key = 'migrations'`, &locks)
		if locks != 1 {
			t.Fatal("lock row not left behind")
		}
		os.Remove(filepath.Join(n.prefix, kongsim.FaultFile))
		if r := n.must(n.kong("3.4.2", "migrations", "finish"), 0); r.stdout != aborted {
			t.Fatalf("finish during stale lock: %s", r)
		}
		time.Sleep(2200 * time.Millisecond)
		r = n.must(n.kong("3.4.2", "migrations", "up", "-f"), 0)
		if !strings.Contains(r.stdout, "\n12 migrations processed\n9 executed\n3 pending\n") {
			t.Fatalf("resume: %s", r)
		}
	})
	t.Run("8.3/FAKE_KONG_MIGRATION_FAIL fails the callback, removes the lock, exit 1", func(t *testing.T) {
		n := newDBNode(t)
		n.must(n.kong("2.8.4", "migrations", "bootstrap"), 0)
		n.env = []string{"FAKE_KONG_MIGRATION_FAIL=017_300_to_310"}
		r := n.must(n.kong("3.4.2", "migrations", "up"), 1)
		if !strings.HasPrefix(r.stderr, "Error: [PostgreSQL error] cluster_mutex callback threw an error: ") ||
			!strings.Contains(r.stderr, "failed to run migration '017_300_to_310' up: ") ||
			!strings.Contains(r.stdout, "core migrated up to: 016_280_to_300 (pending)") {
			t.Fatalf("%s", r)
		}
		var locks int
		n.queryRow(`SELECT count(*) FROM locks`, &locks)
		if locks != 0 {
			t.Fatal("lock left after a failed callback")
		}
	})
	t.Run("8.3/FAKE_KONG_SLOW slows each migration", func(t *testing.T) {
		n := newDBNode(t)
		n.must(n.kong("2.8.4", "migrations", "bootstrap"), 0)
		n.env = []string{"FAKE_KONG_SLOW=0.1"}
		start := time.Now()
		n.must(n.kong("3.4.2", "migrations", "up"), 0)
		if d := time.Since(start); d < 1500*time.Millisecond {
			t.Fatalf("15 migrations at 0.1s took %s", d)
		}
	})
}

func sessionID(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	var sid int
	fmt.Sscan(f[3], &sid)
	return sid
}

// livePid: exists and is not a zombie (the test's sandbox may reap late).
func livePid(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	return s[strings.LastIndexByte(s, ')')+2] != 'Z'
}

func TestStartStop(t *testing.T) {
	n := newDBNode(t)
	t.Run("2.4/start refuses needs-bootstrap, exit 1", func(t *testing.T) {
		r := n.must(n.kong("3.4.2", "start"), 1)
		if !strings.HasPrefix(r.stderr, "Error: /usr/local/share/lua/5.1/kong/cmd/utils/migrations.lua:17: Database needs bootstrapping or is older than Kong 1.0.") {
			t.Fatalf("%s", r)
		}
	})
	n.must(n.kong("2.8.4", "migrations", "bootstrap"), 0)
	t.Run("2.4/start refuses new migrations, exit 1", func(t *testing.T) {
		r := n.must(n.kong("3.4.2", "start"), 1)
		if !strings.HasPrefix(r.stderr, "Error: /usr/local/share/lua/5.1/kong/cmd/utils/migrations.lua:20: New migrations available; run 'kong migrations up' to proceed\n") {
			t.Fatalf("%s", r)
		}
		if n.pid() != 0 {
			t.Fatal("pid file written by a refused start")
		}
	})
	n.must(n.kong("3.4.2", "migrations", "up"), 0)
	t.Run("2.4/start with pending migrations prints them and starts", func(t *testing.T) {
		r := n.must(n.kong("3.4.2", "start"), 0)
		if r.stdout != "Database has pending migrations:\n         core: 016_280_to_300\n     http-log: 001_280_to_300\npost-function: 001_280_to_300\n pre-function: 001_280_to_300\n\nKong started\n" {
			t.Fatalf("%s", r)
		}
		pid := n.pid()
		if pid == 0 || sessionID(pid) != pid {
			t.Fatalf("daemon pid %d is not a session leader (sid %d)", pid, sessionID(pid))
		}
		for _, f := range []string{".kong_env", "nginx.conf", "logs/error.log"} {
			if _, err := os.Stat(filepath.Join(n.prefix, f)); err != nil {
				t.Errorf("missing %s", f)
			}
		}
	})
	t.Run("3.1/start when running: already running", func(t *testing.T) {
		r := n.must(n.kong("3.4.2", "start"), 1)
		if !strings.HasPrefix(r.stderr, "Error: Kong is already running in "+n.prefix+"\n") {
			t.Fatalf("%s", r)
		}
	})
	t.Run("3.1/health", func(t *testing.T) {
		r := n.must(n.run(sim(t, "3.4.2"), "health", "-p", n.prefix), 0)
		if r.stdout != "nginx.......running\n\nKong is healthy at "+n.prefix+"\n" {
			t.Fatalf("%s", r)
		}
	})
	admin := fmt.Sprintf("http://127.0.0.1:%d", n.admin)
	proxy := fmt.Sprintf("http://127.0.0.1:%d", n.proxy)
	status := fmt.Sprintf("http://127.0.0.1:%d", n.status)
	t.Run("8.5/admin API writes to the database and the proxy routes by it", func(t *testing.T) {
		code, body := httpDo(t, "GET", admin+"/", nil)
		var root map[string]any
		json.Unmarshal([]byte(body), &root)
		if code != 200 || root["version"] != "3.4.2" || root["edition"] != "community" || root["tagline"] != "Welcome to kong" || root["node_id"] == nil {
			t.Fatalf("GET / %d %s", code, body)
		}
		if code, body := httpDo(t, "POST", admin+"/services", map[string]any{"name": "echo", "url": "http://echo.internal/up"}); code != 201 {
			t.Fatalf("%d %s", code, body)
		}
		if code, body := httpDo(t, "POST", admin+"/services/echo/routes", map[string]any{"name": "r1", "paths": []string{"~/users/\\d+$"}}); code != 201 {
			t.Fatalf("%d %s", code, body)
		}
		if code, body := httpDo(t, "POST", admin+"/services", map[string]any{"name": "echo", "host": "x"}); code != 409 {
			t.Fatalf("duplicate name: %d %s", code, body)
		}
		eventually(t, "route served", func() (bool, string) {
			code, body := httpDo(t, "GET", proxy+"/users/7", nil)
			return code == 200 && strings.Contains(body, `"echo":true`), fmt.Sprint(code, body)
		})
		if code, body := httpDo(t, "GET", proxy+"/users/x", nil); code != 404 || strings.TrimSpace(body) != `{"message":"no Route matched with those values"}` {
			t.Fatalf("%d %s", code, body)
		}
		if code, body := httpDo(t, "PATCH", admin+"/routes/r1", map[string]any{"paths": []string{"/v2"}}); code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		eventually(t, "patched route served", func() (bool, string) {
			code, body := httpDo(t, "GET", proxy+"/v2/x", nil)
			return code == 200 && strings.Contains(body, `"path":"/up/x"`), fmt.Sprint(code, body)
		})
		if code, body := httpDo(t, "DELETE", admin+"/services/echo", nil); code != 400 {
			t.Fatalf("delete referenced service: %d %s", code, body)
		}
		code, body = httpDo(t, "GET", status+"/status", nil)
		if code != 200 || !strings.Contains(body, `"database":{"reachable":true}`) {
			t.Fatalf("status %d %s", code, body)
		}
		code, body = httpDo(t, "GET", status+"/metrics", nil)
		if code != 200 || !strings.Contains(body, `kong_node_info{node_id="`) || !strings.Contains(body, `kong_http_requests_total{service="echo",route="r1",code="200"`) ||
			!strings.Contains(body, `code="404",source="kong"`) || !strings.Contains(body, "kong_datastore_reachable 1") {
			t.Fatalf("metrics %d %s", code, body)
		}
		if code, _ := httpDo(t, "GET", status+"/status/ready", nil); code != 200 {
			t.Fatalf("ready %d", code)
		}
	})
	t.Run("3.1/reload", func(t *testing.T) {
		r := n.must(n.kong("3.4.2", "reload"), 0)
		if r.stdout != "Kong reloaded\n" {
			t.Fatalf("%s", r)
		}
	})
	t.Run("3.1/quit gracefully", func(t *testing.T) {
		pid := n.pid()
		r := n.must(n.run(sim(t, "3.4.2"), "quit", "-p", n.prefix), 0)
		if r.stdout != "Kong stopped (gracefully)\n" || livePid(pid) {
			t.Fatalf("%s", r)
		}
	})
	t.Run("3.1/stop when not running", func(t *testing.T) {
		r := n.must(n.run(sim(t, "3.4.2"), "stop", "-p", n.prefix), 1)
		if !strings.HasPrefix(r.stderr, "Error: nginx not running in prefix: "+n.prefix+"\n") {
			t.Fatalf("%s", r)
		}
	})
	t.Run("3.1/restart then stop", func(t *testing.T) {
		n.must(n.kong("3.4.2", "start"), 0)
		r := n.must(n.kong("3.4.2", "restart"), 0)
		if !strings.HasSuffix(r.stdout, "Kong started\n") {
			t.Fatalf("%s", r)
		}
		r = n.must(n.run(sim(t, "3.4.2"), "stop", "-p", n.prefix), 0)
		if r.stdout != "Kong stopped\n" {
			t.Fatalf("%s", r)
		}
		if code, _ := httpDo(t, "GET", proxy+"/", nil); code != 0 {
			t.Fatal("proxy still answering after stop")
		}
	})
	t.Run("8.3/FAKE_KONG_REFUSE_START: nginx-like error, exit 1", func(t *testing.T) {
		os.WriteFile(filepath.Join(n.prefix, kongsim.FaultFile), []byte("FAKE_KONG_REFUSE_START=1\n"), 0o644)
		defer os.Remove(filepath.Join(n.prefix, kongsim.FaultFile))
		r := n.must(n.kong("3.4.2", "start"), 1)
		if !strings.Contains(r.stderr, "Error: nginx: [emerg] bind() to 127.0.0.1:") {
			t.Fatalf("%s", r)
		}
	})
	t.Run("8.3/FAKE_KONG_START_5XX: starts, proxy answers 500", func(t *testing.T) {
		n.env = []string{"FAKE_KONG_START_5XX=1"}
		defer func() { n.env = nil }()
		n.must(n.kong("3.4.2", "start"), 0)
		if code, _ := httpDo(t, "GET", proxy+"/users/1", nil); code != 500 {
			t.Fatalf("proxy %d", code)
		}
		n.must(n.run(sim(t, "3.4.2"), "stop", "-p", n.prefix), 0)
	})
	t.Run("8.3/FAKE_KONG_SLOW_STOP: quit times out and stops forcefully", func(t *testing.T) {
		n.env = []string{"FAKE_KONG_SLOW_STOP=5"}
		defer func() { n.env = nil }()
		n.must(n.kong("3.4.2", "start"), 0)
		r := n.must(n.run(sim(t, "3.4.2"), "quit", "-p", n.prefix, "-t", "1"), 0)
		if r.stdout != "Timeout, Kong stopped forcefully\n" {
			t.Fatalf("%s", r)
		}
	})
	t.Run("2.4/start --run-migrations runs up first", func(t *testing.T) {
		m := newDBNode(t)
		m.must(m.kong("2.8.4", "migrations", "bootstrap"), 0)
		r := m.must(m.kong("3.4.2", "start", "--run-migrations"), 0)
		if !strings.Contains(r.stdout, "15 migrations processed") || !strings.HasSuffix(r.stdout, "Kong started\n") {
			t.Fatalf("%s", r)
		}
		m.must(m.run(sim(t, "3.4.2"), "stop", "-p", m.prefix), 0)
	})
}

func TestDaemonVersions(t *testing.T) {
	t.Run("4.5/2.8 metrics names, no status API by default", func(t *testing.T) {
		n := newDBNode(t)
		// default status_listen (off before 3.6): drop the test's explicit one
		b, _ := os.ReadFile(n.conf)
		os.WriteFile(n.conf, []byte(regexp.MustCompile(`(?m)^status_listen.*$`).ReplaceAllString(string(b), "")), 0o600)
		n.must(n.kong("2.8.4", "migrations", "bootstrap"), 0)
		n.must(n.kong("2.8.4", "start"), 0)
		defer n.run(sim(t, "2.8.4"), "stop", "-p", n.prefix)
		code, body := httpDo(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/metrics", n.admin), nil)
		if code != 200 || !strings.Contains(body, "kong_nginx_http_current_connections{") || strings.Contains(body, "kong_node_info") || strings.Contains(body, "kong_nginx_requests_total") {
			t.Fatalf("%d %s", code, body)
		}
		if code, _ := httpDo(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/status", n.status), nil); code != 0 {
			t.Fatal("status listener on 2.8 by default")
		}
		// 2.x writes run_on; a plugin round-trips.
		if code, body := httpDo(t, "POST", fmt.Sprintf("http://127.0.0.1:%d/plugins", n.admin), map[string]any{"name": "cors"}); code != 201 {
			t.Fatalf("%d %s", code, body)
		}
	})
	t.Run("6.7/2.8 on a finished 3.4 database: plugins break", func(t *testing.T) {
		n := newDBNode(t)
		n.must(n.kong("2.8.4", "migrations", "bootstrap"), 0)
		n.must(n.kong("3.4.2", "migrations", "up"), 0)
		n.must(n.kong("3.4.2", "migrations", "finish"), 0)
		n.must(n.kong("2.8.4", "migrations", "list"), 0)
		n.must(n.kong("2.8.4", "start"), 0)
		defer n.run(sim(t, "2.8.4"), "stop", "-p", n.prefix)
		code, body := httpDo(t, "POST", fmt.Sprintf("http://127.0.0.1:%d/plugins", n.admin), map[string]any{"name": "cors"})
		if code != 500 || !strings.Contains(body, "run_on") {
			t.Fatalf("%d %s", code, body)
		}
	})
	t.Run("3.1/drain (3.9): /status/ready 503 draining", func(t *testing.T) {
		n := newDBNode(t)
		n.must(n.kong("3.9.1", "migrations", "bootstrap"), 0)
		n.must(n.kong("3.9.1", "start"), 0)
		defer n.run(sim(t, "3.9.1"), "stop", "-p", n.prefix)
		ready := fmt.Sprintf("http://127.0.0.1:%d/status/ready", n.status)
		if code, _ := httpDo(t, "GET", ready, nil); code != 200 {
			t.Fatalf("ready %d", code)
		}
		n.must(n.kong("3.9.1", "drain"), 0)
		if code, body := httpDo(t, "GET", ready, nil); code != 503 || strings.TrimSpace(body) != `{"message":"draining"}` {
			t.Fatalf("%d %s", code, body)
		}
	})
	t.Run("8.5/enterprise GET / and workspaces", func(t *testing.T) {
		n := newDBNode(t)
		n.must(n.kong("3.4.3.5", "migrations", "bootstrap"), 0)
		n.must(n.kong("3.4.3.5", "start"), 0)
		defer n.run(sim(t, "3.4.3.5"), "stop", "-p", n.prefix)
		_, body := httpDo(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/", n.admin), nil)
		if !strings.Contains(body, `"edition":"enterprise"`) || !strings.Contains(body, `"version":"3.4.3.5-enterprise-edition"`) {
			t.Fatal(body)
		}
		if code, body := httpDo(t, "POST", fmt.Sprintf("http://127.0.0.1:%d/workspaces", n.admin), map[string]any{"name": "team-a"}); code != 201 {
			t.Fatalf("%d %s", code, body)
		}
		_, body = httpDo(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/workspaces", n.admin), nil)
		if !strings.Contains(body, `"name":"default"`) || !strings.Contains(body, `"name":"team-a"`) {
			t.Fatal(body)
		}
	})
	t.Run("8.5/database outage: reachable false, last router keeps serving", func(t *testing.T) {
		pg := pgtest.Start(t)
		n := newNode(t, pg, "kong")
		n.must(n.kong("3.4.2", "migrations", "bootstrap"), 0)
		n.must(n.kong("3.4.2", "start"), 0)
		defer n.run(sim(t, "3.4.2"), "stop", "-p", n.prefix)
		admin := fmt.Sprintf("http://127.0.0.1:%d", n.admin)
		httpDo(t, "POST", admin+"/services", map[string]any{"name": "e", "url": "http://echo.internal"})
		httpDo(t, "POST", admin+"/services/e/routes", map[string]any{"paths": []string{"/e"}})
		proxy := fmt.Sprintf("http://127.0.0.1:%d/e", n.proxy)
		eventually(t, "route", func() (bool, string) { c, b := httpDo(t, "GET", proxy, nil); return c == 200, b })
		pg.Stop()
		eventually(t, "reachable false", func() (bool, string) {
			_, b := httpDo(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/status", n.status), nil)
			return strings.Contains(b, `"reachable":false`), b
		})
		time.Sleep(1500 * time.Millisecond)
		if c, b := httpDo(t, "GET", proxy, nil); c != 200 {
			t.Fatalf("proxy during outage %d %s", c, b)
		}
	})
}

func TestHybrid(t *testing.T) {
	db := freshDB(t, sharedPG)
	cp := newNode(t, sharedPG, db, "role = control_plane")
	cp.must(cp.kong("3.4.2", "migrations", "bootstrap"), 0)
	cp.must(cp.kong("3.4.2", "start"), 0)
	defer cp.run(sim(t, "3.4.2"), "stop", "-p", cp.prefix)
	admin := fmt.Sprintf("http://127.0.0.1:%d", cp.admin)
	httpDo(t, "POST", admin+"/services", map[string]any{"name": "e", "url": "http://echo.internal"})
	httpDo(t, "POST", admin+"/services/e/routes", map[string]any{"paths": []string{"/h"}})
	dpConf := []string{"role = data_plane", "database = off", fmt.Sprintf("cluster_control_plane = 127.0.0.1:%d", cp.clu)}
	dp := newNode(t, nil, "", dpConf...)
	dp.must(dp.kong("3.4.2", "start"), 0)
	defer dp.run(sim(t, "3.4.2"), "stop", "-p", dp.prefix)
	proxy := fmt.Sprintf("http://127.0.0.1:%d/h", dp.proxy)
	t.Run("6.9/compatible data plane gets the configuration", func(t *testing.T) {
		eventually(t, "dp serves", func() (bool, string) { c, b := httpDo(t, "GET", proxy, nil); return c == 200, b })
		_, body := httpDo(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/status", dp.status), nil)
		if !strings.Contains(body, "configuration_hash") || strings.Contains(body, "database") {
			t.Fatal(body)
		}
	})
	old := newNode(t, nil, "", dpConf...)
	old.must(old.kong("3.9.1", "start"), 0)
	defer old.run(sim(t, "3.9.1"), "stop", "-p", old.prefix)
	t.Run("6.9/newer-minor data plane is refused and recorded", func(t *testing.T) {
		eventually(t, "both listed", func() (bool, string) {
			_, body := httpDo(t, "GET", admin+"/clustering/data-planes", nil)
			var v struct {
				Data []kongsim.DataPlane `json:"data"`
			}
			json.Unmarshal([]byte(body), &v)
			status := map[string]string{}
			for _, d := range v.Data {
				status[d.Version] = d.SyncStatus
			}
			return status["3.4.2"] == "normal" && status["3.9.1"] == "kong_version_incompatible", body
		})
		if c, _ := httpDo(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/h", old.proxy), nil); c == 200 {
			t.Fatal("refused data plane serves the CP's routes")
		}
	})
	t.Run("6.9/data plane restarts from config.cache without its control plane", func(t *testing.T) {
		cp.must(cp.run(sim(t, "3.4.2"), "stop", "-p", cp.prefix), 0)
		dp.must(dp.kong("3.4.2", "restart"), 0)
		if c, b := httpDo(t, "GET", proxy, nil); c != 200 {
			t.Fatalf("%d %s", c, b)
		}
	})
	_ = context.Background
}
