package vagrantinv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/kongctl/kongctl/inventory"
	"github.com/kongctl/kongctl/sshremote/sshtest"
)

func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseLibvirt(t *testing.T) {
	hosts, err := Parse(strings.NewReader(readFixture(t, "libvirt.txt")))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, h := range hosts {
		names = append(names, h.Name)
	}
	if got := strings.Join(names, ","); got != "db,kong1,kong2,kong3" {
		t.Fatalf("names = %s", got)
	}
	h := hosts[1]
	if h.HostName != "198.18.121.151" || h.User != "vagrant" || h.Port != 22 || h.Line != 14 {
		t.Errorf("kong1 = %+v", h)
	}
	if len(h.IdentityFiles) != 1 || h.IdentityFiles[0] != "/root/.vagrant.d/insecure_private_key" {
		t.Errorf("identity files = %q", h.IdentityFiles)
	}
	for k, want := range map[string]string{
		"userknownhostsfile": "/dev/null", "stricthostkeychecking": "no", "passwordauthentication": "no",
		"identitiesonly": "yes", "loglevel": "FATAL", "pubkeyacceptedkeytypes": "+ssh-rsa", "hostkeyalgorithms": "+ssh-rsa",
	} {
		if h.Options[k] != want {
			t.Errorf("option %s = %q, want %q", k, h.Options[k], want)
		}
	}
}

func TestParseVirtualBoxQuotedPaths(t *testing.T) {
	for _, name := range []string{"virtualbox-spaces.txt", "virtualbox-crlf.txt"} {
		t.Run(name, func(t *testing.T) {
			src := readFixture(t, name)
			if strings.HasSuffix(name, "crlf.txt") && !strings.Contains(src, "\r\n") {
				t.Fatal("fixture lost its CRLF line endings")
			}
			hosts, err := Parse(strings.NewReader(src))
			if err != nil {
				t.Fatal(err)
			}
			if len(hosts) != 2 {
				t.Fatalf("%d hosts", len(hosts))
			}
			db, k := hosts[0], hosts[1]
			if db.HostName != "127.0.0.1" || db.Port != 2222 || k.Port != 2200 || db.User != "vagrant" {
				t.Errorf("hosts = %+v / %+v", db, k)
			}
			if got := db.IdentityFiles[0]; !strings.Contains(got, "/Jane Doe/kong lab/.vagrant/machines/db/virtualbox/private_key") || strings.ContainsAny(got, "\"\r") {
				t.Errorf("identity file = %q", got)
			}
			if db.Options["loglevel"] != "FATAL" {
				t.Errorf("LogLevel = %q (CR left in?)", db.Options["loglevel"])
			}
			if name == "virtualbox-spaces.txt" && (len(k.IdentityFiles) != 2 || k.IdentityFiles[1] != "/Users/jane/.vagrant.d/insecure_private_key") {
				t.Errorf("kong1 identity files = %q", k.IdentityFiles)
			}
		})
	}
}

func TestParseSyntaxVariants(t *testing.T) {
	src := "\ufeff# comment\nHost=a\n\tHostName = 10.0.0.1\n\tport=2201\n\tuser \"vagrant\"\n\tIDENTITYFILE=\"/k/a b\"\n"
	hosts, err := Parse(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	h := hosts[0]
	if h.Name != "a" || h.HostName != "10.0.0.1" || h.Port != 2201 || h.User != "vagrant" || h.IdentityFiles[0] != "/k/a b" {
		t.Fatalf("host = %+v", h)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"empty", "", "no Host blocks"},
		{"before host", "HostName 1.2.3.4\nHost a\n", "line 1"},
		{"wildcard", "Host *\n  HostName x\n", "exactly one machine name"},
		{"two patterns", "Host a b\n  HostName x\n", "exactly one machine name"},
		{"duplicate", "Host a\n HostName x\nHost a\n HostName y\n", "already defined at line 1"},
		{"no hostname", "Host a\n  User vagrant\n", "has no HostName"},
		{"bad port", "Host a\n HostName x\n Port 99999\n", "not a port number"},
		{"unterminated", "Host a\n HostName x\n IdentityFile \"/a b\n", "unterminated quote"},
		{"no value", "Host a\n HostName\n", "has no value"},
		{"vagrant error text", "The provider for this Vagrant-managed machine is reporting that it\n", "before the first Host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

const probeOutput = `1: lo    inet 127.0.0.1/8 scope host lo\       valid_lft forever preferred_lft forever
2: eth0    inet 198.18.121.74/24 brd 198.18.121.255 scope global dynamic eth0\       valid_lft 3500sec preferred_lft 3500sec
3: eth1    inet 198.19.10.10/24 brd 198.19.10.255 scope global eth1\       valid_lft forever preferred_lft forever
@@routes
@@hostkey
%s root@db
`

func TestParseProbeAndChooseAddress(t *testing.T) {
	_, signer := sshtest.GenerateKey(t, "ed25519")
	key := keyString(signer.PublicKey())
	f, err := parseProbe(fmt.Appendf(nil, probeOutput, key))
	if err != nil {
		t.Fatal(err)
	}
	if f.HostKey != key || len(f.Addrs) != 2 || len(f.DefaultIfaces) != 0 {
		t.Fatalf("facts = %+v", f)
	}
	// libvirt, isolated management network: no default route; skip the
	// interface Vagrant connects to.
	if a, err := ChooseAddress(f, netip.Prefix{}, "198.18.121.74"); err != nil || a.String() != "198.19.10.10" {
		t.Errorf("auto = %v, %v", a, err)
	}
	if a, err := ChooseAddress(f, netip.MustParsePrefix("198.19.10.0/24"), "198.18.121.74"); err != nil || a.String() != "198.19.10.10" {
		t.Errorf("network = %v, %v", a, err)
	}
	if _, err := ChooseAddress(f, netip.MustParsePrefix("10.9.0.0/16"), "x"); err == nil || !strings.Contains(err.Error(), "eth1 198.19.10.10/24") {
		t.Errorf("no match err = %v", err)
	}

	// VirtualBox: NAT on eth0 with the default route, Vagrant on 127.0.0.1.
	vb := "2: eth0    inet 10.0.2.15/24 brd 10.0.2.255 scope global dynamic eth0\n3: eth1    inet 192.168.56.11/24 brd 192.168.56.255 scope global eth1\n@@routes\ndefault via 10.0.2.2 dev eth0 proto dhcp src 10.0.2.15 metric 100\n@@hostkey\n" + key + "\n"
	f, err = parseProbe([]byte(vb))
	if err != nil {
		t.Fatal(err)
	}
	if a, err := ChooseAddress(f, netip.Prefix{}, "127.0.0.1"); err != nil || a.String() != "192.168.56.11" {
		t.Errorf("virtualbox auto = %v, %v", a, err)
	}
	only := &Facts{Addrs: f.Addrs[:1], DefaultIfaces: []string{"eth0"}}
	if _, err := ChooseAddress(only, netip.Prefix{}, "127.0.0.1"); err == nil {
		t.Error("a machine with only its NAT address has no private address")
	}

	if _, err := parseProbe([]byte("@@routes\n@@hostkey\n")); err == nil {
		t.Error("missing host key accepted")
	}
	if _, err := parseProbe([]byte("@@hostkey\nssh-ed25519 garbage\n")); err == nil {
		t.Error("garbage host key accepted")
	}
}

// fakeNet stands in for the VMs: per machine name its facts, and per
// private address the key its sshd serves.
type fakeNet struct {
	facts  map[string]*Facts
	served map[string]string
	mu     sync.Mutex // Generate probes machines concurrently
	probed []string
}

func (n *fakeNet) probe(_ context.Context, h Host, _ time.Duration) (*Facts, error) {
	n.mu.Lock()
	n.probed = append(n.probed, h.Name)
	n.mu.Unlock()
	f, ok := n.facts[h.Name]
	if !ok {
		return nil, errors.New("no such machine")
	}
	return f, nil
}

func (n *fakeNet) scan(_ context.Context, addr string, _ time.Duration) (string, error) {
	k, ok := n.served[addr]
	if !ok {
		return "", errors.New("connection refused")
	}
	return k, nil
}

func newFakeNet(t *testing.T, names ...string) *fakeNet {
	n := &fakeNet{facts: map[string]*Facts{}, served: map[string]string{}}
	for i, name := range names {
		_, s := sshtest.GenerateKey(t, "ed25519")
		key := keyString(s.PublicKey())
		addr := netip.MustParsePrefix(fmt.Sprintf("198.19.10.%d/24", 10+i))
		n.facts[name] = &Facts{
			Addrs:   []IfaceAddr{{"eth0", netip.MustParsePrefix(fmt.Sprintf("198.18.121.%d/24", 100+i))}, {"eth1", addr}},
			HostKey: key,
		}
		n.served[addr.Addr().String()+":22"] = key
	}
	return n
}

func genOpts(n *fakeNet, dir string) GenerateOptions {
	return GenerateOptions{
		Options: Options{
			From: "2.8.4", To: "3.4.2",
			PackageDir:   filepath.Join(dir, "packages"),
			PasswordFile: filepath.Join(dir, "pg_password"),
		},
		Network: netip.MustParsePrefix("198.19.10.0/24"),
		Probe:   n.probe,
		Scan:    n.scan,
	}
}

func TestGenerateLoadsWithoutDiagnostics(t *testing.T) {
	// libvirt-vagrant-2.3.4.txt is what vagrant 2.3.4 with vagrant-libvirt
	// 0.11.2 printed for this repository's Vagrantfile (insert_key false).
	for _, fixture := range []string{"libvirt.txt", "libvirt-vagrant-2.3.4.txt", "virtualbox-spaces.txt", "virtualbox-crlf.txt"} {
		t.Run(fixture, func(t *testing.T) {
			src := readFixture(t, fixture)
			hosts, err := Parse(strings.NewReader(src))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, h := range hosts {
				names = append(names, h.Name)
			}
			n := newFakeNet(t, names...)
			dir := t.TempDir()
			out, err := Generate(context.Background(), strings.NewReader(src), genOpts(n, dir))
			if err != nil {
				t.Fatal(err)
			}
			inv, diags := inventory.LoadBytes(filepath.Join(dir, "hosts.hcl"), out)
			if len(diags) != 0 {
				t.Fatalf("diagnostics: %v\n%s", diags, out)
			}
			if len(n.probed) != len(names) {
				t.Errorf("probed %v", n.probed)
			}
			if got := len(inv.KongHosts()); got != len(names)-1 {
				t.Errorf("%d kong hosts", got)
			}
			db := inv.Host("db")
			if db == nil || !db.Has(inventory.RoleDatabase) || db.Address != "198.19.10.10" || db.HostKey != n.facts["db"].HostKey {
				t.Fatalf("db host = %+v", db)
			}
			if inv.Database.Host != "198.19.10.10" || inv.ToolsHost() != db || inv.Database.Secret.File != filepath.Join(dir, "pg_password") {
				t.Errorf("database = %+v", inv.Database)
			}
			k := inv.Host("kong1")
			if k == nil || k.Address != "198.19.10.11" || k.Port != 22 || k.HostKey != n.facts["kong1"].HostKey {
				t.Fatalf("kong1 = %+v", k)
			}
			if k.SSH.User != "vagrant" || k.SSH.Become == nil || k.SSH.Become.Method != "sudo" || k.SSH.HostKeyPolicy != inventory.HostKeyStrict {
				t.Errorf("kong1 ssh = %+v", k.SSH)
			}
			if len(k.SSH.PrivateKeys) != len(hosts[1].IdentityFiles) || !strings.HasSuffix(k.SSH.PrivateKeys[0], filepath.Base(hosts[1].IdentityFiles[0])) {
				t.Errorf("kong1 keys = %q, want %q", k.SSH.PrivateKeys, hosts[1].IdentityFiles)
			}
			u := inv.Upgrade
			if u.From.String() != "2.8.4" || u.To.String() != "3.4.2" || u.ServiceManager != "systemd" || u.MigrationHost != "kong1" || u.Package.Dir != filepath.Join(dir, "packages") {
				t.Errorf("upgrade = %+v, package %+v", u, u.Package)
			}
		})
	}
}

func TestGenerateRefusesAddressServingAnotherKey(t *testing.T) {
	src := readFixture(t, "libvirt.txt")
	n := newFakeNet(t, "db", "kong1", "kong2", "kong3")
	// kong2's private address answers with kong3's key (an address mix-up).
	n.served["198.19.10.12:22"] = n.facts["kong3"].HostKey
	_, err := Generate(context.Background(), strings.NewReader(src), genOpts(n, t.TempDir()))
	if err == nil || !strings.Contains(err.Error(), "machine kong2") || !strings.Contains(err.Error(), "198.19.10.12:22 serves host key") {
		t.Fatalf("err = %v", err)
	}
	// Unreachable private network.
	delete(n.served, "198.19.10.12:22")
	_, err = Generate(context.Background(), strings.NewReader(src), genOpts(n, t.TempDir()))
	if err == nil || !strings.Contains(err.Error(), "check the private address") {
		t.Fatalf("err = %v", err)
	}
	// Overrides need no probe, and the check can be skipped.
	o := genOpts(n, t.TempDir())
	o.SkipAddressCheck = true
	o.Addresses = map[string]string{"db": "10.1.1.1", "kong1": "10.1.1.2", "kong2": "10.1.1.3", "kong3": "10.1.1.4"}
	o.HostKeys = map[string]string{}
	for name, f := range n.facts {
		o.HostKeys[name] = f.HostKey
	}
	n.probed = nil
	out, err := Generate(context.Background(), strings.NewReader(src), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(n.probed) != 0 || !strings.Contains(string(out), `"10.1.1.4"`) {
		t.Errorf("probed %v\n%s", n.probed, out)
	}
}

func TestRenderErrors(t *testing.T) {
	m := func(name string) Machine {
		return Machine{Host: Host{Name: name, User: "vagrant", IdentityFiles: []string{"/k"}}, Address: "10.0.0.1", HostKey: "ssh-ed25519 AAAA"}
	}
	ok := Options{From: "2.8.4", To: "3.4.2", PackageDir: "/p", PasswordFile: "/pw"}
	for _, tc := range []struct {
		name string
		ms   []Machine
		o    Options
		want string
	}{
		{"no db", []Machine{m("k1"), m("k2")}, ok, `no machine named "db"`},
		{"no kong", []Machine{m("db")}, ok, "no Kong machines"},
		{"no versions", []Machine{m("db"), m("k")}, Options{PackageDir: "/p", PasswordFile: "/pw"}, "versions"},
		{"no password", []Machine{m("db"), m("k")}, Options{From: "2.8.4", To: "3.4.2", PackageDir: "/p"}, "password file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Render(tc.ms, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// A root login gets no become block; per-host keys get an ssh block.
	ms := []Machine{m("db"), m("k")}
	for i := range ms {
		ms[i].User = "root"
	}
	ms[1].IdentityFiles = []string{"/other"}
	out, err := Render(ms, Options{From: "2.8.4", To: "3.4.2", PackageDir: "/p", PasswordFile: "/pw", DBMachine: "db"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "become") || !strings.Contains(string(out), `private_keys = ["/other"]`) {
		t.Errorf("output:\n%s", out)
	}
}

// TestProbeRealSSHServer probes an in-process SSH server that answers the
// probe script like a VM: Probe reads addresses and the host key and checks
// the key the server presented; ScanHostKey reads the key without logging in.
func TestProbeRealSSHServer(t *testing.T) {
	_, hostSigner := sshtest.GenerateKey(t, "ed25519")
	_, otherSigner := sshtest.GenerateKey(t, "ed25519")
	fileKey := keyString(hostSigner.PublicKey())
	var srv *sshtest.Server
	srv = sshtest.NewServer(t, &sshtest.Options{
		HostKeys: []ssh.Signer{hostSigner},
		Handler: func(_ context.Context, e *sshtest.Exec) int {
			script, _ := io.ReadAll(e.Stdin)
			if e.Command != "/bin/sh -s" || !strings.Contains(string(script), "ssh_host_ed25519_key.pub") {
				fmt.Fprintf(e.Stderr, "unexpected command %q", e.Command)
				return 2
			}
			fmt.Fprintf(e.Stdout, probeOutput, fileKey)
			return 0
		},
	})
	h := Host{Name: "db", HostName: srv.Host, Port: srv.Port, User: "vagrant", IdentityFiles: []string{srv.ClientKeyFile}, Options: map[string]string{}}
	ctx := context.Background()
	f, err := Probe(ctx, h, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if f.HostKey != fileKey || len(f.Addrs) != 2 {
		t.Fatalf("facts = %+v", f)
	}
	got, err := ScanHostKey(ctx, srv.Addr, 10*time.Second)
	if err != nil || got != fileKey {
		t.Fatalf("scan = %q, %v", got, err)
	}

	// The file says one key, the server presents another: refused.
	fileKey = keyString(otherSigner.PublicKey())
	if _, err := Probe(ctx, h, 10*time.Second); err == nil || !strings.Contains(err.Error(), "not the one in") {
		t.Fatalf("mismatch err = %v", err)
	}
	// A wrong identity file: the login fails and the error names the host.
	h.IdentityFiles = []string{filepath.Join(t.TempDir(), "missing")}
	if _, err := Probe(ctx, h, 10*time.Second); err == nil || !strings.Contains(err.Error(), "probe db") {
		t.Fatalf("missing key err = %v", err)
	}
	h.Options["proxycommand"] = "nc %h %p"
	if _, err := Probe(ctx, h, 10*time.Second); err == nil || !strings.Contains(err.Error(), "ProxyCommand") {
		t.Fatalf("proxy err = %v", err)
	}
}
