//go:build integration

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/lab/labenv"
)

// Issue 16, Enterprise RBAC: an Enterprise 3.4.3.5 fleet with RBAC
// enforced (RBAC=1: the super admin seeded at bootstrap, its token in
// admin-token beside hosts.hcl). A wrong token is refused in preflight,
// naming each host, before any node stops; with the lab's token the fleet
// upgrades to 3.10.0.2, its gates reading every node's /metrics through
// the token, and the token shows in no output or journal.
func TestUpgradeEnterpriseRBAC(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2, Edition: labenv.EditionEnterprise, From: "3.4.3.5", To: "3.10.0.2", RBAC: true})
	nodes := names(e.lab.KongHosts())
	token, err := e.lab.AdminToken()
	if err != nil || len(token) < 16 {
		t.Fatalf("lab admin token: %q %v", token, err)
	}
	if fi, err := os.Stat(filepath.Join(e.lab.Dir(), labenv.AdminTokenFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin-token file: %v %v", fi, err)
	}
	// The lab really enforces RBAC: the Admin API refuses a caller without
	// the token, and serves one with it.
	for _, h := range nodes {
		if code, body := adminGet(e.lab.Address(h), "/", ""); code != 401 || !strings.Contains(body, "Invalid RBAC credentials") {
			t.Fatalf("%s: GET / without a token: %d %s", h, code, body)
		}
		if code, body := adminGet(e.lab.Address(h), "/", token); code != 200 {
			t.Fatalf("%s: GET / with the lab's token: %d %s", h, code, body)
		}
	}
	e.requireServing(nodes, []route{{"/lab", ""}})

	// A wrong token: refused in preflight, no node stopped.
	wrong := filepath.Join(e.lab.Dir(), "wrong-token")
	if err := os.WriteFile(wrong, []byte("not-the-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pids := e.kongPIDs(nodes)
	bad := e.writeInventory(func(s string) string {
		return strings.Replace(s, `admin_token_file = "admin-token"`, `admin_token_file = "wrong-token"`, 1)
	})
	r := e.kongctl("upgrade", "-i", bad, "--yes", "--output", "json")
	if r.code != 1 {
		t.Fatalf("upgrade with a wrong token: want exit 1 (refused in preflight): %s", r)
	}
	rep := finalReport(t, r.stdout)
	refused := map[string]bool{}
	for _, f := range rep.Findings {
		if f.Code == "admin-token" && strings.Contains(f.Message, "refused kongctl's admin token (HTTP 401)") {
			refused[f.Host] = true
		}
	}
	for _, h := range nodes {
		if !refused[h] {
			t.Errorf("no admin-token finding for %s: %+v", h, rep.Findings)
		}
	}
	if got := e.kongPIDs(nodes); !equalMaps(pids, got) {
		t.Errorf("a node was restarted by the refused run: %v -> %v", pids, got)
	}
	if strings.Contains(r.stdout+r.stderr, "not-the-token") {
		t.Error("the wrong token appears in kongctl's output")
	}
	e.requireVersion("3.4.3.5", nodes...)

	// The lab's token: the upgrade goes through, gates measured from
	// /metrics read through the token, traffic served throughout.
	e.inv = e.writeInventory(nil)
	p := e.probe(nodes)
	r = e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	sent, failures := p.stop()
	if r.code != 0 {
		t.Fatalf("upgrade: %s", r)
	}
	e.requireVersion("3.10.0.2", nodes...)
	rep = finalReport(t, r.stdout)
	measured := map[string]bool{}
	for _, g := range rep.Gates {
		if g.Gate == "max_error_rate" && g.Passed {
			measured[g.Host] = true
		}
	}
	for _, h := range nodes {
		if !measured[h] {
			t.Errorf("no passed max_error_rate gate measured on %s: %+v", h, rep.Gates)
		}
	}
	t.Logf("prober: %d requests, %d failures (downtime)", sent, len(failures))
	// The run's directory: journal, report, events.
	var journal strings.Builder
	err = filepath.WalkDir(rep.Journal, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		journal.Write(b)
		return err
	})
	if err != nil || journal.Len() == 0 {
		t.Fatalf("read the run's directory %s: %v", rep.Journal, err)
	}
	for what, s := range map[string]string{"stdout": r.stdout, "stderr": r.stderr, "run directory": journal.String()} {
		if strings.Contains(s, token) {
			t.Errorf("the admin token appears in kongctl's %s", what)
		}
	}
	e.requireServing(nodes, []route{{"/lab", ""}})
}

// adminGet GETs path from a node's Admin API (port 8001), with a
// Kong-Admin-Token when token is set.
func adminGet(addr, path, token string) (int, string) {
	return adminRequest("GET", addr, path, token, "")
}
