package vagrantinv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Facts is what Probe learns about a machine.
type Facts struct {
	Addrs []IfaceAddr // global-scope IPv4 addresses
	// DefaultIfaces are the interfaces that carry a default route (the NAT
	// or management interface on most providers).
	DefaultIfaces []string
	// HostKey is /etc/ssh/ssh_host_ed25519_key.pub without its comment, in
	// authorized_keys format: "ssh-ed25519 AAAA...".
	HostKey string
}

// IfaceAddr is one address of a network interface.
type IfaceAddr struct {
	Iface  string
	Prefix netip.Prefix // address with its prefix length, e.g. 198.19.10.11/24
}

// probeScript prints the addresses, the default routes and the host key,
// separated by marker lines. It needs no root: the .pub file is 0644.
const probeScript = `export LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin
ip -o -4 addr show scope global
echo @@routes
ip -4 route show default
echo @@hostkey
cat /etc/ssh/ssh_host_ed25519_key.pub
`

// Probe logs in to h as `vagrant ssh` does (h's user, port and identity
// files; the host key is not checked, as Vagrant's own ssh-config says with
// StrictHostKeyChecking no) and reads the machine's addresses and its
// ed25519 host key. The key the server presented on this connection must be
// that same key, or Probe fails.
func Probe(ctx context.Context, h Host, timeout time.Duration) (*Facts, error) {
	if pc, ok := h.Options["proxycommand"]; ok && pc != "none" {
		return nil, fmt.Errorf("probe %s: ProxyCommand %q is not supported; give the private addresses and host keys with --address and --host-key", h.Name, pc)
	}
	signers, err := loadSigners(h.IdentityFiles)
	if err != nil {
		return nil, fmt.Errorf("probe %s: %w", h.Name, err)
	}
	user := h.User
	if user == "" {
		user = "vagrant"
	}
	var presented ssh.PublicKey
	cfg := &ssh.ClientConfig{
		User: user,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(signers...)},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			presented = key
			return nil
		},
		HostKeyAlgorithms: []string{ssh.KeyAlgoED25519},
		Timeout:           timeout,
	}
	addr := net.JoinHostPort(h.HostName, strconv.Itoa(h.Port))
	out, err := runOnce(ctx, addr, cfg, probeScript, timeout)
	if err != nil {
		return nil, fmt.Errorf("probe %s (%s@%s): %w", h.Name, user, addr, err)
	}
	f, err := parseProbe(out)
	if err != nil {
		return nil, fmt.Errorf("probe %s (%s): %w", h.Name, addr, err)
	}
	if presented == nil || keyString(presented) != f.HostKey {
		return nil, fmt.Errorf("probe %s (%s): the server's host key is not the one in /etc/ssh/ssh_host_ed25519_key.pub", h.Name, addr)
	}
	return f, nil
}

// runOnce dials addr, runs script through the login shell and returns its
// stdout. The connection is closed when ctx ends.
func runOnce(ctx context.Context, addr string, cfg *ssh.ClientConfig, script string, timeout time.Duration) ([]byte, error) {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("ssh handshake: %w", err)
	}
	client := ssh.NewClient(c, chans, reqs)
	defer client.Close()
	s, err := client.NewSession()
	if err != nil {
		return nil, fmt.Errorf("open session: %w", err)
	}
	defer s.Close()
	var stdout, stderr bytes.Buffer
	s.Stdout, s.Stderr = &stdout, &stderr
	s.Stdin = strings.NewReader(script)
	if err := s.Run("/bin/sh -s"); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("run probe: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

func loadSigners(files []string) ([]ssh.Signer, error) {
	if len(files) == 0 {
		return nil, errors.New("no IdentityFile")
	}
	var signers []ssh.Signer
	var errs []error
	for _, f := range files {
		b, err := os.ReadFile(expandHome(f))
		if err != nil {
			errs = append(errs, fmt.Errorf("read identity file: %w", err))
			continue
		}
		s, err := ssh.ParsePrivateKey(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("identity file %s: %w", f, err))
			continue
		}
		signers = append(signers, s)
	}
	if len(signers) == 0 {
		return nil, errors.Join(errs...)
	}
	return signers, nil
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return home + p[1:]
		}
	}
	return p
}

// parseProbe reads probeScript's output.
func parseProbe(out []byte) (*Facts, error) {
	f := &Facts{}
	section := "addrs"
	for _, line := range strings.Split(strings.ReplaceAll(string(out), "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			continue
		case line == "@@routes":
			section = "routes"
			continue
		case line == "@@hostkey":
			section = "hostkey"
			continue
		}
		fields := strings.Fields(line)
		switch section {
		case "addrs":
			// "3: eth1    inet 198.19.10.11/24 brd 198.19.10.255 scope global eth1\       valid_lft ..."
			if len(fields) < 4 || fields[2] != "inet" || !strings.Contains(line, " scope global ") {
				continue
			}
			p, err := netip.ParsePrefix(fields[3])
			if err != nil {
				continue
			}
			f.Addrs = append(f.Addrs, IfaceAddr{Iface: strings.TrimSuffix(fields[1], ":"), Prefix: p})
		case "routes":
			// "default via 10.0.2.2 dev eth0 proto dhcp ..."
			for i := 0; i+1 < len(fields); i++ {
				if fields[i] == "dev" {
					f.DefaultIfaces = append(f.DefaultIfaces, fields[i+1])
				}
			}
		case "hostkey":
			if f.HostKey != "" {
				continue
			}
			key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
			if err != nil {
				return nil, fmt.Errorf("read /etc/ssh/ssh_host_ed25519_key.pub: %w", err)
			}
			f.HostKey = keyString(key)
		}
	}
	if f.HostKey == "" {
		return nil, errors.New("no ed25519 host key in /etc/ssh/ssh_host_ed25519_key.pub")
	}
	return f, nil
}

func keyString(k ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

// ChooseAddress picks the machine's address on the private network: the
// first address inside network when it is valid; otherwise the first
// address on an interface that carries neither a default route nor the
// address Vagrant connects to (hostName).
func ChooseAddress(f *Facts, network netip.Prefix, hostName string) (netip.Addr, error) {
	if network.IsValid() {
		for _, a := range f.Addrs {
			if network.Contains(a.Prefix.Addr()) {
				return a.Prefix.Addr(), nil
			}
		}
		return netip.Addr{}, fmt.Errorf("no address in %s (the machine has %s)", network, listAddrs(f.Addrs))
	}
	skip := map[string]bool{}
	for _, i := range f.DefaultIfaces {
		skip[i] = true
	}
	if mgmt, err := netip.ParseAddr(hostName); err == nil {
		for _, a := range f.Addrs {
			if a.Prefix.Addr() == mgmt {
				skip[a.Iface] = true
			}
		}
	}
	for _, a := range f.Addrs {
		if !skip[a.Iface] {
			return a.Prefix.Addr(), nil
		}
	}
	return netip.Addr{}, fmt.Errorf("no private-network address (the machine has %s; name the network with --network)", listAddrs(f.Addrs))
}

func listAddrs(as []IfaceAddr) string {
	if len(as) == 0 {
		return "no global IPv4 address"
	}
	var s []string
	for _, a := range as {
		s = append(s, a.Iface+" "+a.Prefix.String())
	}
	return strings.Join(s, ", ")
}

// errGotKey stops a handshake once the host key is known.
var errGotKey = errors.New("host key received")

// ScanHostKey connects to addr (host:port), reads the server's ed25519 host
// key and hangs up before authenticating, like ssh-keyscan -t ed25519.
func ScanHostKey(ctx context.Context, addr string, timeout time.Duration) (string, error) {
	var got ssh.PublicKey
	cfg := &ssh.ClientConfig{
		User: "kongctl-keyscan",
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			got = key
			return errGotKey
		},
		HostKeyAlgorithms: []string{ssh.KeyAlgoED25519},
		Timeout:           timeout,
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("keyscan %s: %w", addr, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	_, _, _, err = ssh.NewClientConn(conn, addr, cfg)
	if got == nil {
		return "", fmt.Errorf("keyscan %s: %w", addr, err)
	}
	return keyString(got), nil
}
