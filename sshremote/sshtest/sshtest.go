// Package sshtest runs an in-process SSH server on loopback for tests, in
// the spirit of net/http/httptest: exec requests (run with /bin/sh or a
// handler func), an "sftp" subsystem served by pkg/sftp, direct-tcpip
// forwarding to loopback (so it can act as a bastion), keepalive replies,
// and counters for connections, handshakes and commands. Everything is torn
// down by t.Cleanup; server goroutines never call t.Fatal.
package sshtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Exec is one command a client asked the server to run.
type Exec struct {
	User    string
	Command string
	Env     []string // from "env" requests, KEY=VALUE
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
}

// Handler runs an Exec and returns its exit status. ctx ends when the
// client closes the session, sends a signal, or the server shuts down.
type Handler func(ctx context.Context, e *Exec) int

// Options configure a Server. The zero value is usable.
type Options struct {
	// HostKeys the server offers; default one fresh ed25519 key. Entries
	// may be certificate signers (ssh.NewCertSigner).
	HostKeys []ssh.Signer
	// AuthorizedKeys may log in (any user); default the generated ClientKey.
	AuthorizedKeys []ssh.PublicKey
	// Handler runs exec requests; default ShellHandler.
	Handler Handler
	// Addr to listen on; default "127.0.0.1:0".
	Addr string
	// Logf receives server-side log lines; default t.Logf.
	Logf func(format string, args ...any)
}

// Server is a running in-process SSH server.
type Server struct {
	Addr      string // host:port
	Host      string // "127.0.0.1"
	Port      int
	HostKey   ssh.Signer   // the first host key
	HostKeys  []ssh.Signer // all host keys offered
	ClientKey ssh.Signer   // an authorized client key (when AuthorizedKeys was not given)
	// ClientKeyFile is ClientKey's private key, unencrypted, in OpenSSH
	// format, mode 0600.
	ClientKeyFile string

	t       testing.TB
	ln      net.Listener
	cfg     *ssh.ServerConfig
	handler Handler
	logf    func(string, ...any)
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu          sync.Mutex
	conns       map[net.Conn]bool
	connections int
	handshakes  int
	execs       []string
	forwards    []string
	active      int
	maxActive   int
}

// NewServer starts a server and registers its shutdown with t.Cleanup.
func NewServer(t testing.TB, opts *Options) *Server {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	s := &Server{t: t, handler: opts.Handler, logf: opts.Logf, conns: map[net.Conn]bool{}}
	if s.handler == nil {
		s.handler = ShellHandler
	}
	if s.logf == nil {
		s.logf = t.Logf
	}
	s.HostKeys = opts.HostKeys
	if len(s.HostKeys) == 0 {
		_, hk := GenerateKey(t, "ed25519")
		s.HostKeys = []ssh.Signer{hk}
	}
	s.HostKey = s.HostKeys[0]
	authorized := opts.AuthorizedKeys
	if len(authorized) == 0 {
		priv, signer := GenerateKey(t, "ed25519")
		s.ClientKey = signer
		s.ClientKeyFile = WritePrivateKey(t, priv, nil)
		authorized = []ssh.PublicKey{signer.PublicKey()}
	}
	s.cfg = &ssh.ServerConfig{
		PublicKeyCallback: func(md ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			for _, a := range authorized {
				if string(a.Marshal()) == string(key.Marshal()) {
					return &ssh.Permissions{}, nil
				}
			}
			return nil, fmt.Errorf("key %s not authorized", ssh.FingerprintSHA256(key))
		},
	}
	for _, k := range s.HostKeys {
		s.cfg.AddHostKey(k)
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("sshtest: listen: %v", err)
	}
	s.ln = ln
	s.Addr = ln.Addr().String()
	host, port, _ := net.SplitHostPort(s.Addr)
	s.Host = host
	s.Port, _ = strconv.Atoi(port)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

// Close stops the server, closes every connection and waits for all
// server goroutines. It is safe to call more than once.
func (s *Server) Close() {
	s.cancel()
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Connections is how many TCP connections the server accepted.
func (s *Server) Connections() int { s.mu.Lock(); defer s.mu.Unlock(); return s.connections }

// Handshakes is how many connections completed the SSH handshake and auth.
func (s *Server) Handshakes() int { s.mu.Lock(); defer s.mu.Unlock(); return s.handshakes }

// Execs lists the commands received, in order.
func (s *Server) Execs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.execs...)
}

// Forwards lists the direct-tcpip targets ("host:port") clients opened
// through this server.
func (s *Server) Forwards() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.forwards...)
}

// Active is how many exec handlers are running now.
func (s *Server) Active() int { s.mu.Lock(); defer s.mu.Unlock(); return s.active }

// MaxActive is the most exec handlers that ever ran at once.
func (s *Server) MaxActive() int { s.mu.Lock(); defer s.mu.Unlock(); return s.maxActive }

// KnownHostsLine is a known_hosts line for the server's first host key.
func (s *Server) KnownHostsLine() string {
	return knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, s.HostKey.PublicKey())
}

// WriteKnownHosts writes a known_hosts file holding KnownHostsLine and
// returns its path.
func (s *Server) WriteKnownHosts(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(p, []byte(s.KnownHostsLine()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.ctx.Err() != nil {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.connections++
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go s.handleConn(c)
	}
}

func (s *Server) handleConn(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	sc, chans, reqs, err := ssh.NewServerConn(c, s.cfg)
	if err != nil {
		s.logf("sshtest: handshake: %v", err)
		return
	}
	defer sc.Close()
	s.mu.Lock()
	s.handshakes++
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		// Keepalives and other global requests get a (failure) reply,
		// which is what OpenSSH does for keepalive@openssh.com.
		ssh.DiscardRequests(reqs)
	}()
	for nc := range chans {
		switch nc.ChannelType() {
		case "session":
			ch, creqs, err := nc.Accept()
			if err != nil {
				continue
			}
			s.wg.Add(1)
			go s.handleSession(sc.User(), ch, creqs)
		case "direct-tcpip":
			s.handleDirect(nc)
		default:
			nc.Reject(ssh.UnknownChannelType, "unsupported")
		}
	}
}

func (s *Server) handleDirect(nc ssh.NewChannel) {
	var p struct {
		Host     string
		Port     uint32
		OrigHost string
		OrigPort uint32
	}
	if err := ssh.Unmarshal(nc.ExtraData(), &p); err != nil {
		nc.Reject(ssh.ConnectionFailed, "bad payload")
		return
	}
	target := net.JoinHostPort(p.Host, strconv.Itoa(int(p.Port)))
	if ip := net.ParseIP(p.Host); ip == nil || !ip.IsLoopback() {
		nc.Reject(ssh.Prohibited, "sshtest forwards to loopback only")
		return
	}
	s.mu.Lock()
	s.forwards = append(s.forwards, target)
	s.mu.Unlock()
	tc, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		nc.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		tc.Close()
		return
	}
	s.mu.Lock()
	s.conns[tc] = true
	s.mu.Unlock()
	s.wg.Add(3)
	go func() { defer s.wg.Done(); ssh.DiscardRequests(reqs) }()
	go func() {
		defer s.wg.Done()
		io.Copy(tc, ch)
		tc.(*net.TCPConn).CloseWrite()
	}()
	go func() {
		defer s.wg.Done()
		io.Copy(ch, tc)
		ch.Close()
		tc.Close()
		s.mu.Lock()
		delete(s.conns, tc)
		s.mu.Unlock()
	}()
}

func (s *Server) handleSession(user string, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer s.wg.Done()
	defer ch.Close()
	var env []string
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	var execDone chan struct{} // non-nil once exec or subsystem started
	// reqs closes when the channel is closed by both sides or the
	// connection drops; a client closing its session early cancels ctx.
	for req := range reqs {
		switch req.Type {
		case "env":
			var kv struct{ K, V string }
			if ssh.Unmarshal(req.Payload, &kv) == nil {
				env = append(env, kv.K+"="+kv.V)
			}
			req.Reply(true, nil)
		case "signal":
			cancel()
			req.Reply(true, nil)
		case "exec", "subsystem":
			var p struct{ Value string }
			if execDone != nil || ssh.Unmarshal(req.Payload, &p) != nil ||
				(req.Type == "subsystem" && p.Value != "sftp") {
				req.Reply(false, nil)
				continue
			}
			req.Reply(true, nil)
			execDone = make(chan struct{})
			go func(typ string, done chan struct{}, e *Exec) {
				defer close(done)
				var status int
				if typ == "subsystem" {
					status = s.serveSFTP(ch)
				} else {
					status = s.runExec(ctx, e)
				}
				ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(status)}))
				ch.CloseWrite()
				ch.Close()
			}(req.Type, execDone, &Exec{User: user, Command: p.Value, Env: env, Stdin: ch, Stdout: ch, Stderr: ch.Stderr()})
		default:
			req.Reply(false, nil)
		}
	}
	cancel()
	if execDone != nil {
		<-execDone
	}
}

func (s *Server) runExec(ctx context.Context, e *Exec) int {
	s.mu.Lock()
	s.execs = append(s.execs, e.Command)
	s.active++
	s.maxActive = max(s.maxActive, s.active)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.active--
		s.mu.Unlock()
	}()
	return s.handler(ctx, e)
}

func (s *Server) serveSFTP(ch ssh.Channel) int {
	srv, err := sftp.NewServer(ch)
	if err != nil {
		s.logf("sshtest: sftp: %v", err)
		return 1
	}
	if err := srv.Serve(); err != nil && !errors.Is(err, io.EOF) {
		s.logf("sshtest: sftp: %v", err)
	}
	srv.Close()
	return 0
}

// ShellHandler runs the command with /bin/sh -c in its own process group,
// killing the group when ctx ends.
func ShellHandler(ctx context.Context, e *Exec) int {
	cmd := exec.Command("/bin/sh", "-c", e.Command)
	cmd.Env = append(os.Environ(), e.Env...)
	cmd.Stdout, cmd.Stderr = e.Stdout, e.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = time.Second
	// Stdin through a pipe Wait does not wait for: a command that exits
	// while the client still holds its stdin open (a long-lived session)
	// ends its session, as sshd ends it.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		fmt.Fprintf(e.Stderr, "sshtest: %v\n", err)
		return 127
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(e.Stderr, "sshtest: %v\n", err)
		return 127
	}
	go func() {
		io.Copy(stdin, e.Stdin)
		stdin.Close()
	}()
	stop := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		case <-stop:
		}
	}()
	err = cmd.Wait()
	close(stop)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return 1
}
