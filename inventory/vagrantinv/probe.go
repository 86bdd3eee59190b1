package vagrantinv

import (
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

	"github.com/kongctl/kongctl/sshremote"
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
// StrictHostKeyChecking no: sshremote.HostKeyProbe) and reads the machine's
// addresses and its ed25519 host key. The key the server presented on this
// connection must be that same key, or Probe fails.
func Probe(ctx context.Context, h Host, timeout time.Duration) (*Facts, error) {
	if pc, ok := h.Options["proxycommand"]; ok && pc != "none" {
		return nil, fmt.Errorf("probe %s: ProxyCommand %q is not supported; give the private addresses and host keys with --address and --host-key", h.Name, pc)
	}
	if len(h.IdentityFiles) == 0 {
		return nil, fmt.Errorf("probe %s: no IdentityFile", h.Name)
	}
	user := h.User
	if user == "" {
		user = "vagrant"
	}
	keys := make([]string, len(h.IdentityFiles))
	for i, f := range h.IdentityFiles {
		keys[i] = expandHome(f)
	}
	cfg := &sshremote.Config{
		Name:           h.Name,
		Address:        h.HostName,
		Port:           h.Port,
		User:           user,
		KeyFiles:       keys,
		HostKeyPolicy:  sshremote.HostKeyProbe,
		ConnectTimeout: timeout,
	}
	addr := net.JoinHostPort(h.HostName, strconv.Itoa(h.Port))
	out, presented, err := runOnce(ctx, cfg, probeScript, timeout)
	if err != nil {
		return nil, fmt.Errorf("probe %s (%s@%s): %w", h.Name, user, addr, err)
	}
	f, err := parseProbe(out)
	if err != nil {
		return nil, fmt.Errorf("probe %s (%s): %w", h.Name, addr, err)
	}
	if presented == "" || presented != f.HostKey {
		return nil, fmt.Errorf("probe %s (%s): the server's host key is not the one in /etc/ssh/ssh_host_ed25519_key.pub", h.Name, addr)
	}
	return f, nil
}

// runOnce connects with cfg, runs script through /bin/sh and returns its
// stdout and the host key the server presented. timeout bounds the run.
func runOnce(ctx context.Context, cfg *sshremote.Config, script string, timeout time.Duration) ([]byte, string, error) {
	c, err := sshremote.Dial(ctx, cfg)
	if err != nil {
		return nil, "", err
	}
	defer c.Close()
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := c.Run(rctx, sshremote.RunRequest{Cmd: "/bin/sh -s", Stdin: strings.NewReader(script)})
	if err != nil {
		return nil, "", err
	}
	if res.ExitCode != 0 {
		return nil, "", fmt.Errorf("run probe: exit %d: %s", res.ExitCode, strings.TrimSpace(string(res.Stderr)))
	}
	return res.Stdout, c.HostKey(), nil
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

// ScanHostKey reads the ed25519 host key addr (host:port) serves, without
// logging in, like ssh-keyscan -t ed25519 (sshremote.ScanHostKey).
func ScanHostKey(ctx context.Context, addr string, timeout time.Duration) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("keyscan %s: %w", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return "", fmt.Errorf("keyscan %s: port %q: %w", addr, port, err)
	}
	return sshremote.ScanHostKey(ctx, &sshremote.Config{Address: host, Port: p, ConnectTimeout: timeout})
}
