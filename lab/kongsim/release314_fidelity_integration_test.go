//go:build integration

package kongsim_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Enterprise 3.10 → 3.14, the LTS pair of kong-reference 6.2, through the
// two-phase model (6.7, 1.3): `up` runs the four minors' Enterprise
// migrations and leaves the one with a teardown pending, `list` exits 4
// until `finish`, and the older 3.10 binary sees the finished database as
// up to date (1.4: names it does not know are ignored).
func TestEnterprise310To314Migrations(t *testing.T) {
	n := newDBNode(t)
	n.must(n.kong("3.10.0.2", "migrations", "bootstrap"), 0)
	r := n.must(n.kong("3.14.0.0", "migrations", "list"), 5)
	if !strings.Contains(r.stdout, "enterprise: 027_31000_to_31100, 028_31100_to_31200, 029_31200_to_31300, 030_31300_to_31400") {
		t.Fatalf("list before up: %s", r)
	}
	r = n.must(n.kong("3.14.0.0", "migrations", "up"), 0)
	want := fmt.Sprintf("migrating enterprise on database '%s'...\n"+
		"enterprise migrated up to: 027_31000_to_31100 (executed)\n"+
		"enterprise migrated up to: 028_31100_to_31200 (executed)\n"+
		"enterprise migrated up to: 029_31200_to_31300 (executed)\n"+
		"enterprise migrated up to: 030_31300_to_31400 (pending)\n"+
		"4 migrations processed\n3 executed\n1 pending\n\n"+
		"Database has pending migrations; run 'kong migrations finish' when ready\n", n.db)
	if r.stdout != want || r.stderr != "" {
		t.Fatalf("up:\n%s\nwant stdout:\n%s", r, want)
	}
	n.must(n.kong("3.14.0.0", "migrations", "list"), 4)
	r = n.must(n.kong("3.14.0.0", "migrations", "finish"), 0)
	if want := fmt.Sprintf("migrating enterprise on database '%s'...\nenterprise migrated up to: 030_31300_to_31400 (executed)\n1 migration processed\n1 executed\n", n.db); r.stdout != want {
		t.Fatalf("finish:\n%s\nwant stdout:\n%s", r, want)
	}
	var last string
	var pending []string
	n.queryRow(`SELECT last_executed, coalesce(pending, '{}') FROM schema_meta WHERE subsystem = 'enterprise'`, &last, &pending)
	if last != "030_31300_to_31400" || len(pending) != 0 {
		t.Fatalf("enterprise row after finish: %s %v", last, pending)
	}
	n.must(n.kong("3.14.0.0", "migrations", "list"), 0)
	n.must(n.kong("3.10.0.2", "migrations", "list"), 0)
}

// kong-reference 9.3: 3.14 drops wasm, wasm_filters and wasm_filters_path
// without a word (check passes, .kong_env no longer has them); 3.10 keeps
// them.
func TestEnterprise314DropsWasm(t *testing.T) {
	n := newNode(t, nil, "", "wasm = on", "wasm_filters = bundled")
	envOf := func() string {
		b, err := os.ReadFile(filepath.Join(n.prefix, ".kong_env"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	r := n.must(n.run(sim(t, "3.14.0.0"), "check", n.conf), 0)
	if r.stdout != "configuration at "+n.conf+" is valid\n" || r.stderr != "" {
		t.Fatalf("3.14 check: %s", r)
	}
	n.must(n.run(sim(t, "3.14.0.0"), "prepare", "-p", n.prefix, "-c", n.conf), 0)
	if env := envOf(); strings.Contains(env, "wasm") {
		t.Fatalf("3.14.0.0 kept a wasm key in .kong_env:\n%s", env)
	}
	n.must(n.run(sim(t, "3.10.0.2"), "prepare", "-p", n.prefix, "-c", n.conf), 0)
	if env := envOf(); !strings.Contains(env, "wasm = on\n") || !strings.Contains(env, "wasm_filters = bundled\n") {
		t.Fatalf("3.10.0.2 dropped a wasm key:\n%s", env)
	}
}

// The 3.14 node itself (kong-reference 2.4, 3.1, 4.4, 4.5): `kong start`
// refuses a 3.10 database until `up` has run, then serves as Enterprise
// 3.14 (Admin GET /, kong_node_info) with `kong drain` (3.9+) available.
func TestEnterprise314Daemon(t *testing.T) {
	n := newDBNode(t)
	n.must(n.kong("3.10.0.2", "migrations", "bootstrap"), 0)
	r := n.must(n.kong("3.14.0.0", "start"), 1)
	if !strings.Contains(r.stderr, "New migrations available; run 'kong migrations up' to proceed") {
		t.Fatalf("start before up: %s", r)
	}
	n.must(n.kong("3.14.0.0", "migrations", "up"), 0)
	n.must(n.kong("3.14.0.0", "start"), 0)
	defer n.run(sim(t, "3.14.0.0"), "stop", "-p", n.prefix)
	_, body := httpDo(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/", n.admin), nil)
	if !strings.Contains(body, `"edition":"enterprise"`) || !strings.Contains(body, `"version":"3.14.0.0-enterprise-edition"`) {
		t.Fatalf("GET /: %s", body)
	}
	code, body := httpDo(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/metrics", n.status), nil)
	if code != 200 || !strings.Contains(body, `version="3.14.0.0"} 1`) || !strings.Contains(body, "kong_datastore_reachable 1") {
		t.Fatalf("metrics %d: %s", code, body)
	}
	ready := fmt.Sprintf("http://127.0.0.1:%d/status/ready", n.status)
	if code, _ := httpDo(t, "GET", ready, nil); code != 200 {
		t.Fatalf("ready %d", code)
	}
	n.must(n.kong("3.14.0.0", "drain"), 0)
	if code, _ := httpDo(t, "GET", ready, nil); code != 503 {
		t.Fatalf("ready after drain %d", code)
	}
}
