// Package pgtest runs throw-away PostgreSQL clusters for tests and for the lab.
//
// A cluster is initdb'ed into a directory of its own, listens on one loopback
// (or chosen) address and a free port with scram-sha-256 password
// authentication, keeps its unix socket inside its directory, and has a login
// role and a database for the application (by default `kong`/`kong`). It runs
// with fsync and synchronous_commit off: fast, and never durable.
//
// PostgreSQL refuses to run as root. When the caller is root the cluster runs
// as the `postgres` system user if it exists, else as `nobody`, and its
// directory is chowned to that user.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kongctl/kongctl/lab/freeport"
)

// Options tune StartCluster. The zero value is usable.
type Options struct {
	// Listen is the TCP address the server listens on (default 127.0.0.1).
	Listen string
	// Port is the TCP port (default: a free port on Listen).
	Port int
	// User, Password and Database name the application role and database
	// (defaults kong, a random password, kong).
	User     string
	Password string
	Database string
	// BinDir holds initdb and postgres (default: the newest
	// /usr/lib/postgresql/*/bin).
	BinDir string
	// RunAs names the OS user that runs the server when the caller is root
	// (default postgres if it exists, else nobody). Ignored when not root.
	RunAs string
	// StartTimeout bounds the wait for the server to accept connections
	// (default 30s).
	StartTimeout time.Duration
}

// Server is a running cluster.
type Server struct {
	Host     string // TCP address clients use
	Port     int
	User     string // application role (owner of Database)
	Password string
	Database string

	// SuperUser/SuperPassword: the cluster's superuser (postgres), also over
	// TCP with scram; over the unix socket it needs no password.
	SuperUser     string
	SuperPassword string

	Dir       string // cluster root: data/, sock/, postgres.log
	DataDir   string
	SocketDir string
	BinDir    string
	LogFile   string

	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	ownsDir bool // Start created Dir and removes it on Stop
}

// DSN is a libpq URL for the application role over TCP.
func (s *Server) DSN() string {
	return s.dsn(s.User, s.Password, s.Database)
}

// SuperDSN is a libpq URL for the superuser over TCP, to database db
// (postgres when empty).
func (s *Server) SuperDSN(db string) string {
	if db == "" {
		db = "postgres"
	}
	return s.dsn(s.SuperUser, s.SuperPassword, db)
}

func (s *Server) dsn(u, pw, db string) string {
	v := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(u, pw),
		Host:     net.JoinHostPort(s.Host, strconv.Itoa(s.Port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return v.String()
}

// Env is the libpq environment (PGHOST, PGPORT, PGUSER, PGPASSWORD,
// PGDATABASE) for the application role, for pg_dump/psql children: the
// password goes in the environment, never on a command line.
func (s *Server) Env() []string {
	return []string{
		"PGHOST=" + s.Host,
		"PGPORT=" + strconv.Itoa(s.Port),
		"PGUSER=" + s.User,
		"PGPASSWORD=" + s.Password,
		"PGDATABASE=" + s.Database,
		"PGSSLMODE=disable",
	}
}

// Bin is the path of a PostgreSQL program (pg_dump, psql...) of this cluster's
// version.
func (s *Server) Bin(name string) string { return filepath.Join(s.BinDir, name) }

// Stop shuts the server down (fast shutdown, then SIGKILL after 10s) and, for
// clusters made by Start, removes their directory. Safe to call twice.
func (s *Server) Stop() error {
	if s == nil || s.cmd == nil {
		return nil
	}
	select {
	case <-s.done:
	default:
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	}
	if s.ownsDir {
		s.ownsDir = false
		if err := os.RemoveAll(s.Dir); err != nil {
			return fmt.Errorf("pgtest: remove %s: %w", s.Dir, err)
		}
	}
	return nil
}

// Start runs a fresh cluster for a test and stops and removes it in
// t.Cleanup. It fails the test when the cluster cannot start.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := startTemp(Options{})
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return s
}

// StartTemp is Start for non-test callers: a cluster in a new temporary
// directory, removed by Stop.
func StartTemp(opts Options) (*Server, error) { return startTemp(opts) }

func startTemp(opts Options) (*Server, error) {
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("create temp dir: %w", err)
	}
	s, err := StartCluster(dir, opts)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	s.ownsDir = true
	return s, nil
}

// StartCluster initdb's a cluster under dir (which must exist and be empty or
// absent; when the caller is root every parent of dir must be searchable by
// the run-as user) and starts it. The server process is a child of the
// caller; Stop ends it.
func StartCluster(dir string, opts Options) (*Server, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("cluster dir %s: %w", dir, err)
	}
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1"
	}
	if opts.User == "" {
		opts.User = "kong"
	}
	if opts.Database == "" {
		opts.Database = "kong"
	}
	if opts.Password == "" {
		opts.Password = randHex(16)
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 30 * time.Second
	}
	if opts.BinDir == "" {
		opts.BinDir, err = BinDir()
		if err != nil {
			return nil, err
		}
	}
	cred, err := runAsCredential(opts.RunAs)
	if err != nil {
		return nil, err
	}
	s := &Server{
		Host: opts.Listen, User: opts.User, Password: opts.Password, Database: opts.Database,
		SuperUser: "postgres", SuperPassword: randHex(16),
		Dir: dir, DataDir: filepath.Join(dir, "data"), SocketDir: filepath.Join(dir, "sock"),
		BinDir: opts.BinDir, LogFile: filepath.Join(dir, "postgres.log"),
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create cluster dir %s: %w", dir, err)
	}
	for _, d := range []string{dir, s.SocketDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
		if err := os.Chmod(d, 0o711); err != nil {
			return nil, fmt.Errorf("chmod %s: %w", d, err)
		}
		if cred != nil {
			if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, fmt.Errorf("chown %s: %w", d, err)
			}
		}
	}
	if cred != nil {
		if err := checkSearchable(dir, cred); err != nil {
			return nil, err
		}
	}
	if err := s.initdb(cred); err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := opts.Port
		if port == 0 {
			port, err = freePort(opts.Listen)
			if err != nil {
				return nil, err
			}
		}
		s.Port = port
		lastErr = s.start(cred, opts.StartTimeout)
		if lastErr == nil || opts.Port != 0 {
			break
		}
	}
	if lastErr != nil {
		return nil, lastErr
	}
	if err := s.createAppRole(); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) initdb(cred *syscall.Credential) error {
	pwfile := filepath.Join(s.Dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(s.SuperPassword+"\n"), 0o600); err != nil {
		return fmt.Errorf("write pwfile: %w", err)
	}
	defer os.Remove(pwfile)
	if cred != nil {
		if err := os.Chown(pwfile, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("chown pwfile: %w", err)
		}
	}
	cmd := exec.Command(s.Bin("initdb"),
		"-D", s.DataDir, "-U", s.SuperUser, "--pwfile", pwfile,
		"--auth-local=trust", "--auth-host=scram-sha-256",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	cmd.Env = childEnv(s.Dir)
	cmd.Dir = s.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb in %s: %w: %s", s.DataDir, err, tail(out, 2000))
	}
	// Clients connect from anywhere the listen address is reachable (the lab
	// puts the server in a namespace of its own); always with a password.
	hba := "local all all trust\nhost all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n"
	if err := os.WriteFile(filepath.Join(s.DataDir, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		return fmt.Errorf("write pg_hba.conf: %w", err)
	}
	if cred != nil {
		_ = os.Chown(filepath.Join(s.DataDir, "pg_hba.conf"), int(cred.Uid), int(cred.Gid))
	}
	return nil
}

func (s *Server) start(cred *syscall.Credential, timeout time.Duration) error {
	logf, err := os.OpenFile(s.LogFile, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", s.LogFile, err)
	}
	cmd := exec.Command(s.Bin("postgres"),
		"-D", s.DataDir, "-p", strconv.Itoa(s.Port), "-k", s.SocketDir,
		"-c", "listen_addresses="+s.Host,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "shared_buffers=32MB",
		"-c", "password_encryption=scram-sha-256",
		"-c", "unix_socket_permissions=0777",
		"-c", "log_min_messages=warning", "-c", "logging_collector=off")
	cmd.Env = childEnv(s.Dir)
	cmd.Dir = s.Dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	// Own process group: a terminal's ^C reaches the caller, which then
	// stops the server in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start postgres on port %d: %w", s.Port, err)
	}
	logf.Close()
	s.cmd = cmd
	s.done = make(chan struct{})
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-s.done:
			log, _ := os.ReadFile(s.LogFile)
			s.cmd = nil
			return fmt.Errorf("postgres on port %d exited: %v: %s", s.Port, s.waitErr, tail(log, 2000))
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, s.socketDSN("postgres"))
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			_ = s.Stop()
			return fmt.Errorf("postgres on port %d not ready after %s: %w", s.Port, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// socketDSN connects as the superuser through the unix socket (trust).
func (s *Server) socketDSN(db string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", s.SocketDir, s.Port, s.SuperUser, db)
}

// SuperConn opens a superuser connection through the unix socket to db
// (postgres when empty).
func (s *Server) SuperConn(ctx context.Context, db string) (*pgx.Conn, error) {
	if db == "" {
		db = "postgres"
	}
	conn, err := pgx.Connect(ctx, s.socketDSN(db))
	if err != nil {
		return nil, fmt.Errorf("pgtest: connect to %s as %s: %w", db, s.SuperUser, err)
	}
	return conn, nil
}

func (s *Server) createAppRole() error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := s.SuperConn(ctx, "")
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	role := pgx.Identifier{s.User}.Sanitize()
	stmts := []string{
		fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD %s", role, quoteLiteral(s.Password)),
		fmt.Sprintf("CREATE DATABASE %s OWNER %s", pgx.Identifier{s.Database}.Sanitize(), role),
	}
	for _, q := range stmts {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("pgtest: create role %s / database %s: %w", s.User, s.Database, err)
		}
	}
	// The application owns the public schema, as a Kong DBA would set it up,
	// so that `kong migrations reset` can drop and recreate it.
	dbconn, err := s.SuperConn(ctx, s.Database)
	if err != nil {
		return err
	}
	defer dbconn.Close(ctx)
	if _, err := dbconn.Exec(ctx, fmt.Sprintf("ALTER SCHEMA public OWNER TO %s", role)); err != nil {
		return fmt.Errorf("pgtest: give schema public to %s: %w", s.User, err)
	}
	return nil
}

// BinDir finds the newest /usr/lib/postgresql/<major>/bin holding postgres.
func BinDir() (string, error) {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(matches) == 0 {
		return "", errors.New("pgtest: no PostgreSQL server in /usr/lib/postgresql/*/bin (install postgresql)")
	}
	sort.Slice(matches, func(i, j int) bool { return majorOf(matches[i]) > majorOf(matches[j]) })
	return filepath.Dir(matches[0]), nil
}

func majorOf(p string) float64 {
	v := filepath.Base(filepath.Dir(filepath.Dir(p)))
	f, _ := strconv.ParseFloat(v, 64)
	return f
}

func runAsCredential(name string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	names := []string{name}
	if name == "" {
		names = []string{"postgres", "nobody"}
	}
	var lastErr error
	for _, n := range names {
		u, err := user.Lookup(n)
		if err != nil {
			lastErr = err
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
	}
	return nil, fmt.Errorf("pgtest: no user to run postgres as (running as root): %w", lastErr)
}

// checkSearchable reports a parent of dir that the run-as user cannot
// traverse (postgres would fail with a bare "permission denied").
func checkSearchable(dir string, cred *syscall.Credential) error {
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("pgtest: stat %s: %w", d, err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		mode := fi.Mode().Perm()
		ok := mode&0o001 != 0 ||
			(st.Uid == cred.Uid && mode&0o100 != 0) ||
			(st.Gid == cred.Gid && mode&0o010 != 0)
		if !ok {
			return fmt.Errorf("pgtest: %s is not searchable by uid %d, which runs postgres (chmod o+x it or pick another dir)", d, cred.Uid)
		}
		if d == "/" {
			return nil
		}
	}
}

// freePort is a port below the kernel's ephemeral range (see
// lab/freeport): one from ":0" can be taken by any client's connection
// before the cluster binds it.
func freePort(host string) (int, error) {
	return freeport.Port(host)
}

func childEnv(home string) []string {
	return []string{"PATH=/usr/bin:/bin", "LANG=C", "LC_ALL=C", "TZ=UTC", "HOME=" + home}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func tail(b []byte, n int) string {
	b = bytes.TrimSpace(b)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
