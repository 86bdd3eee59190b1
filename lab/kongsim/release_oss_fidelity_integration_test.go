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
