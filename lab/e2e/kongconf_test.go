//go:build integration

package e2e

import (
	"strconv"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/lab/labenv"
)

// Issue 16 (kong-reference 9.2-9.3): a node whose kong.conf carries a
// property Y no longer has (nginx_optimizations, gone in 3.0: Kong 3.4
// drops it without a word) is refused in preflight, naming the property,
// its file and line, before any Kong process is restarted. Acknowledged in
// the inventory (preflight { accept = [...] }), the same fleet upgrades.
func TestPreflightRefusesRemovedKongConfProperty(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2})
	nodes := names(e.lab.KongHosts())
	ctx, cancel := shortCtx()
	defer cancel()
	out, err := e.lab.Exec(ctx, nodes[1], "echo 'nginx_optimizations = on  # tuned in 2019' >>/etc/kong/kong.conf && grep -n '^nginx_optimizations' /etc/kong/kong.conf | cut -d: -f1")
	if err != nil {
		t.Fatalf("%s: add the property: %v: %s", nodes[1], err, out)
	}
	line, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("%s: line of nginx_optimizations: %q", nodes[1], out)
	}
	pids := e.kongPIDs(nodes)

	r := e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	if r.code != 1 {
		t.Fatalf("upgrade: want exit 1 (refused in preflight): %s", r)
	}
	rep := finalReport(t, r.stdout)
	var found bool
	want := "/etc/kong/kong.conf:" + strconv.Itoa(line) + ": nginx_optimizations was removed in Kong 3.0"
	for _, f := range rep.Findings {
		if f.Code != "kong-conf-removed" {
			continue
		}
		if f.Host != nodes[1] || f.Severity != "error" || !strings.HasPrefix(f.Message, want) || !strings.Contains(f.Fix, "remove nginx_optimizations from kong.conf") {
			t.Errorf("finding: %+v", f)
		}
		found = true
	}
	if !found {
		t.Fatalf("no kong-conf-removed finding (want %q): %+v", want, rep.Findings)
	}
	if after := e.kongPIDs(nodes); !equalMaps(pids, after) {
		t.Errorf("a node was restarted by the refused run: %v -> %v", pids, after)
	}
	e.requireVersion(e.lab.Options().From, nodes...)

	// Acknowledged: reported as info, and the upgrade goes through.
	e.inv = e.writeInventory(func(s string) string {
		return s + "\npreflight {\n  accept = [\"nginx_optimizations\"]\n}\n"
	})
	r = e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	if r.code != 0 {
		t.Fatalf("upgrade with the property accepted: %s", r)
	}
	rep = finalReport(t, r.stdout)
	found = false
	for _, f := range rep.Findings {
		if f.Code == "kong-conf-removed" && f.Severity == "info" && strings.HasPrefix(f.Message, want) && strings.Contains(f.Message, "accepted by preflight.accept") {
			found = true
		}
	}
	if !found {
		t.Errorf("no accepted kong-conf-removed finding: %+v", rep.Findings)
	}
	e.requireVersion(e.lab.Options().To, nodes...)
}
