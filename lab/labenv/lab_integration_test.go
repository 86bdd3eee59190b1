//go:build integration

package labenv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kongctl/kongctl/inventory"
)

// The lab IDs these tests own. Other work on the machine (make lab-up, the
// e2e tests, benchmarks) uses lab 0 and the low IDs; the tests here bring up,
// fault and tear down only these, and downTestLab refuses any other ID.
const (
	testLabMain = 5 // TestLab
	testLabA    = 6 // TestParallelLabs, the decoy of TestDownAfterCrash
	testLabB    = 7 // TestParallelLabs, TestLabBastionUserHybrid, TestDownAfterCrash
)

func isTestLab(id int) bool { return id == testLabMain || id == testLabA || id == testLabB }

// downTestLab tears down one of the tests' own labs (never another ID).
func downTestLab(t *testing.T, id int, dir string) error {
	t.Helper()
	if !isTestLab(id) {
		t.Fatalf("test bug: Down of lab %d, which the tests do not own", id)
	}
	return DownID(context.Background(), id, dir, testWriter{t})
}

// downLab tears down a lab a test brought up.
func downLab(t *testing.T, l *Lab) error {
	t.Helper()
	return downTestLab(t, l.ID(), l.Dir())
}

// ensurePackages builds the simulator packages when the one a test needs is
// missing.
func ensurePackages(t *testing.T, files ...string) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "build", "packages")
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			cmd := exec.Command("make", "-C", root, "packages")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("make packages: %v\n%s", err, out)
			}
			break
		}
	}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("package %s: %v (after make packages)", f, err)
		}
	}
	return dir
}

// realSSH runs the real ssh client with only the lab's key and known_hosts,
// the way the bar says.
func realSSH(ctx context.Context, l *Lab, user, addr, command string) (string, error) {
	cmd := exec.CommandContext(ctx, "ssh", "-i", l.KeyPath(), "-o", "UserKnownHostsFile="+l.KnownHostsPath(),
		"-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
		"-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=3", user+"@"+addr, command)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func httpGet(ctx context.Context, url string) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

func canDial(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 700*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func dbPing(ctx context.Context, l *Lab) error {
	dsn, err := l.DSN()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	var n int
	return c.QueryRow(ctx, "SELECT count(*) FROM schema_meta").Scan(&n)
}

// eventually retries f until it returns nil or d passes.
func eventually(t *testing.T, d time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// traces lists what lab st.Options.ID leaves on the machine: namespaces,
// links, mounts, processes, routes, its dir. Other labs' traces are not its.
func traces(t *testing.T, st State) []string {
	t.Helper()
	n := NetworkOf(st.Options.ID)
	var left []string
	if ns := labNetns(n); len(ns) > 0 {
		left = append(left, fmt.Sprintf("netns %v", ns))
	}
	if links := labLinks(context.Background(), n); len(links) > 0 {
		left = append(left, fmt.Sprintf("links %v", links))
	}
	out, err := exec.Command("findmnt", "-rn", "-o", "TARGET,SOURCE,FSTYPE").Output()
	if err != nil {
		t.Fatalf("findmnt: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		target := f[0]
		if strings.HasPrefix(target, "/run/netns/"+n.Prefix) || target == st.Dir || strings.HasPrefix(target, st.Dir+"/") {
			left = append(left, "mount "+line)
		}
		// /run/netns stays mounted while any namespace (another lab's too)
		// is in it.
		if target == "/run/netns" && !st.RunNetns {
			if ents, err := os.ReadDir("/run/netns"); err == nil && len(ents) == 0 {
				left = append(left, "mount "+line)
			}
		}
	}
	mnts, nets := map[uint64]bool{}, map[uint64]bool{}
	for _, h := range st.Hosts {
		mnts[h.MntNS], nets[h.NetNS] = true, true
	}
	if pids := pidsInNamespaces(nets, mnts); len(pids) > 0 {
		left = append(left, fmt.Sprintf("processes in lab namespaces %v", pids))
	}
	ps, err := exec.Command("ps", "-eo", "pid,stat,args").Output()
	if err != nil {
		t.Fatalf("ps: %v", err)
	}
	for _, line := range strings.Split(string(ps), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && !strings.HasPrefix(f[1], "Z") && strings.Contains(line, st.Dir+"/") {
			left = append(left, "process "+line)
		}
	}
	for _, r := range n.routes() {
		if routeExists(context.Background(), r) {
			left = append(left, "route "+r)
		}
	}
	if _, err := os.Stat(st.Dir); err == nil {
		left = append(left, "dir "+st.Dir)
	}
	return left
}

func TestLab(t *testing.T) {
	pkgs := ensurePackages(t, PackageFile(EditionOSS, "2.8.4"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	start := time.Now()
	l, err := Up(ctx, Options{ID: testLabMain, Nodes: 3, From: "2.8.4", PackagesDir: pkgs, Log: testWriter{t}})
	if err != nil {
		if l != nil {
			downLab(t, l)
		}
		t.Fatalf("Up: %v", err)
	}
	t.Logf("lab %d up (3 nodes) in %.1fs", testLabMain, time.Since(start).Seconds())
	st := l.State()
	downDone := false
	t.Cleanup(func() {
		if !downDone {
			if err := downLab(t, l); err != nil {
				t.Errorf("Down in cleanup: %v", err)
			}
		}
	})
	n := NetworkOf(testLabMain)
	if root, _ := RepoRoot(); l.Dir() != filepath.Join(BuildBase(root), "lab5") {
		t.Errorf("lab %d dir = %s, want %s/lab5", testLabMain, l.Dir(), BuildBase(root))
	}
	if want := "198.18.161.1"; l.Address("kong-1") != want || l.DBHost().Address != "198.18.160.2" {
		t.Errorf("lab %d: kong-1 %s, db %s; want %s, 198.18.160.2", testLabMain, l.Address("kong-1"), l.DBHost().Address, want)
	}
	if out, err := exec.Command("ip", "-o", "addr", "show", "dev", n.Bridge).CombinedOutput(); err != nil || !strings.Contains(string(out), "inet 198.18.160.1/19 ") {
		t.Errorf("bridge %s: %v %s; want 198.18.160.1/19", n.Bridge, err, out)
	}
	if b, err := os.ReadFile(l.SSHConfigPath()); err != nil || !strings.Contains(string(b), "IdentityFile "+l.Dir()+"/id_ed25519") {
		t.Errorf("ssh_config of lab %d: %v\n%s", testLabMain, err, b)
	}

	t.Run("inventory", func(t *testing.T) {
		inv, diags := inventory.Load(l.InventoryPath())
		if diags.HasErrors() {
			t.Fatalf("inventory does not load: %s", diags.Error())
		}
		if inv.Upgrade.From.String() != "2.8.4" || inv.Upgrade.To.String() != "3.4.2" {
			t.Errorf("upgrade %s -> %s, want 2.8.4 -> 3.4.2", inv.Upgrade.From, inv.Upgrade.To)
		}
		kh, err := os.ReadFile(l.KnownHostsPath())
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range l.Hosts() {
			if !strings.Contains(string(kh), h.Address+" "+h.HostKey) {
				t.Errorf("known_hosts lacks %s's key", h.Name)
			}
		}
		fi, err := os.Stat(l.PasswordFile())
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("pg_password: %v, mode %v, want 0600", err, fi.Mode().Perm())
		}
	})

	t.Run("nodes", func(t *testing.T) {
		for _, h := range l.KongHosts() {
			out, err := realSSH(ctx, l, "root", h.Address, "hostname; kong version; kong health; stat -c '%a %U:%G' /etc/kong/kong.conf; grep -c '^pg_password = ' /etc/kong/kong.conf")
			if err != nil {
				t.Fatalf("ssh %s: %v\n%s", h.Name, err, out)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if lines[0] != h.Name || lines[1] != "2.8.4" || !strings.Contains(out, "Kong is healthy at /usr/local/kong") ||
				!strings.Contains(out, "640 root:kong") || lines[len(lines)-1] != "1" {
				t.Errorf("%s: hostname, version, health, kong.conf mode, pg_password:\n%s", h.Name, out)
			}
			code, body, err := httpGet(ctx, "http://"+h.Address+":8001/")
			if err != nil || code != 200 || !strings.Contains(body, `"version":"2.8.4"`) {
				t.Errorf("%s admin :8001: %d %v %.200s", h.Name, code, err, body)
			}
			code, body, err = httpGet(ctx, "http://"+h.Address+":8007/status")
			if err != nil || code != 200 {
				t.Errorf("%s status :8007/status: %d %v %.200s", h.Name, code, err, body)
			}
			code, body, err = httpGet(ctx, "http://"+h.Address+":8000/lab")
			if err != nil || code != 200 {
				t.Errorf("%s proxy :8000/lab: %d %v %.200s", h.Name, code, err, body)
			}
		}
		// The seeded entities are in the database.
		code, body, err := httpGet(ctx, "http://"+l.Address("kong-2")+":8001/services/echo/routes")
		if err != nil || code != 200 || !strings.Contains(body, "/lab") {
			t.Errorf("routes of echo on kong-2: %d %v %.300s", code, err, body)
		}
		if err := dbPing(ctx, l); err != nil {
			t.Errorf("database: %v", err)
		}
		out, err := realSSH(ctx, l, "root", l.DBHost().Address, "pg_dump --version && pg_restore --version")
		if err != nil {
			t.Errorf("db host tools: %v\n%s", err, out)
		}
	})

	t.Run("isolation", func(t *testing.T) {
		name := fmt.Sprintf("kl%d-isolation-%d", testLabMain, time.Now().UnixNano())
		if out, err := realSSH(ctx, l, "root", l.Address("kong-1"), "echo x > /usr/local/"+name+" && dpkg -s kong | grep -c '^Version: 2.8.4'"); err != nil {
			t.Fatalf("write on kong-1: %v\n%s", err, out)
		}
		for _, n := range []string{"kong-2", "kong-3"} {
			if out, err := realSSH(ctx, l, "root", l.Address(n), "test ! -e /usr/local/"+name); err != nil {
				t.Errorf("/usr/local/%s written on kong-1 is visible on %s: %v %s", name, n, err, out)
			}
		}
		if _, err := os.Stat("/usr/local/" + name); err == nil {
			t.Errorf("/usr/local/%s written on kong-1 is visible on the machine", name)
		}
		if out, err := exec.Command("dpkg", "-s", "kong").CombinedOutput(); err == nil {
			t.Errorf("the machine's dpkg database has kong installed:\n%s", out)
		}
	})

	t.Run("fault kill-sshd", func(t *testing.T) {
		addr := l.Address("kong-2")
		if err := l.KillSSHD(ctx, "kong-2"); err != nil {
			t.Fatal(err)
		}
		if out, err := realSSH(ctx, l, "root", addr, "true"); err == nil || !strings.Contains(out, "refused") {
			t.Errorf("ssh to kong-2 with sshd killed: err %v, out %q; want connection refused", err, out)
		}
		if out, err := l.Exec(ctx, "kong-2", "kong health"); err != nil {
			t.Errorf("Kong on kong-2 died with its sshd: %v %s", err, out)
		}
		if err := l.Heal(ctx, "kong-2"); err != nil {
			t.Fatal(err)
		}
		if out, err := realSSH(ctx, l, "root", addr, "true"); err != nil {
			t.Errorf("ssh to kong-2 after heal: %v %s", err, out)
		}
	})

	t.Run("fault kill-kong", func(t *testing.T) {
		if err := l.KillKong(ctx, "kong-3"); err != nil {
			t.Fatal(err)
		}
		if out, err := realSSH(ctx, l, "root", l.Address("kong-3"), "kong health"); err == nil || !strings.Contains(out, "not running") {
			t.Errorf("kong health on kong-3 after the kill: err %v, out %q", err, out)
		}
		if canDial(l.Address("kong-3") + ":8000") {
			t.Errorf("kong-3's proxy still answers after the kill")
		}
		if err := l.StartKong(ctx, "kong-3"); err != nil {
			t.Fatal(err)
		}
		if code, _, err := httpGet(ctx, "http://"+l.Address("kong-3")+":8000/lab"); err != nil || code != 200 {
			t.Errorf("kong-3 proxy after restart: %d %v", code, err)
		}
	})

	t.Run("fault cut", func(t *testing.T) {
		addr := l.Address("kong-2")
		if err := l.CutNetwork(ctx, "kong-2"); err != nil {
			t.Fatal(err)
		}
		if canDial(addr + ":22") {
			t.Errorf("kong-2 answers on :22 after the cut")
		}
		if out, err := l.Exec(ctx, "kong-2", "timeout 2 bash -c '</dev/tcp/"+l.DBHost().Address+"/5432'"); err == nil {
			t.Errorf("kong-2 reaches the database after the cut: %s", out)
		}
		if out, err := l.Exec(ctx, "kong-1", "timeout 2 bash -c '</dev/tcp/"+l.DBHost().Address+"/5432'"); err != nil {
			t.Errorf("kong-1 lost the database when kong-2 was cut: %v %s", err, out)
		}
		if err := l.Heal(ctx, "kong-2"); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "ssh to kong-2 after heal", func() error {
			_, err := realSSH(ctx, l, "root", addr, "true")
			return err
		})
	})

	t.Run("fault fill-disk", func(t *testing.T) {
		if err := l.FillDisk(ctx, "kong-1", ""); err != nil {
			t.Fatal(err)
		}
		out, err := realSSH(ctx, l, "root", l.Address("kong-1"), "echo x > /usr/local/probe")
		if err == nil || !strings.Contains(out, "No space left on device") {
			t.Errorf("write on kong-1's full disk: err %v, out %q; want ENOSPC", err, out)
		}
		if out, err := realSSH(ctx, l, "root", l.Address("kong-2"), "echo x > /usr/local/probe"); err != nil {
			t.Errorf("kong-2's disk filled with kong-1's: %v %s", err, out)
		}
		if err := l.Heal(ctx, "kong-1"); err != nil {
			t.Fatal(err)
		}
		if out, err := realSSH(ctx, l, "root", l.Address("kong-1"), "echo x > /usr/local/probe"); err != nil {
			t.Errorf("write on kong-1 after heal: %v %s", err, out)
		}
	})

	t.Run("fault stop-db", func(t *testing.T) {
		if err := l.StopDB(ctx); err != nil {
			t.Fatal(err)
		}
		if err := dbPing(ctx, l); err == nil {
			t.Errorf("database answers after StopDB")
		}
		if l.DBRunning(ctx) {
			t.Errorf("DBRunning after StopDB")
		}
		if err := l.StartDB(ctx); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "database after StartDB", func() error { return dbPing(ctx, l) })
	})

	t.Run("reuse", func(t *testing.T) {
		again, err := Up(ctx, Options{ID: testLabMain, Nodes: 3, From: "2.8.4", To: "3.9.1", PackagesDir: pkgs, Log: testWriter{t}})
		if err != nil {
			t.Fatal(err)
		}
		if again.DBHost().SSHDPID != l.DBHost().SSHDPID {
			t.Errorf("Up with the same options rebuilt the lab")
		}
		b, _ := os.ReadFile(again.InventoryPath())
		if !strings.Contains(string(b), `to              = "3.9.1"`) {
			t.Errorf("reused lab's inventory does not say to = 3.9.1")
		}
		a, err := Attach(l.Dir())
		if err != nil || len(a.KongHosts()) != 3 {
			t.Errorf("Attach: %v", err)
		}
	})

	start = time.Now()
	downDone = true
	if err := downLab(t, l); err != nil {
		t.Fatalf("Down: %v", err)
	}
	t.Logf("lab down in %.1fs", time.Since(start).Seconds())
	// Orphans are reaped by init; give it a moment.
	eventually(t, 5*time.Second, "traces after Down", func() error {
		if left := traces(t, st); len(left) > 0 {
			return fmt.Errorf("left behind: %s", strings.Join(left, "; "))
		}
		return nil
	})
}

// TestLabBastionUserHybrid covers the options: nodes behind a bastion, a
// non-root SSH user with sudo, hybrid CP/DP, a spare, and Enterprise packages.
func TestLabBastionUserHybrid(t *testing.T) {
	pkgs := ensurePackages(t, PackageFile(EditionEnterprise, "3.4.3.5"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	l, err := Up(ctx, Options{ID: testLabB, Nodes: 1, Edition: "enterprise", Bastion: true, User: "kongops", Hybrid: true, DPs: 1, Spares: 1, PackagesDir: pkgs, Log: testWriter{t}})
	if err != nil {
		if l != nil {
			downLab(t, l)
		}
		t.Fatalf("Up: %v", err)
	}
	st := l.State()
	t.Cleanup(func() {
		if err := downLab(t, l); err != nil {
			t.Errorf("Down: %v", err)
		}
		if left := traces(t, st); len(left) > 0 {
			t.Errorf("left behind: %s", strings.Join(left, "; "))
		}
	})
	if inv, diags := inventory.Load(l.InventoryPath()); diags.HasErrors() {
		t.Fatalf("inventory: %s", diags.Error())
	} else if n := len(inv.Hosts); n != 5 {
		t.Errorf("inventory has %d hosts, want 5 (bastion, db, kong-1, dp-1, spare-1)", n)
	}
	for _, h := range l.Hosts() {
		out, err := l.SSH(ctx, h.Name, "id -un; sudo -n id -un; hostname")
		if err != nil {
			t.Errorf("ssh %s through the bastion: %v %s", h.Name, err, out)
			continue
		}
		if want := "kongops\nroot\n" + h.Name + "\n"; out != want {
			t.Errorf("ssh %s: got %q, want %q", h.Name, out, want)
		}
	}
	if canDial(l.Address("kong-1") + ":22") {
		t.Errorf("the machine reaches kong-1 (%s) without the bastion", l.Address("kong-1"))
	}
	if n := NetworkOf(testLabB); l.Address("kong-1") != "198.19.225.1" || !routeExists(ctx, "unreachable "+n.InnerNet) ||
		!slices.Equal(st.Routes, []string{"unreachable 198.19.224.0/19"}) {
		t.Errorf("lab %d behind the bastion: kong-1 %s, routes %v; want 198.19.225.1 and unreachable %s", testLabB, l.Address("kong-1"), st.Routes, n.InnerNet)
	}
	for _, n := range []string{"kong-1", "dp-1"} {
		out, err := l.SSH(ctx, n, "kong version && sudo -n kong health && sudo -n grep -h '^role' /etc/kong/kong.conf")
		if err != nil {
			t.Errorf("%s: %v %s", n, err, out)
		}
		want := map[string]string{"kong-1": "role = control_plane", "dp-1": "role = data_plane"}[n]
		if !strings.Contains(out, "Kong Enterprise 3.4.3.5") || !strings.Contains(out, want) {
			t.Errorf("%s: version/role: %q", n, out)
		}
	}
	// The data plane is connected to the control plane and proxies the
	// seeded route.
	eventually(t, 15*time.Second, "dp-1 connected to kong-1", func() error {
		out, err := l.SSH(ctx, "kong-1", "curl -sS -m 2 http://127.0.0.1:8001/clustering/data-planes")
		if err != nil || !strings.Contains(out, `"hostname":"dp-1"`) {
			return fmt.Errorf("data planes on kong-1: %v %.300s", err, out)
		}
		out, err = l.SSH(ctx, "dp-1", "curl -sS -m 2 -o /dev/null -w '%{http_code}' http://127.0.0.1:8000/lab")
		if err != nil || out != "200" {
			return fmt.Errorf("dp-1 proxy /lab: %v %q", err, out)
		}
		return nil
	})
	if out, err := l.SSH(ctx, "spare-1", "command -v kong || echo none"); err != nil || strings.TrimSpace(out) != "none" {
		t.Errorf("spare-1 has kong: %v %q", err, out)
	}
	// A cut behind the bastion takes the link down in the bastion's namespace.
	if err := l.CutNetwork(ctx, "kong-1"); err != nil {
		t.Fatal(err)
	}
	if out, err := l.SSH(ctx, "kong-1", "true"); err == nil {
		t.Errorf("ssh to kong-1 after the cut succeeded: %s", out)
	}
	if err := l.Heal(ctx, "kong-1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "ssh to kong-1 after heal", func() error {
		_, err := l.SSH(ctx, "kong-1", "true")
		return err
	})
}

// TestDownAfterCrash tears down what a crashed Up leaves: namespaces, links
// and a route with the lab's names, processes in them, no state.json. Down of
// lab 7 takes only lab 7's: the decoy remains of lab 6 stay until lab 6's
// Down.
func TestDownAfterCrash(t *testing.T) {
	ctx := context.Background()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "build", DirName(testLabB))
	decoyDir := filepath.Join(root, "build", DirName(testLabA))
	if err := downTestLab(t, testLabB, dir); err != nil {
		t.Fatal(err)
	}
	if err := downTestLab(t, testLabA, decoyDir); err != nil {
		t.Fatal(err)
	}
	n, decoy := NetworkOf(testLabB), NetworkOf(testLabA)
	crash, decoyNS := n.Prefix+"crash-1", decoy.Prefix+"crash-1"
	for _, args := range [][]string{
		{"link", "add", n.Bridge, "type", "bridge"},
		{"netns", "add", crash},
		{"link", "add", crash, "type", "veth", "peer", "name", "eth0", "netns", crash},
		{"route", "add", "unreachable", n.InnerNet},
		{"link", "add", decoy.Bridge, "type", "bridge"},
		{"netns", "add", decoyNS},
		{"link", "add", decoyNS, "type", "veth", "peer", "name", "eth0", "netns", decoyNS},
		{"route", "add", "unreachable", decoy.InnerNet},
	} {
		if err := ip(ctx, args...); err != nil {
			t.Fatal(err)
		}
	}
	holder := exec.Command("ip", "netns", "exec", crash, "unshare", "-m", "--propagation", "private", "sleep", "infinity")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	go holder.Wait()
	decoyHolder := exec.Command("ip", "netns", "exec", decoyNS, "sleep", "infinity")
	if err := decoyHolder.Start(); err != nil {
		t.Fatal(err)
	}
	go decoyHolder.Wait()
	t.Cleanup(func() {
		decoyHolder.Process.Kill()
		if err := downTestLab(t, testLabA, decoyDir); err != nil {
			t.Errorf("Down of the decoy lab %d: %v", testLabA, err)
		}
	})
	eventually(t, 5*time.Second, "holders in their namespaces", func() error {
		if nsInode(holder.Process.Pid, "net") != fileInode("/run/netns/"+crash) || nsInode(holder.Process.Pid, "mnt") == nsInode(os.Getpid(), "mnt") {
			return fmt.Errorf("pid %d not in its namespaces yet", holder.Process.Pid)
		}
		if nsInode(decoyHolder.Process.Pid, "net") != fileInode("/run/netns/"+decoyNS) {
			return fmt.Errorf("pid %d not in %s yet", decoyHolder.Process.Pid, decoyNS)
		}
		return nil
	})
	if err := os.MkdirAll(filepath.Join(dir, "hosts"), 0o755); err != nil {
		t.Fatal(err)
	}
	// No state.json: Down takes the ID from the dir's name (build/lab7).
	if err := Down(ctx, dir, io.Discard); err != nil {
		t.Fatalf("Down after a crash: %v", err)
	}
	if alive(holder.Process.Pid) {
		t.Errorf("process %d in %s survived Down", holder.Process.Pid, crash)
	}
	if left := traces(t, State{Dir: dir, Options: Options{ID: testLabB}, RunNetns: true}); len(left) > 0 {
		t.Errorf("left behind: %s", strings.Join(left, "; "))
	}
	// Lab 6's remains are untouched.
	if !alive(decoyHolder.Process.Pid) || fileInode("/run/netns/"+decoyNS) == 0 || !linkExists(ctx, decoy.Bridge) ||
		!linkExists(ctx, decoyNS) || !routeExists(ctx, "unreachable "+decoy.InnerNet) {
		t.Errorf("Down of lab %d touched lab %d: holder alive %t, netns %t, bridge %t, link %t, route %t", testLabB, testLabA,
			alive(decoyHolder.Process.Pid), fileInode("/run/netns/"+decoyNS) != 0, linkExists(ctx, decoy.Bridge),
			linkExists(ctx, decoyNS), routeExists(ctx, "unreachable "+decoy.InnerNet))
	}
	if err := downTestLab(t, testLabA, decoyDir); err != nil {
		t.Fatal(err)
	}
	if alive(decoyHolder.Process.Pid) {
		t.Errorf("process %d in %s survived lab %d's Down", decoyHolder.Process.Pid, decoyNS, testLabA)
	}
	if left := traces(t, State{Dir: decoyDir, Options: Options{ID: testLabA}, RunNetns: true}); len(left) > 0 {
		t.Errorf("lab %d left behind: %s", testLabA, strings.Join(left, "; "))
	}
}

// TestParallelLabs brings two labs up at once (one behind a bastion), checks
// both answer SSH and cannot reach each other, then takes one down and the
// other keeps working, then takes that down too and nothing is left.
func TestParallelLabs(t *testing.T) {
	pkgs := ensurePackages(t, PackageFile(EditionOSS, "2.8.4"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	opts := map[int]Options{
		testLabA: {ID: testLabA, Nodes: 1, PackagesDir: pkgs, Log: testWriter{t}},
		testLabB: {ID: testLabB, Nodes: 1, Bastion: true, PackagesDir: pkgs, Log: testWriter{t}},
	}
	type result struct {
		id  int
		lab *Lab
		err error
	}
	start := time.Now()
	results := make(chan result, len(opts))
	for id, o := range opts {
		go func() {
			l, err := Up(ctx, o)
			results <- result{id, l, err}
		}()
	}
	labs := map[int]*Lab{}
	var upErrs []string
	for range opts {
		r := <-results
		if r.lab != nil {
			labs[r.id] = r.lab
		}
		if r.err != nil {
			upErrs = append(upErrs, fmt.Sprintf("lab %d: %v", r.id, r.err))
		}
	}
	down := map[int]bool{}
	t.Cleanup(func() {
		for id, l := range labs {
			if !down[id] {
				if err := downLab(t, l); err != nil {
					t.Errorf("Down of lab %d in cleanup: %v", id, err)
				}
			}
		}
	})
	if len(upErrs) > 0 {
		t.Fatalf("Up: %s", strings.Join(upErrs, "; "))
	}
	t.Logf("labs %d and %d up at once in %.1fs", testLabA, testLabB, time.Since(start).Seconds())
	a, b := labs[testLabA], labs[testLabB]
	stA, stB := a.State(), b.State()
	if a.Dir() == b.Dir() || a.ID() != testLabA || b.ID() != testLabB {
		t.Fatalf("labs share a dir or have the wrong ID: %d %s, %d %s", a.ID(), a.Dir(), b.ID(), b.Dir())
	}

	answers := func(l *Lab) error {
		var errs []string
		for _, h := range l.Hosts() {
			out, err := l.SSH(ctx, h.Name, "hostname")
			if err != nil || strings.TrimSpace(out) != h.Name {
				errs = append(errs, fmt.Sprintf("ssh %s (%s): %v %q", h.Name, h.Address, err, out))
			}
		}
		if out, err := l.SSH(ctx, "kong-1", "kong health"); err != nil {
			errs = append(errs, fmt.Sprintf("kong health on kong-1: %v %s", err, out))
		}
		if err := l.check(ctx); err != nil {
			errs = append(errs, err.Error())
		}
		if len(errs) > 0 {
			return fmt.Errorf("lab %d: %s", l.ID(), strings.Join(errs, "; "))
		}
		return nil
	}
	for _, l := range []*Lab{a, b} {
		if err := answers(l); err != nil {
			t.Error(err)
		}
		n := l.Network()
		for _, h := range l.Hosts() {
			net := n.OuterNet
			if l.Options().Bastion && h.Kind != KindBastion {
				net = n.InnerNet
			}
			if !netip.MustParsePrefix(net).Contains(netip.MustParseAddr(h.Address)) || !strings.HasPrefix(h.Netns, n.Prefix) {
				t.Errorf("lab %d %s: %s in %s, want its own %s and %s names", l.ID(), h.Name, h.Address, h.Netns, net, n.Prefix)
			}
		}
		inv, diags := inventory.Load(l.InventoryPath())
		if diags.HasErrors() {
			t.Fatalf("lab %d inventory: %s", l.ID(), diags.Error())
		}
		if inv.Database.Host != l.DBHost().Address {
			t.Errorf("lab %d inventory database %s, want %s", l.ID(), inv.Database.Host, l.DBHost().Address)
		}
	}
	if out, err := realSSH(ctx, a, "root", a.Address("kong-1"), "hostname"); err != nil || strings.TrimSpace(out) != "kong-1" {
		t.Errorf("real ssh to lab %d kong-1: %v %q", testLabA, err, out)
	}
	if err := dbPing(ctx, a); err != nil {
		t.Errorf("lab %d database: %v", testLabA, err)
	}
	// The labs do not reach each other: lab A's node cannot open lab B's
	// bastion, lab B's node cannot open lab A's database.
	probe := func(host string) string { return "timeout 2 bash -c '</dev/tcp/" + host + "/22'" }
	if out, err := a.Exec(ctx, "kong-1", probe(b.Address("bastion"))); err == nil {
		t.Errorf("lab %d kong-1 reaches lab %d's bastion: %s", testLabA, testLabB, out)
	}
	if out, err := b.Exec(ctx, "kong-1", probe(a.DBHost().Address)); err == nil {
		t.Errorf("lab %d kong-1 reaches lab %d's db: %s", testLabB, testLabA, out)
	}
	if out, err := a.Exec(ctx, "kong-1", probe(a.DBHost().Address)); err != nil {
		t.Errorf("lab %d kong-1 does not reach its own db: %v %s", testLabA, err, out)
	}
	// A fault in one lab stays there.
	if err := a.CutNetwork(ctx, "kong-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SSH(ctx, "kong-1", "true"); err != nil {
		t.Errorf("lab %d kong-1 unreachable while lab %d's kong-1 is cut: %v", testLabB, testLabA, err)
	}
	if err := a.Heal(ctx, "kong-1"); err != nil {
		t.Fatal(err)
	}

	// Down of lab A leaves lab B working.
	down[testLabA] = true
	if err := downLab(t, a); err != nil {
		t.Fatalf("Down of lab %d: %v", testLabA, err)
	}
	eventually(t, 5*time.Second, fmt.Sprintf("traces of lab %d after its Down", testLabA), func() error {
		if left := traces(t, stA); len(left) > 0 {
			return fmt.Errorf("left behind: %s", strings.Join(left, "; "))
		}
		return nil
	})
	if left := traces(t, stB); len(left) == 0 {
		t.Errorf("lab %d has no traces while up", testLabB)
	}
	if err := answers(b); err != nil {
		t.Errorf("after lab %d's Down: %v", testLabA, err)
	}
	if !routeExists(ctx, "unreachable "+b.Network().InnerNet) {
		t.Errorf("lab %d's inner route is gone after lab %d's Down", testLabB, testLabA)
	}

	// Down of lab B: nothing of either lab is left.
	down[testLabB] = true
	if err := downLab(t, b); err != nil {
		t.Fatalf("Down of lab %d: %v", testLabB, err)
	}
	eventually(t, 5*time.Second, "traces after both Downs", func() error {
		left := append(traces(t, stA), traces(t, stB)...)
		if len(left) > 0 {
			return fmt.Errorf("left behind: %s", strings.Join(left, "; "))
		}
		return nil
	})
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
