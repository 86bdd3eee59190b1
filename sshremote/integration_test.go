//go:build integration

package sshremote

// Integration tests against a real OpenSSH sshd (Debian's openssh-server),
// run as root. sshd runs in a private mount namespace with a tmpfs on /run
// (it needs /run/sshd; sudo's timestamps land there too), listening on a
// free loopback port with its own host keys and authorized_keys in a temp
// dir. A throw-away system user with a sudoers.d drop-in exercises become;
// both are removed in cleanup.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/kongctl/kongctl/sshremote/sshtest"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type realSSHD struct {
	addr       string
	port       int
	dir        string
	hostKeys   []ssh.Signer // ed25519, ecdsa, rsa
	clientKey  string       // private key file
	knownHosts string       // records the ed25519 key only
	log        *syncBuffer
}

// connections counts the TCP connections sshd logged.
func (s *realSSHD) connections() int { return strings.Count(s.log.String(), "Connection from ") }

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func startSSHD(t *testing.T) *realSSHD {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("integration tests run as root (CI does)")
	}
	if _, err := os.Stat("/usr/sbin/sshd"); err != nil {
		t.Fatalf("/usr/sbin/sshd missing (scripts/install-deps.sh installs openssh-server): %v", err)
	}
	// Readable by the throw-away user: sshd reads authorized_keys as them.
	dir, err := os.MkdirTemp("", "kongctl-sshd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &realSSHD{dir: dir, log: &syncBuffer{}, port: freePort(t)}
	s.addr = net.JoinHostPort("127.0.0.1", fmt.Sprint(s.port))
	var hostKeyLines []string
	for _, typ := range []string{"ed25519", "ecdsa", "rsa"} {
		priv, signer := sshtest.GenerateKey(t, typ)
		p := filepath.Join(dir, "ssh_host_"+typ+"_key")
		if err := os.Rename(sshtest.WritePrivateKey(t, priv, nil), p); err != nil {
			t.Fatal(err)
		}
		s.hostKeys = append(s.hostKeys, signer)
		hostKeyLines = append(hostKeyLines, "HostKey "+p)
	}
	priv, client := sshtest.GenerateKey(t, "ed25519")
	s.clientKey = sshtest.WritePrivateKey(t, priv, nil)
	ak := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(ak, ssh.MarshalAuthorizedKey(client.PublicKey()), 0o644); err != nil {
		t.Fatal(err)
	}
	s.knownHosts = filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(s.knownHosts, []byte(knownhosts.Line([]string{knownhosts.Normalize(s.addr)}, s.hostKeys[0].PublicKey())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
%s
AuthorizedKeysFile %s
StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowTcpForwarding yes
PidFile none
UseDNS no
PrintMotd no
LogLevel VERBOSE
Subsystem sftp internal-sftp
`, s.port, strings.Join(hostKeyLines, "\n"), ak)), 0o644); err != nil {
		t.Fatal(err)
	}
	script := "mount -t tmpfs -o mode=0755 kongctl-test /run && mkdir -m 0755 /run/sshd && /usr/sbin/sshd -t -f " + conf + " && exec /usr/sbin/sshd -D -e -f " + conf
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("sshd log:\n%s", s.log.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			c.Close()
			// That probe was a connection too; let sshd log it.
			time.Sleep(50 * time.Millisecond)
			return s
		}
		select {
		case err := <-exited:
			t.Fatalf("sshd exited: %v\n%s", err, s.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd not listening on %s: %v\n%s", s.addr, err, s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *realSSHD) config(user string) *Config {
	return &Config{
		Name: "real-sshd", Address: "127.0.0.1", Port: s.port, User: user,
		KeyFiles: []string{s.clientKey}, KnownHostsFiles: []string{s.knownHosts},
		ConnectTimeout: 5 * time.Second,
	}
}

// throwawayUser creates a system user with /bin/sh and a password, and a
// sudoers.d drop-in for it; cleanup removes all of it. setSudoers rewrites
// the drop-in's rule.
func throwawayUser(t *testing.T) (name, password string, setSudoers func(rule string)) {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	name = "kctlit" + hex.EncodeToString(b)
	pw := make([]byte, 12)
	rand.Read(pw)
	password = hex.EncodeToString(pw)
	run := func(stdin string, args ...string) {
		t.Helper()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("", "useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/bin/sh", name)
	dropIn := "/etc/sudoers.d/" + name // no '.' in the name, or sudo skips it
	t.Cleanup(func() {
		os.Remove(dropIn)
		os.Remove(dropIn + "-new")
		// sshd's session process for the user may take a moment to exit
		// after the client closed.
		deadline := time.Now().Add(10 * time.Second)
		for {
			out, err := exec.Command("userdel", name).CombinedOutput()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("userdel %s: %v\n%s", name, err, out)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		os.Remove("/var/lib/sudo/lectured/" + name)
	})
	run(name+":"+password+"\n", "chpasswd")
	setSudoers = func(rule string) {
		t.Helper()
		tmp := dropIn + "-new"
		if err := os.WriteFile(tmp, []byte(name+" "+rule+"\n"), 0o440); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("visudo", "-cf", tmp).CombinedOutput(); err != nil {
			os.Remove(tmp)
			t.Fatalf("visudo: %v\n%s", err, out)
		}
		if err := os.Rename(tmp, dropIn); err != nil {
			t.Fatal(err)
		}
	}
	return name, password, setSudoers
}

func TestOpenSSH(t *testing.T) {
	s := startSSHD(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	// Most checks log in as a throw-away user with /bin/sh: root's login
	// shell may be slow to start (a .bashrc sourced for ssh commands).
	user, password, setSudoers := throwawayUser(t)

	t.Run("key auth, strict known_hosts with several host key types, Run", func(t *testing.T) {
		c, err := Dial(ctx, s.config("root"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		res, err := c.Run(ctx, RunRequest{Cmd: "id -u; echo oops >&2; cat; exit 5", Stdin: strings.NewReader("in")})
		if err != nil {
			t.Fatal(err)
		}
		if string(res.Stdout) != "0\nin" || string(res.Stderr) != "oops\n" || res.ExitCode != 5 {
			t.Errorf("Run = %q %q %d", res.Stdout, res.Stderr, res.ExitCode)
		}
	})

	t.Run("one connection for many Runs", func(t *testing.T) {
		c, err := Dial(ctx, s.config(user))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		time.Sleep(50 * time.Millisecond)
		before := s.connections()
		var wg sync.WaitGroup
		for i := range 8 { // under sshd's default MaxSessions 10
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := c.Run(ctx, RunRequest{Cmd: fmt.Sprintf("echo %d", i)})
				if err != nil || string(res.Stdout) != fmt.Sprintf("%d\n", i) {
					t.Errorf("Run %d: %q %v", i, res.Stdout, err)
				}
			}()
		}
		wg.Wait()
		time.Sleep(50 * time.Millisecond)
		if n := s.connections() - before; n != 0 {
			t.Errorf("8 Runs opened %d new connections, want 0", n)
		}
	})

	t.Run("mismatch is typed and not retried", func(t *testing.T) {
		_, other := sshtest.GenerateKey(t, "ed25519")
		cfg := s.config("root")
		cfg.KnownHostsFiles = []string{writeFile(t, knownhosts.Line([]string{knownhosts.Normalize(s.addr)}, other.PublicKey())+"\n")}
		cfg.ConnectRetries = 3
		cfg.RetryBackoff = 20 * time.Millisecond
		before := s.connections()
		_, err := Dial(ctx, cfg)
		var mm *HostKeyMismatchError
		if !errors.As(err, &mm) {
			t.Fatalf("err = %v, want *HostKeyMismatchError", err)
		}
		if !strings.Contains(err.Error(), ssh.FingerprintSHA256(s.hostKeys[0].PublicKey())) || !strings.Contains(err.Error(), ssh.FingerprintSHA256(other.PublicKey())) {
			t.Errorf("error does not name both fingerprints: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
		if n := s.connections() - before; n != 1 {
			t.Errorf("sshd saw %d connections, want 1", n)
		}
	})

	t.Run("unknown host refused under strict", func(t *testing.T) {
		cfg := s.config("root")
		cfg.KnownHostsFiles = []string{writeFile(t, "")}
		var u *HostKeyUnknownError
		if _, err := Dial(ctx, cfg); !errors.As(err, &u) {
			t.Fatalf("err = %v, want *HostKeyUnknownError", err)
		}
	})

	t.Run("Upload, Stat, Rename, ReadFile", func(t *testing.T) {
		c, err := Dial(ctx, s.config("root"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		dir := t.TempDir()
		data := make([]byte, 5<<20+3)
		rand.Read(data)
		tmp, dst := filepath.Join(dir, ".agent.tmp"), filepath.Join(dir, "agent")
		os.WriteFile(dst, []byte("old"), 0o644)
		var last int64
		if err := c.Upload(ctx, tmp, bytes.NewReader(data), int64(len(data)), 0o750, func(n int64) { last = n }); err != nil {
			t.Fatal(err)
		}
		if last != int64(len(data)) {
			t.Errorf("progress ended at %d", last)
		}
		if fi, err := c.Stat(ctx, tmp); err != nil || fi.Mode().Perm() != 0o750 || fi.Size() != int64(len(data)) {
			t.Fatalf("Stat = %v, %v", fi, err)
		}
		if err := c.Rename(ctx, tmp, dst); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(dst)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("uploaded file differs (%d bytes, %v)", len(got), err)
		}
		if rb, err := c.ReadFile(ctx, dst); err != nil || !bytes.Equal(rb, data) {
			t.Fatalf("ReadFile: %d bytes, %v", len(rb), err)
		}
		// OpenSSH (9.2 on Debian 12) advertises limits@openssh.com: the
		// upload went in writes of its max-write-length, not of 32 KiB.
		c.sftpMu.Lock()
		packet := c.sftpPacket
		c.sftpMu.Unlock()
		if packet != sftpOpenSSHWriteMax {
			t.Errorf("SFTP write size against OpenSSH = %d, want %d", packet, sftpOpenSSHWriteMax)
		}
	})

	t.Run("cancel kills the remote command (non-root login)", func(t *testing.T) {
		c, err := Dial(ctx, s.config(user))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		marker := fmt.Sprintf("%d", 40000+time.Now().Nanosecond()%10000)
		cctx, ccancel := context.WithCancel(ctx)
		time.AfterFunc(300*time.Millisecond, ccancel)
		start := time.Now()
		_, err = c.Run(cctx, RunRequest{Cmd: "sleep " + marker})
		took := time.Since(start)
		if !errors.Is(err, context.Canceled) || took > 1500*time.Millisecond {
			t.Fatalf("cancelled Run: %v after %s", err, took)
		}
		t.Logf("cancelled Run returned after %s", took.Round(time.Millisecond))
		deadline := time.Now().Add(3 * time.Second)
		for {
			out, _ := exec.Command("pgrep", "-x", "-f", "sleep "+marker).Output()
			if len(bytes.TrimSpace(out)) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("remote 'sleep %s' still running after cancel (pids %s)", marker, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if res, err := c.Run(ctx, RunRequest{Cmd: "echo still"}); err != nil || string(res.Stdout) != "still\n" {
			t.Errorf("Run after cancel: %q %v", res.Stdout, err)
		}
	})

	t.Run("cancel returns promptly on a root login", func(t *testing.T) {
		// OpenSSH refuses signal requests on root sessions ("session
		// signalling requires privilege separation"), so Run ends by
		// closing the connection. The short sleep ends by itself.
		c, err := Dial(ctx, s.config("root"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cctx, ccancel := context.WithCancel(ctx)
		time.AfterFunc(300*time.Millisecond, ccancel)
		start := time.Now()
		_, err = c.Run(cctx, RunRequest{Cmd: "sleep 4"})
		took := time.Since(start)
		if !errors.Is(err, context.Canceled) || took > 3*time.Second {
			t.Fatalf("cancelled Run: %v after %s", err, took)
		}
		t.Logf("cancelled root Run returned after %s; connection: %v", took.Round(time.Millisecond), c.Err())
	})

	t.Run("keepalive against a live sshd", func(t *testing.T) {
		cfg := s.config("root")
		cfg.Keepalive = 100 * time.Millisecond
		c, err := Dial(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		time.Sleep(800 * time.Millisecond)
		if err := c.Err(); err != nil {
			t.Fatalf("keepalive closed a live connection: %v", err)
		}
	})

	t.Run("jump through sshd to itself", func(t *testing.T) {
		cfg := s.config("root")
		cfg.Jump = []*Config{s.config("root")}
		cfg.Jump[0].Name = "bastion"
		c, err := Dial(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if res, err := c.Run(ctx, RunRequest{Cmd: "echo via"}); err != nil || string(res.Stdout) != "via\n" {
			t.Errorf("Run via jump: %q %v", res.Stdout, err)
		}
	})

	t.Run("sudo become for a non-root user", func(t *testing.T) {
		setSudoers("ALL=(root) ALL")
		cfg := s.config(user)
		cfg.Become = &Become{Method: "sudo", Password: []byte(password)}
		c, err := Dial(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()

		res, err := c.Run(ctx, RunRequest{Cmd: "id -un"})
		if err != nil || strings.TrimSpace(string(res.Stdout)) != user {
			t.Fatalf("plain Run as %s: %q %q %v", user, res.Stdout, res.Stderr, err)
		}
		res, err = c.Run(ctx, RunRequest{Cmd: "id -u; cat", Stdin: strings.NewReader("payload"), Become: true})
		if err != nil || string(res.Stdout) != "0\npayload" || res.ExitCode != 0 {
			t.Fatalf("become with password: %q %q exit %d %v", res.Stdout, res.Stderr, res.ExitCode, err)
		}
		if strings.Contains(string(res.Stderr), password) {
			t.Errorf("password echoed on stderr")
		}

		// Wrong password: sudo refuses; that is an exit code, not a transport error.
		bad := *cfg
		bad.Become = &Become{Password: []byte("wrong")}
		cb, err := Dial(ctx, &bad)
		if err != nil {
			t.Fatal(err)
		}
		defer cb.Close()
		res, err = cb.Run(ctx, RunRequest{Cmd: "id -u", Become: true})
		if err != nil || res.ExitCode == 0 || strings.Contains(string(res.Stdout), "0") {
			t.Errorf("wrong password: %q %q exit %d %v", res.Stdout, res.Stderr, res.ExitCode, err)
		}

		// No password configured: sudo -n fails without NOPASSWD...
		nopw := *cfg
		nopw.Become = &Become{Method: "sudo"}
		cn, err := Dial(ctx, &nopw)
		if err != nil {
			t.Fatal(err)
		}
		defer cn.Close()
		res, err = cn.Run(ctx, RunRequest{Cmd: "id -u", Become: true})
		if err != nil || res.ExitCode == 0 {
			t.Errorf("sudo -n without NOPASSWD: %q %q exit %d %v", res.Stdout, res.Stderr, res.ExitCode, err)
		}
		// ...and works with it.
		setSudoers("ALL=(root) NOPASSWD: ALL")
		res, err = cn.Run(ctx, RunRequest{Cmd: "id -u", Become: true})
		if err != nil || string(res.Stdout) != "0\n" {
			t.Errorf("sudo -n with NOPASSWD: %q %q exit %d %v", res.Stdout, res.Stderr, res.ExitCode, err)
		}
	})
}
