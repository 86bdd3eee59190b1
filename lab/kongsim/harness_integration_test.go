//go:build integration

package kongsim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kongctl/kongctl/lab/freeport"
	"github.com/kongctl/kongctl/lab/kongsim"
	"github.com/kongctl/kongctl/lab/pgtest"
)

var (
	binDir   string
	binMu    sync.Mutex
	bins     = map[string]string{}
	sharedPG *pgtest.Server
	dbSeq    int
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kongsim-bins-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	pg, err := pgtest.StartTemp(pgtest.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sharedPG = pg
	code := m.Run()
	pg.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

// sim builds (once per test binary run) the simulator for a version.
func sim(t testing.TB, version string) string {
	t.Helper()
	edition := kongsim.EditionOSS
	if strings.Count(version, ".") == 3 {
		edition = kongsim.EditionEnterprise
	}
	rel := kongsim.MustRelease(version, edition)
	binMu.Lock()
	defer binMu.Unlock()
	if p, ok := bins[version]; ok {
		return p
	}
	out := filepath.Join(binDir, "kong-"+version)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", rel.LDFlags(), "-o", out, "./lab/cmd/kong")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build kong %s: %v\n%s", version, err, b)
	}
	bins[version] = out
	return out
}

func freePort(t testing.TB) int {
	t.Helper()
	p, err := freeport.Port("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// freshDB creates an empty database owned by the kong role.
func freshDB(t testing.TB, pg *pgtest.Server) string {
	t.Helper()
	binMu.Lock()
	dbSeq++
	name := fmt.Sprintf("kong_t%d", dbSeq)
	binMu.Unlock()
	ctx := context.Background()
	c, err := pg.SuperConn(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name+" OWNER kong"); err != nil {
		t.Fatal(err)
	}
	sc, err := pg.SuperConn(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close(ctx)
	if _, err := sc.Exec(ctx, "ALTER SCHEMA public OWNER TO kong"); err != nil {
		t.Fatal(err)
	}
	return name
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// node is one simulated Kong host: a conf file, a prefix, ports.
type node struct {
	t                         testing.TB
	dir, conf, prefix         string
	pg                        *pgtest.Server
	db                        string
	proxy, admin, status, clu int
	env                       []string
}

func newNode(t testing.TB, pg *pgtest.Server, db string, extra ...string) *node {
	t.Helper()
	n := &node{t: t, dir: t.TempDir(), pg: pg, db: db}
	n.prefix = filepath.Join(n.dir, "prefix")
	n.conf = filepath.Join(n.dir, "kong.conf")
	n.proxy, n.admin, n.status, n.clu = freePort(t), freePort(t), freePort(t), freePort(t)
	lines := []string{
		"prefix = " + n.prefix,
		fmt.Sprintf("proxy_listen = 127.0.0.1:%d reuseport backlog=16384, 127.0.0.1:%d http2 ssl", n.proxy, freePort(t)),
		fmt.Sprintf("admin_listen = 127.0.0.1:%d", n.admin),
		fmt.Sprintf("status_listen = 127.0.0.1:%d", n.status),
		fmt.Sprintf("cluster_listen = 127.0.0.1:%d", n.clu),
	}
	if pg != nil {
		lines = append(lines, "pg_host = "+pg.Host, fmt.Sprintf("pg_port = %d", pg.Port), "pg_user = "+pg.User,
			"pg_password = "+pg.Password, "pg_database = "+db, "pg_timeout = 3000")
	}
	lines = append(lines, extra...)
	if err := os.WriteFile(n.conf, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.kill)
	return n
}

// kill ends a daemon left running by a failed test.
func (n *node) kill() {
	b, err := os.ReadFile(filepath.Join(n.prefix, "pids", "nginx.pid"))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

func (n *node) run(bin string, args ...string) result {
	n.t.Helper()
	return n.runCtx(context.Background(), bin, args...)
}

func (n *node) runCtx(ctx context.Context, bin string, args ...string) result {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = n.dir
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=" + n.dir}, n.env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		n.t.Fatalf("run %s %v: %v", bin, args, err)
	}
	return result{out.String(), errb.String(), code}
}

// kong runs `<bin> <args> -c <conf>` for commands that take a conf.
func (n *node) kong(version string, args ...string) result {
	n.t.Helper()
	return n.run(sim(n.t, version), append(args, "-c", n.conf)...)
}

func (n *node) must(r result, code int) result {
	n.t.Helper()
	if r.code != code {
		n.t.Fatalf("want exit %d, got %s", code, r)
	}
	return r
}

// dsn is the connection string of the node's own database.
func (n *node) dsn() string { return strings.Replace(n.pg.DSN(), "/kong?", "/"+n.db+"?", 1) }

func (n *node) sql(q string, args ...any) {
	n.t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, n.dsn())
	if err != nil {
		n.t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, q, args...); err != nil {
		n.t.Fatalf("%s: %v", q, err)
	}
}

func (n *node) queryRow(q string, dst ...any) {
	n.t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, n.dsn())
	if err != nil {
		n.t.Fatal(err)
	}
	defer c.Close(ctx)
	if err := c.QueryRow(ctx, q).Scan(dst...); err != nil {
		n.t.Fatalf("%s: %v", q, err)
	}
}

var httpc = &http.Client{Timeout: 5 * time.Second}

func httpDo(t testing.TB, method, url string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpc.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// eventually retries f for up to 10s.
func eventually(t testing.TB, what string, f func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		ok, msg := f()
		if ok {
			return
		}
		last = msg
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: never happened; last: %s", what, last)
}

func (n *node) pid() int {
	b, err := os.ReadFile(filepath.Join(n.prefix, "pids", "nginx.pid"))
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return p
}
