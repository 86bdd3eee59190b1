package sshremote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/kongctl/kongctl/internal/boundedio"
)

// Client is one authenticated SSH connection to a host (possibly through
// bastions). Every Run opens a session multiplexed on it; SFTP operations
// share one SFTP client created on first use. A Client is safe for
// concurrent use.
type Client struct {
	cfg   *Config
	label string // "name (address:port)"
	user  string // login user
	conn  *ssh.Client
	jumps []*Client // bastions, outermost first; closed after conn
	// hostKey is the key the host presented and the checker accepted.
	hostKey ssh.PublicKey

	uploadSem chan struct{} // set by Pool to bound uploads; nil = unbounded

	sessions atomic.Int64 // SSH sessions opened (Sessions)

	sftpMu sync.Mutex
	sftp   *sftp.Client // guarded by sftpMu; nil until first use or after a cancel
	// sftpPacket is sftp's write size (sftpPacketSize); guarded by sftpMu.
	sftpPacket int

	closeOnce sync.Once
	dead      chan struct{} // closed when the connection has ended
	lostMu    sync.Mutex
	lostErr   error // why the connection ended when not by Close; guarded by lostMu

	// wg joins the goroutines the Client owns: the connection waiter,
	// keepalive and its in-flight requests. Close waits for them.
	wg sync.WaitGroup
}

func newClient(cfg *Config, label, user string, conn *ssh.Client) *Client {
	c := &Client{cfg: cfg, label: label, user: user, conn: conn, dead: make(chan struct{})}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		_ = conn.Wait()
		close(c.dead)
	}()
	if cfg.Keepalive > 0 {
		c.wg.Add(1)
		go c.keepalive(cfg.Keepalive)
	}
	return c
}

// Sessions is the number of SSH sessions opened on this connection: one
// per command run, one per SFTP client started.
func (c *Client) Sessions() int64 { return c.sessions.Load() }

// HostKey is the host key the server presented on this connection, in
// authorized_keys form without a comment ("ssh-ed25519 AAAA...").
func (c *Client) HostKey() string {
	if c.hostKey == nil {
		return ""
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(c.hostKey)))
}

// Name is the host's inventory name (or its address when unnamed).
func (c *Client) Name() string {
	if c.cfg.Name != "" {
		return c.cfg.Name
	}
	return c.cfg.Address
}

// Err reports why the connection is no longer usable, or nil while it is.
func (c *Client) Err() error {
	select {
	case <-c.dead:
	default:
		return nil
	}
	c.lostMu.Lock()
	defer c.lostMu.Unlock()
	if c.lostErr != nil {
		return c.lostErr
	}
	return errors.New("connection closed")
}

// lose closes the connection, recording why.
func (c *Client) lose(why error) {
	c.lostMu.Lock()
	if c.lostErr == nil {
		c.lostErr = why
	}
	c.lostMu.Unlock()
	if c.cfg.Logf != nil {
		c.cfg.Logf("ssh %s: closing connection: %v", c.label, why)
	}
	c.conn.Close()
}

// Close closes the SFTP client, the connection and then the bastions, and
// waits for the Client's goroutines.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.lostMu.Lock()
		if c.lostErr == nil {
			c.lostErr = errors.New("client closed")
		}
		c.lostMu.Unlock()
		c.sftpMu.Lock()
		if c.sftp != nil {
			c.sftp.Close()
			c.sftp, c.sftpPacket = nil, 0
		}
		c.sftpMu.Unlock()
		// An error here only says the connection had already ended.
		_ = c.conn.Close()
		c.wg.Wait()
		for i := len(c.jumps) - 1; i >= 0; i-- {
			c.jumps[i].Close()
		}
	})
	return nil
}

// keepalive sends keepalive@openssh.com every interval and closes the
// connection when keepaliveMisses in a row go unanswered. Owned by the
// Client; joined by Close.
func (c *Client) keepalive(interval time.Duration) {
	defer c.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	var reply chan error // non-nil while a request is outstanding
	misses := 0
	for {
		select {
		case <-c.dead:
			return
		case err := <-reply:
			reply = nil
			if err != nil {
				return // the connection is gone; the waiter saw it too
			}
			misses = 0
		case <-t.C:
			if reply != nil {
				misses++
				if c.cfg.Logf != nil {
					c.cfg.Logf("ssh %s: keepalive %d of %d unanswered", c.label, misses, keepaliveMisses)
				}
				if misses >= keepaliveMisses {
					c.lose(fmt.Errorf("peer unresponsive: %d keepalives unanswered at %s intervals", misses, interval))
					return
				}
				continue
			}
			reply = make(chan error, 1)
			r := reply
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				// Any reply, even a failure, shows the peer is alive.
				_, _, err := c.conn.SendRequest("keepalive@openssh.com", true, nil)
				r <- err
			}()
		}
	}
}

// opErr wraps err with the host and operation, adding why the connection
// was lost if it was.
func (c *Client) opErr(op string, err error) error {
	if lost := c.Err(); lost != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("ssh %s: %s: %w (connection lost: %v)", c.label, op, err, lost)
	}
	return fmt.Errorf("ssh %s: %s: %w", c.label, op, err)
}

// guard runs fn, which blocks on the connection and takes no ctx. When ctx
// ends first, the stages are called in turn (each gets cancelStageWait to
// make fn return: signal the command, close its session or SFTP client);
// if fn still has not returned cancelGrace after the last stage, the whole
// connection is closed. guard always waits for fn before returning.
func (c *Client) guard(ctx context.Context, fn func() error, stages ...func()) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	for i, stage := range stages {
		stage()
		wait := cancelStageWait
		if i == len(stages)-1 {
			wait = cancelGrace
		}
		t := time.NewTimer(wait)
		select {
		case <-done:
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	if len(stages) == 0 {
		t := time.NewTimer(cancelGrace)
		defer t.Stop()
		select {
		case <-done:
			return ctx.Err()
		case <-t.C:
		}
	}
	c.lose(errors.New("a cancelled operation did not stop; closed the connection to end it"))
	<-done
	return ctx.Err()
}

// Run runs req.Cmd in a new session. A command that ran and exited
// non-zero is not an error: see RunResult.ExitCode. The error is for
// transport failures, a lost connection, ctx ending (the remote command
// is then sent SIGKILL and its session closed; partial output is returned)
// and output past the limit (see RunRequest.MaxOutput: *OutputLimitError).
func (c *Client) Run(ctx context.Context, req RunRequest) (RunResult, error) {
	start := time.Now()
	cmd, stdin, err := c.become(req)
	if err != nil {
		return RunResult{}, c.opErr("run", err)
	}
	var sess *ssh.Session
	err = c.guard(ctx, func() error {
		var e error
		sess, e = c.conn.NewSession()
		if e == nil {
			c.sessions.Add(1)
		}
		return e
	})
	if err != nil {
		if sess != nil {
			sess.Close()
		}
		return RunResult{}, c.opErr("open session", err)
	}
	defer sess.Close()

	// Output is collected bounded while it streams: past the limit the
	// session is killed and closed, so a host cannot make the controller
	// hold more than the limit; stderr keeps only its tail.
	stop := func() {
		_ = sess.Signal(ssh.SIGKILL)
		_ = sess.Close()
	}
	limit := req.MaxOutput
	if limit <= 0 {
		limit = MaxOutputBytes
	}
	var stdout bytes.Buffer
	stderr := &boundedio.Tail{N: StderrTailBytes}
	outLimit := &boundedio.Limit{W: &stdout, N: limit, OnExceed: stop}
	errLimit := &boundedio.Limit{W: stderr, N: limit, OnExceed: stop}
	sess.Stdout, sess.Stderr = outLimit, errLimit
	var outW, errW *closeOnError
	if req.Stdout != nil {
		outW = &closeOnError{w: req.Stdout, stop: stop}
		sess.Stdout = outW
	}
	if req.Stderr != nil {
		errW = &closeOnError{w: req.Stderr, stop: stop}
		sess.Stderr = errW
	}
	sess.Stdin = stdin

	// On cancel: SIGTERM (sudo relays it to the command), then SIGKILL and
	// close. OpenSSH refuses signals on sessions without privilege
	// separation (root logins): there the connection is closed in the end.
	err = c.guard(ctx, func() error { return sess.Run(cmd) },
		func() { _ = sess.Signal(ssh.SIGTERM) },
		func() {
			_ = sess.Signal(ssh.SIGKILL)
			_ = sess.Close()
		})
	res := RunResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), Duration: time.Since(start)}
	for _, l := range []struct {
		stream string
		l      *boundedio.Limit
	}{{"stdout", outLimit}, {"stderr", errLimit}} {
		if l.l.Exceeded() {
			return res, c.opErr("run", &OutputLimitError{Stream: l.stream, Limit: limit})
		}
	}
	if werr := failed(outW, errW); werr != nil {
		return res, c.opErr("run: write output", werr)
	}
	if ctx.Err() != nil {
		return res, c.opErr("run", ctx.Err())
	}
	var ee *ssh.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitStatus()
		if sig := ee.Signal(); sig != "" {
			res.Signal = sig
			res.ExitCode = 128 + signalNumber(sig)
		}
	default:
		return res, c.opErr("run", err)
	}
	return res, nil
}

func signalNumber(sig string) int {
	switch ssh.Signal(sig) {
	case ssh.SIGHUP:
		return 1
	case ssh.SIGINT:
		return 2
	case ssh.SIGQUIT:
		return 3
	case ssh.SIGILL:
		return 4
	case ssh.SIGABRT:
		return 6
	case ssh.SIGFPE:
		return 8
	case ssh.SIGKILL:
		return 9
	case ssh.SIGSEGV:
		return 11
	case ssh.SIGPIPE:
		return 13
	case ssh.SIGALRM:
		return 14
	case ssh.SIGTERM:
		return 15
	}
	return 0
}
