//go:build integration

package e2e

import (
	"strings"
	"testing"

	"github.com/kongctl/kongctl/lab/labenv"
)

// Issue 16 (kong-reference 9.6): a DB-less node (database = off, not a
// hybrid data plane) and a Konnect-managed one (konnect_mode = on) are
// refused in preflight, each with one line naming the host, before any
// node stops.
func TestPreflightRefusesDBLessAndKonnect(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2})
	nodes := names(e.lab.KongHosts())
	ctx, cancel := shortCtx()
	defer cancel()
	// kong-2 serves DB-less from now on; kong-1 says it belongs to Konnect.
	if out, err := e.lab.Exec(ctx, nodes[1], "kong stop >/dev/null && sed -i 's/^database = postgres$/database = off/' /etc/kong/kong.conf && grep -qx 'database = off' /etc/kong/kong.conf"); err != nil {
		t.Fatalf("%s: make it DB-less: %v: %s", nodes[1], err, out)
	}
	if err := e.lab.StartKong(ctx, nodes[1]); err != nil {
		t.Fatalf("%s: start DB-less: %v", nodes[1], err)
	}
	if out, err := e.lab.Exec(ctx, nodes[0], "echo 'konnect_mode = on' >>/etc/kong/kong.conf"); err != nil {
		t.Fatalf("%s: %v: %s", nodes[0], err, out)
	}
	pids := e.kongPIDs(nodes)

	r := e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	if r.code != 1 {
		t.Fatalf("upgrade: want exit 1 (refused in preflight): %s", r)
	}
	rep := finalReport(t, r.stdout)
	got := map[string]string{}
	for _, f := range rep.Findings {
		if f.Code == "db-less" || f.Code == "konnect" {
			got[f.Code] = f.Host
			if strings.Contains(f.Message, "\n") {
				t.Errorf("%s: more than one line: %q", f.Code, f.Message)
			}
		}
	}
	if got["konnect"] != nodes[0] || got["db-less"] != nodes[1] {
		t.Errorf("findings: want konnect on %s and db-less on %s: %+v", nodes[0], nodes[1], rep.Findings)
	}
	if after := e.kongPIDs(nodes); !equalMaps(pids, after) {
		t.Errorf("a node was restarted by the refused run: %v -> %v", pids, after)
	}
	e.requireVersion(e.lab.Options().From, nodes...)
}
