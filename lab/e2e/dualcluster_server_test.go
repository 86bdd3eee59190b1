//go:build integration

package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/lab/labenv"
)

// Issue 17 part 5, the other server: the dual-cluster of a 3-node lab onto
// 3 spares behind HAProxy (LB=1, SPARE=3), its target database kong_y on
// a second PostgreSQL server (DB2=1: the db host's port 5433, role kong_y
// with a password of its own), a client sending requests through HAProxy
// throughout. 0 requests fail; Y serves from the spares, their kong.conf
// pointing at the second server with its role; kong_y holds Y's
// migrations there and does not exist on X's server; X's database is
// unchanged.
func TestDualClusterOtherServer(t *testing.T) {
	e := upLab(t, labenv.Options{Nodes: 3, Spares: 3, From: "2.8.4", To: "3.4.2", LB: true, DB2: true})
	olds, spares := names(e.lab.KongHosts()), names(e.lab.Spares())
	e.createEntities(olds[0])
	e.requireServing(olds, labRoutes)
	lbURL := e.lab.LBURL()
	waitRouted(t, lbURL+"/lab", len(olds))
	before := e.fingerprint()

	addr := e.lab.DBHost().Address
	where := fmt.Sprintf("%s:%d/kong_y", addr, labenv.DB2Port)
	e.inv = e.writeInventory(func(s string) string {
		re := regexp.MustCompile(`(?m)^upgrade \{\n`)
		if !re.MatchString(s) {
			t.Fatalf("lab inventory has no upgrade block:\n%s", s)
		}
		target := fmt.Sprintf("  strategy        = \"dual-cluster\"\n  target_database = { host = %q, port = %d, name = \"kong_y\", user = %q, password_file = %q }\n  shift           = [\"50%%\", \"100%%\"]\n",
			addr, labenv.DB2Port, labenv.DB2User, e.lab.DB2PasswordPath())
		return re.ReplaceAllString(s, "upgrade {\n"+target)
	})
	p := e.kongctl("plan", "-i", e.inv)
	if p.code != 0 || !strings.Contains(p.stdout, where) {
		t.Errorf("plan: want the target named %s: %s", where, p)
	}

	r, res := e.upgradeThroughLB([]string{lbURL + "/lab"})
	if r.code != 0 {
		t.Fatalf("upgrade: %s", r)
	}
	if res.Failed != 0 {
		t.Errorf("%d request(s) failed through HAProxy, want 0: %v", res.Failed, res.Samples)
	}
	e.requireVersion("3.4.2", spares...)
	e.requireServing(spares, labRoutes)
	e.requireVersion("2.8.4", olds...)
	if d := diffFingerprints(before, e.fingerprint()); len(d) > 0 {
		t.Errorf("X's database changed:\n%s", strings.Join(d, "\n"))
	}
	dsn2, err := e.lab.DB2DSN("kong_y")
	if err != nil {
		t.Fatal(err)
	}
	if y := e.fingerprintDSN(dsn2); y["schema_meta"] == "" || y["schema_meta"] == before["schema_meta"] || y["services"] != before["services"] {
		t.Errorf("kong_y on %s: schema_meta %q services %q, want Y's migrations and X's entities (X's: %q, %q)", where, y["schema_meta"], y["services"], before["schema_meta"], before["services"])
	}
	if e.databaseExists("kong_y") {
		t.Errorf("kong_y exists on X's server: the target went to the wrong server")
	}
	pw, err := e.lab.DB2Password()
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range spares {
		ctx, cancel := shortCtx()
		conf, err := e.lab.Exec(ctx, h, "cat /etc/kong/kong.conf")
		cancel()
		if err != nil {
			t.Fatalf("%s: read kong.conf: %v", h, err)
		}
		for _, want := range []string{"pg_host = " + addr, fmt.Sprintf("pg_port = %d", labenv.DB2Port), "pg_database = kong_y", "pg_user = " + labenv.DB2User, "pg_password = " + pw} {
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want) + `$`).MatchString(conf) {
				t.Errorf("%s: kong.conf lacks %q", h, strings.SplitN(want, " = ", 2)[0]+" = ...")
			}
		}
	}
	if strings.Contains(r.stdout+r.stderr, pw) {
		t.Error("the second server's password is in kongctl's output")
	}
}

// databaseExists says whether database name exists on X's server.
func (e *env) databaseExists(name string) bool {
	e.t.Helper()
	dsn, err := e.lab.DSN()
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := shortCtx()
	defer cancel()
	conn := e.pgConnect(ctx, dsn)
	defer conn.Close(context.Background())
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&ok); err != nil {
		e.t.Fatal(err)
	}
	return ok
}
