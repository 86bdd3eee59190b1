//go:build integration

package e2e

import (
	"strings"
	"testing"

	"github.com/kongctl/kongctl/lab/labenv"
)

// Issues 5 and 6 behind a bastion, as a production fleet is reached: the
// database and the nodes sit on a network only the bastion host reaches,
// kongctl logs in as a non-root user (kongops) and becomes root with sudo.
// status reports every node through the bastion and uploads the agent only
// once; the upgrade succeeds, including the backup copied from the
// database host (owner-only there, so it must come through sudo).
func TestUpgradeThroughBastionWithBecome(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2, From: "2.8.4", To: "3.4.2", Bastion: true, User: "kongops"})
	nodes := names(e.lab.KongHosts())

	first := e.kongctl("status", "-i", e.inv)
	second := e.kongctl("status", "-i", e.inv)
	if first.code != 0 || second.code != 0 {
		t.Fatalf("status:\n%s\n%s", first, second)
	}
	for _, n := range nodes {
		if !strings.Contains(first.stdout, n) || strings.Count(first.stdout, "2.8.4") < len(nodes) {
			t.Errorf("status does not report %s on 2.8.4:\n%s", n, first.stdout)
		}
	}
	if strings.Contains(first.stdout, "agent: 0 bytes") || !strings.Contains(first.stdout, "agent: ") {
		t.Errorf("first status should upload the agent:\n%s", first.stdout)
	}
	if !strings.Contains(second.stdout, "agent: 0 bytes uploaded to 0 of ") {
		t.Errorf("second status uploaded the agent again:\n%s", second.stdout)
	}

	r := e.kongctl("upgrade", "-i", e.inv, "--yes")
	if r.code != 0 {
		t.Fatalf("upgrade: %s", r)
	}
	if !strings.Contains(r.stdout, "copy on bastion: ") {
		t.Errorf("report names no backup copy on the bastion:\n%s", r.stdout)
	}
	e.requireVersion("3.4.2", nodes...)
	ctx, cancel := shortCtx()
	defer cancel()
	for _, n := range nodes {
		out, err := e.lab.SSH(ctx, n, "sudo -n kong migrations list -c /etc/kong/kong.conf >/dev/null && curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8000/lab")
		if err != nil || strings.TrimSpace(out) != "200" {
			t.Errorf("%s after the upgrade: migrations list and /lab: %v: %q", n, err, out)
		}
	}
}
