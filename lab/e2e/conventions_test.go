//go:build integration

package e2e

import (
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/lab/labenv"
)

// Issue 19 on the lab: without a terminal and without --yes, upgrade is a
// usage error (exit 2) before any host is touched: no lab sshd logs a
// connection. With --yes the upgrade runs: every JSON line carries
// "schema": 1, the lab's tls_mode = "disable" gives a db-tls warning that
// does not block, and the state and backup directories it creates carry a
// .gitignore of "*".
func TestOperatorConventions(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 1})
	sshdLog := func() map[string]int {
		m := map[string]int{}
		for _, h := range e.lab.Hosts() {
			b, _ := os.ReadFile(filepath.Join(h.Dir, "sshd.log"))
			m[h.Name] = strings.Count(string(b), "Connection from") + strings.Count(string(b), "Accepted publickey")
		}
		return m
	}

	before := sshdLog()
	r := e.kongctl("upgrade", "-i", e.inv) // stdin: /dev/null, not a terminal
	if r.code != 2 || !strings.Contains(r.stderr, "pass --yes") || r.stdout != "" {
		t.Fatalf("upgrade without --yes: want exit 2 and the --yes hint: %s", r)
	}
	if after := sshdLog(); !maps.Equal(before, after) {
		t.Errorf("a host was contacted before the refusal: sshd connections %v -> %v", before, after)
	}

	// An inventory checkout without the state dir and the backups dir.
	fresh := filepath.Join(t.TempDir(), "checkout")
	if err := os.Mkdir(fresh, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fresh, "hosts.hcl"), []byte("# the checkout's inventory\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.stateDir = filepath.Join(fresh, ".kongctl")
	backups := filepath.Join(fresh, "kept", "backups")
	e.inv = e.writeInventory(func(s string) string {
		out := strings.Replace(s, `local_dir = "backups"`, `local_dir = "`+backups+`"`, 1)
		if out == s {
			t.Fatalf("lab inventory has no local_dir = \"backups\":\n%s", s)
		}
		return out
	})
	r = e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	if r.code != 0 {
		t.Fatalf("upgrade --yes: %s", r)
	}
	// The sshd logs do show kongctl's connections (the check above can fail).
	node := names(e.lab.KongHosts())[0]
	if after := sshdLog(); after[node] <= before[node] {
		t.Errorf("%s's sshd log shows no connection of the upgrade: %v -> %v", node, before, after)
	}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var ev struct {
			Schema *int `json:"schema"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Schema == nil || *ev.Schema != 1 {
			t.Errorf("event line without \"schema\": 1 (%v): %.200s", err, line)
		}
	}
	rep := finalReport(t, r.stdout)
	if msg, ok := rep.finding("db-tls"); !ok || !strings.Contains(msg, `tls_mode = "disable" is below verify-full`) {
		t.Errorf("no db-tls warning for the lab's tls_mode = \"disable\": %+v", rep.Findings)
	}
	for _, dir := range []string{e.stateDir, filepath.Join(fresh, "kept")} {
		b, err := os.ReadFile(filepath.Join(dir, ".gitignore"))
		if err != nil || !strings.Contains(string(b), "\n*\n") {
			t.Errorf("%s/.gitignore: %v %q", dir, err, b)
		}
	}
	dumps, _ := filepath.Glob(filepath.Join(backups, "*"))
	if len(dumps) == 0 {
		t.Fatalf("no backup copied to %s", backups)
	}
	// git sees nothing of it in a checkout holding the inventory.
	git := func(args ...string) string {
		out, err := exec.Command("git", append([]string{"-C", fresh}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
		return string(out)
	}
	git("init", "-q")
	if out := git("status", "--porcelain", "--untracked-files=all"); out != "?? hosts.hcl\n" {
		t.Errorf("git sees kongctl's state and backups:\n%s", out)
	}
	e.requireVersion(e.lab.Options().To, names(e.lab.KongHosts())...)
}
