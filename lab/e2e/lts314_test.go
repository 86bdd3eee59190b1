//go:build integration

package e2e

import (
	"strconv"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/lab/labenv"
)

// Issue 22, part 1: Enterprise 3.10.0.2 → 3.14.0.0 in place, the LTS pair
// of kong-reference 6.2. A node's kong.conf sets wasm, which 3.14 removed
// (9.3: dropped without a word): preflight refuses it, naming the file and
// line, before any Kong process restarts; acknowledged in the inventory,
// the fleet upgrades, 3.11-3.14's Enterprise migrations are executed with
// none left pending, and 3.14 runs without the property while kong.conf
// keeps the operator's line. The entities created on 3.10 are served
// through every proxy after it.
func TestUpgradeInPlaceEnterpriseLTS314(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 2, Edition: labenv.EditionEnterprise, From: "3.10.0.2", To: "3.14.0.0"})
	nodes := names(e.lab.KongHosts())
	e.requireVersion("3.10.0.2", nodes...)
	e.createEntities(nodes[0])
	e.requireServing(nodes, labRoutes)
	want := "/etc/kong/kong.conf:" + strconv.Itoa(e.appendConfLine(nodes[1], "wasm", "wasm = on")) + ": wasm was removed in Kong 3.14"
	e.requireRefusedForConf(nodes, nodes[1], want, "remove wasm from kong.conf")

	e.inv = e.writeInventory(func(s string) string {
		return s + "\npreflight {\n  accept = [\"wasm\"]\n}\n"
	})
	r := e.kongctl("upgrade", "-i", e.inv, "--yes", "--output", "json")
	if r.code != 0 {
		t.Fatalf("upgrade with wasm accepted: %s", r)
	}
	rep := finalReport(t, r.stdout)
	requireFinding(t, rep, "kong-conf-removed", nodes[1], "info", want, "")
	if rep.Outcome != "succeeded" {
		t.Errorf("outcome %q, want succeeded", rep.Outcome)
	}
	e.requireVersion("3.14.0.0", nodes...)
	code, list := e.migrationsList(nodes[0])
	if code != 0 || !strings.Contains(list, "030_31300_to_31400") || strings.Contains(list, "Pending") {
		t.Errorf("kong migrations list on %s: exit %d, want 0 with enterprise 030_31300_to_31400 executed:\n%s", nodes[0], code, list)
	}
	e.requireServing(nodes, labRoutes)
	ctx, cancel := shortCtx()
	defer cancel()
	out, err := e.lab.Exec(ctx, nodes[1], "grep -c '^wasm' /etc/kong/kong.conf; grep -c '^wasm' /usr/local/kong/.kong_env || true")
	if counts := strings.Fields(string(out)); err != nil || len(counts) != 2 || counts[0] != "1" || counts[1] != "0" {
		t.Errorf("%s: want wasm kept in kong.conf and absent from 3.14's .kong_env (counts %q): %v", nodes[1], out, err)
	}
}
