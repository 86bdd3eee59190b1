//go:build integration

package labenv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kongctl/kongctl/inventory"
)

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

// traces lists what a lab leaves on the machine: namespaces, links, mounts,
// processes.
func traces(t *testing.T, st State) []string {
	t.Helper()
	var left []string
	if ns := labNetns(); len(ns) > 0 {
		left = append(left, fmt.Sprintf("netns %v", ns))
	}
	if links := labLinks(context.Background()); len(links) > 0 {
		left = append(left, fmt.Sprintf("links %v", links))
	}
	out, err := exec.Command("findmnt", "-rn", "-o", "TARGET,SOURCE,FSTYPE").Output()
	if err != nil {
		t.Fatalf("findmnt: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "kl-") || strings.Contains(line, st.Dir) || (!st.RunNetns && strings.HasPrefix(line, "/run/netns ")) {
			left = append(left, "mount "+line)
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
		if len(f) > 1 && !strings.HasPrefix(f[1], "Z") && strings.Contains(line, st.Dir) {
			left = append(left, "process "+line)
		}
	}
	if out, _ := exec.Command("ip", "route", "show", "exact", InnerNet).Output(); len(bytes.TrimSpace(out)) > 0 {
		left = append(left, "route "+string(out))
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
	l, err := Up(ctx, Options{Nodes: 3, From: "2.8.4", PackagesDir: pkgs, Log: testWriter{t}})
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	t.Logf("lab up (3 nodes) in %.1fs", time.Since(start).Seconds())
	st := l.State()
	downDone := false
	t.Cleanup(func() {
		if !downDone {
			if err := l.Down(); err != nil {
				t.Errorf("Down in cleanup: %v", err)
			}
		}
	})

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
		name := fmt.Sprintf("kl-isolation-%d", time.Now().UnixNano())
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
		again, err := Up(ctx, Options{Nodes: 3, From: "2.8.4", To: "3.9.1", PackagesDir: pkgs, Log: testWriter{t}})
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
	if err := l.Down(); err != nil {
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
	l, err := Up(ctx, Options{Nodes: 1, Edition: "enterprise", Bastion: true, User: "kongops", Hybrid: true, DPs: 1, Spares: 1, PackagesDir: pkgs, Log: testWriter{t}})
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	st := l.State()
	t.Cleanup(func() {
		if err := l.Down(); err != nil {
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

// TestDownAfterCrash tears down what a crashed Up leaves: namespaces and
// links with the lab's names, processes in them, no state.json.
func TestDownAfterCrash(t *testing.T) {
	ctx := context.Background()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "build", "lab")
	if err := Down(ctx, dir, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"link", "add", Bridge, "type", "bridge"},
		{"netns", "add", "kl-crash-1"},
		{"link", "add", "kl-crash-1", "type", "veth", "peer", "name", "eth0", "netns", "kl-crash-1"},
		{"route", "add", "unreachable", InnerNet},
	} {
		if err := ip(ctx, args...); err != nil {
			t.Fatal(err)
		}
	}
	holder := exec.Command("ip", "netns", "exec", "kl-crash-1", "unshare", "-m", "--propagation", "private", "sleep", "infinity")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	go holder.Wait()
	eventually(t, 5*time.Second, "holder in kl-crash-1", func() error {
		if nsInode(holder.Process.Pid, "net") != fileInode("/run/netns/kl-crash-1") || nsInode(holder.Process.Pid, "mnt") == nsInode(os.Getpid(), "mnt") {
			return fmt.Errorf("pid %d not in its namespaces yet", holder.Process.Pid)
		}
		return nil
	})
	if err := os.MkdirAll(filepath.Join(dir, "hosts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Down(ctx, dir, io.Discard); err != nil {
		t.Fatalf("Down after a crash: %v", err)
	}
	if alive(holder.Process.Pid) {
		t.Errorf("process %d in kl-crash-1 survived Down", holder.Process.Pid)
	}
	if left := traces(t, State{Dir: dir}); len(left) > 0 {
		t.Errorf("left behind: %s", strings.Join(left, "; "))
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
