//go:build integration && !nodeagent

package agent

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kongctl/kongctl/agent/agentproto"
	"github.com/kongctl/kongctl/lab/pgtest"
)

// buildSim builds the Kong simulator (lab/cmd/kong) and returns wrappers
// that run it as the given versions.
func buildSim(t *testing.T, versions ...string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	sim := filepath.Join(dir, "kongsim")
	cmd := exec.Command("go", "build", "-o", sim, "github.com/kongctl/kongctl/lab/cmd/kong")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build simulator: %v\n%s", err, out)
	}
	bins := map[string]string{}
	for _, v := range versions {
		w := filepath.Join(dir, "kong-"+v)
		script := fmt.Sprintf("#!/bin/sh\nFAKE_KONG_VERSION=%s exec %s \"$@\"\n", v, sim)
		if err := os.WriteFile(w, []byte(script), 0o700); err != nil {
			t.Fatal(err)
		}
		bins[v] = w
	}
	return bins
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// writeConf writes a kong.conf for s without pg_password (the agent hands
// it to kong as KONG_PG_PASSWORD).
func writeConf(t *testing.T, s *pgtest.Server) (conf, prefix, admin, status string) {
	t.Helper()
	dir := t.TempDir()
	prefix = filepath.Join(dir, "prefix")
	admin, status = freeAddr(t), freeAddr(t)
	proxy := freeAddr(t)
	conf = filepath.Join(dir, "kong.conf")
	body := fmt.Sprintf("prefix = %s\ndatabase = postgres\npg_host = %s\npg_port = %d\npg_user = %s\npg_database = %s\n"+
		"proxy_listen = %s\nadmin_listen = %s\nstatus_listen = %s\n", prefix, s.Host, s.Port, s.User, s.Database, proxy, admin, status)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return conf, prefix, admin, status
}

func TestMigrationsAgainstSimulator(t *testing.T) {
	s := pgtest.Start(t)
	bins := buildSim(t, "2.8.4", "3.4.2")
	conf, _, _, _ := writeConf(t, s)
	a := testAgent(t)
	mig := func(bin, action string) (*agentproto.MigrationsResult, *agentproto.Reply) {
		return call[agentproto.MigrationsResult](t, a, agentproto.OpMigrations,
			agentproto.MigrationsParams{Action: action, KongBin: bin, Conf: conf, PGPassword: s.Password, LockTimeout: 5 * time.Second})
	}

	// Fresh database: needs bootstrap.
	r, rep := mig(bins["2.8.4"], "list")
	if r == nil || !r.State.NeedsBootstrap || r.ExitCode != 3 {
		t.Fatalf("list on empty db: %+v %+v\n%s", r, rep.Error, rep.StderrTail)
	}
	// Bootstrap at 2.8 through an exec hook (the agent has no bootstrap op).
	ex, rep := call[agentproto.ExecResult](t, a, agentproto.OpExec, agentproto.ExecParams{
		Command:   bins["2.8.4"] + " migrations bootstrap -c " + conf,
		SecretEnv: map[string]string{"KONG_PG_PASSWORD": s.Password}})
	if ex == nil || ex.ExitCode != 0 {
		t.Fatalf("bootstrap: %+v %+v", ex, rep)
	}
	if r, rep := mig(bins["2.8.4"], "list"); r == nil || r.ExitCode != 0 || !r.State.UpToDate() {
		t.Fatalf("2.8 list after bootstrap: %+v %+v", r, rep.Error)
	}
	// 3.4 sees new migrations (exit 5).
	r, rep = mig(bins["3.4.2"], "list")
	if r == nil || r.ExitCode != 5 || len(r.State.New) == 0 || len(r.State.Pending) != 0 {
		t.Fatalf("3.4 list: %+v %+v", r, rep.Error)
	}
	if st, rep := mig(bins["3.4.2"], "status"); st == nil || len(st.State.New) != len(r.State.New) {
		t.Fatalf("status: %+v %+v", st, rep.Error)
	}
	// 2.8 has no status: a typed kong failure, not a parse panic.
	if _, rep := mig(bins["2.8.4"], "status"); rep.Error == nil || rep.Error.Code != agentproto.CodeKongFailed {
		t.Fatalf("2.8 status: %+v", rep.Error)
	}
	// up: reference 1.4's worked example as 9.4 corrects it, 15 processed, 4
	// pending; list exit 4.
	r, rep = mig(bins["3.4.2"], "up")
	if r == nil {
		t.Fatalf("up: %+v\n%s", rep.Error, rep.StdoutTail)
	}
	if r.Processed != 15 || r.PendingN != 4 || r.State.ExitCode != 4 || len(r.State.Pending) == 0 || len(r.State.New) != 0 {
		t.Fatalf("up result: %+v", r)
	}
	// finish while another node holds Kong's lock: aborted, even with exit 0.
	execSQL(t, context.Background(), s, "INSERT INTO locks (key, owner, ttl) VALUES ('migrations', 'other-node', now() + interval '1 minute')")
	ml, _ := call[agentproto.MigrationLockResult](t, a, agentproto.OpMigrationLock, agentproto.MigrationLockParams{DB: dbConn(s)})
	if ml == nil || !ml.Held || ml.Owner != "other-node" {
		t.Fatalf("migration lock: %+v", ml)
	}
	if _, rep := mig(bins["3.4.2"], "finish"); rep.Error == nil || rep.Error.Code != agentproto.CodeAborted {
		t.Fatalf("finish under a held lock: %+v (exit %d)\n%s", rep.Error, rep.ExitStatus, rep.StdoutTail)
	}
	execSQL(t, context.Background(), s, "DELETE FROM locks")
	r, rep = mig(bins["3.4.2"], "finish")
	if r == nil || r.ExecutedN != 4 || r.State.ExitCode != 0 || !r.State.UpToDate() {
		t.Fatalf("finish: %+v %+v", r, rep.Error)
	}
	// Again: idempotent.
	if r, rep := mig(bins["3.4.2"], "up"); r == nil || !r.AlreadyDone {
		t.Fatalf("up again: %+v %+v", r, rep.Error)
	}
	if r, rep := mig(bins["3.4.2"], "finish"); r == nil || !r.AlreadyDone {
		t.Fatalf("finish again: %+v %+v", r, rep.Error)
	}
	// Unreachable database.
	bad := filepath.Join(t.TempDir(), "bad.conf")
	os.WriteFile(bad, []byte("pg_host = 127.0.0.1\npg_port = 1\nprefix = "+t.TempDir()+"\n"), 0o600)
	if _, rep := call[agentproto.MigrationsResult](t, a, agentproto.OpMigrations, agentproto.MigrationsParams{Action: "list", KongBin: bins["3.4.2"], Conf: bad}); rep.Error == nil || rep.Error.Code != agentproto.CodeDBUnreachable {
		t.Fatalf("unreachable: %+v", rep.Error)
	}
}

func TestServiceAgainstSimulator(t *testing.T) {
	s := pgtest.Start(t)
	bins := buildSim(t, "3.4.2", "3.9.1")
	conf, prefix, admin, status := writeConf(t, s)
	// The service ops run kong from a conf that carries the password, as a
	// real node's kong.conf does.
	b, _ := os.ReadFile(conf)
	os.WriteFile(conf, append(b, []byte("pg_password = "+s.Password+"\n")...), 0o600)
	a := testAgent(t)
	ex, rep := call[agentproto.ExecResult](t, a, agentproto.OpExec, agentproto.ExecParams{Command: bins["3.4.2"] + " migrations bootstrap -c " + conf})
	if ex == nil || ex.ExitCode != 0 {
		t.Fatalf("bootstrap: %+v %+v", ex, rep)
	}
	svc := agentproto.ServiceParams{Manager: agentproto.ManagerKongCLI, KongBin: bins["3.4.2"], Conf: conf, GraceTimeout: 5 * time.Second, StartTimeout: 30 * time.Second}

	// Facts read the conf (never the password) and see Kong stopped.
	f, rep := call[agentproto.Facts](t, a, agentproto.OpFacts, agentproto.FactsParams{KongBin: bins["3.4.2"], KongConf: conf})
	if f == nil {
		t.Fatal(rep.Error)
	}
	raw := fmt.Sprintf("%+v", f)
	if f.Kong.Version != "3.4.2" || f.Conf.Prefix != prefix || f.Conf.DB.Port != s.Port || !f.Conf.HasPGPassword || f.Service.Running || strings.Contains(raw, s.Password) {
		t.Fatalf("facts: %+v", f)
	}

	st, rep := call[agentproto.ServiceResult](t, a, agentproto.OpServiceStart, svc)
	if st == nil {
		t.Fatalf("start: %+v\n%s\n%s", rep.Error, rep.StdoutTail, rep.StderrTail)
	}
	if !st.Running || st.Health == nil || !st.Health.Healthy || st.Health.Version != "3.4.2" || st.PID == 0 {
		t.Fatalf("start result: %+v health %+v", st, st.Health)
	}
	if open := openPorts([]string{admin, status}); len(open) != 2 {
		t.Fatalf("open ports after start: %v", open)
	}
	// Start again: already done.
	if st2, rep := call[agentproto.ServiceResult](t, a, agentproto.OpServiceStart, svc); st2 == nil || !st2.AlreadyDone {
		t.Fatalf("start again: %+v %+v", st2, rep.Error)
	}
	if h, rep := call[agentproto.HealthResult](t, a, agentproto.OpHealth, agentproto.HealthParams{KongBin: bins["3.4.2"], Conf: conf}); h == nil || !h.Healthy {
		t.Fatalf("health: %+v %+v", h, rep.Error)
	}
	// Stop: 3.4 has no drain; quit; pid gone; ports closed.
	sp, rep := call[agentproto.ServiceResult](t, a, agentproto.OpServiceStop, svc)
	if sp == nil {
		t.Fatalf("stop: %+v\n%s", rep.Error, rep.StderrTail)
	}
	if !sp.WasRunning || sp.Running || sp.Drained || len(sp.OpenPorts) != 0 || pidAlive(st.PID) {
		t.Fatalf("stop result: %+v", sp)
	}
	if sp2, rep := call[agentproto.ServiceResult](t, a, agentproto.OpServiceStop, svc); sp2 == nil || !sp2.AlreadyDone {
		t.Fatalf("stop again: %+v %+v", sp2, rep.Error)
	}
	if _, rep := call[agentproto.HealthResult](t, a, agentproto.OpHealth, agentproto.HealthParams{KongBin: bins["3.4.2"], Conf: conf}); rep.Error == nil || rep.Error.Code != agentproto.CodeUnhealthy {
		t.Fatalf("health when stopped: %+v", rep.Error)
	}

	// Start with the database unreachable: Kong's PostgreSQL error, coded
	// as the database's so the controller can wait for it.
	down := svc
	down.Conf = filepath.Join(t.TempDir(), "down.conf")
	os.WriteFile(down.Conf, []byte("pg_host = 127.0.0.1\npg_port = 1\nprefix = "+t.TempDir()+"\n"), 0o600)
	if _, rep := call[agentproto.ServiceResult](t, a, agentproto.OpServiceStart, down); rep.Error == nil || rep.Error.Code != agentproto.CodeDBUnreachable {
		t.Fatalf("start with the database down: %+v", rep.Error)
	}

	// 3.9 drains before quitting. (Its migrations first.)
	if r, rep := call[agentproto.MigrationsResult](t, a, agentproto.OpMigrations, agentproto.MigrationsParams{Action: "up", KongBin: bins["3.9.1"], Conf: conf}); r == nil {
		t.Fatalf("up to 3.9: %+v\n%s", rep.Error, rep.StdoutTail)
	}
	if r, rep := call[agentproto.MigrationsResult](t, a, agentproto.OpMigrations, agentproto.MigrationsParams{Action: "finish", KongBin: bins["3.9.1"], Conf: conf}); r == nil {
		t.Fatalf("finish to 3.9: %+v", rep.Error)
	}
	svc.KongBin = bins["3.9.1"]
	if st, rep := call[agentproto.ServiceResult](t, a, agentproto.OpServiceStart, svc); st == nil || st.Health.Version != "3.9.1" {
		t.Fatalf("start 3.9: %+v %+v", st, rep.Error)
	}
	sp, rep = call[agentproto.ServiceResult](t, a, agentproto.OpServiceStop, svc)
	if sp == nil || !sp.Drained || sp.Running {
		t.Fatalf("stop 3.9: %+v %+v", sp, rep.Error)
	}
}
