package sshremote

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/kongctl/kongctl/sshremote/sshtest"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// baseConfig reaches srv with its client key and a known_hosts file
// holding its host key.
func baseConfig(t *testing.T, srv *sshtest.Server) *Config {
	t.Helper()
	return &Config{
		Name:            "kong-1",
		Address:         srv.Host,
		Port:            srv.Port,
		User:            "kong",
		KeyFiles:        []string{srv.ClientKeyFile},
		KnownHostsFiles: []string{srv.WriteKnownHosts(t)},
		ConnectTimeout:  5 * time.Second,
		Logf:            t.Logf,
	}
}

func dial(t *testing.T, cfg *Config) *Client {
	t.Helper()
	c, err := Dial(testCtx(t), cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunWithKeyFile(t *testing.T) {
	t.Parallel()
	srv := sshtest.NewServer(t, nil)
	c := dial(t, baseConfig(t, srv))
	if c.Name() != "kong-1" {
		t.Errorf("Name() = %q, want kong-1", c.Name())
	}
	res, err := c.Run(testCtx(t), RunRequest{Cmd: "echo out; echo err >&2; cat; exit 3", Stdin: strings.NewReader("in\n")})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got, want := string(res.Stdout), "out\nin\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if got, want := string(res.Stderr), "err\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
	if res.ExitCode != 3 {
		t.Errorf("exit code = %d, want 3", res.ExitCode)
	}

	var out bytes.Buffer
	res, err = c.Run(testCtx(t), RunRequest{Cmd: "echo streamed", Stdout: &out})
	if err != nil || out.String() != "streamed\n" || len(res.Stdout) != 0 {
		t.Errorf("streamed Run: err=%v out=%q res.Stdout=%q", err, out.String(), res.Stdout)
	}
}

func TestEncryptedKeyPassphrase(t *testing.T) {
	priv, signer := sshtest.GenerateKey(t, "ed25519")
	srv := sshtest.NewServer(t, &sshtest.Options{AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()}})
	keyFile := sshtest.WritePrivateKey(t, priv, []byte("correct horse"))

	cfg := baseConfig(t, srv)
	cfg.KeyFiles = []string{keyFile}
	var asked []string
	cfg.Passphrase = func(f string) ([]byte, error) {
		asked = append(asked, f)
		return []byte("correct horse"), nil
	}
	c := dial(t, cfg)
	if _, err := c.Run(testCtx(t), RunRequest{Cmd: "true"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(asked, []string{keyFile}) {
		t.Errorf("passphrase asked for %v, want [%s]", asked, keyFile)
	}

	// Wrong passphrase: a config error, before any connection.
	cfg.Passphrase = func(string) ([]byte, error) { return []byte("wrong"), nil }
	before := srv.Connections()
	if _, err := Dial(testCtx(t), cfg); err == nil || !strings.Contains(err.Error(), "kong-1") {
		t.Fatalf("Dial with wrong passphrase: err = %v, want an error naming kong-1", err)
	}
	if srv.Connections() != before {
		t.Errorf("wrong passphrase still connected")
	}

	// The default source reads KONGCTL_SSH_PASSPHRASE.
	t.Setenv(PassphraseEnv, "correct horse")
	cfg.Passphrase = nil
	c2 := dial(t, cfg)
	if _, err := c2.Run(testCtx(t), RunRequest{Cmd: "true"}); err != nil {
		t.Fatal(err)
	}
}

func TestAgentAuth(t *testing.T) {
	t.Parallel()
	priv, signer := sshtest.GenerateKey(t, "ed25519")
	srv := sshtest.NewServer(t, &sshtest.Options{AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()}})
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var served atomic.Int32
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			served.Add(1)
			wg.Add(1)
			go func() { defer wg.Done(); agent.ServeAgent(keyring, conn); conn.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })

	cfg := baseConfig(t, srv)
	cfg.KeyFiles = nil
	cfg.UseAgent = true
	cfg.AgentSocket = sock
	c := dial(t, cfg)
	if _, err := c.Run(testCtx(t), RunRequest{Cmd: "true"}); err != nil {
		t.Fatal(err)
	}
	if served.Load() != 1 {
		t.Errorf("agent served %d connections, want 1", served.Load())
	}
}

func TestKnownHostsMismatchIsTypedAndNotRetried(t *testing.T) {
	t.Parallel()
	srv := sshtest.NewServer(t, nil)
	_, other := sshtest.GenerateKey(t, "ed25519")
	cfg := baseConfig(t, srv)
	cfg.KnownHostsFiles = []string{writeFile(t, knownhosts.Line([]string{knownhosts.Normalize(srv.Addr)}, other.PublicKey())+"\n")}
	cfg.ConnectRetries = 3
	cfg.RetryBackoff = 10 * time.Millisecond

	_, err := Dial(testCtx(t), cfg)
	var mm *HostKeyMismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("Dial: err = %v, want *HostKeyMismatchError", err)
	}
	t.Logf("error: %v", err)
	gotFP := ssh.FingerprintSHA256(srv.HostKey.PublicKey())
	wantFP := ssh.FingerprintSHA256(other.PublicKey())
	if mm.Got != gotFP || !slices.Equal(mm.Want, []string{wantFP}) {
		t.Errorf("mismatch Got=%s Want=%v, want Got=%s Want=[%s]", mm.Got, mm.Want, gotFP, wantFP)
	}
	for _, s := range []string{"kong-1", srv.Addr, gotFP, wantFP} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %q", err, s)
		}
	}
	if n := srv.Connections(); n != 1 {
		t.Errorf("server saw %d connections, want 1 (a mismatch is never retried)", n)
	}
}

func TestUnknownHostStrict(t *testing.T) {
	t.Parallel()
	srv := sshtest.NewServer(t, nil)
	cfg := baseConfig(t, srv)
	cfg.KnownHostsFiles = []string{writeFile(t, "# empty\n")}
	cfg.ConnectRetries = 2
	_, err := Dial(testCtx(t), cfg)
	var u *HostKeyUnknownError
	if !errors.As(err, &u) {
		t.Fatalf("err = %v, want *HostKeyUnknownError", err)
	}
	if srv.Connections() != 1 {
		t.Errorf("connections = %d, want 1", srv.Connections())
	}
}

func TestHashedKnownHosts(t *testing.T) {
	t.Parallel()
	srv := sshtest.NewServer(t, nil)
	cfg := baseConfig(t, srv)
	hashed := knownhosts.HashHostname(knownhosts.Normalize(srv.Addr))
	cfg.KnownHostsFiles = []string{writeFile(t, "# hashed\n"+knownhosts.Line([]string{hashed}, srv.HostKey.PublicKey())+"\n")}
	c := dial(t, cfg)
	if _, err := c.Run(testCtx(t), RunRequest{Cmd: "true"}); err != nil {
		t.Fatal(err)
	}
}

func TestSeveralKeysPerHost(t *testing.T) {
	t.Parallel()
	srv := sshtest.NewServer(t, nil)
	_, other := sshtest.GenerateKey(t, "ed25519")
	host := []string{knownhosts.Normalize(srv.Addr)}
	cfg := baseConfig(t, srv)
	cfg.KnownHostsFiles = []string{writeFile(t, knownhosts.Line(host, other.PublicKey())+"\n"+knownhosts.Line(host, srv.HostKey.PublicKey())+"\n")}
	dial(t, cfg)
}

func TestCertAuthority(t *testing.T) {
	t.Parallel()
	_, ca := sshtest.GenerateKey(t, "ed25519")
	_, hostKey := sshtest.GenerateKey(t, "ecdsa")
	cert := sshtest.HostCertSigner(t, ca, hostKey, "127.0.0.1")
	// The server offers its plain key too: only algorithm ordering makes
	// it present the certificate.
	srv := sshtest.NewServer(t, &sshtest.Options{HostKeys: []ssh.Signer{hostKey, cert}})
	cfg := baseConfig(t, srv)
	caLine := "@cert-authority " + knownhosts.Line([]string{knownhosts.Normalize(srv.Addr)}, ca.PublicKey())
	cfg.KnownHostsFiles = []string{writeFile(t, caLine+"\n")}
	dial(t, cfg)

	// A certificate from another CA is refused, without retries.
	_, otherCA := sshtest.GenerateKey(t, "ed25519")
	srv2 := sshtest.NewServer(t, &sshtest.Options{HostKeys: []ssh.Signer{sshtest.HostCertSigner(t, otherCA, hostKey, "127.0.0.1")}})
	cfg2 := baseConfig(t, srv2)
	cfg2.KnownHostsFiles = []string{writeFile(t, "@cert-authority "+knownhosts.Line([]string{knownhosts.Normalize(srv2.Addr)}, ca.PublicKey())+"\n")}
	cfg2.ConnectRetries = 2
	if _, err := Dial(testCtx(t), cfg2); err == nil || !IsFatal(err) {
		t.Fatalf("Dial with a foreign CA: err = %v, want a fatal host key error", err)
	}
	if srv2.Connections() != 1 {
		t.Errorf("connections = %d, want 1", srv2.Connections())
	}
}

func TestHostKeyAlgorithmOrdering(t *testing.T) {
	t.Parallel()
	_, rsaKey := sshtest.GenerateKey(t, "rsa")
	_, ecKey := sshtest.GenerateKey(t, "ecdsa")
	_, edKey := sshtest.GenerateKey(t, "ed25519")
	srv := sshtest.NewServer(t, &sshtest.Options{HostKeys: []ssh.Signer{rsaKey, ecKey, edKey}})
	khLine := knownhosts.Line([]string{knownhosts.Normalize(srv.Addr)}, edKey.PublicKey()) + "\n"
	khFile := writeFile(t, khLine)

	// Control: x/crypto's default order makes this server present another
	// key type, which known_hosts then refuses.
	kh, err := knownhosts.New(khFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := ssh.ParsePrivateKey(must(os.ReadFile(srv.ClientKeyFile)))
	raw, err := ssh.Dial("tcp", srv.Addr, &ssh.ClientConfig{User: "x", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: kh})
	if err == nil {
		raw.Close()
		t.Fatal("control dial with default algorithms succeeded; the test no longer shows the ordering matters")
	}

	cfg := baseConfig(t, srv)
	cfg.KnownHostsFiles = []string{khFile}
	hk, err := newHostKeyChecker(cfg, "kong-1", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if algos := hk.algorithms(); algos[0] != ssh.KeyAlgoED25519 || slices.Contains(algos, ssh.CertAlgoED25519v01) {
		t.Errorf("algorithms = %v, want ssh-ed25519 first and no certificate algorithms", algos)
	}
	dial(t, cfg)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestAlgorithmsForCAAndRSA(t *testing.T) {
	t.Parallel()
	_, ca := sshtest.GenerateKey(t, "ed25519")
	_, rsaKey := sshtest.GenerateKey(t, "rsa")
	addr := "198.18.0.11:22"
	f := writeFile(t, "@cert-authority 198.18.0.* "+knownhosts.Line([]string{"x"}, ca.PublicKey())[2:]+"\n"+
		knownhosts.Line([]string{"198.18.0.11"}, rsaKey.PublicKey())+"\n")
	hk, err := newHostKeyChecker(&Config{KnownHostsFiles: []string{f}}, "kong-1", addr)
	if err != nil {
		t.Fatal(err)
	}
	got := hk.algorithms()
	want := append(slices.Clone(certAlgos), ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA, ssh.KeyAlgoED25519)
	if !slices.Equal(got[:len(want)], want) {
		t.Errorf("algorithms = %v\nwant prefix %v", got, want)
	}
}

func TestPinnedKey(t *testing.T) {
	t.Parallel()
	srv := sshtest.NewServer(t, nil)
	_, other := sshtest.GenerateKey(t, "ed25519")
	pin := string(ssh.MarshalAuthorizedKey(srv.HostKey.PublicKey()))

	cfg := baseConfig(t, srv)
	cfg.KnownHostsFiles = nil
	cfg.PinnedKeys = []string{pin}
	dial(t, cfg)

	cfg.PinnedKeys = []string{string(ssh.MarshalAuthorizedKey(other.PublicKey()))}
	_, err := Dial(testCtx(t), cfg)
	var mm *HostKeyMismatchError
	if !errors.As(err, &mm) || !slices.Contains(mm.Source, "pinned keys") {
		t.Fatalf("wrong pin: err = %v, want a mismatch from pinned keys", err)
	}

	// The pin matches but known_hosts records another key: refused.
	cfg.PinnedKeys = []string{pin}
	cfg.KnownHostsFiles = []string{writeFile(t, knownhosts.Line([]string{knownhosts.Normalize(srv.Addr)}, other.PublicKey())+"\n")}
	if _, err := Dial(testCtx(t), cfg); !errors.As(err, &mm) {
		t.Fatalf("pin vs known_hosts conflict: err = %v, want a mismatch", err)
	}
}

func TestAcceptNew(t *testing.T) {
	t.Parallel()
	srv := sshtest.NewServer(t, nil)
	kh := filepath.Join(t.TempDir(), "sub", "known_hosts")
	cfg := baseConfig(t, srv)
	cfg.KnownHostsFiles = []string{kh, filepath.Join(t.TempDir(), "missing")}
	cfg.HostKeyPolicy = HostKeyAcceptNew
	dial(t, cfg)
	data, err := os.ReadFile(kh)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(data)), srv.KnownHostsLine(); got != want {
		t.Errorf("known_hosts = %q, want %q", got, want)
	}
	// Strict now accepts it; a second accept-new dial adds nothing.
	cfg.HostKeyPolicy = HostKeyStrict
	dial(t, cfg)
	cfg.HostKeyPolicy = HostKeyAcceptNew
	dial(t, cfg)
	if data2, _ := os.ReadFile(kh); !bytes.Equal(data, data2) {
		t.Errorf("known_hosts changed on a second accept-new dial:\n%s", data2)
	}

	// A changed key is still refused, and nothing is written.
	_, other := sshtest.GenerateKey(t, "ed25519")
	bad := writeFile(t, knownhosts.Line([]string{knownhosts.Normalize(srv.Addr)}, other.PublicKey())+"\n")
	cfg.KnownHostsFiles = []string{bad}
	_, err = Dial(testCtx(t), cfg)
	var mm *HostKeyMismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("accept-new with a changed key: err = %v, want mismatch", err)
	}
	if data, _ := os.ReadFile(bad); strings.Count(string(data), "\n") != 1 {
		t.Errorf("accept-new wrote to known_hosts despite a mismatch:\n%s", data)
	}
}

// HostKeyProbe takes the server's ed25519 key unchecked, touches no
// known_hosts file, and hands the key to the caller, who must prove it.
func TestHostKeyProbe(t *testing.T) {
	_, rsa := sshtest.GenerateKey(t, "rsa")
	_, ed := sshtest.GenerateKey(t, "ed25519")
	srv := sshtest.NewServer(t, &sshtest.Options{HostKeys: []ssh.Signer{rsa, ed}})
	home := t.TempDir()
	t.Setenv("HOME", home) // the default known_hosts is not read nor written
	cfg := baseConfig(t, srv)
	cfg.KnownHostsFiles = nil
	cfg.HostKeyPolicy = HostKeyProbe
	c := dial(t, cfg)
	want := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(ed.PublicKey())))
	if got := c.HostKey(); got != want {
		t.Errorf("HostKey() = %q, want the ed25519 key %q", got, want)
	}
	if res, err := c.Run(testCtx(t), RunRequest{Cmd: "echo ok"}); err != nil || strings.TrimSpace(string(res.Stdout)) != "ok" {
		t.Errorf("run over the probe connection: %q %v", res.Stdout, err)
	}
	if _, err := os.Stat(filepath.Join(home, ".ssh")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("probe touched ~/.ssh: %v", err)
	}
	// A strict client knows its key too.
	if got := dial(t, baseConfig(t, srv)).HostKey(); got == "" {
		t.Error("HostKey() of a strict connection is empty")
	}
	// The probe checks nothing, so it takes no keys to check.
	cfg.PinnedKeys = []string{want}
	if _, err := Dial(testCtx(t), cfg); err == nil || !strings.Contains(err.Error(), "checks no key") {
		t.Errorf("probe with a pinned key: err = %v", err)
	}
}

func TestJumpChain(t *testing.T) {
	t.Parallel()
	b1 := sshtest.NewServer(t, nil)
	b2 := sshtest.NewServer(t, nil)
	target := sshtest.NewServer(t, nil)
	j1 := baseConfig(t, b1)
	j1.Name = "bastion-1"
	j2 := baseConfig(t, b2)
	j2.Name = "bastion-2"
	cfg := baseConfig(t, target)
	cfg.Jump = []*Config{j1, j2}
	c := dial(t, cfg)
	res, err := c.Run(testCtx(t), RunRequest{Cmd: "echo through"})
	if err != nil || string(res.Stdout) != "through\n" {
		t.Fatalf("Run through jumps: %q, %v", res.Stdout, err)
	}
	if got := b1.Forwards(); !slices.Equal(got, []string{b2.Addr}) {
		t.Errorf("bastion-1 forwarded to %v, want [%s]", got, b2.Addr)
	}
	if got := b2.Forwards(); !slices.Equal(got, []string{target.Addr}) {
		t.Errorf("bastion-2 forwarded to %v, want [%s]", got, target.Addr)
	}
	if b1.Execs() != nil || b2.Execs() != nil {
		t.Errorf("bastions ran commands: %v %v", b1.Execs(), b2.Execs())
	}

	// Each hop has its own host key check.
	_, other := sshtest.GenerateKey(t, "ed25519")
	j2bad := *j2
	j2bad.KnownHostsFiles = []string{writeFile(t, knownhosts.Line([]string{knownhosts.Normalize(b2.Addr)}, other.PublicKey())+"\n")}
	cfg.Jump = []*Config{j1, &j2bad}
	_, err = Dial(testCtx(t), cfg)
	var mm *HostKeyMismatchError
	if !errors.As(err, &mm) || !strings.Contains(err.Error(), "jump host 2") || !strings.Contains(mm.Host, "bastion-2") {
		t.Fatalf("bad bastion key: err = %v, want a mismatch for bastion-2 at jump host 2", err)
	}
}

// freezeProxy forwards TCP to a backend until frozen; then it silently
// drops everything without closing, like a dead peer.
type freezeProxy struct {
	ln     net.Listener
	frozen chan struct{}
	done   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
}

func newFreezeProxy(t *testing.T, backend string) *freezeProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezeProxy{ln: ln, frozen: make(chan struct{}), done: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("tcp", backend)
			if err != nil {
				c.Close()
				continue
			}
			p.wg.Add(2)
			go p.pipe(c, b)
			go p.pipe(b, c)
		}
	}()
	t.Cleanup(func() { close(p.done); ln.Close(); p.wg.Wait() })
	return p
}

func (p *freezeProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	defer dst.Close()
	defer src.Close()
	go func() { <-p.done; src.Close(); dst.Close() }()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		select {
		case <-p.frozen:
			if err != nil {
				<-p.done
				return
			}
			continue // drop
		default:
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *freezeProxy) freeze() { p.once.Do(func() { close(p.frozen) }) }

func TestKeepaliveDetectsDeadPeer(t *testing.T) {
	t.Parallel()
	srv := sshtest.NewServer(t, nil)
	px := newFreezeProxy(t, srv.Addr)
	cfg := baseConfig(t, srv)
	_, port, _ := net.SplitHostPort(px.ln.Addr().String())
	cfg.Port = must(net.LookupPort("tcp", port))
	cfg.KnownHostsFiles = []string{writeFile(t, knownhosts.Line([]string{knownhosts.Normalize(px.ln.Addr().String())}, srv.HostKey.PublicKey())+"\n")}
	cfg.Keepalive = 100 * time.Millisecond
	c := dial(t, cfg)
	if _, err := c.Run(testCtx(t), RunRequest{Cmd: "true"}); err != nil {
		t.Fatal(err)
	}
	// Alive and answering: several intervals pass without a close.
	time.Sleep(500 * time.Millisecond)
	if err := c.Err(); err != nil {
		t.Fatalf("healthy connection closed: %v", err)
	}
	px.freeze()
	start := time.Now()
	select {
	case <-c.dead:
	case <-time.After(3 * time.Second):
		t.Fatal("dead peer not detected within 3s")
	}
	t.Logf("dead peer detected after %s", time.Since(start).Round(time.Millisecond))
	if err := c.Err(); err == nil || !strings.Contains(err.Error(), "keepalive") {
		t.Errorf("Err() = %v, want a keepalive error", err)
	}
	_, err := c.Run(testCtx(t), RunRequest{Cmd: "true"})
	if err == nil || !strings.Contains(err.Error(), "kong-1") {
		t.Errorf("Run on a dead connection: err = %v, want an error naming the host", err)
	}
}

func TestRunCancelClosesQuickly(t *testing.T) {
	t.Parallel()
	srv := sshtest.NewServer(t, nil)
	c := dial(t, baseConfig(t, srv))
	ctx, cancel := context.WithCancel(testCtx(t))
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.Run(ctx, RunRequest{Cmd: "sleep 30"})
	took := time.Since(start)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if took > 1500*time.Millisecond {
		t.Errorf("cancelled Run took %s", took)
	}
	// The remote command is gone and the connection still works.
	deadline := time.Now().Add(3 * time.Second)
	for srv.Active() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if srv.Active() != 0 {
		t.Errorf("remote command still running after cancel")
	}
	if res, err := c.Run(testCtx(t), RunRequest{Cmd: "echo ok"}); err != nil || string(res.Stdout) != "ok\n" {
		t.Errorf("Run after a cancel: %q %v", res.Stdout, err)
	}
	if srv.Connections() != 1 {
		t.Errorf("connections = %d, want 1", srv.Connections())
	}
}

func TestDialCancelDuringStalledHandshake(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // never speak
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	_, key := sshtest.GenerateKey(t, "ed25519")
	priv, _ := sshtest.GenerateKey(t, "ed25519")
	cfg := &Config{Name: "stall", Address: host, Port: must(net.LookupPort("tcp", port)), User: "x",
		KeyFiles:       []string{sshtest.WritePrivateKey(t, priv, nil)},
		PinnedKeys:     []string{string(ssh.MarshalAuthorizedKey(key.PublicKey()))},
		ConnectTimeout: time.Minute}

	ctx, cancel := context.WithTimeout(testCtx(t), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = Dial(ctx, cfg)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("ctx-bounded dial: err = %v after %s, want DeadlineExceeded quickly", err, time.Since(start))
	}

	cfg.ConnectTimeout = 300 * time.Millisecond
	start = time.Now()
	_, err = Dial(testCtx(t), cfg)
	if err == nil || !strings.Contains(err.Error(), "timed out") || time.Since(start) > 2*time.Second {
		t.Errorf("connect timeout: err = %v after %s, want a timeout quickly", err, time.Since(start))
	}
}

func TestConnectRetryThenSuccess(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // refused until the server starts

	_, hostKey := sshtest.GenerateKey(t, "ed25519")
	priv, client := sshtest.GenerateKey(t, "ed25519")
	host, port, _ := net.SplitHostPort(addr)
	var mu sync.Mutex
	var retries []string
	cfg := &Config{Name: "kong-r", Address: host, Port: must(net.LookupPort("tcp", port)), User: "kong",
		KeyFiles:        []string{sshtest.WritePrivateKey(t, priv, nil)},
		KnownHostsFiles: []string{writeFile(t, knownhosts.Line([]string{knownhosts.Normalize(addr)}, hostKey.PublicKey())+"\n")},
		ConnectRetries:  20, RetryBackoff: 40 * time.Millisecond,
		Logf: func(f string, a ...any) {
			mu.Lock()
			retries = append(retries, fmt.Sprintf(f, a...))
			mu.Unlock()
		},
	}
	var srv *sshtest.Server
	started := make(chan struct{})
	time.AfterFunc(400*time.Millisecond, func() {
		defer close(started)
		srv = sshtest.NewServer(t, &sshtest.Options{Addr: addr, HostKeys: []ssh.Signer{hostKey}, AuthorizedKeys: []ssh.PublicKey{client.PublicKey()}})
	})
	start := time.Now()
	c, err := Dial(testCtx(t), cfg)
	<-started
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	mu.Lock()
	n := len(retries)
	mu.Unlock()
	if n < 2 {
		t.Errorf("retried %d times, want >= 2 (refused while the server was down)", n)
	}
	if !strings.Contains(retries[0], "refused") {
		t.Errorf("first retry log %q does not say refused", retries[0])
	}
	t.Logf("connected after %d retries in %s", n, time.Since(start).Round(time.Millisecond))
	if srv.Connections() != 1 {
		t.Errorf("server connections = %d, want 1", srv.Connections())
	}
}

func TestNoRetryOnAuthFailure(t *testing.T) {
	t.Parallel()
	srv := sshtest.NewServer(t, nil)
	priv, _ := sshtest.GenerateKey(t, "ed25519")
	cfg := baseConfig(t, srv)
	cfg.KeyFiles = []string{sshtest.WritePrivateKey(t, priv, nil)}
	cfg.ConnectRetries = 5
	cfg.RetryBackoff = 10 * time.Millisecond
	_, err := Dial(testCtx(t), cfg)
	var ae *AuthError
	if !errors.As(err, &ae) || ae.User != "kong" {
		t.Fatalf("err = %v, want *AuthError for kong", err)
	}
	if !strings.Contains(err.Error(), "kong-1") {
		t.Errorf("error %q does not name the host", err)
	}
	if srv.Connections() != 1 {
		t.Errorf("connections = %d, want 1 (auth failures are not retried)", srv.Connections())
	}
}

func TestUploadStatRenameReadFile(t *testing.T) {
	t.Parallel()
	srv := sshtest.NewServer(t, nil)
	c := dial(t, baseConfig(t, srv))
	ctx := testCtx(t)
	dir := t.TempDir()
	data := make([]byte, 3<<20+17)
	rand.Read(data)
	tmp, final := filepath.Join(dir, ".agent.tmp"), filepath.Join(dir, "agent")
	if err := os.WriteFile(final, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	var calls int
	var last int64
	err := c.Upload(ctx, tmp, bytes.NewReader(data), int64(len(data)), 0o755, func(n int64) {
		if n < last {
			t.Errorf("progress went backwards: %d after %d", n, last)
		}
		calls++
		last = n
	})
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	if last != int64(len(data)) || calls < 2 {
		t.Errorf("progress: %d calls, last %d; want several, ending at %d", calls, last, len(data))
	}
	fi, err := c.Stat(ctx, tmp)
	if err != nil || fi.Size() != int64(len(data)) || fi.Mode().Perm() != 0o755 {
		t.Fatalf("Stat: %v %v", fi, err)
	}
	if err := c.Rename(ctx, tmp, final); err != nil {
		t.Fatalf("Rename: %v", err)
	}
	got, err := c.ReadFile(ctx, final)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadFile: %d bytes, %v", len(got), err)
	}
	if _, err := c.Stat(ctx, tmp); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat of renamed-away file: %v, want fs.ErrNotExist", err)
	}

	// A short source is caught.
	err = c.Upload(ctx, tmp, bytes.NewReader(data[:10]), 11, 0o600, nil)
	if err == nil || !strings.Contains(err.Error(), "upload "+tmp) {
		t.Errorf("short upload: err = %v", err)
	}
	// Cancelled upload returns promptly and the client recovers.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := c.Upload(cctx, tmp, bytes.NewReader(data), -1, 0o600, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled upload: %v", err)
	}
	if _, err := c.Stat(ctx, final); err != nil {
		t.Errorf("Stat after cancel: %v", err)
	}
	if srv.Connections() != 1 {
		t.Errorf("connections = %d, want 1", srv.Connections())
	}
}

func TestOneConnectionForManyRuns(t *testing.T) {
	t.Parallel()
	srv := sshtest.NewServer(t, nil)
	c := dial(t, baseConfig(t, srv))
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make([]error, 30)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.Run(ctx, RunRequest{Cmd: fmt.Sprintf("echo %d", i)})
			if err == nil && string(res.Stdout) != fmt.Sprintf("%d\n", i) {
				err = fmt.Errorf("stdout %q", res.Stdout)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := c.Stat(ctx, "/"); err != nil {
			t.Fatal(err)
		}
	}
	if srv.Connections() != 1 || srv.Handshakes() != 1 {
		t.Errorf("connections=%d handshakes=%d, want 1 and 1", srv.Connections(), srv.Handshakes())
	}
	if n := len(srv.Execs()); n != 30 {
		t.Errorf("execs = %d, want 30", n)
	}
}

func TestPoolConcurrencyAndReuse(t *testing.T) {
	t.Parallel()
	srv := sshtest.NewServer(t, &sshtest.Options{Handler: func(ctx context.Context, e *sshtest.Exec) int {
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
		}
		return 0
	}})
	base := baseConfig(t, srv)
	configs := map[string]*Config{}
	var hosts []string
	for i := range 6 {
		cfg := *base
		cfg.Name = fmt.Sprintf("kong-%d", i)
		configs[cfg.Name] = &cfg
		hosts = append(hosts, cfg.Name)
	}
	p := NewPool(StaticConfigs(configs), Limits{Concurrency: 2})
	defer p.Close()
	ctx := testCtx(t)

	// Concurrent Gets share one dial.
	var wg sync.WaitGroup
	got := make([]*Client, 5)
	for i := range got {
		wg.Add(1)
		go func() { defer wg.Done(); got[i], _ = p.Get(ctx, "kong-0") }()
	}
	wg.Wait()
	for _, c := range got {
		if c == nil || c != got[0] {
			t.Fatalf("concurrent Gets returned different clients: %v", got)
		}
	}
	if srv.Connections() != 1 {
		t.Fatalf("connections after 5 Gets = %d, want 1", srv.Connections())
	}

	results := p.ForEach(ctx, append(hosts, "missing"), func(ctx context.Context, c *Client) error {
		_, err := c.Run(ctx, RunRequest{Cmd: "work"})
		return err
	})
	for i, r := range results[:6] {
		if r.Host != hosts[i] || r.Err != nil {
			t.Errorf("result %d = %+v", i, r)
		}
	}
	if r := results[6]; r.Host != "missing" || r.Err == nil {
		t.Errorf("missing host result = %+v, want an error", r)
	}
	if m := srv.MaxActive(); m != 2 {
		t.Errorf("max concurrent commands = %d, want 2 (the pool limit)", m)
	}
	if srv.Connections() != 6 {
		t.Errorf("connections = %d, want 6 (one per host, kong-0 reused)", srv.Connections())
	}
}

// trackingReader counts how many uploads are reading at once.
type trackingReader struct {
	r       io.Reader
	active  *atomic.Int32
	max     *atomic.Int32
	started bool
}

func (tr *trackingReader) Read(b []byte) (int, error) {
	if !tr.started {
		tr.started = true
		n := tr.active.Add(1)
		for {
			m := tr.max.Load()
			if n <= m || tr.max.CompareAndSwap(m, n) {
				break
			}
		}
	}
	time.Sleep(5 * time.Millisecond)
	n, err := tr.r.Read(b)
	if err == io.EOF {
		tr.active.Add(-1)
	}
	return n, err
}

func TestPoolUploadLimit(t *testing.T) {
	t.Parallel()
	srv := sshtest.NewServer(t, nil)
	base := baseConfig(t, srv)
	configs := map[string]*Config{}
	var hosts []string
	for i := range 5 {
		cfg := *base
		cfg.Name = fmt.Sprintf("kong-%d", i)
		configs[cfg.Name] = &cfg
		hosts = append(hosts, cfg.Name)
	}
	p := NewPool(StaticConfigs(configs), Limits{Concurrency: 5, UploadConcurrency: 2})
	defer p.Close()
	dir := t.TempDir()
	data := make([]byte, 2<<20)
	var active, maxActive atomic.Int32
	results := p.ForEach(testCtx(t), hosts, func(ctx context.Context, c *Client) error {
		return c.Upload(ctx, filepath.Join(dir, c.Name()), &trackingReader{r: bytes.NewReader(data), active: &active, max: &maxActive}, int64(len(data)), 0o644, nil)
	})
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("%s: %v", r.Host, r.Err)
		}
	}
	if m := maxActive.Load(); m != 2 {
		t.Errorf("max concurrent uploads = %d, want 2", m)
	}
}

func TestCancelEscalatesToClosingTheConnection(t *testing.T) {
	t.Parallel()
	srv := sshtest.NewServer(t, nil)
	c := dial(t, baseConfig(t, srv))
	// An operation that only the connection's end can stop (as a Run on an
	// OpenSSH root login, where signals are refused and sshd waits for the
	// command before closing the channel).
	var stages []string
	ctx, cancel := context.WithCancel(testCtx(t))
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	err := c.guard(ctx, func() error { <-c.dead; return errors.New("connection gone") },
		func() { stages = append(stages, "term") },
		func() { stages = append(stages, "kill+close") })
	took := time.Since(start)
	// Bounded by the stages' waits, with room for a loaded machine: the
	// point is that it ends long before the test's own deadline.
	if !errors.Is(err, context.Canceled) || took > 100*time.Millisecond+cancelStageWait+cancelGrace+10*time.Second {
		t.Fatalf("guard: %v after %s", err, took)
	}
	if !slices.Equal(stages, []string{"term", "kill+close"}) {
		t.Errorf("stages = %v", stages)
	}
	if c.Err() == nil {
		t.Error("connection still open after an unstoppable cancelled operation")
	}
}

func TestDialAppliesSSHConfigFile(t *testing.T) {
	t.Parallel()
	srv := sshtest.NewServer(t, nil)
	kh := srv.WriteKnownHosts(t)
	file := writeFile(t, fmt.Sprintf("Host kong-alias\n  HostName %s\n  Port %d\n  User kong\n  IdentityFile %s\n  UserKnownHostsFile %s\n", srv.Host, srv.Port, srv.ClientKeyFile, kh))
	cfg := &Config{Name: "kong-alias", SSHConfigFile: file}
	c := dial(t, cfg)
	if _, err := c.Run(testCtx(t), RunRequest{Cmd: "true"}); err != nil {
		t.Fatal(err)
	}
	if cfg.Address != "" {
		t.Errorf("Dial modified the caller's Config: %+v", cfg)
	}
}
