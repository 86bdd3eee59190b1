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
	line := e.appendConfLine(nodes[1], "nginx_optimizations", "nginx_optimizations = on  # tuned in 2019")
	want := "/etc/kong/kong.conf:" + strconv.Itoa(line) + ": nginx_optimizations was removed in Kong 3.0"
	pids := e.requireRefusedForConf(nodes, nodes[1], want, "remove nginx_optimizations from kong.conf")

	// Acknowledged, the removed property no longer stops the upgrade; a
	// value X accepts and Y refuses (pg_ssl_version = tlsv1, refused from
	// 3.0) is caught by Y's own kong check, run from a scratch extract of
	// the staged Y package, and accept does not lift it.
	e.inv = e.writeInventory(func(s string) string {
		return s + "\npreflight {\n  accept = [\"nginx_optimizations\", \"pg_ssl_version\"]\n}\n"
	})
	out, err := e.lab.Exec(ctx, nodes[0], "echo 'pg_ssl_version = tlsv1' >>/etc/kong/kong.conf && grep -n '^pg_ssl_version' /etc/kong/kong.conf | cut -d: -f1")
	if err != nil {
		t.Fatalf("%s: add pg_ssl_version: %v: %s", nodes[0], err, out)
	}
	sslLine := strings.TrimSpace(string(out))
	r := e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	if r.code != 1 {
		t.Fatalf("upgrade with pg_ssl_version = tlsv1: want exit 1 (refused in preflight): %s", r)
	}
	wantY := "/etc/kong/kong.conf:" + sslLine + ": Kong 3.4.2's `kong check` refuses pg_ssl_version: pg_ssl_version has an invalid value: 'tlsv1'"
	requireFinding(t, finalReport(t, r.stdout), "kong-conf-rejected-by-y", nodes[0], "error", wantY, "set pg_ssl_version to a value Kong 3.4.2 accepts")
	if after := e.kongPIDs(nodes); !equalMaps(pids, after) {
		t.Errorf("a node was restarted by the refused run: %v -> %v", pids, after)
	}
	e.requireVersion(e.lab.Options().From, nodes...)
	for _, h := range nodes {
		if out, err := e.lab.Exec(ctx, h, "ls -d /var/lib/kongctl/ycheck-* 2>/dev/null | wc -l"); err != nil || strings.TrimSpace(string(out)) != "0" {
			t.Errorf("%s: Y's scratch extract left behind: %v %s", h, err, out)
		}
	}
	if out, err := e.lab.Exec(ctx, nodes[0], "sed -i '/^pg_ssl_version = tlsv1$/d' /etc/kong/kong.conf"); err != nil {
		t.Fatalf("%s: %v: %s", nodes[0], err, out)
	}

	// Acknowledged: reported as info, and the upgrade goes through.
	r = e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	if r.code != 0 {
		t.Fatalf("upgrade with the property accepted: %s", r)
	}
	requireFinding(t, finalReport(t, r.stdout), "kong-conf-removed", nodes[1], "info", want+": 3.4.2 drops it", "")
	e.requireVersion(e.lab.Options().To, nodes...)
}

// appendConfLine appends text to host's /etc/kong/kong.conf and returns
// the number of key's first line there.
func (e *env) appendConfLine(host, key, text string) int {
	e.t.Helper()
	ctx, cancel := shortCtx()
	defer cancel()
	out, err := e.lab.Exec(ctx, host, "echo '"+text+"' >>/etc/kong/kong.conf && grep -n '^"+key+"' /etc/kong/kong.conf | head -1 | cut -d: -f1")
	if err != nil {
		e.t.Fatalf("%s: add %s: %v: %s", host, key, err, out)
	}
	line, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		e.t.Fatalf("%s: line of %s: %q", host, key, out)
	}
	return line
}

// requireRefusedForConf runs the upgrade and fails unless preflight
// refuses it with one kong-conf-removed error on host (message and fix
// starting with msg and fix), no node's Kong restarted and every node
// still on the lab's From version. It returns the nodes' Kong pids.
func (e *env) requireRefusedForConf(nodes []string, host, msg, fix string) map[string]string {
	e.t.Helper()
	pids := e.kongPIDs(nodes)
	r := e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	if r.code != 1 {
		e.t.Fatalf("upgrade: want exit 1 (refused in preflight): %s", r)
	}
	requireFinding(e.t, finalReport(e.t, r.stdout), "kong-conf-removed", host, "error", msg, fix)
	if after := e.kongPIDs(nodes); !equalMaps(pids, after) {
		e.t.Errorf("a node was restarted by the refused run: %v -> %v", pids, after)
	}
	e.requireVersion(e.lab.Options().From, nodes...)
	return pids
}

// requireFinding fails unless rep has exactly one finding of code, on
// host, of severity, whose message starts with msg and whose fix starts
// with fix.
func requireFinding(t *testing.T, rep reportJSON, code, host, severity, msg, fix string) {
	t.Helper()
	var n int
	for _, f := range rep.Findings {
		if f.Code != code {
			continue
		}
		n++
		if f.Host != host || f.Severity != severity || !strings.HasPrefix(f.Message, msg) || !strings.HasPrefix(f.Fix, fix) {
			t.Errorf("finding %s: want host %s, %s, message %q..., fix %q...: %+v", code, host, severity, msg, fix, f)
		}
	}
	if n != 1 {
		t.Fatalf("want one %s finding, got %d: %+v", code, n, rep.Findings)
	}
}
