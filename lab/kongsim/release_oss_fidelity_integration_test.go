//go:build integration

package kongsim_test

import (
	"strings"
	"testing"
)

// OSS 3.9.3 (the last OSS release): a patch upgrade from 3.9.1 finds the
// database up to date (kong-reference 1.3: `up` prints "Database is
// already up-to-date"), and from the 3.4 LTS it runs 3.5-3.9's migrations
// through up and finish like 3.9.1.
func TestOSS393Migrations(t *testing.T) {
	n := newDBNode(t)
	n.must(n.kong("3.9.1", "migrations", "bootstrap"), 0)
	n.must(n.kong("3.9.3", "migrations", "list"), 0)
	if r := n.must(n.kong("3.9.3", "migrations", "up"), 0); r.stdout != "Database is already up-to-date\n" {
		t.Fatalf("up on a 3.9.1 database: %s", r)
	}

	n = newDBNode(t)
	n.must(n.kong("3.4.2", "migrations", "bootstrap"), 0)
	a := n.must(n.kong("3.9.3", "migrations", "up"), 0)
	if !strings.Contains(a.stdout, "core migrated up to: 024_380_to_390 (executed)\n") || !strings.Contains(a.stdout, " pending\n\nDatabase has pending migrations;") {
		t.Fatalf("up on a 3.4.2 database: %s", a)
	}
	n.must(n.kong("3.9.3", "migrations", "list"), 4)
	n.must(n.kong("3.9.3", "migrations", "finish"), 0)
	n.must(n.kong("3.9.3", "migrations", "list"), 0)
	n.must(n.kong("3.9.1", "migrations", "list"), 0)
}

// The OSS chain 3.4 → 3.5 → … → 3.9 (controller/upgradepath), one hop at
// a time on one database: each hop's `up` runs that minor's migrations
// (3.8 has none: kong-reference 1.4, core 024 is 380_to_390), `finish`
// runs the teardowns, and every binary then finds the database up to date.
func TestOSSChainThroughIntermediates(t *testing.T) {
	n := newDBNode(t)
	n.must(n.kong("3.4.2", "migrations", "bootstrap"), 0)
	for _, h := range []struct{ version, up string }{
		{"3.5.0", "core migrated up to: 021_340_to_350 (executed)\n1 migration processed\n1 executed\n"},
		{"3.6.1", "5 migrations processed\n1 executed\n4 pending\n"},
		{"3.7.1", "2 migrations processed\n1 executed\n1 pending\n"},
		{"3.8.1", "Database is already up-to-date\n"},
		{"3.9.3", "core migrated up to: 024_380_to_390 (executed)\n1 migration processed\n1 executed\n"},
	} {
		r := n.must(n.kong(h.version, "migrations", "up"), 0)
		if !strings.Contains(r.stdout, h.up) {
			t.Fatalf("%s up: want %q in:\n%s", h.version, h.up, r)
		}
		n.must(n.kong(h.version, "migrations", "finish"), 0)
		n.must(n.kong(h.version, "migrations", "list"), 0)
	}
	n.must(n.kong("3.4.2", "migrations", "list"), 0)
}
