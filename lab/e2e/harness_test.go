//go:build integration

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kongctl/kongctl/lab/labenv"
)

var (
	repoRoot   string
	kongctlBin string // built once by TestMain
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	root, err := labenv.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	repoRoot = root
	// The simulator packages and the agents embedded in kongctl.
	mk := exec.Command("make", "-C", root, "--no-print-directory", "agents", "packages")
	mk.Stdout, mk.Stderr = os.Stderr, os.Stderr
	if err := mk.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: make agents packages:", err)
		return 1
	}
	// A private kongctl binary: others may rebuild bin/kongctl meanwhile.
	tmp, err := os.MkdirTemp("", "kongctl-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	kongctlBin = filepath.Join(tmp, "kongctl")
	build := exec.Command("go", "build", "-trimpath", "-o", kongctlBin, "./cmd/kongctl")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build kongctl:", err)
		return 1
	}
	return m.Run()
}

// env is one test's lab and kongctl state.
type env struct {
	t        *testing.T
	lab      *labenv.Lab
	inv      string // the test's inventory (a modified copy of the lab's)
	stateDir string
}

// upLab brings a fresh lab up for t and registers its teardown.
func upLab(t *testing.T, o labenv.Options) *env {
	t.Helper()
	o = labOptions(o)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	logw := &testLog{t: t, prefix: ""}
	o.Log = logw
	// A lab left by an earlier test may be healthy but upgraded: start clean.
	if err := labenv.DownID(ctx, o.ID, o.Dir, logw); err != nil {
		t.Fatalf("lab down before the test: %v", err)
	}
	t0 := time.Now()
	l, err := labenv.Up(ctx, o)
	if err != nil {
		t.Fatalf("lab up: %v", err)
	}
	t.Logf("lab up in %.1fs", time.Since(t0).Seconds())
	t.Cleanup(func() {
		if t.Failed() && os.Getenv("KONGCTL_E2E_KEEP") != "" {
			t.Logf("keeping the lab in %s", o.Dir)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := l.Down(); err != nil {
			t.Errorf("lab down: %v", err)
		}
		_ = ctx
	})
	e := &env{t: t, lab: l, stateDir: t.TempDir()}
	e.inv = e.writeInventory(nil)
	return e
}

type testLog struct {
	t      *testing.T
	prefix string
	mu     sync.Mutex
	buf    bytes.Buffer
}

func (w *testLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			break
		}
		w.t.Log(w.prefix + strings.TrimRight(line, "\n"))
	}
	return len(p), nil
}

// writeInventory writes a copy of the lab's hosts.hcl beside it (so its
// relative paths hold) with a short soak, then edit applied.
func (e *env) writeInventory(edit func(string) string) string {
	e.t.Helper()
	b, err := os.ReadFile(e.lab.InventoryPath())
	if err != nil {
		e.t.Fatal(err)
	}
	s := strings.Replace(string(b), `soak = "10s"`, `soak = "3s"`, 1)
	if !strings.Contains(s, `soak = "3s"`) {
		e.t.Fatalf("lab inventory has no soak = \"10s\" to shorten:\n%s", b)
	}
	if edit != nil {
		s = edit(s)
	}
	p := filepath.Join(e.lab.Dir(), "hosts-e2e.hcl")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// result is one kongctl run.
type result struct {
	code           int
	stdout, stderr string
	elapsed        time.Duration
	maxRSS         int64 // kongctl's peak resident set, bytes
}

func (r result) String() string {
	return fmt.Sprintf("exit %d after %.1fs\n--- stdout\n%s\n--- stderr\n%s", r.code, r.elapsed.Seconds(), r.stdout, r.stderr)
}

// command prepares kongctl args with the test's state dir.
func (e *env) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, kongctlBin, args...)
	cmd.Env = append(os.Environ(), "KONGCTL_STATE_DIR="+e.stateDir, "KONGCTL_INVENTORY=")
	cmd.Dir = e.lab.Dir()
	return cmd
}

// kongctl runs kongctl to the end.
func (e *env) kongctl(args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := e.command(ctx, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	t0 := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(t0)}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.maxRSS = ru.Maxrss << 10
		}
	}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			e.t.Fatalf("kongctl %v: %v", args, err)
		}
		r.code = ee.ExitCode()
	}
	e.t.Logf("kongctl %s: exit %d in %.1fs", strings.Join(args, " "), r.code, r.elapsed.Seconds())
	return r
}

// ctx is a context for short checks.
func shortCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

var versionRE = regexp.MustCompile(`\d+\.\d+\.\d+(\.\d+)?`)

// kongVersion runs `kong version` on host over SSH.
func (e *env) kongVersion(host string) string {
	e.t.Helper()
	ctx, cancel := shortCtx()
	defer cancel()
	out, err := e.lab.SSH(ctx, host, "kong version")
	if err != nil {
		e.t.Fatalf("%s: kong version: %v: %s", host, err, out)
	}
	v := versionRE.FindString(out)
	if v == "" {
		e.t.Fatalf("%s: kong version printed no version: %q", host, out)
	}
	return v
}

// requireVersion checks every host runs want.
func (e *env) requireVersion(want string, hosts ...string) {
	e.t.Helper()
	for _, h := range hosts {
		if got := e.kongVersion(h); got != want {
			e.t.Errorf("%s: kong version = %s, want %s", h, got, want)
		}
	}
}

// migrationsList runs `kong migrations list` on host and returns its exit
// code and output.
func (e *env) migrationsList(host string) (int, string) {
	e.t.Helper()
	ctx, cancel := shortCtx()
	defer cancel()
	out, err := e.lab.SSH(ctx, host, "kong migrations list -c /etc/kong/kong.conf")
	if err != nil {
		return labenv.ExitCode(err), out
	}
	return 0, out
}

func names(hs []*labenv.Host) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Name)
	}
	return out
}

var httpClient = &http.Client{Timeout: 3 * time.Second}

// get sends GET http://<addr>:<port><path> (Host header when host != "")
// and returns the status code (0 on a transport error).
func get(addr string, port int, path, host string) (int, string) {
	req, err := http.NewRequest("GET", fmt.Sprintf("http://%s:%d%s", addr, port, path), nil)
	if err != nil {
		return 0, err.Error()
	}
	if host != "" {
		req.Host = host
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b)
}

// route is a request that must be proxied with 200.
type route struct{ path, host string }

// labRoutes are the lab's seeded routes plus the test's own.
var labRoutes = []route{{"/lab", ""}, {"/lab-host", "lab.example.test"}, {"/e2e/v2/orders/42", ""}, {"/e2e-plain", ""}}

// requireServing checks every route answers 200 through each host's proxy,
// retrying for a while (routers rebuild within db_update_frequency).
func (e *env) requireServing(hosts []string, routes []route) {
	e.t.Helper()
	for _, h := range hosts {
		addr := e.lab.Address(h)
		for _, r := range routes {
			deadline := time.Now().Add(15 * time.Second)
			for {
				code, body := get(addr, 8000, r.path, r.host)
				if code == 200 {
					break
				}
				if time.Now().After(deadline) {
					e.t.Errorf("%s: GET %s (host %q) through the proxy: %d %.200s", h, r.path, r.host, code, body)
					break
				}
				time.Sleep(250 * time.Millisecond)
			}
		}
	}
}

// createEntities creates a service with a plain route and a 2.x-style regex
// route through the Admin API of host (port 8001).
func (e *env) createEntities(host string) {
	e.t.Helper()
	// Kong 2.x reads a path with regex characters as a regex; 3.x wants
	// the "~" prefix (the 2.8 → 3.x migration adds it).
	regex := `/e2e/v\\d+/orders/(?<id>\\d+)$`
	if !strings.HasPrefix(e.lab.Options().From, "2.") {
		regex = "~" + regex
	}
	e.adminPost(host, "/services", `{"name":"e2e","url":"http://127.0.0.1:8007/status"}`)
	e.adminPost(host, "/services/e2e/routes", `{"name":"e2e-plain","paths":["/e2e-plain"],"strip_path":true}`)
	e.adminPost(host, "/services/e2e/routes", `{"name":"e2e-regex","paths":["`+regex+`"],"strip_path":true}`)
}

// adminPost creates an entity through the Admin API of host (port 8001).
func (e *env) adminPost(host, path, body string) {
	e.t.Helper()
	url := fmt.Sprintf("http://%s:8001%s", e.lab.Address(host), path)
	resp, err := httpClient.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		e.t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 && resp.StatusCode != 200 {
		e.t.Fatalf("POST %s: %d %s", url, resp.StatusCode, b)
	}
}

// fingerprint hashes every table of the public schema (but locks), rows in
// primary key order, through pgx against the lab's database.
func (e *env) fingerprint() map[string]string {
	e.t.Helper()
	dsn, err := e.lab.DSN()
	if err != nil {
		e.t.Fatal(err)
	}
	return e.fingerprintDSN(dsn)
}

// pgConnect connects to the lab's database at dsn, or fails the test.
func (e *env) pgConnect(ctx context.Context, dsn string) *pgx.Conn {
	e.t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		e.t.Fatalf("connect to the lab database: %v", err)
	}
	return conn
}

// fingerprintDSN is fingerprint for the database at dsn.
func (e *env) fingerprintDSN(dsn string) map[string]string {
	e.t.Helper()
	ctx, cancel := shortCtx()
	defer cancel()
	conn := e.pgConnect(ctx, dsn)
	defer conn.Close(context.Background())
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		e.t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, "SET LOCAL TimeZone = 'UTC'"); err != nil {
		e.t.Fatal(err)
	}
	rows, err := tx.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r','p') ORDER BY 1`)
	if err != nil {
		e.t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		e.t.Fatal(err)
	}
	fp := map[string]string{}
	for _, tb := range tables {
		if tb == "locks" {
			continue
		}
		q := pgx.Identifier{"public", tb}.Sanitize()
		rows, err := tx.Query(ctx, `SELECT a.attname FROM pg_index i
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
			WHERE i.indrelid = $1::regclass AND i.indisprimary
			ORDER BY array_position(i.indkey::int2[], a.attnum)`, q)
		if err != nil {
			e.t.Fatal(err)
		}
		pk, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			e.t.Fatal(err)
		}
		order := `t::text COLLATE "C"`
		if len(pk) > 0 {
			var cols []string
			for _, c := range pk {
				cols = append(cols, "t."+pgx.Identifier{c}.Sanitize())
			}
			order = strings.Join(cols, ", ")
		}
		rows, err = tx.Query(ctx, "SELECT t::text FROM "+q+" AS t ORDER BY "+order)
		if err != nil {
			e.t.Fatal(err)
		}
		h := sha256.New()
		n := 0
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				e.t.Fatal(err)
			}
			io.WriteString(h, s+"\n")
			n++
		}
		if err := rows.Err(); err != nil {
			e.t.Fatal(err)
		}
		fp[tb] = fmt.Sprintf("%d rows %s", n, hex.EncodeToString(h.Sum(nil))[:16])
	}
	return fp
}

func diffFingerprints(a, b map[string]string) []string {
	var d []string
	for k, v := range a {
		if b[k] != v {
			d = append(d, fmt.Sprintf("%s: before %q, after %q", k, v, b[k]))
		}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			d = append(d, fmt.Sprintf("%s: new table %q", k, v))
		}
	}
	return d
}

// writeFault writes fault.env lines into host's Kong prefix.
func (e *env) writeFault(host string, lines ...string) {
	e.t.Helper()
	ctx, cancel := shortCtx()
	defer cancel()
	body := strings.Join(lines, "\n") + "\n"
	cmd := fmt.Sprintf("mkdir -p /usr/local/kong && printf '%%s' '%s' > /usr/local/kong/fault.env", body)
	if out, err := e.lab.Exec(ctx, host, cmd); err != nil {
		e.t.Fatalf("%s: write fault.env: %v: %s", host, err, out)
	}
}

func (e *env) clearFault(host string) {
	e.t.Helper()
	ctx, cancel := shortCtx()
	defer cancel()
	if out, err := e.lab.Exec(ctx, host, "rm -f /usr/local/kong/fault.env"); err != nil {
		e.t.Fatalf("%s: remove fault.env: %v: %s", host, err, out)
	}
}

// event is one line of `--output json`.
type event struct {
	Type    string          `json:"type"`
	RunID   string          `json:"run_id"`
	Phase   string          `json:"phase"`
	Host    string          `json:"host"`
	Status  string          `json:"status"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Error   string          `json:"error"`
	Payload json.RawMessage `json:"payload"`
}

// running is a kongctl process started in the background.
type running struct {
	cmd    *exec.Cmd
	events chan event
	stderr *bytes.Buffer
	stdout *bytes.Buffer
	done   chan struct{}
	code   int
}

// start runs kongctl in the background with --output json, streaming its
// events.
func (e *env) start(args ...string) *running {
	e.t.Helper()
	cmd := e.command(context.Background(), args...)
	pr, pw := io.Pipe()
	r := &running{cmd: cmd, events: make(chan event, 4096), stderr: &bytes.Buffer{}, stdout: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stdout = io.MultiWriter(pw, r.stdout)
	cmd.Stderr = r.stderr
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("start kongctl: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var ev event
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				select {
				case r.events <- ev:
				default:
				}
			}
		}
		io.Copy(io.Discard, pr)
		close(r.events)
	}()
	go func() {
		err := cmd.Wait()
		pw.Close()
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				r.code = -int(ws.Signal())
			}
		} else if err != nil {
			r.code = -1
		}
		close(r.done)
	}()
	e.t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// waitEvent waits for an event matching f.
func (r *running) waitEvent(t *testing.T, d time.Duration, what string, f func(event) bool) event {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-r.events:
			if !ok {
				<-r.done
				t.Fatalf("kongctl ended (exit %d) before %s\nstdout:\n%s\nstderr:\n%s", r.code, what, r.stdout, r.stderr)
			}
			if f(ev) {
				return ev
			}
		case <-timer.C:
			t.Fatalf("no %s within %s\nstderr:\n%s", what, d, r.stderr)
		}
	}
}

func (r *running) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-r.done:
		return r.code
	case <-time.After(d):
		t.Fatalf("kongctl still running after %s\nstderr:\n%s", d, r.stderr)
	}
	return 0
}

// kongPIDs reads each host's Kong pid file.
func (e *env) kongPIDs(hosts []string) map[string]string {
	e.t.Helper()
	ctx, cancel := shortCtx()
	defer cancel()
	m := map[string]string{}
	for _, h := range hosts {
		out, err := e.lab.Exec(ctx, h, "cat /usr/local/kong/pids/nginx.pid")
		if err != nil {
			e.t.Fatalf("%s: read Kong pid: %v: %s", h, err, out)
		}
		m[h] = strings.TrimSpace(out)
	}
	return m
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
