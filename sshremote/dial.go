package sshremote

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/user"
	"strconv"
	"time"

	"golang.org/x/crypto/ssh"
)

const (
	defaultConnectTimeout = 20 * time.Second
	defaultRetryBackoff   = 250 * time.Millisecond
	maxRetryBackoff       = 8 * time.Second
	// keepaliveMisses unanswered keepalives close the connection.
	keepaliveMisses = 3
	// A cancelled operation gets cancelStageWait after each gentle step
	// (e.g. SIGTERM) and cancelGrace after the last (closing its session or
	// SFTP client) before the whole connection is closed.
	cancelStageWait = 300 * time.Millisecond
	cancelGrace     = time.Second
)

func hostPort(cfg *Config) string {
	port := cfg.Port
	if port == 0 {
		port = 22
	}
	return net.JoinHostPort(cfg.Address, strconv.Itoa(port))
}

// hopLabel names a host in errors: "kong-1 (198.18.0.11:22)".
func hopLabel(cfg *Config) string {
	addr := hostPort(cfg)
	if cfg.Name == "" || cfg.Name == cfg.Address {
		return addr
	}
	return fmt.Sprintf("%s (%s)", cfg.Name, addr)
}

// Dial connects and authenticates to cfg's host, through the bastions in
// cfg.Jump (outermost first, each checked against its own host keys).
// Connecting is retried cfg.ConnectRetries times with exponential backoff
// and jitter; authentication failures and host key problems are not. ctx
// bounds the whole dial: when it ends, the connection being set up is
// closed. ctx does not bound the returned Client's lifetime.
func Dial(ctx context.Context, cfg *Config) (*Client, error) {
	if cfg == nil {
		return nil, errors.New("ssh: dial: nil config")
	}
	cfg, err := withSSHConfig(cfg, true)
	if err != nil {
		return nil, err
	}
	var hops []*Client
	closeHops := func() {
		for i := len(hops) - 1; i >= 0; i-- {
			hops[i].Close()
		}
	}
	var via *Client
	for i, j := range cfg.Jump {
		if j == nil {
			return nil, fmt.Errorf("ssh %s: jump host %d: nil config", hopLabel(cfg), i+1)
		}
		if len(j.Jump) > 0 {
			closeHops()
			return nil, fmt.Errorf("ssh %s: jump host %d (%s) has a jump chain of its own; flatten it into the outer chain", hopLabel(cfg), i+1, hopLabel(j))
		}
		j, err := withSSHConfig(j, false)
		if err != nil {
			closeHops()
			return nil, fmt.Errorf("ssh %s: jump host %d: %w", hopLabel(cfg), i+1, err)
		}
		c, err := dialHop(ctx, j, via)
		if err != nil {
			closeHops()
			return nil, fmt.Errorf("ssh %s: jump host %d: %w", hopLabel(cfg), i+1, err)
		}
		hops = append(hops, c)
		via = c
	}
	c, err := dialHop(ctx, cfg, via)
	if err != nil {
		closeHops()
		return nil, err
	}
	c.jumps = hops
	return c, nil
}

// ctxErr is ctx.Err(), also reporting DeadlineExceeded when the deadline
// has passed but ctx's timer has not fired yet (a conn deadline set from it
// may fire first).
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// withSSHConfig returns cfg, or a copy filled from cfg.SSHConfigFile.
// Jump hops do not expand ProxyJump (the chain is flat).
func withSSHConfig(cfg *Config, withJump bool) (*Config, error) {
	if cfg.SSHConfigFile == "" {
		return cfg, nil
	}
	cp := *cfg
	if err := applySSHConfigFile(&cp, cfg.SSHConfigFile, withJump); err != nil {
		return nil, err
	}
	return &cp, nil
}

func loginUser(cfg *Config) string {
	if cfg.User != "" {
		return cfg.User
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

// dialHop connects to one host, directly or through via, with retries.
func dialHop(ctx context.Context, cfg *Config, via *Client) (*Client, error) {
	label := hopLabel(cfg)
	if cfg.Address == "" {
		return nil, fmt.Errorf("ssh %s: dial: no address", label)
	}
	auth, err := setupAuth(cfg)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: auth setup: %w", label, err)
	}
	defer auth.close()

	backoff := cfg.RetryBackoff
	if backoff <= 0 {
		backoff = defaultRetryBackoff
	}
	retries := max(cfg.ConnectRetries, 0)
	for attempt := 0; ; attempt++ {
		c, err := dialOnce(ctx, cfg, via, label, auth)
		if err == nil {
			return c, nil
		}
		if ctxErr(ctx) != nil || IsFatal(err) || attempt >= retries {
			return nil, err
		}
		// Full jitter on the upper half: [d/2, d).
		d := backoff/2 + rand.N(backoff/2+1)
		if cfg.Logf != nil {
			cfg.Logf("ssh %s: connect attempt %d of %d failed, retrying in %s: %v", label, attempt+1, retries+1, d.Round(time.Millisecond), err)
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("ssh %s: dial: %w (last error: %v)", label, ctx.Err(), err)
		case <-t.C:
		}
		backoff = min(backoff*2, maxRetryBackoff)
	}
}

// dialOnce makes one connection attempt: TCP (or a channel through via),
// then the SSH handshake, all bounded by the connect timeout and ctx.
func dialOnce(ctx context.Context, cfg *Config, via *Client, label string, auth *authSetup) (*Client, error) {
	addr := hostPort(cfg)
	timeout := cfg.ConnectTimeout
	if timeout <= 0 {
		timeout = defaultConnectTimeout
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	wrap := func(op string, err error) error {
		if cerr := ctxErr(ctx); cerr != nil {
			err = fmt.Errorf("%w (%v)", cerr, err)
		} else if dctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
			err = fmt.Errorf("timed out after %s: %w", timeout, err)
		}
		return fmt.Errorf("ssh %s: %s: %w", label, op, err)
	}

	hk, err := newHostKeyChecker(cfg, label, addr)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: host keys: %w", label, &fatalError{err})
	}

	var conn net.Conn
	if via == nil {
		conn, err = (&net.Dialer{Timeout: timeout}).DialContext(dctx, "tcp", addr)
	} else {
		conn, err = via.conn.DialContext(dctx, "tcp", addr)
	}
	if err != nil {
		if via != nil {
			return nil, wrap("dial via "+via.label, err)
		}
		return nil, wrap("dial", err)
	}
	if dl, ok := dctx.Deadline(); ok {
		_ = conn.SetDeadline(dl) // not supported through a jump; the watcher below covers it
	}

	user := loginUser(cfg)
	ccfg := &ssh.ClientConfig{
		User:              user,
		Auth:              auth.methods,
		HostKeyCallback:   hk.check,
		HostKeyAlgorithms: hk.algorithms(),
		Timeout:           timeout,
	}

	// x/crypto/ssh's handshake takes no ctx: close the conn when dctx ends.
	stop := make(chan struct{})
	killed := make(chan bool, 1)
	go func() {
		select {
		case <-dctx.Done():
			conn.Close()
			killed <- true
		case <-stop:
			killed <- false
		}
	}()
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, ccfg)
	close(stop)
	if <-killed {
		if err == nil {
			sc.Close()
			err = errors.New("connection closed")
		}
		return nil, wrap("handshake", err)
	}
	if err != nil {
		var mm *HostKeyMismatchError
		var uk *HostKeyUnknownError
		switch {
		case errors.As(err, &mm):
			return nil, fmt.Errorf("ssh %s: %w", label, mm)
		case errors.As(err, &uk):
			return nil, fmt.Errorf("ssh %s: %w", label, uk)
		case IsFatal(err):
			return nil, fmt.Errorf("ssh %s: host key: %w", label, err)
		case hk.verified && isAuthFailure(err):
			return nil, fmt.Errorf("ssh %s: %w", label, &AuthError{User: user, Methods: auth.offered, Err: err})
		}
		return nil, wrap("handshake", err)
	}
	_ = conn.SetDeadline(time.Time{})
	c := newClient(cfg, label, user, ssh.NewClient(sc, chans, reqs))
	c.hostKey = hk.presented
	return c, nil
}
