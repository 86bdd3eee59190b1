//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kongctl/kongctl/lab/labenv"
)

// dbConnect connects to the lab's Kong database; the caller closes it.
func (e *env) dbConnect(ctx context.Context) *pgx.Conn {
	e.t.Helper()
	dsn, err := e.lab.DSN()
	if err != nil {
		e.t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		e.t.Fatalf("connect to the lab database: %v", err)
	}
	return conn
}

// tableWrites is a table's cumulative inserts plus updates, from the lab
// database's statistics.
func (e *env) tableWrites(table string) int64 {
	e.t.Helper()
	ctx, cancel := shortCtx()
	defer cancel()
	conn := e.dbConnect(ctx)
	defer conn.Close(context.Background())
	var n int64
	if err := conn.QueryRow(ctx, "SELECT coalesce(sum(n_tup_ins + n_tup_upd), 0)::int8 FROM pg_stat_user_tables WHERE schemaname = 'public' AND relname = $1", table).Scan(&n); err != nil {
		e.t.Fatalf("writes to %s: %v", table, err)
	}
	return n
}

// runEvent is the part of a --output json event these tests read.
type runEvent struct {
	Time    time.Time `json:"time"`
	Type    string    `json:"type"`
	Phase   string    `json:"phase"`
	Message string    `json:"message"`
	Seconds float64   `json:"duration_seconds"`
}

// runEvents decodes the events of a --output json run.
func runEvents(t *testing.T, stdout string) []runEvent {
	t.Helper()
	var evs []runEvent
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var ev runEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("event %.200q: %v", line, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// findEvent is the first event of typ for phase.
func findEvent(t *testing.T, evs []runEvent, typ, phase string) runEvent {
	t.Helper()
	for _, ev := range evs {
		if ev.Type == typ && ev.Phase == phase {
			return ev
		}
	}
	t.Fatalf("no %s event for phase %s", typ, phase)
	return runEvent{}
}

func runMessages(evs []runEvent) string {
	var b strings.Builder
	for _, ev := range evs {
		if ev.Type == "message" {
			b.WriteString(ev.Message + "\n")
		}
	}
	return b.String()
}

// upgradeRefusedStart runs an upgrade in which Y refuses to start on bad:
// the fault hits the first start after the upgrade's stop and is lifted
// once the start phase failed, so that X can start again. The run must
// roll back (exit 3).
func (e *env) upgradeRefusedStart(bad string) *running {
	e.t.Helper()
	e.writeFault(bad, "FAKE_KONG_REFUSE_START=1")
	run := e.start("upgrade", "-i", e.inv, "--yes", "--output", "json")
	run.waitEvent(e.t, 3*time.Minute, "a failed start phase", func(ev event) bool {
		return ev.Type == "phase_end" && ev.Phase == "start" && ev.Status == "failed"
	})
	e.clearFault(bad)
	if code := run.wait(e.t, 3*time.Minute); code != 3 {
		e.t.Fatalf("upgrade: exit %d, want 3 (rolled back)\nstdout:\n%s\nstderr:\n%s", code, run.stdout, run.stderr)
	}
	return run
}

// fastHeartbeats makes the data planes heartbeat every 100 ms (the
// simulator's lab-only FAKE_KONG_CLUSTER_PING, read on reload) and
// returns the rate measured in clustering_data_planes.
func (e *env) fastHeartbeats(dps []string) float64 {
	e.t.Helper()
	for _, dp := range dps {
		e.writeFault(dp, "FAKE_KONG_CLUSTER_PING=0.1")
		ctx, cancel := shortCtx()
		out, err := e.lab.Exec(ctx, dp, "kong reload")
		cancel()
		if err != nil {
			e.t.Fatalf("%s: kong reload: %v: %s", dp, err, out)
		}
	}
	// The control plane's backend flushes its counts at most once a
	// second: over 4 s, well above the default's one a second per data
	// plane is enough.
	const span = 4 * time.Second
	h0 := e.tableWrites("clustering_data_planes")
	time.Sleep(span)
	rate := float64(e.tableWrites("clustering_data_planes")-h0) / span.Seconds()
	if want := 2.5 * float64(len(dps)); rate < want {
		e.t.Fatalf("clustering_data_planes takes %.1f heartbeats a second, want about %d", rate, 10*len(dps))
	}
	e.t.Logf("clustering_data_planes: %.1f heartbeats a second", rate)
	return rate
}

// Issue 15, item 5: hybrid data planes heartbeat every 100 ms throughout
// the upgrade (the simulator's lab-only FAKE_KONG_CLUSTER_PING; each sync
// is an upsert into clustering_data_planes by the control plane). The
// write check after the stop compares the configuration tables' write
// counters, so the heartbeats between the backup and the stop no longer
// make kongctl take the backup again.
func TestHybridHeartbeatsDoNotRetakeBackup(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2, Hybrid: true, DPs: 2, Edition: labenv.EditionEnterprise, From: "3.4.3.5", To: "3.10.0.2"})
	cps, dps := names(e.lab.KongHosts()), names(e.lab.DataPlanes())
	rate := e.fastHeartbeats(dps)

	r := e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	if r.code != 0 {
		t.Fatalf("upgrade: %s", r)
	}
	rep := finalReport(t, r.stdout)
	evs := runEvents(t, r.stdout)
	// Heartbeats landed between the write counters (the backup's start)
	// and the stop.
	window := findEvent(t, evs, "phase_start", "stop").Time.Sub(findEvent(t, evs, "phase_start", "backup").Time)
	if want := time.Duration(float64(time.Second) * 3 / rate); window < want {
		t.Fatalf("only %s between the backup and the stop: fewer than 3 heartbeats", window)
	}
	t.Logf("%s between the backup's start and the stop: about %.0f heartbeats", window.Round(time.Millisecond), window.Seconds()*rate)
	if msg, ok := rep.finding("writes-during-freeze"); ok {
		t.Errorf("heartbeats made kongctl take the backup again: %s", msg)
	}
	if rep.Backup == nil || !strings.HasSuffix(rep.Backup.Path, "-pre.dump") {
		t.Errorf("kept backup %+v, want the one taken before the stop", rep.Backup)
	}
	if msgs := runMessages(evs); !strings.Contains(msgs, "write check: the write counters of") {
		t.Errorf("the check after the stop did not compare write counters:\n%s", msgs)
	}
	t.Logf("backup-check took %.3fs", findEvent(t, evs, "phase_end", "backup-check").Seconds)
	e.requireVersion("3.10.0.2", cps...)
	e.requireServing(dps, labRoutes[:1])
}

// With no retake after the stop any more, a rollback restores the backup
// taken while heartbeats landed, and its check against the backup's
// fingerprint (the dump's own snapshot) must pass. Y refuses to start on
// the second control plane; the run rolls back (exit 3). (last_seen has
// a resolution of one second, as Kong's: a fingerprint taken apart from
// the dump differs only when a second boundary falls between them, so the
// unit test TestWriteCheckKeptBackupRestoresAfterChurn is what pins the
// snapshot fingerprint down.)
func TestHybridHeartbeatsRollbackRestoresKeptBackup(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2, Hybrid: true, DPs: 2, Edition: labenv.EditionEnterprise, From: "3.4.3.5", To: "3.10.0.2"})
	cps, dps := names(e.lab.KongHosts()), names(e.lab.DataPlanes())
	e.fastHeartbeats(dps)
	run := e.upgradeRefusedStart(cps[1])
	rep := finalReport(t, run.stdout.String())
	if msg, ok := rep.finding("writes-during-freeze"); ok {
		t.Errorf("heartbeats made kongctl take the backup again: %s", msg)
	}
	if rep.Backup == nil || !strings.HasSuffix(rep.Backup.Path, "-pre.dump") || rep.Outcome != "rolled-back" {
		t.Errorf("outcome %s, kept backup %+v: want rolled back from the backup taken before the stop (%s)", rep.Outcome, rep.Backup, rep.Error)
	}
	e.requireVersion("3.4.3.5", cps...)
	e.requireServing(dps, labRoutes[:1])
}

// Issue 15, item 5: a route written through a node's Admin API between the
// backup and the stop (a before_stop hook on the bastion) is caught by the
// write check: the finding names routes, the backup is taken again, and
// the kept backup holds the route.
func TestWriteBetweenBackupAndStopRetakesBackup(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2, From: "2.8.4", To: "3.4.2"})
	nodes := names(e.lab.KongHosts())
	e.createEntities(nodes[0])
	e.requireServing(nodes, labRoutes)
	post := fmt.Sprintf(`curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"name":"freeze-write","paths":["/freeze-write"],"strip_path":true}' http://%s:8001/services/e2e/routes`,
		e.lab.Address(nodes[1]))
	e.inv = e.writeInventory(func(s string) string {
		return s + "\nhook \"before_stop\" {\n  command = " + strconv.Quote(post) + "\n  on      = \"bastion\"\n}\n"
	})

	r := e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	if r.code != 0 {
		t.Fatalf("upgrade: %s", r)
	}
	rep := finalReport(t, r.stdout)
	msg, ok := rep.finding("writes-during-freeze")
	if !ok || !strings.Contains(msg, "routes") {
		t.Fatalf("finding %q (found %v), want writes-during-freeze naming routes\n%s", msg, ok, r)
	}
	t.Logf("finding: %s (backup-check with the retake: %.3fs)", msg, findEvent(t, runEvents(t, r.stdout), "phase_end", "backup-check").Seconds)
	if rep.Backup == nil || !strings.HasSuffix(rep.Backup.Path, "-final.dump") || rep.Backup.LocalPath == "" {
		t.Fatalf("kept backup %+v, want the one taken again after the stop, copied to the bastion", rep.Backup)
	}
	restore, err := filepath.Glob("/usr/lib/postgresql/*/bin/pg_restore")
	if err != nil || len(restore) == 0 {
		t.Fatalf("pg_restore not found: %v", err)
	}
	ctx, cancel := shortCtx()
	defer cancel()
	out, err := exec.CommandContext(ctx, restore[len(restore)-1], "--data-only", "--table=routes", "--file=-", rep.Backup.LocalPath).CombinedOutput()
	if err != nil {
		t.Fatalf("pg_restore %s: %v: %s", rep.Backup.LocalPath, err, out)
	}
	if !strings.Contains(string(out), "freeze-write") {
		t.Errorf("the kept backup %s lacks the route written before the stop:\n%s", rep.Backup.LocalPath, out)
	}
	e.requireVersion("3.4.2", nodes...)
	e.requireServing(nodes, append(labRoutes, route{"/freeze-write", ""}))
}

// A stopped node's connection that outlives its Kong (a query the node
// started before its stop runs on without its client; here a psql
// session from the node's address, sleeping ten minutes): the write check
// ends it, the counters settle at once and prove the backup whole, and no
// table is fingerprinted inside the downtime.
func TestWriteCheckEndsStoppedNodesConnection(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2, From: "2.8.4", To: "3.4.2"})
	nodes := names(e.lab.KongHosts())
	dsn, err := e.lab.DSN()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	// The password is read by the node's shell from the lab's file (no
	// secret on a command line).
	e.ssh(nodes[1], fmt.Sprintf(`PGPASSWORD="$(cat '%s')" PGAPPNAME=e2e-lingering nohup psql -h %s -p %d -U %s -d %s -Atc 'SELECT pg_sleep(600)' >/dev/null 2>&1 </dev/null &`,
		e.lab.PasswordFile(), cfg.Host, cfg.Port, cfg.User, cfg.Database))
	lingering := func() int {
		ctx, cancel := shortCtx()
		defer cancel()
		conn := e.dbConnect(ctx)
		defer conn.Close(context.Background())
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'e2e-lingering' AND host(client_addr) = $1",
			e.lab.Address(nodes[1])).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.Now().Add(20 * time.Second)
	for lingering() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the psql session from %s never showed in pg_stat_activity", nodes[1])
		}
		time.Sleep(200 * time.Millisecond)
	}

	r := e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	if r.code != 0 {
		t.Fatalf("upgrade: %s", r)
	}
	evs := runEvents(t, r.stdout)
	msgs := runMessages(evs)
	want := fmt.Sprintf("write check: ended 1 connection(s) the stopped nodes left to Kong's database (e2e-lingering@%s)", e.lab.Address(nodes[1]))
	if !strings.Contains(msgs, want) {
		t.Errorf("notes lack %q:\n%s", want, msgs)
	}
	if strings.Contains(msgs, "fingerprinting the configuration tables instead") || !strings.Contains(msgs, "are as before the backup") {
		t.Errorf("the counters did not settle after the session was ended:\n%s", msgs)
	}
	if n := lingering(); n != 0 {
		t.Errorf("%d e2e-lingering session(s) still connected after the upgrade", n)
	}
	t.Logf("backup-check took %.3fs", findEvent(t, evs, "phase_end", "backup-check").Seconds)
	e.requireVersion("3.4.2", nodes...)
}
